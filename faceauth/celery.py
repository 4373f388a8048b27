"""Celery app. Workers: `celery -A faceauth worker`, periodic jobs: `celery -A faceauth beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceauth.settings")

app = Celery("faceauth")
# All CELERY_* Django settings configure the app (see faceauth/settings.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="faceauth.ping")
def ping() -> str:
    """Round trip used by health checks and the worker test."""
    return "pong"
