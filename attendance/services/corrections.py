"""Correction requests and their review."""

from datetime import datetime

from django.contrib.admin.models import ADDITION
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit
from accounts.models import Role, User
from accounts.permissions import role_of

from ..errors import AlreadyDecided, InvalidCorrection, InvalidDirection, NotAllowed
from ..models import ClockEvent, Correction, CorrectionKind, CorrectionStatus, Direction, Method
from ..rules import display_zone
from .sessions import rebuild_sessions

PIN_REVIEW_REASON = "Clocked with employee number and PIN instead of the face."


def open_pin_review(*, event: ClockEvent) -> Correction:
    """A PIN event proves less than a face: a manager reviews it."""
    return Correction.objects.create(
        person=event.person, kind=CorrectionKind.REVIEW, event=event, reason=PIN_REVIEW_REASON
    )


@transaction.atomic
def request_correction(
    *, person: User, requested_by: User, direction: str, timestamp: datetime, reason: str
) -> Correction:
    """An employee asks for a missing event (usually a forgotten clock-out) to be added."""
    if direction not in Direction.values:
        raise InvalidDirection()
    if timezone.is_naive(timestamp):
        timestamp = timezone.make_aware(timestamp, display_zone())
    if timestamp > timezone.now():
        raise InvalidCorrection(_("The time of a correction cannot be in the future."))
    if not reason.strip():
        raise InvalidCorrection(_("Please give a reason."))
    if requested_by.pk != person.pk and role_of(requested_by) != Role.ADMIN:
        raise NotAllowed(_("You may request corrections only for yourself."))
    correction = Correction.objects.create(
        person=person,
        kind=CorrectionKind.MISSING_EVENT,
        proposed_direction=direction,
        proposed_timestamp=timestamp,
        reason=reason.strip(),
        requested_by=requested_by,
    )
    audit.record_change(
        action="correction.request",
        actor=requested_by,
        target=correction,
        message="Requested",
        details={"person": person.pk, "direction": direction},
        flag=ADDITION,
    )
    return correction


def may_decide(*, reviewer: User, person: User) -> bool:
    """Admins decide for anybody, managers for their department; nobody for themselves."""
    if reviewer.pk == person.pk:
        return False
    role = role_of(reviewer)
    if role == Role.ADMIN:
        return True
    return (
        role == Role.MANAGER
        and reviewer.department_id is not None
        and reviewer.department_id == person.department_id
    )


@transaction.atomic
def decide_correction(
    *, correction: Correction, approve: bool, reviewer: User, note: str = ""
) -> Correction:
    """Approve or reject once. Approving a missing event adds it; rejecting a flagged event
    takes it out of the sessions. Either way the sessions are re-derived."""
    # Lock only the correction row: PostgreSQL refuses FOR UPDATE across the nullable event join.
    correction = (
        Correction.objects.select_for_update(of=("self",))
        .select_related("person", "event")
        .get(pk=correction.pk)
    )
    if correction.status != CorrectionStatus.PENDING:
        raise AlreadyDecided()
    if not may_decide(reviewer=reviewer, person=correction.person):
        raise NotAllowed(_("You may not decide corrections for this person."))
    correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
    correction.decided_by = reviewer
    correction.decided_at = timezone.now()
    correction.decision_note = note[:300]
    since = correction.event.timestamp if correction.event else correction.proposed_timestamp
    if approve and correction.kind == CorrectionKind.MISSING_EVENT:
        correction.created_event = ClockEvent.objects.create(
            person=correction.person,
            direction=correction.proposed_direction,
            timestamp=correction.proposed_timestamp,
            method=Method.CORRECTION,
            manual_override=True,
            created_by=reviewer,
        )
    correction.save()
    rebuild_sessions(person=correction.person, since=since)
    audit.record_change(
        action=f"correction.{correction.status}",
        actor=reviewer,
        target=correction,
        message=audit.source_text(CorrectionStatus(correction.status).label),
        details={
            "person": correction.person_id,
            "kind": correction.kind,
            "event": correction.created_event_id or correction.event_id,
            "note": bool(correction.decision_note),
        },
    )
    return correction
