"""How sure a sign-in is: the levels a client can require, and the ``acr`` / ``amr`` FaceAuth
issues for what the person proved.

A sign-in starts with a **first factor**: a password (``pwd``) or a passkey (``pop``, RFC 8176
proof of possession of a key; docs/identity.md says why not ``hwk``). Two levels:

- ``ONE_FACTOR``: a first factor;
- ``FACE_LEVEL``: a first factor and then a live 1:1 face check on the person's own webcam (two
  factors, the face never alone, NIST SP 800-63B).

A client needs the face level when its policy says so, when it asks for it in ``acr_values``,
or when the person's role is in ``IDENTITY_FACE_REQUIRED_ROLES``.

The ``acr`` issued names the factors, so each value keeps one meaning: ``...:pwd`` and
``...:pwd+face`` still mean a password (then a face), as before passkeys; a passkey sign-in
gets ``...:pop`` or ``...:pop+face``. Asking for any value of a level asks for that level.
"""

from collections.abc import Iterable, Mapping

from django.conf import settings

from accounts.sessions import FACE, PASSKEY, PASSWORD

ACR_PASSWORD = "urn:faceauth:acr:pwd"
ACR_FACE = "urn:faceauth:acr:pwd+face"
ACR_PASSKEY = "urn:faceauth:acr:pop"
ACR_PASSKEY_FACE = "urn:faceauth:acr:pop+face"
ACR_VALUES = (ACR_PASSWORD, ACR_PASSKEY, ACR_FACE, ACR_PASSKEY_FACE)

# Either one opens a sign-in; the first listed wins a tie (it cannot happen in practice: both
# are recorded by a sign-in, which starts a new record).
FIRST_FACTORS = (PASSWORD, PASSKEY)
# What a level asks for: ``FIRST`` is "a first factor, whichever".
FIRST = "first"
ONE_FACTOR, FACE_LEVEL = "one-factor", "face"
NEEDS = {ONE_FACTOR: (FIRST,), FACE_LEVEL: (FIRST, FACE)}
LEVEL_OF = {
    ACR_PASSWORD: ONE_FACTOR,
    ACR_PASSKEY: ONE_FACTOR,
    ACR_FACE: FACE_LEVEL,
    ACR_PASSKEY_FACE: FACE_LEVEL,
}
# (first factor, with the face) -> acr
ACR_OF = {
    (PASSWORD, False): ACR_PASSWORD,
    (PASSWORD, True): ACR_FACE,
    (PASSKEY, False): ACR_PASSKEY,
    (PASSKEY, True): ACR_PASSKEY_FACE,
}


def required_level(*, policy_acr: str, acr_values: Iterable[str], role: str) -> str:
    """The level this sign-in must reach: the highest of the client's policy, the values it
    asked for (unknown values are ignored) and the role's requirement."""
    wanted = {LEVEL_OF.get(value) for value in (policy_acr, *acr_values)}
    if role in settings.IDENTITY_FACE_REQUIRED_ROLES:
        wanted.add(FACE_LEVEL)
    return FACE_LEVEL if FACE_LEVEL in wanted else ONE_FACTOR


def _first(factors: Mapping[str, float]) -> str | None:
    """The first factor of this session: the latest one proved."""
    held = [f for f in FIRST_FACTORS if f in factors]
    return max(held, key=lambda f: factors[f]) if held else None


def achieved(factors: Mapping[str, float]) -> tuple[str, list[str], float] | None:
    """(acr, amr, auth_time) of the factors this session holds, or None without a first
    factor (a face alone signs nobody in)."""
    first = _first(factors)
    if first is None:
        return None
    amr = [first, FACE] if FACE in factors else [first]
    return ACR_OF[(first, FACE in factors)], amr, max(factors[f] for f in amr)


def missing(level: str, factors: Mapping[str, float], *, floors: Mapping[str, float]) -> list[str]:
    """What is still to prove for ``level`` (``FIRST``, ``FACE``). ``floors`` (from ``max_age``
    or ``prompt=login``): a factor proved before its floor counts as missing."""
    first = _first(factors)
    proved = {FIRST: factors[first]} if first else {}
    if FACE in factors:
        proved[FACE] = factors[FACE]
    return [f for f in NEEDS[level] if f not in proved or proved[f] < floors.get(f, 0.0)]


def floors_for(level: str, *, since: float, prompt_login: bool) -> dict[str, float]:
    """What a re-authentication must prove again after ``since``: every factor on
    ``prompt=login``; for an exceeded ``max_age`` the strongest factor of the level (a fresh
    live face at ``FACE_LEVEL``: a step-up without signing in again)."""
    factors = NEEDS[level] if prompt_login else NEEDS[level][-1:]
    return {f: since for f in factors}
