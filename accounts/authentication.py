"""Token authentication for kiosks and door terminals."""

import hashlib
import logging
from datetime import timedelta

from django.db import OperationalError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework import authentication, exceptions

from .models import Device

logger = logging.getLogger(__name__)

# Writing last_seen on every request would make every frame a write; once a minute is plenty.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def touch(device: Device) -> None:
    """Record that the device was seen now (a token request or a paired screen's request)."""
    now = timezone.now()
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        device.last_seen_at = now
        # Best effort: concurrent requests of one device race for this write, and SQLite answers
        # the loser with "table is locked". A missed last-seen must never fail the request.
        try:
            with transaction.atomic():
                Device.objects.filter(pk=device.pk).update(last_seen_at=now)
        except OperationalError:
            logger.info("last-seen not recorded (concurrent write)", extra={"device": device.pk})


class DevicePrincipal:
    """The request.user of a device request: authenticated, but nobody."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, device: Device):
        self.device = device
        self.role = f"device:{device.kind}"
        self.username = f"device:{device.name}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, *args, **kwargs) -> bool:
        return False


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Device <token>``: an unregistered or revoked device is refused."""

    keyword = "Device"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid device token header.")
        # The authorization middleware and DRF both authenticate an API request: one lookup
        # per request (the Django request under DRF's; a refusal is looked up again).
        raw = getattr(request, "_request", request)
        found = getattr(raw, "_faceauth_device", None)
        if found is not None:
            return found
        token = header[1].decode(errors="replace")
        device = Device.objects.filter(token_hash=Device.hash_token(token)).first()
        if device is None or not device.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked device.")
        touch(device)
        raw._faceauth_device = (DevicePrincipal(device), device)
        return raw._faceauth_device

    def authenticate_header(self, request) -> str:
        return self.keyword


DEVICE_SESSION_KEY = "faceauth_device_id"
# The token the browser was paired with (a digest of its stored hash): a rotated token unpairs
# every browser paired with the old one, as it refuses the old token itself (finding 7).
DEVICE_TOKEN_SESSION_KEY = "faceauth_device_token"


def _token_binding(device: Device) -> str:
    return hashlib.sha256(f"faceauth-pairing:{device.token_hash}".encode()).hexdigest()


def pair_session(session, device: Device) -> None:
    """Pair this browser session as ``device``, bound to the device's current token."""
    session[DEVICE_SESSION_KEY] = device.pk
    session[DEVICE_TOKEN_SESSION_KEY] = _token_binding(device)


def unpair_session(session) -> None:
    session.pop(DEVICE_SESSION_KEY, None)
    session.pop(DEVICE_TOKEN_SESSION_KEY, None)


def device_from_session(request) -> Device | None:
    """The kiosk or door this browser was paired as (see accounts.views.pair_device), while
    that device is active and still has the token it was paired with."""
    session = getattr(request, "session", None)
    device_id = session.get(DEVICE_SESSION_KEY) if session is not None else None
    if device_id is None:
        return None
    device = Device.objects.filter(pk=device_id, is_active=True).first()
    bound = session.get(DEVICE_TOKEN_SESSION_KEY) or ""
    if device is None or not constant_time_compare(bound, _token_binding(device)):
        unpair_session(session)
        return None
    touch(device)
    return device


class DeviceSessionAuthentication(authentication.SessionAuthentication):
    """A paired kiosk or door page: the device id lives in the session, the token never
    reaches JavaScript. CSRF is enforced as for any session."""

    def authenticate(self, request):
        device = device_from_session(request._request)
        if device is None:
            return None
        self.enforce_csrf(request)
        return DevicePrincipal(device), device
