"""Rate limits on every biometric endpoint (DRF throttling), per device and per IP.

In accounts because every app that takes a face (biometrics, attendance, access control)
throttles the same way, keyed by the device or person that accounts defines."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import Device


class _FaceThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        # Read at request time so a deployment (or a test) can change it without a restart.
        return settings.FACEAUTH_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class FaceDeviceThrottle(_FaceThrottle):
    """Per device for kiosks and doors, per person for people."""

    scope = "face_device"

    def get_cache_key(self, request, view) -> str:
        device = request.auth if isinstance(request.auth, Device) else None
        if device is not None:
            ident = f"device:{device.pk}"
        elif getattr(request.user, "pk", None):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class FaceIPThrottle(_FaceThrottle):
    scope = "face_ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


FACE_THROTTLES = (FaceDeviceThrottle, FaceIPThrottle)


class FaceGuidanceThrottle(FaceDeviceThrottle):
    """Live guidance polls a few times a second; it gets its own, larger budget."""

    scope = "face_guidance"
