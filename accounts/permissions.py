"""Role-based API permissions. Every API view denies unless it names the roles it serves."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from .authentication import device_from_session
from .models import DeviceKind, Role

KIOSK = "device:kiosk"
DOOR = "device:door"
ALL_PEOPLE = tuple(Role.values)
STAFF = (Role.ADMIN, Role.MANAGER)


def role_of(user) -> str | None:
    if not user or not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    return getattr(user, "role", None)


class HasRole(BasePermission):
    """Grants access only to the roles in the view's ``allowed_roles`` (deny by default)."""

    message = _("Your role may not use this endpoint.")

    def has_permission(self, request, view) -> bool:
        allowed = getattr(view, "allowed_roles", None)
        if not allowed:
            return False
        user = request.user
        role = role_of(user)
        if role is None:
            return False
        if role.startswith("device:"):
            return role in allowed
        # People must still be active and inside their validity window on every request.
        return role in allowed and user.may_authenticate()


def device_kind_role(kind: str) -> str:
    return {DeviceKind.KIOSK: KIOSK, DeviceKind.DOOR: DOOR}[kind]


def device_page(kind: str):
    """Page decorator: the browser must be paired as a device of this kind."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            device = device_from_session(request)
            if device is None or device.kind != kind:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('pair-device')}?{query}")
            request.device = device
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def page_roles(*roles: str):
    """Page decorator, the view's own check behind the authorization table: signed in (else the
    sign-in page), active and inside the validity window, and one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(user) not in roles or not user.may_authenticate():
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
