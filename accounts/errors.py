"""The base of every app's domain exceptions: a reason code, a message and an HTTP status.

It lives in the lowest layer so that every app can raise its own errors; faceauth.api maps them
to JSON answers in one place.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """An error with a machine-readable code, a human message and an HTTP status."""

    status_code = 400
    code = "bad_request"
    message = _("The request could not be processed.")

    def __init__(
        self, message: str | None = None, *, code: str | None = None, status_code: int | None = None
    ):
        self.message = message or self.message
        self.code = code or self.code
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.message)


class NotAllowedToOffboard(DomainError):
    code = "not_allowed"
    message = _("You may not offboard or reactivate this person.")
    status_code = 403


class PairingLinkNotUsable(DomainError):
    status_code = 410
    code = "pairing_link_not_usable"
    message = _("This pairing link is not valid any more. Ask an admin for a new one.")


class PairingLinkNotFound(DomainError):
    status_code = 404
    code = "pairing_link_unknown"
    message = _("This pairing link does not exist. Check the address or ask for a new one.")
