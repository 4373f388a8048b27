"""Idempotent requests: a retried request gets the first answer and never has a second effect.

The contract, for every endpoint that takes a client key (attendance's capture id, a door's
request id) or deduplicates on the payload (a door check within ACCESS_DEDUP_SECONDS):

- ``fingerprint(*parts, purpose=...)`` is what the request carried, stored with its result. It
  is keyed with SECRET_KEY, so a stored fingerprint of an employee number and a 4-digit PIN
  cannot be brute-forced back into the PIN.
- ``replay(earlier, stored=..., fingerprint=..., conflict=...)`` decides about a result found
  under the same key: the same fingerprint gets that result again; another fingerprint is a
  conflict (``conflict`` raised: the key was reused for a different request) or, without
  ``conflict``, a new request (None). Where the key alone decides (a door's single-image retry
  under its request id), the caller answers with the earlier result without calling it.

Finding the earlier result stays with the app that owns it (a unique Capture row, or an access
event within a window), because that is where its race is settled.

A refusal that leaves no row (a clock refused) may still have spent something single-use: the
liveness nonce, a streamed decision. Sent again, the same request would meet that spent
evidence and get another answer (``nonce_invalid``; ``nonce_reused``, which counts as an
attack). ``remember_refusal`` keeps the refusal under the key for ``REFUSAL_MEMORY_SECONDS`` and
``refuse_again`` answers the same request with it, without a second check or count.
"""

import hashlib
import hmac
from typing import TypeVar

from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

T = TypeVar("T")


class RequestKeyReused(DomainError):
    status_code = 409
    code = "request_key_reused"
    message = _("This request key was already used for a different request.")


def fingerprint(*parts: bytes | str | int | None, purpose: str) -> str:
    """64 hex digits. Parts are length-framed, so ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else ("" if part is None else str(part)).encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    key_salt = f"faceauth.request.{purpose}"
    return salted_hmac(key_salt, digest.hexdigest(), algorithm="sha256").hexdigest()


def replay(
    earlier: T | None,
    *,
    stored: str,
    fingerprint: str,
    conflict: type[DomainError] | None = RequestKeyReused,
) -> T | None:
    if earlier is None:
        return None
    if hmac.compare_digest(stored, fingerprint):
        return earlier
    if conflict is not None:
        raise conflict()
    return None


REFUSAL_MEMORY_SECONDS = 600  # far longer than a client's retries, shorter than a nonce's reuse
# Refusals a retry may turn into a success, so they are not remembered: lock-outs and
# throttles (429, with their own Retry-After), a stream asked before it decided or while busy.
TRANSIENT_CODES = frozenset({"stream_not_decided", "stream_busy"})


def _refusal_key(purpose: str, key: str) -> str:
    return f"idempotency:refusal:{purpose}:{key}"


def remember_refusal(key: str, fingerprint: str, error: DomainError, *, purpose: str) -> None:
    """Keep ``error`` as the answer to this request (``key`` + ``fingerprint``)."""
    if error.status_code == 429 or error.status_code >= 500 or error.code in TRANSIENT_CODES:
        return
    answer = {
        "fingerprint": fingerprint,
        "code": error.code,
        "message": str(error.message),
        "status": error.status_code,
        "reason": getattr(error, "reason", None),
    }
    cache.set(_refusal_key(purpose, key), answer, REFUSAL_MEMORY_SECONDS)


def refuse_again(key: str, fingerprint: str, *, purpose: str) -> None:
    """Raise the refusal remembered for this very request, if any. Another fingerprint under
    the key is a new request (nothing was recorded for the refused one)."""
    answer = cache.get(_refusal_key(purpose, key))
    if not answer or not hmac.compare_digest(answer["fingerprint"], fingerprint):
        return
    error = DomainError(answer["message"], code=answer["code"], status_code=answer["status"])
    error.reason = answer["reason"]
    raise error
