"""/readyz: may this process take traffic? Database, cache, broker and face models, each timed.

/healthz (faceauth.views) only says the process answers: a liveness probe must not fail because
PostgreSQL is down, or Kubernetes would restart every pod at once. /readyz takes the pod out of
the Service instead. Neither needs auth, so both say only ok/failed and the exception's class
name: no host, no user, no message that could carry a connection string.
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


def run_checks() -> tuple[bool, dict[str, dict]]:
    results: dict[str, dict] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            result = {"ok": True, "detail": str(detail)}
        except Exception as exc:  # a probe reports every failure, it never raises
            error = type(exc).__name__
            log.warning("readiness check failed", extra={"check": name, "error": error})
            result = {"ok": False, "error": error}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    return all(r["ok"] for r in results.values()), results


def readyz(request: HttpRequest) -> JsonResponse:
    ok, checks = run_checks()
    response = JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks})
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
