"""Privacy of clock events: redaction, retention (pseudonyms) and the subject-access export."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.pseudonyms import pseudonym_of

from .. import conf
from ..models import ClockEvent, Correction, WorkSession
from ..rules import display_zone

log = logging.getLogger("faceauth.attendance")


# The biometric columns of an event: what links it to a face template. The two redactions
# below are the only changes ever made to stored events, as queryset updates of these columns
# (ClockEvent.save() still refuses any change of a loaded event).
BIOMETRIC_COLUMNS = {"score": None, "threshold": None, "model_version": "", "liveness": None}


def redact_biometrics(*, person: User, reason: str = "face_data_erased") -> int:
    """Blank the scores of a person's clock events after their face data was erased.

    The events stay (they are payroll data: who worked when), but without the match scores,
    thresholds, model versions and liveness results that were computed from the templates.
    """
    now = timezone.now()
    count = (
        ClockEvent.objects.filter(person=person)
        .filter(
            Q(score__isnull=False)
            | Q(threshold__isnull=False)
            | ~Q(model_version="")
            | Q(liveness__isnull=False)
        )
        .redact(**BIOMETRIC_COLUMNS, redacted_at=now)
    )
    log.info(
        "clock events redacted", extra={"person": person.pk, "events": count, "reason": reason}
    )
    return count


def on_face_data_erased(sender, person: User, **kwargs) -> None:
    """biometrics.privacy.face_data_erased receiver (connected in AttendanceConfig.ready)."""
    count = redact_biometrics(person=person)
    audit.record(
        "attendance.redact_scores",
        outcome="done",
        target=person,
        details={"events": count, "reason": "face_data_erased"},
    )


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=conf.get("ATTENDANCE_EVENT_RETENTION_DAYS"))


def pseudonymise_expired(*, now: datetime | None = None) -> dict:
    """Daily retention for attendance: events (and corrections) older than
    ATTENDANCE_EVENT_RETENTION_DAYS lose their link to the person.

    The person is replaced by a stable pseudonym, the biometric columns are blanked, the
    derived work sessions of that period are deleted (they are rebuilt from events, and the
    pseudonymised events no longer belong to anybody), and a correction's free-text reason is
    cleared. Idempotent: a second run finds nothing left to do.
    """
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    counts = {"events": 0, "corrections": 0, "sessions": 0, "people": 0}
    with transaction.atomic():
        expired = ClockEvent.objects.filter(person__isnull=False, timestamp__lt=cutoff)
        people = set(expired.values_list("person_id", flat=True))
        counts["people"] = len(people)
        for person_id in people:
            pseudonym = pseudonym_of(person_id)
            counts["sessions"] += WorkSession.objects.filter(
                person_id=person_id, work_date__lt=timezone.localdate(cutoff, display_zone())
            ).delete()[0]
            counts["events"] += expired.filter(person_id=person_id).redact(
                person=None, pseudonym=pseudonym, **BIOMETRIC_COLUMNS, redacted_at=now
            )
        old_corrections = Correction.objects.filter(person__isnull=False).filter(
            Q(requested_at__lt=cutoff)
            & (Q(proposed_timestamp__isnull=True) | Q(proposed_timestamp__lt=cutoff))
            & (Q(event__isnull=True) | Q(event__timestamp__lt=cutoff))
        )
        for person_id in set(old_corrections.values_list("person_id", flat=True)):
            mine = old_corrections.filter(person_id=person_id)
            mine.filter(requested_by_id=person_id).update(requested_by=None)
            counts["corrections"] += mine.update(
                person=None, pseudonym=pseudonym_of(person_id), reason="[pseudonymised]"
            )
        audit.record(
            "retention.attendance",
            outcome="done",
            details={**counts, "cutoff": cutoff.isoformat()},
        )
    log.info("attendance retention", extra=counts)
    return counts
