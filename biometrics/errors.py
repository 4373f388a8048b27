"""Biometric domain errors with their HTTP status, and the mapping of engine errors."""

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
    message = "The uploaded file is empty."


class MissingImage(BiometricError):
    code = "missing_image"
    message = "Send the photo as the 'image' file field."


class WrongImageCount(BiometricError):
    code = "wrong_image_count"
    message = "Enrolment needs between 3 and 5 photos."


class UnknownPerson(BiometricError):
    code = "unknown_person"
    message = "No such person."
    status_code = status.HTTP_404_NOT_FOUND


class InactivePerson(BiometricError):
    code = "inactive_person"
    message = "This person is not active or is outside their access window."
    status_code = status.HTTP_403_FORBIDDEN


class NoTemplates(BiometricError):
    code = "no_templates"
    message = "This person has no face templates yet: enrol them first."
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def from_engine(exc: engine.EngineError) -> BiometricError:
    """The engine's error as an API error, keeping its code, message and quality reason."""
    code = exc.code
    reason = getattr(exc, "reason", None)
    error = BiometricError(
        exc.message, code=code, status_code=ENGINE_STATUS.get(code, status.HTTP_400_BAD_REQUEST)
    )
    error.reason = reason
    return error
