"""The attendance rules, defined once: work day, session pairing, worked time, lateness and
overtime.

Each rule has a Python form (session pairing, the timesheet, the subject access export) and,
where the reports aggregate in the database, an SQL form built here from the same constants
and limits (``*_expression`` for the ORM, ``*_sql`` for the few sums of sums the ORM cannot
nest). ``tests/test_rules_property.py`` checks that both forms agree on random schedules and
clock events across the DST changes, on SQLite and PostgreSQL.

- **Work date**: a session belongs to the local date (``DISPLAY_TIME_ZONE``) of its start, an
  orphan clock-out to the date of its end; a night shift counts on its evening.
- **Worked time**: real elapsed time of closed sessions (a night across a DST change is an hour
  longer or shorter); open and flagged sessions count nothing until they are corrected.
- **Lateness**: on a work day of the schedule (the person's own, else the department's), the
  whole minutes from the scheduled start plus grace to the local time of the day's first
  clock-in; 0 when earlier. Both are read on the local wall clock of the same date, as the
  schedule is written, so a start that does not exist or exists twice on a DST night (02:30)
  needs no guess. There is no cut-off: a 15:00 arrival for 08:00 is 415 minutes late (08:05
  grace); a wrong or missing clock-in is fixed by a correction, not hidden by a window.
- **Overtime**: a day's overtime is worked time beyond ``ATTENDANCE_DAILY_LIMIT_HOURS``; an ISO
  week's is the larger of its days' overtime and its excess over
  ``ATTENDANCE_WEEKLY_LIMIT_HOURS``, never both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    ExtractMinute,
    ExtractSecond,
)
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual

from accounts.site_time import site_zone as display_zone

from . import conf
from .models import ClockEvent, Direction, SessionStatus, WorkSession

# Lateness counts whole minutes.
LATE_UNIT_SECONDS = 60
# The only sessions whose time counts as worked.
WORKED_STATUS = SessionStatus.CLOSED


# ---------------------------------------------------------------- work day and sessions


def work_date(at: datetime) -> date:
    """The local date a session starting (or, without a start, ending) at ``at`` counts on."""
    return at.astimezone(display_zone()).date()


def is_work_day(day: date, weekdays: Iterable[int]) -> bool:
    """``weekdays`` as a schedule stores them: 0 = Monday ... 6 = Sunday."""
    return day.weekday() in set(weekdays)


def overdue_before(now: datetime) -> datetime:
    """An open session that started before this has outlasted the maximum shift."""
    return now - conf.max_shift()


def pair_events(*, person, events: list[ClockEvent]) -> list[WorkSession]:
    """IN/OUT pairs in time order (unsaved sessions). An IN after an IN leaves the first without
    an OUT; an OUT with no IN, or more than the maximum shift after it, stands alone (both
    flagged); a last IN without an OUT is open."""
    limit = conf.max_shift()
    out: list[WorkSession] = []
    open_in: ClockEvent | None = None

    def session(start: ClockEvent | None, end: ClockEvent | None, status: str) -> WorkSession:
        return WorkSession(
            person=person,
            start_event=start,
            end_event=end,
            started_at=start.timestamp if start else None,
            ended_at=end.timestamp if end else None,
            work_date=work_date((start or end).timestamp),
            status=status,
        )

    for event in events:
        if event.direction == Direction.IN:
            if open_in is not None:
                out.append(session(open_in, None, SessionStatus.MISSING_OUT))
            open_in = event
            continue
        if open_in is not None and event.timestamp - open_in.timestamp <= limit:
            out.append(session(open_in, event, SessionStatus.CLOSED))
        else:
            if open_in is not None:
                out.append(session(open_in, None, SessionStatus.MISSING_OUT))
            out.append(session(None, event, SessionStatus.MISSING_IN))
        open_in = None
    if open_in is not None:
        out.append(session(open_in, None, SessionStatus.OPEN))
    return out


def worked(*, status: str, started_at: datetime | None, ended_at: datetime | None) -> timedelta:
    if status == WORKED_STATUS and started_at and ended_at:
        return ended_at - started_at
    return timedelta()


def worked_seconds_expression():
    """Sum of worked seconds of the grouped sessions (``WorkSession`` rows)."""
    return Coalesce(
        Sum(SecondsBetween("started_at", "ended_at"), filter=Q(status=WORKED_STATUS)),
        Value(0.0),
        output_field=FloatField(),
    )


# ---------------------------------------------------------------- lateness


def _seconds_of_day(value: time | datetime) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def late_minutes(
    *,
    day: date,
    first_in: datetime | None,
    start_time: time | None,
    grace_minutes: int = 0,
    weekdays: Iterable[int] = (),
) -> int:
    """Whole minutes late on ``day`` (see the module docstring); 0 if not scheduled."""
    if first_in is None or start_time is None or not is_work_day(day, weekdays):
        return 0
    wall = _seconds_of_day(first_in.astimezone(display_zone()))
    late = wall - _seconds_of_day(start_time) - grace_minutes * 60
    return late // LATE_UNIT_SECONDS if late >= LATE_UNIT_SECONDS else 0


def work_day_condition(*, weekday: str, weekdays: str) -> Q:
    """``weekday`` (an ISO weekday 1..7 annotation) is in ``weekdays`` (a schedule's digits
    0 = Monday ... 6, comma-separated)."""
    q = Q()
    for iso in range(1, 8):
        q |= Q(**{weekday: iso, f"{weekdays}__contains": str(iso - 1)})
    return q


def late_minutes_expression(
    *, first_in: str, start_time: str, grace_minutes: str, work_day: Q, zone: ZoneInfo
):
    """``late_minutes`` in SQL, over annotations of a grouped query: the day's first clock-in,
    the schedule's start and grace, and the work-day condition."""
    late = (
        LocalPart(F(first_in), "seconds", zone)
        - LocalPart(F(start_time), "seconds")
        - F(grace_minutes) * 60
    )
    return Case(
        When(
            work_day
            & Q(**{f"{first_in}__isnull": False, f"{start_time}__isnull": False})
            & Q(GreaterThanOrEqual(late, LATE_UNIT_SECONDS)),
            then=late / LATE_UNIT_SECONDS,  # integer division: whole minutes
        ),
        default=Value(0),
        output_field=IntegerField(),
    )


def late_days_sql(late_minutes_column: str) -> str:
    """1 for a late day, for a SUM over day rows."""
    return f"CASE WHEN {late_minutes_column} > 0 THEN 1 ELSE 0 END"


# ---------------------------------------------------------------- overtime


def daily_overtime(worked_time: timedelta) -> timedelta:
    return max(timedelta(), worked_time - conf.daily_limit())


def weekly_overtime(*, worked_time: timedelta, daily_overtime_sum: timedelta) -> timedelta:
    return max(daily_overtime_sum, worked_time - conf.weekly_limit(), timedelta())


def daily_overtime_expression(worked_seconds: str):
    limit = conf.daily_limit().total_seconds()
    excess = F(worked_seconds) - Value(limit)
    return Case(
        When(Q(GreaterThan(F(worked_seconds), Value(limit))), then=excess),
        default=Value(0.0),
        output_field=FloatField(),
    )


def weekly_overtime_sql(*, worked_seconds: str, daily_overtime_sum: str) -> tuple[str, list]:
    """``weekly_overtime`` over a week's row of sums (plain SQL: sums of sums)."""
    limit = conf.weekly_limit().total_seconds()
    sql = (
        f"CASE WHEN {daily_overtime_sum} >= {worked_seconds} - %s"
        f" THEN {daily_overtime_sum} ELSE {worked_seconds} - %s END"
    )
    return sql, [limit, limit]


# ---------------------------------------------------------------- time in SQL


class SecondsBetween(Func):
    """``end - start`` in seconds (float), on PostgreSQL and SQLite alike.

    A plain number keeps sums and comparisons portable where a duration would be an
    interval on PostgreSQL and microseconds on SQLite."""

    output_field = FloatField()
    arity = 2

    def as_sql(self, compiler, connection, **extra_context):
        (start_sql, start_params), (end_sql, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return self._sql(connection, start_sql, end_sql), [*end_params, *start_params]

    @staticmethod
    def _sql(connection, start: str, end: str) -> str:
        if connection.vendor == "postgresql":
            return f"EXTRACT(EPOCH FROM ({end} - {start}))::float8"
        if connection.vendor == "sqlite":
            # julianday is a double: round off its last bits so that 8 h is exactly 28800 s.
            return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"
        raise NotImplementedError(connection.vendor)


class LocalPart(Func):
    """A part of a timestamp in a time zone, as an integer: ``hour``, ``isodow`` or
    ``seconds`` (since local midnight, whole seconds); for a TimeField leave ``zone`` unset.

    On PostgreSQL this is ``date_part`` (double precision), which aggregates about twice as
    fast as the ``EXTRACT`` (numeric) that Django's Extract* functions emit; other databases
    get Django's Extract* functions, with the same results."""

    output_field = IntegerField()

    def __init__(self, expression, part: str, zone=None, **extra):
        if part not in ("hour", "isodow", "seconds"):
            raise ValueError(part)
        self.part, self.zone = part, zone
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        if self.zone is not None:
            sql, params = f"({sql} AT TIME ZONE %s)", [*params, self.zone.key]
        if self.part == "seconds":
            return f"FLOOR(date_part('epoch', ({sql})::time))::integer", params
        return f"date_part('{self.part}', {sql})::integer", params

    def as_sql(self, compiler, connection, **extra_context):
        expression = self.get_source_expressions()[0]
        kwargs = {"tzinfo": self.zone} if self.zone is not None else {}
        if self.part == "hour":
            fallback = ExtractHour(expression, **kwargs)
        elif self.part == "isodow":
            fallback = ExtractIsoWeekDay(expression, **kwargs)
        else:
            fallback = (
                ExtractHour(expression, **kwargs) * 3600
                + ExtractMinute(expression, **kwargs) * 60
                + ExtractSecond(expression, **kwargs)
            )
        fallback = fallback.resolve_expression(compiler.query)
        return compiler.compile(fallback)
