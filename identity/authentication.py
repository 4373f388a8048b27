"""Who a bearer token is: an OpenID access token or a SCIM provisioning token.

The authorization table (faceauth/authorization.py) names these principals only on the
endpoints they serve: userinfo for an access token, the SCIM API for a provisioning token.
"""

from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from .models import ProvisioningClient

OIDC_BEARER, PROVISIONING = "bearer:oidc", "bearer:scim"
SCIM_PREFIX = "scim_"


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _, token = header.partition(" ")
    if keyword.lower() != "bearer":
        return None
    return token.strip()


def provisioning_client(token: str) -> ProvisioningClient | None:
    if not token.startswith(SCIM_PREFIX):
        return None
    return ProvisioningClient.objects.filter(
        token_hash=ProvisioningClient.hash_token(token), is_active=True
    ).first()


def bearer_principal(request) -> str | None:
    """None: no bearer token; "": one was offered and is not valid; else the principal."""
    token = bearer_token(request)
    if token is None:
        return None
    if provisioning_client(token) is not None:
        return PROVISIONING
    access = (
        get_access_token_model()
        .objects.filter(token_checksum=_checksum(token), expires__gt=timezone.now())
        .select_related("user")
        .first()
    )
    if access is not None and access.user is not None and access.user.may_authenticate():
        return OIDC_BEARER
    return ""


def _checksum(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()
