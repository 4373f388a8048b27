"""Attendance domain errors. faceauth.api.exception_handler maps them to {code, detail} JSON;
the pages show the same message."""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.errors import DomainError


class AttendanceError(DomainError):
    pass


class MissingCaptureId(AttendanceError):
    code = "missing_capture_id"
    message = _("Every clock request needs a capture_id (a UUID made by the client).")


class InvalidCaptureId(AttendanceError):
    code = "invalid_capture_id"
    message = _("capture_id must be a UUID.")


class CaptureIdReused(AttendanceError):
    code = "capture_id_reused"
    message = _("This capture_id was already used for a different request.")
    status_code = status.HTTP_409_CONFLICT
    reason = "payload_mismatch"


class MissingCredentials(AttendanceError):
    code = "missing_image"
    message = _("Send a photo ('image'), or an employee number and PIN.")


class InvalidDirection(AttendanceError):
    code = "invalid_direction"
    message = _("direction must be 'in' or 'out' (or left out to toggle).")


class NotRecognised(AttendanceError):
    code = "not_recognised"
    message = _("Face not recognised. Please try again, or use your employee number and PIN.")
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class FaceMismatch(AttendanceError):
    code = "face_mismatch"
    message = _("This face does not match your enrolled face. Please try again.")
    status_code = status.HTTP_403_FORBIDDEN


class WrongPin(AttendanceError):
    # One message for an unknown number and a wrong PIN: the kiosk must not confirm numbers.
    code = "wrong_pin"
    message = _("Employee number or PIN is not correct.")
    status_code = status.HTTP_403_FORBIDDEN


class PinLocked(AttendanceError):
    code = "pin_locked"
    message = _("Too many wrong PINs. Please wait a few minutes or ask your manager.")
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, retry_after: int = 1):
        super().__init__()
        self.retry_after = retry_after


class PersonInactive(AttendanceError):
    code = "inactive_person"
    message = _("This person is not active or is outside their access window.")
    status_code = status.HTTP_403_FORBIDDEN


class NotAllowed(AttendanceError):
    code = "forbidden"
    message = _("You may not do this.")
    status_code = status.HTTP_403_FORBIDDEN


class InvalidCorrection(AttendanceError):
    code = "invalid_correction"
    message = _("This correction cannot be filed.")


class AlreadyDecided(AttendanceError):
    code = "already_decided"
    message = _("This correction was already decided.")
    status_code = status.HTTP_409_CONFLICT
