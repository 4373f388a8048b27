"""Who may enrol a face for whom, and the identity check every enrolment passes before its
templates are attached (held for an admin's review otherwise).

Both apply to every enrolment path (self-service page, reception on the pass page, the API,
the admin), because they run in ``services.start_enrolment`` and ``services.run_enrolment``.
"""

import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts import audit
from accounts.models import TIME_LIMITED_ROLES, Role, User
from accounts.permissions import role_of

from . import engine
from .engine.matching import normalise_rows, person_template
from .errors import BiometricError
from .models import EnrolmentJob, FaceSample, FaceTemplate

log = logging.getLogger("faceauth.decisions")

# Hold reasons (EnrolmentJob.hold_reason).
MATCHES_OTHER_PERSON = "matches_other_person"
NOT_THE_ENROLLED_PERSON = "not_the_enrolled_person"
# Candidates verified 1:1 after the gallery's cosine pre-selection: any face that could pass
# the 1:1 threshold of another person ranks among its few best owners.
CANDIDATES = 5


class EnrolmentForbidden(BiometricError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "enrolment_forbidden"
    message = _(
        "Only reception (a guard, for visitors and contractors) or an admin may enrol "
        "someone else's face."
    )


class NotHeld(BiometricError):
    status_code = status.HTTP_409_CONFLICT
    code = "not_held"
    message = _("This enrolment is not waiting for a review.")


# ---------------------------------------------------------------- who may enrol whom


def may_enrol(*, actor: User | None, person: User) -> bool:
    """Everybody enrols themselves; enrolling someone else is a reception task: guards enrol
    visitors and contractors, admins anybody. ``actor=None`` is the system (commands)."""
    if actor is None or actor.pk == person.pk:
        return True
    role = role_of(actor)
    if not actor.may_authenticate():
        return False
    return role == Role.ADMIN or (role == Role.GUARD and person.role in TIME_LIMITED_ROLES)


def require_may_enrol(*, actor: User | None, person: User) -> None:
    if not may_enrol(actor=actor, person=person):
        raise EnrolmentForbidden()


# ---------------------------------------------------------------- the identity check


@dataclass(frozen=True)
class Hold:
    reason: str
    score: float
    threshold: float
    other: User | None = None


def duplicate_fmr(n_people: int) -> float:
    """The 1:1 target FMR, divided by the number of people searched (at least 1): one search
    makes n 1:1 comparisons, and the false-hold rate per enrolment must not grow with the
    gallery. With a handful of people it is the plain 1:1 operating point."""
    cal = engine.default_calibration()
    target = getattr(settings, "FACEAUTH_DUPLICATE_TARGET_RATE", None) or cal.verify_target_fmr
    return min(cal.verify_target_fmr, target / max(1, n_people))


def _templates_by_person(person_ids: list[int], model_version: str) -> dict[int, np.ndarray]:
    found: dict[int, list[np.ndarray]] = {}
    rows = FaceTemplate.objects.filter(
        person_id__in=person_ids, person__is_active=True, model_version=model_version
    )
    for template in rows:
        found.setdefault(template.person_id, []).append(template.embedding)
    return {pk: np.vstack(vectors) for pk, vectors in found.items()}


def _mean_score(embeddings: np.ndarray, templates: np.ndarray) -> float:
    # The cosine of each new photo to the person's mean template (the calibrated 1:1 score of
    # a photo against a template of 2+, and of the gallery), averaged over the photos.
    reference = person_template(templates)
    return float(np.mean(normalise_rows(embeddings) @ reference))


def identity_hold(*, person: User, embeddings: np.ndarray, gallery) -> Hold | None:
    """Why these new embeddings of ``person`` must wait for a review, if they must.

    1. They match ANOTHER enrolled person above the calibrated 1:1 threshold (for the number
       of people searched): the same face would be two people, and the 1:N search would
       answer with either.
    2. The person is already enrolled and they do not match the person's own templates at
       the 1:1 threshold: someone else's face would be attached to this person.
    """
    cal = engine.default_calibration()
    model_version = cal.model_version
    others = [pk for pk in gallery.owners if pk != person.pk]
    if others:
        scores = np.mean(
            normalise_rows(embeddings) @ gallery.matrix.T, axis=0
        )  # per owner, same order as gallery.owners
        order = [int(i) for i in np.argsort(-scores) if gallery.owners[int(i)] != person.pk]
        candidates = [gallery.owners[i] for i in order[:CANDIDATES]]
        fmr = duplicate_fmr(len(others))
        best: Hold | None = None
        for pk, templates in _templates_by_person(candidates, model_version).items():
            score = _mean_score(embeddings, templates)
            threshold = cal.verify_threshold(len(templates), fmr=fmr)
            margin = score - threshold
            if margin >= 0 and (best is None or margin > best.score - best.threshold):
                best = Hold(MATCHES_OTHER_PERSON, score, threshold, User.objects.get(pk=pk))
        if best is not None:
            return best
    own = _templates_by_person([person.pk], model_version).get(person.pk)
    if own is not None:
        score = _mean_score(embeddings, own)
        threshold = cal.verify_threshold(len(own))
        if score < threshold:
            return Hold(NOT_THE_ENROLLED_PERSON, score, threshold)
    return None


def hold_job(*, job: EnrolmentJob, samples: list[FaceSample], hold: Hold) -> None:
    """Nothing is attached: the samples keep their (encrypted) images for the reviewer and are
    embedded again if an admin approves."""
    with transaction.atomic():
        FaceSample.objects.filter(pk__in=[s.pk for s in samples]).update(
            status=FaceSample.Status.HELD, reason=hold.reason, message="Held for review"
        )
        job.status = EnrolmentJob.Status.HELD
        job.hold_reason = hold.reason
        job.hold_match = hold.other
        job.hold_score = round(hold.score, 4)
        job.hold_threshold = round(hold.threshold, 4)
        job.save(
            update_fields=[
                "status",
                "hold_reason",
                "hold_match",
                "hold_score",
                "hold_threshold",
                "updated_at",
            ]
        )
        audit.record(
            "enrolment.hold",
            outcome=hold.reason,
            target=job.person,
            details={
                "job": str(job.pk),
                "other": hold.other.pk if hold.other else None,
                "score": round(hold.score, 4),
                "threshold": round(hold.threshold, 4),
            },
        )
    log.warning(
        "enrolment held",
        extra={"job": str(job.pk), "person": job.person_id, "reason": hold.reason},
    )


# ---------------------------------------------------------------- the admin's review


def may_review(user) -> bool:
    return role_of(user) == Role.ADMIN and user.may_authenticate()


def review_enrolment(
    *, job: EnrolmentJob, reviewer: User, approve: bool, note: str = ""
) -> EnrolmentJob:
    """Approve (the held photos are embedded and attached, no second check) or reject (they
    are discarded). Admins only; audited."""
    from .tasks import process_enrolment

    if not may_review(reviewer):
        raise EnrolmentForbidden("Only an admin may review a held enrolment.")
    with transaction.atomic():
        job = EnrolmentJob.objects.select_for_update().get(pk=job.pk)
        if job.status != EnrolmentJob.Status.HELD:
            raise NotHeld()
        held = job.samples.filter(status=FaceSample.Status.HELD)
        job.reviewed_by, job.reviewed_at = reviewer, timezone.now()
        job.review_note = note.strip()[:300]
        if approve:
            job.review = EnrolmentJob.Review.APPROVED
            job.status = EnrolmentJob.Status.PENDING
            held.update(status=FaceSample.Status.PENDING, reason="", message="")
        else:
            job.review = EnrolmentJob.Review.REJECTED
            job.status = EnrolmentJob.Status.FAILED
            job.error = "Held for review and rejected by an admin."
            held.update(status=FaceSample.Status.REJECTED, image=None, message="Rejected on review")
        job.save()
        audit.record(
            f"enrolment.review.{job.review}",
            actor=reviewer,
            outcome=job.review,
            target=job.person,
            details={"job": str(job.pk), "hold": job.hold_reason, "note": job.review_note},
        )
        if approve:
            transaction.on_commit(lambda: process_enrolment.delay(str(job.pk)))
    return job
