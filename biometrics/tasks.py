import logging

from celery import shared_task
from django.db import DatabaseError

from . import services

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError, ConnectionError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def process_enrolment(self, job_id: str) -> dict:
    """Compute the templates of an enrolment job. Safe to retry: finished samples are kept."""
    try:
        job = services.run_enrolment(job_id=job_id)
    except DatabaseError:
        if self.request.retries >= self.max_retries:
            services.mark_job_failed(job_id=job_id, error="Storage unavailable; try again.")
        raise
    return {"job": job_id, "status": job.status, "accepted": job.accepted}
