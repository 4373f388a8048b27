"""Rate limits on every biometric endpoint, per device (or person) and per IP.

In accounts because every app that takes a face (biometrics, attendance, access control)
throttles the same way, keyed by the device or person that accounts defines. The counting is
the shared attempt limit (``accounts.limits``): an atomic ``incr`` per request, where DRF's
own throttle reads and rewrites a history list, which concurrent requests slip past.
"""

from datetime import timedelta

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from .limits import AttemptLimit, Limited, Policy
from .models import Device, User

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_policy(rate: str) -> Policy:
    """``"120/min"``: 120 requests, then nothing until the minute has passed."""
    count, period = rate.split("/")
    window = timedelta(seconds=PERIODS[period.strip()[0]])
    return Policy(threshold=int(count), base=window, factor=1, max_wait=window, window=window)


class _FaceThrottle(BaseThrottle):
    scope = ""

    def __init__(self):
        self.limit = AttemptLimit(f"throttle-{self.scope}", self.policy)
        self.retry_after: int | None = None

    def policy(self) -> Policy:
        # Read at request time so a deployment (or a test) can change it without a restart.
        return rate_policy(settings.FACEAUTH_THROTTLE_RATES[self.scope])

    def ident(self, request) -> str:
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        try:
            self.limit.hit(self.ident(request))
        except Limited as exc:
            self.retry_after = exc.retry_after
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after


class FaceDeviceThrottle(_FaceThrottle):
    """Per device for kiosks and doors, per person for people."""

    scope = "face_device"

    def ident(self, request) -> str:
        device = request.auth if isinstance(request.auth, Device) else None
        if device is not None:
            return f"device:{device.pk}"
        if getattr(request.user, "pk", None):
            return f"user:{request.user.pk}"
        return super().ident(request)


class FaceIPThrottle(_FaceThrottle):
    scope = "face_ip"


FACE_THROTTLES = (FaceDeviceThrottle, FaceIPThrottle)


class FaceGuidanceThrottle(FaceDeviceThrottle):
    """Live guidance polls a few times a second; it gets its own, larger budget."""

    scope = "face_guidance"


def forget_person(person: User) -> None:
    """Drop the counters keyed by a person (their face data is being erased)."""
    for throttle in (FaceDeviceThrottle, FaceGuidanceThrottle):
        throttle().limit.reset(f"user:{person.pk}")
