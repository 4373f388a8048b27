"""Privacy of clock events: redaction, retention (pseudonyms) and the subject-access export."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.pseudonyms import pseudonym_of

from .. import conf
from ..models import ClockEvent, Correction, WorkSession
from .sessions import display_zone, local_time

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


SUBJECT_ACCESS_NOTES = {
    "face_templates": (
        "Not included: face templates are encrypted biometric data that are never exported. "
        "You can delete them at any time (Delete my face data, or withdraw your consent)."
    ),
    "access_events": (
        "Not included here: door access events are kept by the access control module; ask "
        "your administrator for that part."
    ),
    "pseudonymised": (
        "Clock events older than the retention period are pseudonymised (no longer linked to "
        "you) and are therefore not part of this export."
    ),
}


def _event_row(event: ClockEvent) -> dict:
    return {
        "id": event.pk,
        "direction": event.direction,
        "timestamp": event.timestamp.isoformat(),
        "local_time": local_time(event.timestamp).isoformat(),
        "device": event.device.name if event.device else None,
        "method": event.method,
        "score": event.score,
        "threshold": event.threshold,
        "model_version": event.model_version,
        "liveness": event.liveness,
        "needs_review": event.needs_review,
        "pin_fallback": event.pin_fallback,
        "manual_override": event.manual_override,
        "redacted_at": event.redacted_at.isoformat() if event.redacted_at else None,
        "created_at": event.created_at.isoformat(),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def subject_access_export(*, person: User, actor: User | None = None) -> dict:
    """Everything attendance holds about a person (GDPR art. 15), for a JSON download.

    Face templates are never exported; access events live in access_control, which attendance
    may not read (dependency direction). The export is audited.
    """
    from biometrics import selectors as biometric_selectors

    profile = {
        "id": person.pk,
        "username": person.username,
        "display_name": person.display_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "role": person.role,
        "employee_number": person.employee_number,
        "department": person.department.name if person.department_id else None,
        "job_title": person.job_title,
        "is_active": person.is_active,
        "valid_from": _iso(person.valid_from),
        "valid_until": _iso(person.valid_until),
        "sponsor": str(person.sponsor) if person.sponsor_id else None,
        "date_joined": _iso(person.date_joined),
        "last_login": _iso(person.last_login),
        "offboarded_at": _iso(person.offboarded_at),
        "has_pin": bool(person.pin_hash),
    }
    events = ClockEvent.objects.filter(person=person).select_related("device").order_by("timestamp")
    sessions = WorkSession.objects.filter(person=person).order_by("work_date", "started_at")
    corrections = (
        Correction.objects.filter(person=person)
        .select_related("decided_by", "requested_by")
        .order_by("requested_at")
    )
    data = {
        "format": "faceauth.subject_access.v1",
        "generated_at": timezone.now().isoformat(),
        "time_zone": settings.DISPLAY_TIME_ZONE,
        "profile": profile,
        "consents": biometric_selectors.consent_history(person=person),
        "face_templates": {
            "included": False,
            "count": biometric_selectors.template_summary(person=person)["count"],
            "why": SUBJECT_ACCESS_NOTES["face_templates"],
        },
        "clock_events": [_event_row(e) for e in events],
        "work_sessions": [
            {
                "id": s.pk,
                "work_date": s.work_date.isoformat(),
                "started_at": _iso(s.started_at),
                "ended_at": _iso(s.ended_at),
                "status": s.status,
                "duration_seconds": int(s.duration.total_seconds()) if s.duration else None,
            }
            for s in sessions
        ],
        "corrections": [
            {
                "id": c.pk,
                "kind": c.kind,
                "event": c.event_id,
                "proposed_direction": c.proposed_direction,
                "proposed_timestamp": _iso(c.proposed_timestamp),
                "reason": c.reason,
                "requested_by": str(c.requested_by) if c.requested_by_id else None,
                "requested_at": _iso(c.requested_at),
                "status": c.status,
                "decided_by": str(c.decided_by) if c.decided_by_id else None,
                "decided_at": _iso(c.decided_at),
                "decision_note": c.decision_note,
                "created_event": c.created_event_id,
            }
            for c in corrections
        ],
        "not_included": {
            "face_templates": SUBJECT_ACCESS_NOTES["face_templates"],
            "access_events": SUBJECT_ACCESS_NOTES["access_events"],
            "pseudonymised_events": SUBJECT_ACCESS_NOTES["pseudonymised"],
        },
    }
    audit.record(
        "export.subject_access",
        actor=actor or person,
        outcome="done",
        target=person,
        details={
            "events": len(data["clock_events"]),
            "sessions": len(data["work_sessions"]),
            "corrections": len(data["corrections"]),
            "consents": len(data["consents"]),
        },
    )
    return data
