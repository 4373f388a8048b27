"""The factors a person proved in this browser session, and when.

Password sign-in records ``pwd`` (receivers.on_login); a higher app that checks a face records
``face`` after a match. The identity provider reads them to say how the person authenticated
(``amr``, ``auth_time``). Only names and times are kept, never a score. The record belongs to
the signed-in person: a session that changes hands (a new login flushes it) forgets it.
"""

import time

from django.http import HttpRequest

SESSION_KEY = "faceauth.factors"
PASSWORD, FACE = "pwd", "face"
FACTORS = (PASSWORD, FACE)


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
