"""Sign in with FaceAuth: the authorization endpoint with its assurance steps, the face step,
and the person's list of authorised applications.

The authorization endpoint is django-oauth-toolkit's, with FaceAuth's rules in front: the
level the client, its ``acr_values`` or the person's role need (identity.assurance), a fresh
factor where ``max_age`` or ``prompt=login`` ask for one, and the remembered consent.
"""

import hashlib
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from oauth2_provider import views as oauth_views
from oauth2_provider.models import get_application_model
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import sessions
from accounts.errors import DomainError
from accounts.permissions import ALL_PEOPLE
from accounts.throttles import FACE_THROTTLES, FaceIPThrottle
from biometrics import selectors as biometric_selectors
from biometrics import services as biometrics

from . import assurance, passkeys, selectors, services
from .middleware import begin_face_step, end_face_step

FLOORS_KEY = "faceauth.identity.floors"


def _request_key(request: HttpRequest) -> str:
    """One authorization request, whatever prompt it carried (handled prompts are dropped)."""
    items = sorted((k, v) for k, v in request.GET.lists() if k != "prompt")
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:32]


def _path_without_prompt(request: HttpRequest) -> str:
    query = [(k, v) for k, values in request.GET.lists() if k != "prompt" for v in values]
    return request.path + ("?" + urlencode(query) if query else "")


def _max_age(request: HttpRequest) -> int | None:
    try:
        value = int(request.GET.get("max_age", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


# identity.conf.SCOPES has no Django (settings import it): its descriptions, marked for the
# catalogue; the consent page translates them (templates/identity/consent.html).
SCOPE_TEXTS = (
    gettext_noop("Sign you in"),
    gettext_noop("Your name"),
    gettext_noop("Your e-mail address"),
    gettext_noop("Your employee number"),
    gettext_noop("Your department"),
    gettext_noop("Your role at FaceAuth (employee, manager, ...)"),
)


class AuthorizationView(oauth_views.AuthorizationView):
    template_name = "identity/consent.html"

    def get(self, request, *args, **kwargs):
        return self._assurance_step(request) or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self._assurance_step(request) or super().post(request, *args, **kwargs)

    def _assurance_step(self, request: HttpRequest) -> HttpResponse | None:
        """A redirect to the password or the face step this request still needs, or None."""
        application = (
            get_application_model()
            .objects.filter(client_id=request.GET.get("client_id", ""))
            .first()
        )
        if application is None:
            return None  # the toolkit answers the invalid request
        required = assurance.required_level(
            policy_acr=selectors.required_acr_of(application=application),
            acr_values=request.GET.get("acr_values", "").split(),
            role=request.user.role,
        )
        key = _request_key(request)
        all_floors = request.session.get(FLOORS_KEY, {})
        floors = all_floors.get(key)
        factors = sessions.factors(request)
        if floors is None:
            prompt_login = "login" in request.GET.get("prompt", "").split()
            max_age, held = _max_age(request), assurance.achieved(factors)
            stale = max_age is not None and (held is None or time.time() - held[2] > max_age)
            if prompt_login or stale:
                floors = assurance.floors_for(
                    required, since=time.time(), prompt_login=prompt_login
                )
                all_floors[key] = floors
                request.session[FLOORS_KEY] = all_floors
        needed = assurance.missing(required, factors, floors=floors or {})
        if assurance.FIRST in needed:
            # Django's login page skips a signed-in person: sign out first, keep the floors.
            # The login page offers both first factors: the password and a passkey.
            logout(request)
            request.session[FLOORS_KEY] = {key: floors} if floors else {}
            return redirect_to_login(_path_without_prompt(request))
        if assurance.FACE in needed:
            return redirect(
                reverse("identity:face") + "?" + urlencode({"next": _path_without_prompt(request)})
            )
        self._floors_key = key
        return None

    def render_to_response(self, context, **response_kwargs):
        """The consent screen, unless the person already allowed these scopes."""
        application, form = context.get("application"), context.get("form")
        prompt = self.request.GET.get("prompt", "").split()
        if application is not None and form is not None and "consent" not in prompt:
            consent = selectors.consent_of(person=self.request.user, application=application)
            if consent is not None and consent.covers(context.get("scopes", [])):
                data = {k: v for k, v in form.initial.items() if v not in (None, "")}
                bound = self.get_form_class()(data={**data, "allow": "on"})
                if bound.is_valid():
                    return self.form_valid(bound)
        return super().render_to_response(context, **response_kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        held = assurance.achieved(sessions.factors(request)) if allow else None
        if held is not None:
            acr, amr, auth_time = held
            credentials["faceauth_context"] = {
                "acr": acr,
                "amr": amr,
                "auth_time": datetime.fromtimestamp(auth_time, tz=UTC),
            }
        result = super().create_authorization_response(request, scopes, credentials, allow)
        floors = request.session.get(FLOORS_KEY, {})
        if floors.pop(getattr(self, "_floors_key", ""), None) is not None:
            request.session[FLOORS_KEY] = floors  # a fresh factor serves one request only
        if allow:
            application = get_application_model().objects.get(client_id=credentials["client_id"])
            scope_list = scopes.split() if isinstance(scopes, str) else list(scopes)
            services.grant_consent(person=request.user, application=application, scopes=scope_list)
        return result


class ConnectDiscoveryInfoView(oauth_views.ConnectDiscoveryInfoView):
    """The toolkit's discovery document, plus FaceAuth's acr values."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["acr_values_supported"] = list(assurance.ACR_VALUES)
        data["prompt_values_supported"] = ["none", "login", "consent"]
        data["claims_parameter_supported"] = False
        return JsonResponse(data, headers={"Access-Control-Allow-Origin": "*"})


# ---------------------------------------------------------------- the face step


def _safe_next(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


@login_required
def face_step(request: HttpRequest) -> HttpResponse:
    """The live face check of a sign-in (the personal clock's 1:1 check with liveness)."""
    begin_face_step(request)
    return render(
        request,
        "identity/face.html",
        {
            "enrolled": biometric_selectors.has_templates(person=request.user),
            "config": {
                "verifyUrl": reverse("api-identity-face"),
                "analyseUrl": "/api/biometrics/analyse/",
                "challengeUrl": reverse("api-challenge"),
                "streamUrl": reverse("api-liveness-stream"),
                "liveness": biometric_selectors.liveness_required(None),
                "next": _safe_next(request, request.GET.get("next", "")),
            },
        },
    )


class FaceMismatch(DomainError):
    code = "face_mismatch"
    message = _("This face does not match your enrolled face. Please try again.")
    status_code = status.HTTP_403_FORBIDDEN


class FaceStepRequest(serializers.Serializer):
    frames = serializers.ListField(child=serializers.FileField(), required=False)
    image = serializers.FileField(required=False, help_text="One photo where liveness is off.")
    nonce = serializers.CharField(required=False)
    streamed = serializers.BooleanField(
        required=False,
        help_text="The capture was streamed to /api/biometrics/liveness/stream/ under "
        "``nonce``: this request claims its decision (no frames).",
    )


class FaceStepView(APIView):
    """POST the challenge's ``nonce`` with ``streamed=1`` after streaming the capture (the
    page's way), or with a liveness burst (``frames``): on a match the session holds the
    ``face`` factor. Same engine, thresholds, lock-outs and audit as the personal
    clock (biometrics.services.verify_person); the answer never carries the score."""

    allowed_roles = ALL_PEOPLE
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": FaceStepRequest}, responses=dict)
    def post(self, request):
        frames = [f.read() for f in request.FILES.getlist("frames")]
        image = request.FILES.get("image")
        nonce = str(request.data.get("nonce", "") or "")
        streamed = biometrics.claims_stream(
            nonce=nonce, frames=frames, flag=request.data.get("streamed")
        )
        if not frames and not streamed and biometric_selectors.liveness_required(None):
            raise biometrics.refuse_liveness("liveness_required")
        # A lock-out here ends the sign-in: identity.middleware.FaceStepLockoutMiddleware.
        result = biometrics.verify_person(
            person=request.user,
            image=None if frames or streamed else (image.read() if image else None),
            frames=frames or None,
            nonce=nonce,
            streamed=streamed,
            where="sign-in",
        )
        if not result.match:
            raise FaceMismatch()
        sessions.record_factor(request._request, factor=sessions.FACE)
        end_face_step(request._request)
        target = str(request.data.get("next", "") or "")
        return Response({"ok": True, "next": _safe_next(request._request, target)})


# ---------------------------------------------------------------- authorised applications


@login_required
def authorised_apps(request: HttpRequest) -> HttpResponse:
    return render(
        request, "identity/apps.html", {"consents": selectors.consents_of(person=request.user)}
    )


@login_required
@require_POST
def revoke_app(request: HttpRequest, client_id: str) -> HttpResponse:
    application = get_object_or_404(get_application_model(), client_id=client_id)
    services.revoke_consent(person=request.user, application=application)
    return redirect("identity:apps")


# ---------------------------------------------------------------- passkeys


@login_required
def passkeys_page(request: HttpRequest) -> HttpResponse:
    """The person's passkeys: list, add (after a recent password), remove."""
    return render(
        request,
        "identity/passkeys.html",
        {
            "passkeys": selectors.passkeys_of(person=request.user),
            "password_fresh": passkeys.password_is_fresh(request),
            "reauth_minutes": max(1, settings.FACEAUTH_PASSKEY_REAUTH_SECONDS // 60),
            "max_passkeys": passkeys.MAX_PASSKEYS,
            "config": {
                "optionsUrl": reverse("api-passkey-register-options"),
                "registerUrl": reverse("api-passkey-register"),
            },
        },
    )


@login_required
@require_POST
def confirm_password(request: HttpRequest) -> HttpResponse:
    """A fresh password for adding a passkey, through the same backends (axes, the per-account
    limit, the validity window) and signals (audit) as the sign-in page; their lock-out pages
    answer here too."""
    person = authenticate(
        request, username=request.user.get_username(), password=request.POST.get("password", "")
    )
    if person is None or person.pk != request.user.pk:
        messages.error(request, _("That password is not right."))
    else:
        login(request, person)  # the same person: the session and its factors stay
    return redirect("identity:passkeys")


@login_required
@require_POST
def remove_passkey(request: HttpRequest, pk: int) -> HttpResponse:
    # Only the person's own: another person's passkey is not found (404).
    passkey = get_object_or_404(selectors.passkeys_of(person=request.user), pk=pk)
    passkeys.remove(passkey=passkey, actor=request.user, reason="self")
    messages.success(request, _("The passkey “%(name)s” was removed.") % {"name": passkey.name})
    return redirect("identity:passkeys")


class PasskeyChallengeThrottle(FaceIPThrottle):
    """Challenges per address: each one waits in the cache until it is answered or expires."""

    scope = "passkey_challenge"


class PasskeyRegisterOptionsView(APIView):
    """POST: ``navigator.credentials.create()`` options for a new passkey of the signed-in
    person (403 ``password_required`` without a password of the last minutes)."""

    allowed_roles = ALL_PEOPLE
    throttle_classes = (PasskeyChallengeThrottle,)

    @extend_schema(request=None, responses=dict)
    def post(self, request):
        return Response(passkeys.registration_options(request._request, person=request.user))


class PasskeyRegisterRequest(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    credential = serializers.DictField(help_text="The PublicKeyCredential, as JSON (base64url).")


class PasskeyRegisterView(APIView):
    """POST the authenticator's answer and a name: the passkey is kept (201)."""

    allowed_roles = ALL_PEOPLE
    parser_classes = (JSONParser,)

    @extend_schema(request=PasskeyRegisterRequest, responses={201: dict})
    def post(self, request):
        data = PasskeyRegisterRequest(data=request.data)
        data.is_valid(raise_exception=True)
        passkey = passkeys.register(
            request._request,
            person=request.user,
            name=data.validated_data["name"],
            credential=data.validated_data["credential"],
        )
        return Response({"id": passkey.pk, "name": passkey.name}, status=status.HTTP_201_CREATED)


class _SignInAPIView(APIView):
    """Anonymous, but CSRF-checked: signing in changes the browser's session, which a form on
    another site must not do (login CSRF; DRF checks CSRF only for signed-in people)."""

    authentication_classes = ()
    permission_classes = ()
    parser_classes = (JSONParser,)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        SessionAuthentication().enforce_csrf(request)


class PasskeySignInOptionsView(_SignInAPIView):
    """POST: ``navigator.credentials.get()`` options (no username: discoverable passkeys)."""

    throttle_classes = (PasskeyChallengeThrottle,)

    @extend_schema(request=None, responses=dict)
    def post(self, request):
        return Response(passkeys.sign_in_options(request._request))


class PasskeySignInRequest(serializers.Serializer):
    credential = serializers.DictField(help_text="The PublicKeyCredential, as JSON (base64url).")
    next = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class PasskeySignInView(_SignInAPIView):
    """POST the passkey's answer: the browser is signed in (first factor ``pop``) and told
    where to go next (a face step follows where the client or the role needs one)."""

    @extend_schema(request=PasskeySignInRequest, responses=dict)
    def post(self, request):
        data = PasskeySignInRequest(data=request.data)
        data.is_valid(raise_exception=True)
        passkeys.sign_in(request._request, credential=data.validated_data["credential"])
        target = data.validated_data.get("next", "")
        return Response({"ok": True, "next": _safe_next(request._request, target)})
