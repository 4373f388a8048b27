"""Request-body limits, enforced while the body streams in, before it is held in memory.

Two layers (issue 14, finding 3; docs/security.md "Memory budget"):

- ``RequestBodyLimitMiddleware`` refuses by the announced ``Content-Length`` before anything
  reads the body: a multipart body may carry photos (``FACEAUTH_MAX_REQUEST_BYTES``), any other
  body only form fields or JSON (``DATA_UPLOAD_MAX_MEMORY_SIZE``). Django reads a body without
  a ``Content-Length`` (chunked) as empty, so the announced length bounds what is read.
- ``UploadLimitHandler``, the first upload handler, counts the bytes of every file as they
  stream in and refuses at the first chunk over a cap: one file, one burst frame, a whole
  burst, the number of frames.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError

DRAIN_CHUNK = 64 * 1024
BURST_FIELD = "frames"  # the multipart field of a liveness burst on every capture endpoint


class UploadTooLarge(DomainError, RequestDataTooBig):
    """A 413 for the API; a Django page that reads the upload gets the 400 Django gives to a
    RequestDataTooBig (never a 500)."""

    status_code = 413
    code = "request_too_large"
    message = _("The request is too large.")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def body_cap(content_type: str) -> int:
    """The largest body a request of this content type may announce."""
    if content_type.startswith("multipart/form-data"):
        return settings.FACEAUTH_MAX_REQUEST_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads such a body as empty
        cap = body_cap(request.META.get("CONTENT_TYPE", ""))
        if length > cap:
            response = JsonResponse(
                {"code": UploadTooLarge.code, "detail": f"The request is larger than {_mb(cap)}."},
                status=UploadTooLarge.status_code,
            )
            # The body is left unread: the connection cannot be reused.
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class UploadLimitHandler(FileUploadHandler):
    """Counts file bytes as they arrive and passes them on to the storing handlers."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # The length itself was checked by RequestBodyLimitMiddleware.
        self.input_data = input_data
        self.frames = 0
        self.burst_bytes = 0

    def new_file(self, field_name, *args, **kwargs) -> None:
        super().new_file(field_name, *args, **kwargs)
        self.file_bytes = 0
        if field_name == BURST_FIELD:
            from biometrics.liveness import MAX_BURST_FRAMES

            self.frames += 1
            if self.frames > MAX_BURST_FRAMES:
                self._refuse(
                    f"A burst may have at most {MAX_BURST_FRAMES} frames.",
                    code="too_many_frames",
                    status_code=400,  # as biometrics.liveness answers it
                )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.file_bytes += len(raw_data)
        if self.field_name == BURST_FIELD:
            self.burst_bytes += len(raw_data)
            if self.file_bytes > settings.FACEAUTH_MAX_FRAME_BYTES:
                self._refuse(
                    f"A burst frame may be at most {_mb(settings.FACEAUTH_MAX_FRAME_BYTES)}.",
                    code="frame_too_large",
                )
            if self.burst_bytes > settings.FACEAUTH_MAX_BURST_BYTES:
                self._refuse(
                    f"A burst may be at most {_mb(settings.FACEAUTH_MAX_BURST_BYTES)} in all.",
                    code="burst_too_large",
                )
        if self.file_bytes > settings.FACEAUTH_MAX_UPLOAD_BYTES:
            self._refuse(
                f"A file may be at most {_mb(settings.FACEAUTH_MAX_UPLOAD_BYTES)}.",
                code="image_too_large",
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the storing handlers after this one build the file

    def _refuse(self, message: str, *, code: str, status_code: int | None = None) -> None:
        # Read the rest (at most the capped Content-Length) without keeping it, so that the
        # client, still sending, gets the answer instead of a reset connection.
        while self.input_data.read(DRAIN_CHUNK):
            pass
        raise UploadTooLarge(message, code=code, status_code=status_code)
