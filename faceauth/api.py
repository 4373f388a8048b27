"""One place that turns domain errors into JSON API responses."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.errors import DomainError


def error_response(code: str, message: str, status_code: int, **extra: Any) -> Response:
    return Response({"code": code, "detail": message, **extra}, status=status_code)


def _is_outage(exc: Exception) -> bool:
    """PostgreSQL or Redis (cache, broker) did not answer: retryable, not a bug."""
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(
        exc,
        (OperationalError, InterfaceError, BrokerError, RedisConnectionError, RedisTimeoutError),
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if _is_outage(exc):
        # A JSON 503 the kiosk can act on (retry with the same capture id), not an HTML 500.
        logging.getLogger("faceauth.api").error(
            "backing service unavailable", exc_info=exc, extra={"error": type(exc).__name__}
        )
        response = error_response(
            "service_unavailable", gettext("A backing service is unavailable; retry shortly."), 503
        )
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, DomainError):
        extra = {"reason": exc.reason} if getattr(exc, "reason", None) else {}
        response = error_response(exc.code, exc.message, exc.status_code, **extra)
        if getattr(exc, "retry_after", None):  # lock-outs (accounts.limits)
            response["Retry-After"] = str(exc.retry_after)
        return response
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
