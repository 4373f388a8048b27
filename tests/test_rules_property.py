"""The timesheet (Python rules) and the reports (the same rules in SQL) agree on worked time,
late minutes and overtime, on random schedules and clock events around both DST changes.

Runs on whatever database the environment names: SQLite by default, PostgreSQL with
``DATABASE_URL`` (CI's second pass), so the SQL is checked on both.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Department
from attendance import rules, selectors, services
from attendance.models import ClockEvent, Method, WorkSchedule
from reports import selectors as report_selectors
from reports.selectors import attendance as report

BERLIN = ZoneInfo("Europe/Berlin")
# Two weeks around each change (Sundays): 2026-03-29 02:00 CET -> 03:00 CEST and
# 2025-10-26 03:00 CEST -> 02:00 CET; both before the tests' fixed clock.
WINDOWS = {
    "spring": (date(2026, 3, 23), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    "autumn": (date(2025, 10, 20), datetime(2025, 10, 26, 1, 0, tzinfo=UTC)),
}
DAYS = 14


@st.composite
def schedules(draw):
    return {
        # Starts in the small hours meet the missing / repeated hour of the DST nights.
        "start_time": time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 59]))),
        "grace_minutes": draw(st.integers(0, 30)),
        "weekdays": ",".join(
            str(d) for d in sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)))
        ),
        "own": draw(st.booleans()),  # the person's own schedule, else the department's
    }


@st.composite
def clock_events(draw, change: datetime, first: date):
    """Sorted (instant, direction) pairs in the window, half of them near the DST change."""
    window_start = datetime.combine(first, time(0), tzinfo=BERLIN)
    anywhere = st.integers(0, DAYS * 86400 - 1).map(lambda s: window_start + timedelta(seconds=s))
    near_change = st.integers(-12 * 3600, 12 * 3600).map(lambda s: change + timedelta(seconds=s))
    instants = draw(
        st.lists(st.one_of(anywhere, near_change), max_size=12, unique=True).map(sorted)
    )
    return [(at, draw(st.sampled_from(["in", "out"]))) for at in instants]


def _report_days(scope) -> dict:
    return {
        row["work_date"]: row
        for row in report.person_days_queryset(scope).values(
            "work_date", "secs", "late_minutes", "overtime_secs"
        )
    }


def check_agreement(make_person, *, window, schedule, events, daily_hours, weekly_hours):
    first, _change = WINDOWS[window]
    last = first + timedelta(days=DAYS - 1)
    limits = {
        "ATTENDANCE_DAILY_LIMIT_HOURS": daily_hours,
        "ATTENDANCE_WEEKLY_LIMIT_HOURS": weekly_hours,
        "DISPLAY_TIME_ZONE": "Europe/Berlin",
    }
    with transaction.atomic(), override_settings(**limits):
        department = Department.objects.create(name="Rules", code="rules")
        person = make_person("employee", department=department)
        admin = make_person("admin")
        owner = {"person": person} if schedule["own"] else {"department": department}
        fields = {k: v for k, v in schedule.items() if k != "own"}
        WorkSchedule.objects.create(**owner, **fields)
        for at, direction in events:
            ClockEvent.objects.create(
                person=person, direction=direction, timestamp=at, method=Method.PIN
            )
        services.rebuild_sessions(person=person)

        days, weeks = selectors.timesheet(person=person, start=first, end=last)
        scope = report_selectors.scope_for(
            user=admin, report="attendance", start=first, end=last, person_id=person.pk
        )
        in_report = _report_days(scope)
        assert sorted(in_report) == [d.day for d in days]
        for day in days:
            row = in_report[day.day]
            assert row["secs"] == pytest.approx(day.worked.total_seconds(), abs=1e-3), day.day
            assert row["late_minutes"] == day.late_minutes, (day.day, schedule, events)
            assert row["overtime_secs"] == pytest.approx(day.overtime.total_seconds(), abs=1e-3)

        totals = {r[0]: r for r in report.people(scope).rows}
        if days:
            (row,) = totals.values()
            as_dict = dict(zip(report.people(scope).columns, row, strict=True))
            worked = sum((w.worked for w in weeks), timedelta())
            overtime = sum((w.overtime for w in weeks), timedelta())
            assert as_dict["hours"] == round(worked.total_seconds() / 3600, 2)
            assert as_dict["overtime_hours"] == round(overtime.total_seconds() / 3600, 2)
            assert as_dict["late_minutes"] == sum(d.late_minutes for d in days)
            assert as_dict["late_days"] == sum(1 for d in days if d.late_minutes > 0)
        else:
            assert not totals

        late_by_day = {r[0]: r[3] for r in report.daily(scope).rows}
        for day in days:
            assert late_by_day[day.day.isoformat()] == (1 if day.late_minutes else 0)
        transaction.set_rollback(True)


@st.composite
def cases(draw):
    window = draw(st.sampled_from(sorted(WINDOWS)))
    first, change = WINDOWS[window]
    return {
        "window": window,
        "schedule": draw(schedules()),
        "events": draw(clock_events(change, first)),
        "daily_hours": draw(st.sampled_from([8, 7.5, 4])),
        "weekly_hours": draw(st.sampled_from([40, 38.5, 12])),
    }


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_timesheet_and_report_agree_on_random_schedules_across_dst(make_person, case):
    check_agreement(make_person, **case)


def _berlin(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


SCHEDULE_8 = {"start_time": time(8), "grace_minutes": 5, "weekdays": "0,1,2,3,4", "own": True}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "schedule, events, late",
    [
        # The case: no 6 h cut-off; 15:00 for 08:00 + 5 min grace is 415 minutes.
        (SCHEDULE_8, [(_berlin(2026, 3, 24, 15), "in"), (_berlin(2026, 3, 24, 18), "out")], 415),
        # A start in the hour the spring night skips: 02:30 is read on the wall clock.
        (
            {"start_time": time(2, 30), "grace_minutes": 0, "weekdays": "6", "own": False},
            [(_berlin(2026, 3, 29, 3, 10), "in"), (_berlin(2026, 3, 29, 9), "out")],
            40,
        ),
        # Autumn: 01:30 start, first clock-in at 02:40 of the second (CET) pass: 70 minutes.
        (
            {"start_time": time(1, 30), "grace_minutes": 0, "weekdays": "6", "own": True},
            [(datetime(2025, 10, 26, 1, 40, tzinfo=UTC), "in")],
            70,
        ),
    ],
)
def test_lateness_rule_on_both_sides(make_person, schedule, events, late):
    window = "spring" if events[0][0].year == 2026 else "autumn"
    check_agreement(
        make_person,
        window=window,
        schedule=schedule,
        events=events,
        daily_hours=8,
        weekly_hours=40,
    )
    first_in = events[0][0]
    day = rules.work_date(first_in)
    assert (
        rules.late_minutes(
            day=day,
            first_in=first_in,
            start_time=schedule["start_time"],
            grace_minutes=schedule["grace_minutes"],
            weekdays={int(d) for d in schedule["weekdays"].split(",")},
        )
        == late
    )
