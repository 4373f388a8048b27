"""Consent, published policies, erasure and retention of face data.

Face templates are special-category data (GDPR art. 9); BIPA requires a written release
before collection and destruction within 3 years of the last interaction. Nothing here
keeps or logs an image or an embedding: audit entries carry counts only.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts import audit, throttles
from accounts.models import User

from .errors import BiometricError
from .models import (
    BiometricConsent,
    EnrolmentJob,
    FaceLockout,
    FaceSample,
    FaceTemplate,
    LivenessChallenge,
    PolicyDocument,
)

log = logging.getLogger("faceauth.privacy")

# BIPA 740/15(a): never longer than 3 years after the last interaction.
MAX_RETENTION_DAYS = 3 * 365

# Sent after a person's face data is erased, so apps that hold scores linked to templates
# (attendance, access control) can strip them. biometrics must not import those apps.
face_data_erased = Signal()  # sender=User, person=<User>


class ConsentRequired(BiometricError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "consent_required"
    message = _("Biometric consent is needed before any face capture.")


class NoPolicy(BiometricError):
    status_code = status.HTTP_409_CONFLICT
    code = "no_policy"
    message = _("No consent text is published yet.")


# ---------------------------------------------------------------- policies


def current_policy(kind: str) -> PolicyDocument | None:
    return PolicyDocument.objects.filter(kind=kind).order_by("-version").first()


@transaction.atomic
def publish_policy(
    *, kind: str, title: str, body: str, actor: User | None = None
) -> PolicyDocument:
    """A new version; earlier versions stay as they were (consents point at them)."""
    latest = PolicyDocument.objects.select_for_update().filter(kind=kind).order_by("-version")
    version = (latest.values_list("version", flat=True).first() or 0) + 1
    document = PolicyDocument.objects.create(
        kind=kind, version=version, title=title, body=body, published_by=actor
    )
    audit.record("policy.publish", actor=actor, outcome="done", target=document)
    return document


# ---------------------------------------------------------------- consent


def active_consent(person: User) -> BiometricConsent | None:
    return (
        BiometricConsent.objects.filter(person=person, withdrawn_at__isnull=True)
        .select_related("document")
        .first()
    )


def has_consent(person: User) -> bool:
    return active_consent(person) is not None


def require_consent(person: User) -> None:
    if not has_consent(person):
        raise ConsentRequired()


@transaction.atomic
def give_consent(
    *,
    person: User,
    channel: str,
    document_version: int | None = None,
    evidence: str = "",
    recorded_by: User | None = None,
) -> BiometricConsent:
    """Record consent to the consent text the person saw (the current one by default).

    Recorded for someone else (reception), ``evidence`` says how it was attested (e.g. the
    signed form's reference); who attested is ``recorded_by``, when is ``given_at``."""
    document = (
        PolicyDocument.objects.filter(
            kind=PolicyDocument.Kind.CONSENT, version=document_version
        ).first()
        if document_version
        else current_policy(PolicyDocument.Kind.CONSENT)
    )
    if document is None:
        raise NoPolicy()
    consent = BiometricConsent.objects.create(
        person=person,
        document=document,
        channel=BiometricConsent.Channel(channel),
        evidence=evidence.strip()[:200],
        recorded_by=recorded_by,
    )
    audit.record(
        "consent.give",
        actor=recorded_by or person,
        outcome="done",
        target=person,
        details={"channel": channel, "version": document.version, "evidence": evidence.strip()},
    )
    return consent


@transaction.atomic
def withdraw_consent(*, person: User, actor: User | None = None) -> dict:
    """Withdrawal erases the face data at once."""
    BiometricConsent.objects.filter(person=person, withdrawn_at__isnull=True).update(
        withdrawn_at=timezone.now()
    )
    audit.record("consent.withdraw", actor=actor or person, outcome="done", target=person)
    return erase_face_data(person=person, actor=actor or person, reason="consent_withdrawn")


# ---------------------------------------------------------------- erasure


@transaction.atomic
def erase_face_data(*, person: User, actor: User | None = None, reason: str = "request") -> dict:
    """Remove every trace that can be linked back to the face: templates, samples (and any
    kept image), enrolment jobs, liveness challenges, lockout state, cached galleries."""
    from .services import bump_gallery_version

    counts = {
        "templates": FaceTemplate.objects.filter(person=person).delete()[0],
        "samples": FaceSample.objects.filter(person=person).delete()[0],
        "jobs": EnrolmentJob.objects.filter(person=person).delete()[0],
        "challenges": LivenessChallenge.objects.filter(person=person).delete()[0],
        "lockouts": FaceLockout.objects.filter(
            subject_type=FaceLockout.Subject.PERSON, subject_id=person.pk
        ).delete()[0],
    }
    bump_gallery_version()
    throttles.forget_person(person)
    face_data_erased.send(sender=User, person=person)
    audit.record(
        "face.erase",
        actor=actor,
        outcome="done",
        target=person,
        details={"reason": reason, **counts},
    )
    log.info("face data erased", extra={"person": person.pk, "reason": reason, **counts})
    return counts


# ---------------------------------------------------------------- retention


def retention_days() -> int:
    return min(settings.FACEAUTH_TEMPLATE_RETENTION_DAYS, MAX_RETENTION_DAYS)


def purge_expired(*, now=None) -> dict:
    """Daily retention job for face data. Idempotent: a second run finds nothing more."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days())
    stale_people = set(
        FaceTemplate.objects.filter(last_used_at__lt=cutoff).values_list("person_id", flat=True)
    ) | set(
        FaceTemplate.objects.filter(last_used_at__isnull=True, created_at__lt=cutoff).values_list(
            "person_id", flat=True
        )
    )
    # A person's templates go together: retention counts from their last use of any of them.
    recently_used = set(
        FaceTemplate.objects.filter(
            person_id__in=stale_people, last_used_at__gte=cutoff
        ).values_list("person_id", flat=True)
    )
    expired = stale_people - recently_used
    counts = {"templates": 0, "images": 0, "challenges": 0, "people": len(expired)}
    for person in User.objects.filter(pk__in=expired):
        counts["templates"] += erase_face_data(person=person, reason="retention")["templates"]
    image_cutoff = now - timedelta(days=settings.FACEAUTH_IMAGE_RETENTION_DAYS)
    counts["images"] = (
        FaceSample.objects.filter(created_at__lt=image_cutoff)
        .exclude(image=None)
        .update(image=None)
    )
    counts["challenges"] = LivenessChallenge.objects.filter(
        expires_at__lt=now - timedelta(days=1)
    ).delete()[0]
    audit.record("retention.face", outcome="done", details=counts)
    return counts
