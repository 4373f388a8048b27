import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

log = logging.getLogger("faceauth.authorization")


class DisplayTimezoneMiddleware:
    """Render times in the site's display time zone; the database stays in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(settings.DISPLAY_TIME_ZONE)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class AuthorizationMiddleware:
    """Enforces faceauth.authorization before any view runs, failing closed.

    A URL the table does not name is refused to everybody; a principal its row does not name
    is refused: the API answers 401 (no or wrong credentials) or 403 as JSON; pages redirect to
    the login (or to pairing, for a device page) or answer 403; the admin site, as it does
    itself, redirects everyone but staff to its login and answers staff 403. Every
    response to a signed-in person or a device is ``Cache-Control: no-store``: it carries
    personal data or credentials-bound state that no shared or browser cache may keep."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.urls import Resolver404, resolve

        from . import authorization as table

        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return self.get_response(request)  # a 404 (or APPEND_SLASH's redirect) anyway
        rule = table.rule_for(match)
        if rule is None:
            log.error("URL not in the authorization table", extra={"route": match.route})
            principals, allowed = frozenset(), frozenset()
            rule = table.Rule(table.PAGE, frozenset())
        else:
            principals = table.principals_of(request, api=rule.kind == table.API)
            allowed = rule.allowed(request.method or "GET", match.kwargs)
        if not principals & allowed:
            return _refuse(request, rule, principals, allowed)
        response = self.get_response(request)
        if principals - {table.ANONYMOUS}:
            patch_cache_control(response, no_store=True, private=True)
        return response


def _refuse(request: HttpRequest, rule, principals: frozenset, allowed: frozenset):
    from django.contrib.auth.views import redirect_to_login
    from django.core.exceptions import PermissionDenied
    from django.urls import reverse

    from . import authorization as table

    signed_in = bool(principals & table.PEOPLE) or (
        rule.kind == table.API and bool(principals - {table.ANONYMOUS})
    )
    if rule.kind == table.API:
        if not signed_in:
            response = JsonResponse(
                {"code": "not_authenticated", "detail": "Sign in or send a device token."},
                status=401,
            )
            response["WWW-Authenticate"] = "Device"
        else:
            response = JsonResponse(
                {"code": "permission_denied", "detail": "You may not use this endpoint."},
                status=403,
            )
        return response
    if rule.kind == table.ADMIN_SITE and not principals & table.STAFF:
        # As the admin site itself does: its login page tells a signed-in person they may not.
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if signed_in:
        raise PermissionDenied
    if allowed and allowed <= {table.PAIRED_KIOSK, table.PAIRED_DOOR}:
        return redirect_to_login(request.get_full_path(), reverse("pair-device"))
    return redirect_to_login(request.get_full_path())
