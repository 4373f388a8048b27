"""What access control does when another app announces something (connected in apps.py)."""

import logging

from django.db import transaction

from accounts.models import DeviceKind

from .services.checks import DOOR_CHECK
from .services.log import raise_spoof_alert

log = logging.getLogger("faceauth.access")


def on_spoof_suspected(sender, *, device=None, person=None, where: str = "", **kwargs) -> None:
    """``biometrics.signals.spoof_suspected``: a guard alert for a spoof at a kiosk, on the
    personal clock, at the face sign-in, or in a door's stream when it is decided (the door's
    access event, if the page claims it, joins that alert: ``raise_alerts``). A door check's
    own spoof (a burst) is logged as an access event, which raises the door's alert already."""
    if device is not None and device.kind == DeviceKind.DOOR and where.startswith(DOOR_CHECK):
        return
    if device is None and person is None:
        return
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the caller's work intact
            raise_spoof_alert(device=device, person=person, where=where)
    except Exception:
        # The spoof is refused either way; a failed alert must not turn the refusal into a 500.
        log.exception("spoof alert not raised", extra={"where": where})
