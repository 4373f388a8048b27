"""Biometric domain errors with their HTTP status, and the mapping of engine errors."""

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.errors import DomainError

from . import engine

ENGINE_STATUS = {
    "image_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "frame_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "burst_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "corrupt_image": status.HTTP_400_BAD_REQUEST,
    "no_face": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "multiple_faces": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "poor_quality": status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class BiometricError(DomainError):
    pass


class EmptyFile(BiometricError):
    code = "empty_file"
    message = _("The uploaded file is empty.")


class MissingImage(BiometricError):
    code = "missing_image"
    message = _("Send the photo as the 'image' file field.")


class WrongImageCount(BiometricError):
    code = "wrong_image_count"
    message = _("Enrolment needs between 3 and 5 photos.")


class UnknownPerson(BiometricError):
    code = "unknown_person"
    message = _("No such person.")
    status_code = status.HTTP_404_NOT_FOUND


class InactivePerson(BiometricError):
    code = "inactive_person"
    message = _("This person is not active or is outside their access window.")
    status_code = status.HTTP_403_FORBIDDEN


class NoTemplates(BiometricError):
    code = "no_templates"
    message = _("This person has no face templates yet: enrol them first.")
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


# The engine has no Django: its messages are English. These are its fixed texts, marked for
# the catalogue; people read them in their language (gettext at the request), a text with
# numbers in it stays as the engine wrote it.
ENGINE_MESSAGES = (
    gettext_noop("No face found — look at the camera"),
    gettext_noop("Only one person please"),
    gettext_noop("Move closer"),
    gettext_noop("Hold still"),
    gettext_noop("Too dark"),
    gettext_noop("Too bright"),
    gettext_noop("Improve the lighting"),
    gettext_noop("Look at the camera"),
    gettext_noop("Face processing failed"),
    gettext_noop("Image is too large"),
    gettext_noop("Image has too many pixels"),
    gettext_noop("Could not read the image"),
    gettext_noop("Not a valid or complete image"),
    gettext_noop("Empty image"),
    gettext_noop("Image quality too low"),
    gettext_noop("A burst frame is too large"),
    gettext_noop("The burst is too large"),
    gettext_noop("Keep your eyes open"),
    gettext_noop("Turn your head a little more to your left"),
    gettext_noop("Turn your head a little more to your right"),
    gettext_noop("Look straight at the camera"),
)


def translated_issues(issues: list[dict]) -> list[dict]:
    """Quality issues ({code, message}) with the message in the active language."""
    return [{**i, "message": _in_language(str(i.get("message") or ""))} for i in issues]


def _in_language(text: str) -> str:
    return gettext(text) if text else text  # gettext("") is the catalogue's header


def from_engine(exc: engine.EngineError) -> BiometricError:
    """The engine's error as an API error, keeping its code, message and quality reason."""
    code = exc.code
    reason = getattr(exc, "reason", None)
    message = _in_language(exc.message)
    error = BiometricError(
        message, code=code, status_code=ENGINE_STATUS.get(code, status.HTTP_400_BAD_REQUEST)
    )
    error.reason = reason
    return error
