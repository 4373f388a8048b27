"""Celery app. Workers: `celery -A faceauth worker`, periodic jobs: `celery -A faceauth beat`."""

import os

from celery import Celery
from celery.signals import worker_ready

from faceauth.logs import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceauth.settings")

app = Celery("faceauth")
# All CELERY_* Django settings configure the app (see faceauth/settings.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["faceauth"])


@app.task(name="faceauth.ping")
def ping() -> str:
    """Round trip used by health checks and the worker test."""
    return "pong"


# Request ids travel from the HTTP request into its tasks (faceauth/logs.py).
connect_celery_signals()


@worker_ready.connect
def _start_metrics_exporter(**kwargs) -> None:
    # WORKER_METRICS_PORT serves the worker's Prometheus metrics (deploy/k8s scrapes it).
    port = os.environ.get("WORKER_METRICS_PORT")
    if port:
        from faceauth.metrics import start_worker_exporter

        start_worker_exporter(int(port))
