"""How sure a sign-in is: the ``acr`` values FaceAuth issues and what each one needs.

Two levels. ``PASSWORD`` (a password sign-in) and ``FACE`` (a password and then a live 1:1 face
check on the person's own webcam: two factors, the face never alone, NIST SP 800-63B). A client
needs ``FACE`` when its policy says so, when it asks for it in ``acr_values``, or when the
person's role is in ``IDENTITY_FACE_REQUIRED_ROLES``.
"""

from collections.abc import Iterable, Mapping

from django.conf import settings

from accounts.sessions import FACE, PASSWORD

ACR_PASSWORD = "urn:faceauth:acr:pwd"
ACR_FACE = "urn:faceauth:acr:pwd+face"
ACR_VALUES = (ACR_PASSWORD, ACR_FACE)
# The factors each level needs, in the order ``amr`` lists them (RFC 8176 names: "pwd", "face").
FACTORS_OF = {ACR_PASSWORD: (PASSWORD,), ACR_FACE: (PASSWORD, FACE)}


def required_acr(*, policy_acr: str, acr_values: Iterable[str], role: str) -> str:
    """The level this sign-in must reach: the highest of the client's policy, the values it
    asked for (unknown values are ignored) and the role's requirement."""
    wanted = {policy_acr, *acr_values}
    if role in settings.IDENTITY_FACE_REQUIRED_ROLES:
        wanted.add(ACR_FACE)
    return ACR_FACE if ACR_FACE in wanted else ACR_PASSWORD


def achieved(factors: Mapping[str, float]) -> tuple[str, list[str], float] | None:
    """(acr, amr, auth_time) of the factors this session holds, or None without a password."""
    if PASSWORD not in factors:
        return None
    acr = ACR_FACE if FACE in factors else ACR_PASSWORD
    amr = list(FACTORS_OF[acr])
    return acr, amr, max(factors[f] for f in amr)


def missing(
    required: str, factors: Mapping[str, float], *, floors: Mapping[str, float]
) -> list[str]:
    """The factors still to prove for ``required``. ``floors`` (from ``max_age`` or
    ``prompt=login``): a factor proved before its floor counts as missing."""
    return [f for f in FACTORS_OF[required] if f not in factors or factors[f] < floors.get(f, 0.0)]


def floors_for(required: str, *, since: float, prompt_login: bool) -> dict[str, float]:
    """What a re-authentication must prove again after ``since``: every factor on
    ``prompt=login``; for an exceeded ``max_age`` the strongest factor of the level (a fresh
    live face at ``ACR_FACE``: a step-up without typing the password again)."""
    factors = FACTORS_OF[required] if prompt_login else FACTORS_OF[required][-1:]
    return {f: since for f in factors}
