"""The face step on FaceAuth's own pages: a person whose role is in
``FACEAUTH_SITE_FACE_REQUIRED_ROLES`` signs in with a password or a passkey and then a live 1:1
face check before any page or API answers them, as the identity provider asks of them for
other applications (``IDENTITY_FACE_REQUIRED_ROLES``, identity/assurance.py). Off by default:
turn it on once those people have enrolled (docs/identity.md)."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from accounts import sessions
from accounts.permissions import role_of

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
