"""One place that turns domain errors into JSON API responses."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """An error with a machine-readable code, a human message and an HTTP status."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, status_code: int | None = None
    ):
        self.message = message or self.message
        self.code = code or self.code
        if status_code is not None:
            self.status_code = status_code
        super().__init__(self.message)


def error_response(code: str, message: str, status_code: int, **extra: Any) -> Response:
    return Response({"code": code, "detail": message, **extra}, status=status_code)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        extra = {"reason": exc.reason} if getattr(exc, "reason", None) else {}
        return error_response(exc.code, exc.message, exc.status_code, **extra)
    if isinstance(exc, ValidationError):
        return error_response("invalid", "; ".join(exc.messages), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "code" not in response.data:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        response.data = {
            "code": codes if isinstance(codes, str) else "invalid",
            **(response.data if "detail" in response.data else {"detail": response.data}),
        }
    return response
