"""Reads of attendance for pages, the API and the admin. Role scoping lives here."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from accounts.permissions import role_of

from . import conf, rules
from .models import (
    ClockEvent,
    Correction,
    CorrectionKind,
    CorrectionStatus,
    Direction,
    SessionStatus,
    WorkSchedule,
    WorkSession,
)


def rejected_event_ids() -> QuerySet:
    return Correction.objects.filter(
        kind=CorrectionKind.REVIEW, status=CorrectionStatus.REJECTED
    ).values("event_id")


def counted_events(*, person: User) -> QuerySet[ClockEvent]:
    """The person's events that count: all but those a reviewer rejected (newest first)."""
    return (
        ClockEvent.objects.filter(person=person)
        .exclude(pk__in=rejected_event_ids())
        .order_by("-timestamp", "-id")
    )


def open_session(*, person: User) -> WorkSession | None:
    return (
        WorkSession.objects.filter(person=person, status=SessionStatus.OPEN)
        .order_by("-started_at")
        .first()
    )


def next_direction(*, person: User, at: datetime | None = None) -> str:
    """OUT while a shift is open, IN otherwise; a shift open longer than the maximum was a
    forgotten clock-out, so the person is starting a new one."""
    at = at or timezone.now()
    session = open_session(person=person)
    if session is not None and at - session.started_at <= conf.max_shift():
        return Direction.OUT
    return Direction.IN


def person_state(*, person: User) -> dict:
    last = counted_events(person=person).first()
    return {
        "next_direction": next_direction(person=person),
        "last_event": last,
        "open_session": open_session(person=person),
    }


def _scope(queryset: QuerySet, user) -> QuerySet:
    role = role_of(user)
    if role == Role.ADMIN:
        return queryset
    if role == Role.MANAGER and user.department_id:
        return queryset.filter(person__department_id=user.department_id)
    if getattr(user, "pk", None) and role and not role.startswith("device:"):
        return queryset.filter(person=user)
    return queryset.none()


def events_visible_to(*, user) -> QuerySet[ClockEvent]:
    """Admins see everybody, managers their department, everybody else only themselves."""
    return _scope(ClockEvent.objects.select_related("person", "device"), user)


def sessions_visible_to(*, user) -> QuerySet[WorkSession]:
    return _scope(WorkSession.objects.select_related("person"), user)


def corrections_visible_to(*, user) -> QuerySet[Correction]:
    return _scope(Correction.objects.select_related("person", "event", "decided_by"), user)


def schedule_for(*, person: User) -> WorkSchedule | None:
    schedule = WorkSchedule.objects.filter(person=person).first()
    if schedule is None and person.department_id:
        schedule = WorkSchedule.objects.filter(department_id=person.department_id).first()
    return schedule


@dataclass
class DaySummary:
    day: date
    sessions: list[WorkSession] = field(default_factory=list)
    worked: timedelta = timedelta()
    late_minutes: int = 0
    overtime: timedelta = timedelta()

    @property
    def needs_attention(self) -> bool:
        return any(s.needs_attention for s in self.sessions)


@dataclass
class WeekSummary:
    year: int
    week: int
    days: list[DaySummary] = field(default_factory=list)
    worked: timedelta = timedelta()
    overtime: timedelta = timedelta()

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def timesheet(
    *, person: User, start: date, end: date
) -> tuple[list[DaySummary], list[WeekSummary]]:
    """Days (local dates, start..end inclusive) with sessions, and ISO weeks with totals:
    worked time, lateness and overtime as ``attendance.rules`` defines them."""
    sessions = (
        WorkSession.objects.filter(person=person, work_date__gte=start, work_date__lte=end)
        .select_related("start_event", "end_event")
        .order_by("work_date")
    )
    schedule = schedule_for(person=person)
    days: OrderedDict[date, DaySummary] = OrderedDict()
    # An orphan OUT has no start: place it in the day by its end.
    for session in sorted(sessions, key=lambda s: (s.work_date, s.started_at or s.ended_at)):
        summary = days.setdefault(session.work_date, DaySummary(day=session.work_date))
        summary.sessions.append(session)
        summary.worked += rules.worked(
            status=session.status, started_at=session.started_at, ended_at=session.ended_at
        )
    weeks: OrderedDict[tuple[int, int], WeekSummary] = OrderedDict()
    for summary in days.values():
        starts = [s.started_at for s in summary.sessions if s.started_at]
        summary.late_minutes = rules.late_minutes(
            day=summary.day,
            first_in=min(starts) if starts else None,
            start_time=schedule.start_time if schedule else None,
            grace_minutes=schedule.grace_minutes if schedule else 0,
            weekdays=schedule.working_days if schedule else (),
        )
        summary.overtime = rules.daily_overtime(summary.worked)
        year, week, _ = summary.day.isocalendar()
        bucket = weeks.setdefault((year, week), WeekSummary(year=year, week=week))
        bucket.days.append(summary)
        bucket.worked += summary.worked
    for bucket in weeks.values():
        bucket.overtime = rules.weekly_overtime(
            worked_time=bucket.worked,
            daily_overtime_sum=sum((d.overtime for d in bucket.days), timedelta()),
        )
    return list(days.values()), list(weeks.values())


def recent_events(*, person: User, limit: int = 20) -> list[ClockEvent]:
    rejected = set(
        rejected_event_ids().filter(event__person=person).values_list("event_id", flat=True)
    )
    events = list(ClockEvent.objects.filter(person=person).select_related("device")[:limit])
    for event in events:
        event.rejected = event.pk in rejected
    return events


def corrections_of(*, person: User, limit: int = 20) -> list[Correction]:
    return list(Correction.objects.filter(person=person).select_related("decided_by")[:limit])


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def subject_access_section(*, person: User) -> dict:
    """Attendance's part of a person's subject-access export (faceauth.subject_access): their
    clock events, work sessions and corrections. Pseudonymised events are nobody's any more."""
    zone = rules.display_zone()
    events = ClockEvent.objects.filter(person=person).select_related("device").order_by("timestamp")
    sessions = WorkSession.objects.filter(person=person).order_by("work_date", "started_at")
    corrections = (
        Correction.objects.filter(person=person)
        .select_related("decided_by", "requested_by")
        .order_by("requested_at")
    )
    return {
        "clock_events": [
            {
                "id": e.pk,
                "direction": e.direction,
                "timestamp": e.timestamp.isoformat(),
                "local_time": e.timestamp.astimezone(zone).isoformat(),
                "device": e.device.name if e.device else None,
                "method": e.method,
                "score": e.score,
                "threshold": e.threshold,
                "model_version": e.model_version,
                "liveness": e.liveness,
                "needs_review": e.needs_review,
                "pin_fallback": e.pin_fallback,
                "manual_override": e.manual_override,
                "redacted_at": _iso(e.redacted_at),
                "created_at": e.created_at.isoformat(),
            }
            for e in events
        ],
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
    }


def last_clock_ins(*, person_ids: list[int]) -> dict[int, datetime]:
    """The latest counted clock-in of each person (for directories); absent: never clocked in."""
    rows = (
        ClockEvent.objects.filter(person_id__in=person_ids, direction=Direction.IN)
        .exclude(pk__in=rejected_event_ids())
        .values("person_id")
        .annotate(last=Max("timestamp"))
    )
    return {row["person_id"]: row["last"] for row in rows}


def setup_state() -> dict[str, bool]:
    """For the admin's first-run checklist: a work schedule (for lateness and overtime)."""
    return {"work_schedule": WorkSchedule.objects.exists()}


def pending_approvals(*, user) -> QuerySet[Correction]:
    """Corrections and PIN fall-back reviews ``user`` may decide, oldest first: admins all,
    managers their department (corrections_visible_to), never their own (may_decide)."""
    return (
        corrections_visible_to(user=user)
        .filter(status=CorrectionStatus.PENDING)
        .exclude(person=user)
        .select_related("requested_by")
        .order_by("requested_at", "id")
    )


def recent_decisions(*, user, limit: int = 20) -> list[Correction]:
    """What was decided lately in ``user``'s scope, newest first."""
    return list(
        corrections_visible_to(user=user)
        .exclude(status=CorrectionStatus.PENDING)
        .order_by("-decided_at", "-id")[:limit]
    )
