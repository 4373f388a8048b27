"""The factors a person proved in this browser session, and when.

A sign-in records its first factor: ``pwd`` for a password (receivers.on_login), ``pop`` for a
passkey (``sign_in``, called by the identity provider); a higher app that checks a face records
``face`` after a match (RFC 8176 names). The identity provider reads them to say how the
person authenticated (``amr``, ``auth_time``). Only names and times are kept, never a score.
The record belongs to the signed-in person: a session that changes hands (a new login flushes
it) forgets it.
"""

import time

from django.contrib.auth import login
from django.http import HttpRequest

SESSION_KEY = "faceauth.factors"
PASSWORD, PASSKEY, FACE = "pwd", "pop", "face"
FACTORS = (PASSWORD, PASSKEY, FACE)
# The request attribute that tells receivers.on_login which first factor a login() proved.
FIRST_FACTOR_ATTRIBUTE = "faceauth_first_factor"
# The backend a session names after a sign-in without a password: it restores the person on
# every request only while they may authenticate (accounts.backends), as after a password.
SESSION_BACKEND = "accounts.backends.ValidityWindowBackend"


def record_factor(request: HttpRequest, *, factor: str, user=None, at: float | None = None) -> None:
    """``user``: the person who proved it (default: the request's)."""
    if factor not in FACTORS:
        raise ValueError(f"unknown factor {factor!r}")
    user_id = getattr(user or getattr(request, "user", None), "pk", None)
    if user_id is None:
        return
    held = request.session.get(SESSION_KEY) or {}
    if held.get("user") != user_id:
        held = {"user": user_id}
    held[factor] = time.time() if at is None else at
    request.session[SESSION_KEY] = held


def factors(request: HttpRequest) -> dict[str, float]:
    """{factor: unix time it was last proved} for the signed-in person of this session."""
    held = request.session.get(SESSION_KEY) or {}
    if held.get("user") is None or held.get("user") != getattr(request.user, "pk", None):
        return {}
    return {name: float(held[name]) for name in FACTORS if name in held}


def forget_factors(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def sign_in(request: HttpRequest, user, *, factor: str) -> None:
    """Sign ``user`` in by a first factor other than the password (a passkey the caller has
    verified): Django's login (a new session key, ``user_logged_in``), recording ``factor``."""
    if factor not in FACTORS or factor == FACE:
        raise ValueError(f"{factor!r} is not a first factor")
    setattr(request, FIRST_FACTOR_ATTRIBUTE, factor)
    login(request, user, backend=SESSION_BACKEND)
