"""The face step of a sign-in.

``SiteFaceStepMiddleware``: on FaceAuth's own pages, a person whose role is in
``FACEAUTH_SITE_FACE_REQUIRED_ROLES`` signs in with a password or a passkey and then a live 1:1
face check before any page or API answers them, as the identity provider asks of them for
other applications (``IDENTITY_FACE_REQUIRED_ROLES``, identity/assurance.py). Off by default:
turn it on once those people have enrolled (docs/identity.md).

``FaceStepLockoutMiddleware``: a face lock-out met during the face step (the site's or an
OIDC sign-in's) ends that sign-in, whichever request of the step met it."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from accounts import sessions
from accounts.permissions import role_of
from biometrics import services as biometrics

# What a person without the face factor may still reach: the face step itself and what its
# page calls, signing out, the language, and the public pages.
OPEN_URL_NAMES = frozenset(
    {
        "identity:face",
        "api-identity-face",
        "api-challenge",
        "api-liveness-stream",
        "api-analyse",
        "logout",
        "login",
        "set_language",
        "javascript-catalog",
        "privacy-notice",
    }
)
OPEN_PREFIXES = ("/static/", "/favicon")


def needs_face_step(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if role_of(user) not in settings.FACEAUTH_SITE_FACE_REQUIRED_ROLES:
        return False
    return sessions.FACE not in sessions.factors(request)


def _open(request: HttpRequest) -> bool:
    if request.path.startswith(OPEN_PREFIXES):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # the 404 page tells nothing
    return match.view_name in OPEN_URL_NAMES


class SiteFaceStepMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if needs_face_step(request) and not _open(request):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "face_step_required",
                        "message": _("Confirm this sign-in with your face first."),
                        "face_step": reverse("identity:face"),
                    },
                    status=403,
                )
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('identity:face')}?{query}")
        return self.get_response(request)


# Set when the face step page is shown, cleared when the face factor is recorded: the session
# is in the middle of a sign-in's face step.
IN_FACE_STEP_KEY = "identity.in_face_step"
# The requests of the face step that may meet a lock-out: its own answer, and the challenge and
# the stream its page sends first (with the stream the decision, a lock-out included, comes
# before the face step's own request, which may then never be sent).
FACE_STEP_API = "api-identity-face"
FACE_STEP_LIVENESS = frozenset({"api-challenge", "api-liveness-stream"})


def begin_face_step(request: HttpRequest) -> None:
    request.session[IN_FACE_STEP_KEY] = True


def end_face_step(request: HttpRequest) -> None:
    request.session.pop(IN_FACE_STEP_KEY, None)


def _locked_out(response: HttpResponse) -> bool:
    data = getattr(response, "data", None)  # DRF's answer, before rendering
    answer = (response.status_code, data.get("code")) if isinstance(data, dict) else None
    return answer in biometrics.LOCK_OUT_ANSWERS


class FaceStepLockoutMiddleware:
    """A locked-out face signs the session out when the face step met it: the password alone
    signs nobody in. Done here, on the server, for every request of the step: the page is not
    trusted to sign itself out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _locked_out(response) or not getattr(request, "user", None):
            return response
        if not request.user.is_authenticated:
            return response
        match = getattr(request, "resolver_match", None)
        name = match.view_name if match else ""
        in_step = name in FACE_STEP_LIVENESS and request.session.get(IN_FACE_STEP_KEY)
        if name == FACE_STEP_API or in_step:
            logout(request)
        return response
