"""Reads of biometric state for pages and other apps. Never returns an embedding."""

from django.db.models import Avg, Count, Max, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.permissions import role_of

from .engine import PIPELINE_VERSION as PIPELINE_VERSION
from .liveness import ATTACK_REASONS as ATTACK_REASONS
from .liveness import liveness_required as liveness_required
from .models import BiometricConsent, EnrolmentJob, EnrolmentLink, FaceLockout, FaceTemplate
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


def enrolment_states(*, person_ids: list[int]) -> dict[int, dict]:
    """Per person, for directories: templates, consent, the last enrolment's status, the face
    lock-out and the open enrolment link. Four queries whatever the number of people."""
    now = timezone.now()
    states = {
        pk: {"templates": 0, "consent": False, "job": "", "locked": "", "link_open": False}
        for pk in person_ids
    }
    for row in (
        FaceTemplate.objects.filter(person_id__in=person_ids)
        .values("person_id")
        .annotate(n=Count("id"))
    ):
        states[row["person_id"]]["templates"] = row["n"]
    for pk in BiometricConsent.objects.filter(
        person_id__in=person_ids, withdrawn_at__isnull=True
    ).values_list("person_id", flat=True):
        states[pk]["consent"] = True
    latest = (
        EnrolmentJob.objects.filter(person_id__in=person_ids)
        .values("person_id")
        .annotate(last=Max("created_at"))
    )
    last_at = {row["person_id"]: row["last"] for row in latest}
    for pk, status in EnrolmentJob.objects.filter(
        person_id__in=person_ids, created_at__in=list(last_at.values())
    ).values_list("person_id", "status"):
        if last_at.get(pk) is not None:
            states[pk]["job"] = status
    for pk, disabled, until in FaceLockout.objects.filter(
        subject_type=FaceLockout.Subject.PERSON, subject_id__in=person_ids
    ).values_list("subject_id", "disabled", "locked_until"):
        if disabled:
            states[pk]["locked"] = "disabled"
        elif until and until > now:
            states[pk]["locked"] = "locked"
    for pk in EnrolmentLink.objects.filter(
        person_id__in=person_ids, used_at=None, revoked_at=None, expires_at__gt=now
    ).values_list("person_id", flat=True):
        states[pk]["link_open"] = True
    return states


def enrolment_links_of(*, person: User) -> QuerySet[EnrolmentLink]:
    return EnrolmentLink.objects.filter(person=person).select_related("created_by", "job")


def setup_state() -> dict[str, bool]:
    """For the admin's first-run checklist: somebody active has an enrolled face."""
    return {
        "enrolled": FaceTemplate.objects.filter(
            person__is_active=True, person__offboarded_at__isnull=True
        ).exists()
    }
