"""Signals that let higher apps react to face events without biometrics importing them."""

from django.dispatch import Signal

# A burst failed the liveness check as a presentation attack (photo, screen, replay).
# sender=BiometricError, device=<Device | None>, person=<claimed User | None>, where=<str>
spoof_suspected = Signal()
