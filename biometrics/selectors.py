"""Reads of biometric state for pages and other apps. Never returns an embedding."""

from django.db.models import Avg, Count, QuerySet

from accounts.models import User
from accounts.permissions import role_of

from .engine import PIPELINE_VERSION as PIPELINE_VERSION
from .liveness import ATTACK_REASONS as ATTACK_REASONS
from .liveness import liveness_required as liveness_required
from .models import EnrolmentJob, FaceTemplate
from .privacy import has_consent as has_consent


def template_summary(*, person: User) -> dict:
    stats = FaceTemplate.objects.filter(person=person).aggregate(
        count=Count("id"), mean_quality=Avg("quality_score")
    )
    return {"count": stats["count"], "mean_quality": stats["mean_quality"]}


def has_templates(*, person: User) -> bool:
    return FaceTemplate.objects.filter(person=person).exists()


def jobs_visible_to(*, user) -> QuerySet[EnrolmentJob]:
    jobs = EnrolmentJob.objects.select_related("person")
    if role_of(user) == "admin":
        return jobs
    if role_of(user) == "guard":
        return jobs.filter(person__role__in=("visitor", "contractor")) | jobs.filter(
            requested_by=user
        )
    return jobs.filter(person=user) if getattr(user, "pk", None) else jobs.none()


def consent_history(*, person: User) -> list[dict]:
    """A person's consents, newest first, for their subject access export."""
    from .models import BiometricConsent

    return [
        {
            "version": c.document.version,
            "title": c.document.title,
            "channel": c.channel,
            "given_at": c.given_at.isoformat(),
            "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
        }
        for c in BiometricConsent.objects.filter(person=person).select_related("document")
    ]
