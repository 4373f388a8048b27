"""Celery: in-process on the embedded default, a real worker process on Redis."""

import pytest

from faceauth.celery import app, ping


def test_celery_app_is_configured_for_safe_retries():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert "faceauth-heartbeat" in app.conf.beat_schedule


@pytest.mark.services
def test_a_real_worker_process_runs_a_task_and_returns_its_result(celery_worker):
    assert app.conf.task_always_eager is False
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    assert result.successful()


def test_the_retention_job_is_scheduled_daily_and_runs(db):
    from datetime import timedelta

    from faceauth.tasks import run_retention

    schedule = app.conf.beat_schedule["faceauth-retention"]
    assert schedule["task"] == "faceauth.run_retention"
    assert schedule["schedule"] == timedelta(days=1)
    result = run_retention()
    assert result["face"]["templates"] == 0
