"""Structured logs: a request id on every line, from the HTTP request into its Celery tasks.

``JsonFormatter`` writes one JSON object per line: time, level, logger, message, request_id and
every ``extra`` field the caller passed. Biometric data never belongs in a log line, and the
formatter enforces it for the common slips: bytes and arrays are replaced by their size.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "faceauth_request_id"
# An incoming id is echoed into logs and responses: accept only a short, plain token.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes would drown the access log.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "faceauth_request_id", default=None
)


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    return value if value and _VALID_ID.match(value) else new_request_id()


def _install_record_factory() -> None:
    """Stamp ``request_id`` on every record when it is made, whatever handler sees it later."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "faceauth_request_id", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get() or "-"
        return record

    factory.faceauth_request_id = True
    logging.setLogRecordFactory(factory)


_install_record_factory()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request or task) for every formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "color_message", "taskName"}
)


def _safe(value):
    """JSON-able and free of raw biometric payloads (images are bytes, embeddings arrays)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    shape = getattr(value, "shape", None)
    if shape is not None:  # numpy arrays and scalars
        if shape == ():
            return value.item()
        return f"<array {'x'.join(map(str, shape))}>"
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if len(items) > 16 and all(isinstance(v, float) for v in items):
            return f"<{len(items)} floats>"
        return [_safe(v) for v in items]
    return str(value)


def _request_id_of(record: logging.LogRecord) -> str | None:
    value = getattr(record, "request_id", None) or request_id_var.get()
    return None if value in (None, "-") else value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _request_id_of(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = _safe(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The readable line for `make run`, with the ``extra`` fields as key=value at the end."""

    def __init__(self, fmt: str | None = None, *args, **kwargs) -> None:
        default = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        super().__init__(fmt or default, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{key}={_safe(value)}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        return f"{line} {' '.join(extras)}" if extras else line


# ---------------------------------------------------------------- HTTP


access_log = logging.getLogger("faceauth.requests")


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` (or makes one), exposes it to logs and echoes it in the response."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        connect_request_signals()

    def __call__(self, request):
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        # Cleared on request_finished, not here: Django logs 4xx/5xx ("django.request") after
        # the middleware chain has returned, and those lines need the id most.
        request_id_var.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        if request.path not in QUIET_PATHS:
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response


def _clear_after_request(**kwargs) -> None:
    request_id_var.set(None)


def connect_request_signals() -> None:
    from django.core.signals import request_finished

    request_finished.connect(_clear_after_request, dispatch_uid="faceauth.request_id.clear")


# ---------------------------------------------------------------- Celery


def _add_request_id_header(headers=None, **kwargs) -> None:
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


_task_tokens: dict[str, contextvars.Token] = {}


def _restore_request_id(task_id=None, task=None, **kwargs) -> None:
    # Custom message headers appear as attributes of the task request (protocol 2).
    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if request_id is None and task is not None:
        request_id = (getattr(task.request, "headers", None) or {}).get(TASK_HEADER)
    if request_id is None:
        # An eager task runs inside the publishing request and keeps its id; a message from
        # beat or an old client gets one of its own.
        request_id = request_id_var.get() or new_request_id()
    _task_tokens[task_id] = request_id_var.set(accept_request_id(request_id))


def _clear_request_id(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (a pool thread); just clear it
            request_id_var.set(None)


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_add_request_id_header, dispatch_uid="faceauth.request_id.pub")
    task_prerun.connect(_restore_request_id, dispatch_uid="faceauth.request_id.pre")
    task_postrun.connect(_clear_request_id, dispatch_uid="faceauth.request_id.post")
