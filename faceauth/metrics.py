"""FaceAuth's own Prometheus metrics, and the protected /metrics exposition.

django-prometheus adds the HTTP, model and process metrics (``django_http_*``); this module adds
what an operator of a face-recognition service needs to see: the recognition metrics defined in
biometrics/metrics.py (where recognition time goes, how decisions split between match, no-match
and error, enrolment jobs, the in-process 1:N gallery) and the Celery backlog.
Labels are closed sets (stage, purpose, outcome, error code):
never a person, a device or anything else that grows with the data.

Multi-process servers (gunicorn with several workers, Celery prefork) set
``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable folder before start; every process then
writes its samples there and a scrape of any one of them sums them all (see
``deploy/gunicorn.conf.py`` and docs/operations.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

CELERY_QUEUES = ("celery",)


# ---------------------------------------------------------------- computed at scrape time


class CeleryQueueCollector(Collector):
    """``LLEN`` of each Celery queue in Redis, read when Prometheus scrapes (not per process)."""

    def __init__(self, url: str | None = None, queues: Iterable[str] = CELERY_QUEUES) -> None:
        self.url = url
        self.queues = tuple(queues)
        self._client = None

    def _redis(self):
        if self._client is None:
            import redis
            from django.conf import settings

            url = self.url or settings.REDIS_URL
            self._client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        return self._client

    def collect(self):
        from django.conf import settings

        if not (self.url or settings.REDIS_URL):
            return  # the embedded default runs tasks in-process: there is no queue
        length = GaugeMetricFamily(
            "faceauth_celery_queue_length",
            "Messages waiting in a Celery queue (Redis LLEN at scrape time).",
            labels=["queue"],
        )
        up = GaugeMetricFamily(
            "faceauth_celery_broker_up", "1 if the broker answered the last scrape, else 0."
        )
        try:
            client = self._redis()
            for queue in self.queues:
                length.add_metric([queue], float(client.llen(queue)))
        except Exception as exc:  # a scrape must never fail because the broker is down
            log.warning("celery queue length unavailable", extra={"error": type(exc).__name__})
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield length
        yield up


_queue_collector = CeleryQueueCollector()
REGISTRY.register(_queue_collector)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def exposition() -> bytes:
    """All metrics in the text format: this process's registry, or every process's samples."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_queue_collector)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# ---------------------------------------------------------------- access


def _client_allowed(address: str, allowed: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            log.warning("bad METRICS_ALLOWED_IPS entry", extra={"entry": entry})
    return False


def scrape_allowed(request) -> bool | None:
    """True: serve. False: credentials were wrong (403). None: nothing offered (404).

    REMOTE_ADDR is the peer, never X-Forwarded-For: behind the Ingress every outside request
    comes from the proxy, which is not on the allow-list; Prometheus scrapes pods directly with
    the bearer token."""
    from django.conf import settings

    header = request.headers.get("Authorization", "")
    token = settings.METRICS_TOKEN
    if header.startswith("Bearer "):
        offered = header.removeprefix("Bearer ").strip()
        return bool(token) and hmac.compare_digest(offered.encode(), token.encode())
    if _client_allowed(request.META.get("REMOTE_ADDR", ""), settings.METRICS_ALLOWED_IPS):
        return True
    return None


def metrics_view(request):
    from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound

    allowed = scrape_allowed(request)
    if allowed is None:
        return HttpResponseNotFound()
    if not allowed:
        return HttpResponseForbidden()
    started = time.perf_counter()
    body = exposition()
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    response["X-Scrape-Ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
    return response


# ---------------------------------------------------------------- Celery workers


def start_worker_exporter(port: int, addr: str = "0.0.0.0") -> None:
    """Serve /metrics of a Celery worker (all its pool processes) on ``port``.

    The port is meant for the pod network only (no Ingress points at it)."""
    from prometheus_client import start_http_server

    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, addr=addr, registry=registry)
    else:
        start_http_server(port, addr=addr)
    log.info("worker metrics exporter listening", extra={"port": port})
