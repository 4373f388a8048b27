"""Engine errors: a machine-readable ``code`` for the API and a human ``message`` for the user."""

from __future__ import annotations


class EngineError(Exception):
    code = "engine_error"
    default_message = "Face processing failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ImageTooLarge(EngineError):
    code = "image_too_large"
    default_message = "Image is too large"


class CorruptImage(EngineError):
    code = "corrupt_image"
    default_message = "Could not read the image"


class NoFace(EngineError):
    code = "no_face"
    default_message = "No face found — look at the camera"


class MultipleFaces(EngineError):
    code = "multiple_faces"
    default_message = "Only one person please"


class PoorQuality(EngineError):
    code = "poor_quality"
    default_message = "Image quality too low"

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)

    def as_dict(self) -> dict[str, str]:
        return {**super().as_dict(), "reason": self.reason}


class FrameTooLarge(ImageTooLarge):
    code = "frame_too_large"
    default_message = "A burst frame is too large"


class BurstTooLarge(ImageTooLarge):
    code = "burst_too_large"
    default_message = "The burst is too large"
