"""Attendance datasets: days present/absent/late, hours and overtime, open sessions, reviews.

Everything is aggregated in the database. The per-person-per-day grain (``person_days``) is
one grouped ORM query; the daily and per-person figures wrap it in plain SQL (SUM, CASE,
GROUP BY) because overtime needs sums of daily sums, which the ORM cannot nest. Worked time,
lateness and overtime are ``attendance.rules``' SQL forms, built from the same definitions as
the timesheet's Python ones (tests/test_rules_property.py checks that they agree).
"""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.db.models import Case, Count, Max, Min, Q, QuerySet, Value, When
from django.db.models.functions import (
    Coalesce,
    ExtractIsoYear,
    ExtractWeek,
    TruncDate,
)
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, User
from attendance import rules
from attendance.models import (
    ClockEvent,
    Correction,
    CorrectionKind,
    CorrectionStatus,
    Direction,
    Method,
    SessionStatus,
    WorkSession,
)
from attendance.rules import LocalPart

from .scope import STAFF_ROLES, Scope
from .tables import Table, hours

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DASHBOARD_ROWS = 200


def _schedule(prefix: str) -> dict:
    """The person's own schedule, else their department's (a person's own one wins whole:
    all its fields are required, so coalescing field by field picks the same row)."""
    own, dept = f"{prefix}work_schedule__", f"{prefix}department__work_schedule__"
    return {
        "sched_start": Coalesce(f"{own}start_time", f"{dept}start_time"),
        "sched_grace": Coalesce(f"{own}grace_minutes", f"{dept}grace_minutes"),
        "sched_days": Coalesce(f"{own}weekdays", f"{dept}weekdays"),
    }


def person_days_queryset(scope: Scope) -> QuerySet:
    """One row per person and local work date: first in, last out, worked seconds, late
    minutes and daily overtime seconds (``attendance.rules``), flagged sessions, and whether
    the person was due that day (``scheduled``: a work day of an active staff member's
    schedule; what absences are counted against)."""
    sessions = scope.people(
        WorkSession.objects.filter(work_date__gte=scope.start, work_date__lte=scope.end)
    )
    work_day = rules.work_day_condition(weekday="dow", weekdays="sched_days")
    due = work_day & Q(person__is_active=True) & Q(person__role__in=STAFF_ROLES)
    return (
        sessions.annotate(
            dow=LocalPart("work_date", "isodow"),
            iso_year=ExtractIsoYear("work_date"),
            iso_week=ExtractWeek("work_date"),
            **_schedule("person__"),
        )
        .values(
            "person_id",
            "work_date",
            "dow",
            "iso_year",
            "iso_week",
            "sched_start",
            "sched_grace",
            "sched_days",
            "person__is_active",
            "person__role",
        )
        .annotate(
            first_in=Min("started_at"),
            last_out=Max("ended_at"),
            sessions=Count("pk"),
            secs=rules.worked_seconds_expression(),
            flagged=Count("pk", filter=~Q(status__in=(SessionStatus.CLOSED, SessionStatus.OPEN))),
            scheduled=Case(When(due, then=Value(1)), default=Value(0)),
        )
        .annotate(
            late_minutes=rules.late_minutes_expression(
                first_in="first_in",
                start_time="sched_start",
                grace_minutes="sched_grace",
                work_day=work_day,
                zone=scope.zone,
            ),
            overtime_secs=rules.daily_overtime_expression("secs"),
        )
        .order_by()
    )


LATE = rules.late_days_sql("d.late_minutes")


def _wrapped(outer_sql: str, inner: QuerySet, params: tuple = ()) -> list[tuple]:
    """Run ``outer_sql`` over the ORM query ``inner`` (as the derived table ``d``)."""
    inner_sql, inner_params = inner.query.sql_with_params()
    sql = outer_sql.replace("{inner}", f"({inner_sql}) d")
    before, _, after = outer_sql.partition("{inner}")
    ordered = (*params[: before.count("%s")], *inner_params, *params[before.count("%s") :])
    assert after.count("%s") + before.count("%s") == len(params)
    with connection.cursor() as cursor:
        cursor.execute(sql, ordered)
        return cursor.fetchall()


def expected_by_weekday(scope: Scope) -> list[tuple[date, dict[int, int]]]:
    """For each local date people joined on: how many active staff in scope (who had joined
    by then) are scheduled on each ISO weekday, cumulated in date order."""
    people = scope.people(
        User.objects.filter(is_active=True, role__in=STAFF_ROLES).annotate(**_schedule("")),
        prefix="",
    )
    rows = (
        people.annotate(joined=TruncDate("date_joined", tzinfo=scope.zone))
        .values("joined")
        .annotate(
            **{
                f"d{iso}": Count("pk", filter=Q(sched_days__contains=str(iso - 1)))
                for iso in range(1, 8)
            }
        )
        .order_by("joined")
    )
    running = dict.fromkeys(range(1, 8), 0)
    out = []
    for row in rows:
        running = {iso: running[iso] + row[f"d{iso}"] for iso in range(1, 8)}
        out.append((row["joined"], running))
    return out


def _expected_on(steps: list[tuple[date, dict[int, int]]], day: date) -> int:
    due = 0
    for joined, counts in steps:
        if joined > day:
            break
        due = counts[day.isoweekday()]
    return due


def daily(scope: Scope) -> Table:
    rows = _wrapped(
        "SELECT d.work_date,"
        " SUM(CASE WHEN d.first_in IS NOT NULL THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN d.first_in IS NOT NULL THEN d.scheduled ELSE 0 END),"
        f" SUM({LATE}), SUM(d.late_minutes)"
        " FROM {inner} GROUP BY d.work_date",
        person_days_queryset(scope),
    )
    by_day = {_as_date(r[0]): r[1:] for r in rows}
    steps = expected_by_weekday(scope)
    today = timezone.localdate(timezone=scope.zone)
    out = []
    for day in scope.days():
        present, present_scheduled, late, late_min = by_day.get(day, (0, 0, 0, 0))
        due = _expected_on(steps, day)
        # Today is not over: nobody is absent yet.
        absent = max(0, due - int(present_scheduled)) if day < today else None
        out.append(
            (
                day.isoformat(),
                WEEKDAYS[day.weekday()],
                int(present),
                int(late),
                absent,
                due,
                round(float(late_min) / late, 1) if late else 0,
            )
        )
    return Table(
        ["date", "weekday", "present", "late", "absent", "scheduled", "avg_late_minutes"], out
    )


def _as_date(value):
    # SQLite hands back the ISO text of a DateField in raw SQL.
    return date.fromisoformat(value) if isinstance(value, str) else value


def people(scope: Scope) -> Table:
    """Per person: days present, hours, overtime (daily/weekly rule), late days and minutes."""
    week_overtime, week_params = rules.weekly_overtime_sql(
        worked_seconds="w.week_secs", daily_overtime_sum="w.day_ot"
    )
    user, dept = User._meta.db_table, Department._meta.db_table
    rows = _wrapped(
        "SELECT w.person_id, COALESCE(NULLIF(u.display_name, ''), u.username), "
        " COALESCE(dp.name, ''), SUM(w.days), SUM(w.week_secs),"
        f" SUM({week_overtime}),"
        " SUM(w.late_days), SUM(w.late_minutes), SUM(w.flagged)"
        " FROM (SELECT d.person_id, d.iso_year, d.iso_week, SUM(d.secs) AS week_secs,"
        "   SUM(d.overtime_secs) AS day_ot,"
        "   SUM(CASE WHEN d.first_in IS NOT NULL THEN 1 ELSE 0 END) AS days,"
        f"   SUM({LATE}) AS late_days, SUM(d.late_minutes) AS late_minutes,"
        "   SUM(d.flagged) AS flagged"
        "   FROM {inner} GROUP BY d.person_id, d.iso_year, d.iso_week) w"
        f" JOIN {user} u ON u.id = w.person_id LEFT JOIN {dept} dp ON dp.id = u.department_id"
        " GROUP BY w.person_id, u.display_name, u.username, dp.name"
        " ORDER BY SUM(w.week_secs) DESC, w.person_id",
        person_days_queryset(scope),
        tuple(week_params),
    )
    out = [
        (
            pk,
            name,
            department,
            int(days),
            hours(secs),
            hours(overtime),
            int(late_days),
            int(late_minutes or 0),
            int(flagged or 0),
            reverse("reports:person", args=[pk]),
        )
        for pk, name, department, days, secs, overtime, late_days, late_minutes, flagged in rows
    ]
    return Table(
        [
            "person_id",
            "person",
            "department",
            "days_present",
            "hours",
            "overtime_hours",
            "late_days",
            "late_minutes",
            "flagged_sessions",
            "url",
        ],
        out,
    )


def person_days(scope: Scope) -> Table:
    """Every person-day in scope (the person page shows one person's)."""
    queryset = person_days_queryset(scope).values_list(
        "person_id",
        "person__display_name",
        "work_date",
        "first_in",
        "last_out",
        "sessions",
        "secs",
        "overtime_secs",
        "late_minutes",
        "flagged",
    )
    zone = scope.zone

    def local(value):
        return value.astimezone(zone).strftime("%H:%M") if value else ""

    def rows():
        for (
            pk,
            name,
            day,
            first_in,
            last_out,
            sessions,
            secs,
            overtime_secs,
            late_minutes,
            flagged,
        ) in queryset.order_by("work_date", "person_id").iterator(chunk_size=2000):
            yield (
                pk,
                name,
                day.isoformat(),
                local(first_in),
                local(last_out),
                sessions,
                hours(secs),
                hours(overtime_secs),
                late_minutes,
                flagged,
            )

    return Table(
        [
            "person_id",
            "person",
            "date",
            "first_in",
            "last_out",
            "sessions",
            "hours",
            "overtime_hours",
            "late_minutes",
            "flagged_sessions",
        ],
        rows(),
        count=queryset.count,
    )


def open_sessions(scope: Scope) -> Table:
    """Sessions without a clock-out: flagged ones, and open ones older than the maximum shift."""
    overdue_before = rules.overdue_before(timezone.now())
    queryset = (
        scope.people(
            WorkSession.objects.filter(work_date__gte=scope.start, work_date__lte=scope.end)
        )
        .filter(
            Q(status__in=(SessionStatus.MISSING_OUT, SessionStatus.MISSING_IN))
            | Q(status=SessionStatus.OPEN, started_at__lt=overdue_before)
        )
        .order_by("-work_date", "person_id")
        .values_list(
            "person_id",
            "person__display_name",
            "person__department__name",
            "work_date",
            "started_at",
            "ended_at",
            "status",
        )
    )
    labels = dict(SessionStatus.choices)

    def rows():
        for pk, name, dept, day, started, ended, status in queryset.iterator(chunk_size=2000):
            yield (
                pk,
                name,
                dept or "",
                day.isoformat(),
                _local(started, scope),
                _local(ended, scope),
                str(labels.get(status, status)) if status != SessionStatus.OPEN else "Overdue",
                reverse("reports:person", args=[pk]),
            )

    return Table(
        ["person_id", "person", "department", "date", "started", "ended", "status", "url"],
        rows(),
        count=queryset.count,
    )


def _local(value, scope: Scope) -> str:
    return value.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M") if value else ""


def review(scope: Scope) -> Table:
    """Waiting for a manager: pending corrections and flagged (PIN fallback) clock events
    that nobody has decided yet, from the date range."""
    corrections = (
        scope.people(Correction.objects.filter(status=CorrectionStatus.PENDING))
        .filter(requested_at__gte=scope.start_at, requested_at__lt=scope.end_at)
        .order_by("-requested_at")
        .values_list("pk", "person_id", "person__display_name", "requested_at", "kind", "reason")
    )
    decided = Correction.objects.filter(kind=CorrectionKind.REVIEW).exclude(
        status=CorrectionStatus.PENDING
    )
    flagged = (
        scope.people(ClockEvent.objects.filter(needs_review=True))
        .filter(timestamp__gte=scope.start_at, timestamp__lt=scope.end_at)
        .exclude(pk__in=decided.values("event_id"))
        .order_by("-timestamp")
        .values_list("pk", "person_id", "person__display_name", "timestamp", "method", "direction")
    )
    correction_url = reverse("admin:attendance_correction_changelist")
    event_url = reverse("admin:attendance_clockevent_changelist")

    def rows():
        for pk, person_id, name, at, kind, reason in corrections.iterator(chunk_size=2000):
            label = "Correction" if kind == CorrectionKind.MISSING_EVENT else "Review request"
            yield (
                label,
                person_id,
                name,
                _local(at, scope),
                reason[:120],
                f"{correction_url}{pk}/",
            )
        for pk, person_id, name, at, method, direction in flagged.iterator(chunk_size=2000):
            label = "PIN fallback" if method == "pin" else "Flagged event"
            yield (
                label,
                person_id,
                name,
                _local(at, scope),
                f"clock {direction.upper()} by {method}",
                f"{event_url}{pk}/",
            )

    return Table(
        ["kind", "person_id", "person", "when", "detail", "url"],
        rows(),
        count=lambda: corrections.count() + flagged.count(),
    )


# Short labels for the dashboard, in display order (the privacy notice promises that the
# reports show how each clock-in was made).
METHOD_LABELS = {
    Method.FACE_1N: "Face (kiosk)",
    Method.FACE_1V1: "Face (personal)",
    Method.PIN: "PIN",
    Method.CORRECTION: "Correction",
}


def methods(scope: Scope) -> Table:
    """Clock-ins in the range by method: one GROUP BY in the database. Every method gets a
    row, zero or not, in the order of ``METHOD_LABELS`` (then any unknown stored value)."""
    counts = {
        r["method"]: r
        for r in scope.people(ClockEvent.objects.filter(direction=Direction.IN))
        .filter(timestamp__gte=scope.start_at, timestamp__lt=scope.end_at)
        .values("method")
        .annotate(
            clock_ins=Count("pk"),
            people=Count("person", distinct=True),
        )
        .order_by()
    }
    total = sum(r["clock_ins"] for r in counts.values())
    keys = [str(m) for m in METHOD_LABELS] + sorted(set(counts) - {str(m) for m in METHOD_LABELS})
    labels = {str(m): label for m, label in METHOD_LABELS.items()}
    out = []
    for key in keys:
        row = counts.get(key, {"clock_ins": 0, "people": 0})
        out.append(
            (
                key,
                labels.get(key, key),
                row["clock_ins"],
                row["people"],
                round(100 * row["clock_ins"] / total, 1) if total else 0,
            )
        )
    return Table(["method", "label", "clock_ins", "people", "percent"], out)


def clock_events(scope: Scope) -> Table:
    """The raw clock events in scope (CSV only)."""
    queryset = (
        scope.people(ClockEvent.objects.all())
        .filter(timestamp__gte=scope.start_at, timestamp__lt=scope.end_at)
        .order_by("timestamp", "pk")
        .values_list(
            "timestamp",
            "person__username",
            "person__display_name",
            "person__department__name",
            "direction",
            "method",
            "device__name",
            "score",
            "needs_review",
            "pin_fallback",
        )
    )

    def rows():
        for at, *rest in queryset.iterator(chunk_size=5000):
            yield (at.astimezone(scope.zone).isoformat(timespec="seconds"), *rest)

    return Table(
        [
            "time",
            "username",
            "person",
            "department",
            "direction",
            "method",
            "device",
            "score",
            "needs_review",
            "pin_fallback",
        ],
        rows(),
        count=queryset.count,
    )
