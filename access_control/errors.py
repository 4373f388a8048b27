"""Access-control domain errors; faceauth.api maps them to JSON, the pages to form errors."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.errors import DomainError


class AccessError(DomainError):
    pass


class DoorNotConfigured(AccessError):
    code = "door_not_configured"
    message = _("This door terminal is not linked to an access point.")
    status_code = status.HTTP_409_CONFLICT


class CredentialRequired(AccessError):
    code = "credential_required"
    message = _("This door needs a PIN or badge number with the photo.")


class InvalidPass(AccessError):
    code = "invalid_pass"
    message = _("The pass is not valid.")


class PassForbidden(AccessError):
    """The sponsoring rules refuse this pass to this issuer (access_control.sponsoring)."""

    code = "pass_forbidden"
    message = _("You may not issue this pass.")
    status_code = status.HTTP_403_FORBIDDEN


class AlertStateError(AccessError):
    code = "alert_state"
    message = _("The alert is not in a state that allows this.")
    status_code = status.HTTP_409_CONFLICT


class NotADoorTerminal(AccessError):
    code = "not_a_door_terminal"
    message = _("Only a door terminal can serve an access point.")
