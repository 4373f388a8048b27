"""/readyz: may this process take traffic? Database, cache, broker and face models, each timed.

/healthz (faceauth.views) only says the process answers: a liveness probe must not fail because
PostgreSQL is down, or Kubernetes would restart every pod at once. /readyz takes the pod out of
the Service instead. Neither needs auth, so both say only ok/fail per check: no backend, host,
user or message (security finding 16); the failing exception's class goes to the log.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connections
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)

BROKER_TIMEOUT_S = 1.0


def check_database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connections["default"].vendor


def check_cache() -> str:
    key = f"faceauth:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("cache read back nothing")
    finally:
        cache.delete(key)
    return caches["default"].__class__.__name__


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER or url.startswith("memory://"):
        return "in-process"
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=BROKER_TIMEOUT_S, socket_timeout=BROKER_TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
        return "redis"
    from faceauth.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    return conn.transport_cls


def check_face_models() -> str:
    # The lazy loaders: the first call reads ~100 MB of dlib models, later calls are a dict hit.
    from biometrics.engine import default_calibration, weights

    weights.detector()
    weights.shape_predictor_5()
    weights.face_descriptor()
    return default_calibration().model_version


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "face_models": check_face_models,
}


def run_checks() -> tuple[bool, dict[str, bool]]:
    results: dict[str, bool] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            results[name] = True
            log.debug(
                "readiness check passed",
                extra={"check": name, "detail": str(detail), "ms": _ms(started)},
            )
        except Exception as exc:  # a probe reports every failure, it never raises
            results[name] = False
            log.warning(
                "readiness check failed",
                extra={"check": name, "error": type(exc).__name__, "ms": _ms(started)},
            )
    return all(results.values()), results


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def readyz(request: HttpRequest) -> JsonResponse:
    ok, checks = run_checks()
    # Anyone may call it: "ok" or "fail" per check, nothing that names a backend or a host.
    response = JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "checks": {name: "ok" if passed else "fail" for name, passed in checks.items()},
        }
    )
    response.status_code = 200 if ok else 503
    response["Cache-Control"] = "no-store"
    return response


class ProbeMiddleware:
    """Answers /healthz, /readyz and /metrics before host validation and the HTTPS redirect.

    The kubelet and Prometheus call a pod by its IP over plain HTTP: ALLOWED_HOSTS would refuse
    that Host header (400) and SECURE_SSL_REDIRECT would answer 301, which a probe counts as a
    success without any check having run. None of these views builds a URL from the host.
    """

    def __init__(self, get_response: Callable) -> None:
        from faceauth import metrics, views

        self.get_response = get_response
        self.routes = {
            "/healthz": views.healthz,
            "/readyz": readyz,
            "/metrics": metrics.metrics_view,
        }

    def __call__(self, request: HttpRequest):
        view = self.routes.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
