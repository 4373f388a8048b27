"""The one-time link rule, shared by device pairing links (accounts/pairing.py) and enrolment
links (biometrics/enrolment_links.py): a random token shown once and never stored in clear
(only its SHA-256), single use, expiring, revocable, one open link per subject. The link rows
are ``accounts.models.OneTimeLink``; this module is the token and the "open" rule."""

import hashlib
import secrets
from datetime import datetime

from django.db.models import Q
from django.utils import timezone


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh link token (for the link, shown once) and its hash (for the row)."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def open_links(now: datetime | None = None) -> Q:
    """The filter of links still usable at ``now``: what ``OneTimeLink.state`` calls "open"."""
    return Q(used_at=None, revoked_at=None, expires_at__gt=now or timezone.now())
