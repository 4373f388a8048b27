"""Periodic jobs that span apps (faceauth wires the apps; they never import each other)."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="faceauth.run_retention", acks_late=True)
def run_retention() -> dict:
    """Daily retention: face data first, then each app's own events. Idempotent."""
    from access_control import services as access_services
    from attendance import services as attendance_services
    from biometrics import privacy

    now = timezone.now()
    return {
        "face": privacy.purge_expired(now=now),
        "attendance": attendance_services.pseudonymise_expired(now=now),
        "access": access_services.pseudonymise_expired(now=now),
    }
