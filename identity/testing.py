"""Bearer tokens for tests that walk the authorization table (no test-only shortcuts in the
views: these are the real models the endpoints check)."""

import secrets
from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

from accounts.models import Role, User

from . import services
from .authentication import OIDC_BEARER, PROVISIONING


def bearer_token_for(principal: str) -> str:
    if principal == PROVISIONING:
        _, token = services.register_provisioning_client(name=f"test {secrets.token_hex(4)}")
        return token
    assert principal == OIDC_BEARER, principal
    person = User.objects.create(username=f"rp-{secrets.token_hex(4)}", role=Role.EMPLOYEE)
    application = get_application_model().objects.create(
        name="test client",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://rp.example/cb",
        algorithm="RS256",
    )
    token = secrets.token_urlsafe(24)
    get_access_token_model().objects.create(
        user=person,
        application=application,
        token=token,
        scope="openid profile",
        expires=timezone.now() + timedelta(hours=1),
    )
    return token
