"""FaceAuth's OpenID Connect claims and checks on top of django-oauth-toolkit's validator.

- ``sub`` is the person's Subject UUID, never the database id.
- ``acr``, ``amr`` and ``auth_time`` come from the sign-in that issued the code
  (``SignInContext``); a face check's score never leaves the server.
- A person who may no longer authenticate (offboarded, outside their validity window) gets no
  token from a code or a refresh token, and their access tokens stop working.
- Every token issued is in the audit trail.
"""

from oauth2_provider.oauth2_validators import OAuth2Validator

from accounts import audit

from . import selectors
from .models import SignInContext

CLAIM_SCOPE = {
    "sub": "openid",
    "acr": "openid",
    "amr": "openid",
    "name": "profile",
    "given_name": "profile",
    "family_name": "profile",
    "preferred_username": "profile",
    "email": "email",
    "employee_number": "employee",
    "department": "department",
    "role": "role",
}


def _may_authenticate(user) -> bool:
    return user is not None and getattr(user, "pk", None) is not None and user.may_authenticate()


class FaceAuthValidator(OAuth2Validator):
    oidc_claim_scope = CLAIM_SCOPE

    def get_additional_claims(self, request):
        person = request.user
        claims = {
            "sub": selectors.subject_of(person=person),
            "name": str(person),
            "given_name": person.first_name,
            "family_name": person.last_name,
            "preferred_username": person.username,
            "email": person.email,
            "employee_number": person.employee_number or "",
            "department": person.department.name if person.department_id else "",
            "role": person.role,
        }
        context = getattr(request, "faceauth_context", None)
        if context is not None:  # the ID token of a code exchange; userinfo has none
            claims["acr"] = context.acr
            claims["amr"] = list(context.amr)
        return claims

    def get_discovery_claims(self, request):
        return list(CLAIM_SCOPE) + ["auth_time"]

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        context = getattr(request, "faceauth_context", None)
        if context is not None:
            claims["auth_time"] = int(context.auth_time.timestamp())
        return claims, expires

    # ------------------------------------------------------------------ codes

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        context = getattr(request, "faceauth_context", None)
        if context is not None:
            SignInContext.objects.create(
                code_hash=SignInContext.hash_code(code["code"]),
                person=request.user,
                acr=context["acr"],
                amr=context["amr"],
                auth_time=context["auth_time"],
            )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        if not _may_authenticate(request.user):
            return False
        request.faceauth_context = SignInContext.objects.filter(
            code_hash=SignInContext.hash_code(code), person=request.user
        ).first()
        # A code issued without FaceAuth's sign-in context carries no assurance: refuse it.
        return request.faceauth_context is not None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        SignInContext.objects.filter(code_hash=SignInContext.hash_code(code)).delete()

    # ------------------------------------------------------------------ tokens

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and _may_authenticate(request.user)

    def refresh_id_token(self, request):
        # acr, amr and auth_time describe a sign-in; a refresh is none, so it gets no ID token.
        return False

    def validate_bearer_token(self, token, scopes, request):
        valid = super().validate_bearer_token(token, scopes, request)
        return valid and _may_authenticate(request.user)

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        context = getattr(request, "faceauth_context", None)
        audit.record(
            "oidc.token",
            actor=request.user,
            outcome="issued",
            target=request.client,
            details={
                "client_id": request.client.client_id,
                "grant_type": request.grant_type or "",
                "scopes": " ".join(request.scopes or []),
                "acr": context.acr if context is not None else "",
                "amr": list(context.amr) if context is not None else [],
                "refresh_token": bool(token.get("refresh_token")),
            },
        )
