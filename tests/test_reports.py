"""Reports: exact aggregates on hand-built data (lateness, overtime, midnight, DST), the role
permission matrix for every page and export, scoping, and audited CSV exports."""

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse

from access_control.models import AccessEvent, AccessPoint, Area
from accounts.models import AuditEntry, Department, User
from attendance import selectors as attendance_selectors
from attendance import services as attendance_services
from attendance.models import ClockEvent, Method, WorkSchedule
from reports import selectors
from reports.selectors import access, attendance

BERLIN = ZoneInfo("Europe/Berlin")
# The week of the autumn DST change: Sunday 2025-10-26 03:00 CEST -> 02:00 CET.
MONDAY = date(2025, 10, 20)
SUNDAY = date(2025, 10, 26)


@pytest.fixture(autouse=True)
def _zone(settings):
    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    settings.ATTENDANCE_DAILY_LIMIT_HOURS = 8
    settings.ATTENDANCE_WEEKLY_LIMIT_HOURS = 40


def local(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=BERLIN)


def shift(person, start: datetime, end: datetime | None) -> None:
    ClockEvent.objects.create(person=person, direction="in", timestamp=start, method=Method.PIN)
    if end is not None:
        ClockEvent.objects.create(person=person, direction="out", timestamp=end, method=Method.PIN)


@pytest.fixture
def week(make_person, people):
    """Three people of one department (schedule 08:00 + 5 min grace, Mon-Fri):
    A: on time, 15 min late, 59 s late (not late), absent, exactly 1 min late;
    B: personal Saturday night shift 22:00 across midnight and the DST change (9 h real);
    C: six 8-hour days (48 h: only the weekly rule gives overtime)."""
    dept = Department.objects.create(name="Assembly", code="asm")
    WorkSchedule.objects.create(department=dept, start_time=time(8, 0), grace_minutes=5)
    a = make_person("employee", department=dept, display_name="Anna A")
    b = make_person("employee", department=dept, display_name="Bert B")
    c = make_person("employee", department=dept, display_name="Cora C")
    WorkSchedule.objects.create(person=b, start_time=time(22, 0), grace_minutes=10, weekdays="5")
    # Absence counts only from the day a person joined.
    User.objects.filter(pk__in=[a.pk, b.pk, c.pk]).update(date_joined=local(date(2025, 1, 1), 9))
    d = MONDAY
    shift(a, local(d, 8), local(d, 16, 30))  # 8.5 h
    shift(a, local(d + timedelta(1), 8, 20, 30), local(d + timedelta(1), 18, 20, 30))  # 10 h
    shift(a, local(d + timedelta(2), 8, 5, 59), local(d + timedelta(2), 16, 5, 59))  # 8 h
    shift(a, local(d + timedelta(4), 8, 6), local(d + timedelta(4), 14, 6))  # 6 h
    shift(b, local(d + timedelta(5), 22), local(SUNDAY, 6))  # 22:00 CEST -> 06:00 CET = 9 h
    for i in range(6):
        shift(c, local(d + timedelta(i), 7, 50), local(d + timedelta(i), 15, 50))
    for person in (a, b, c):
        attendance_services.rebuild_sessions(person=person)
    return {"dept": dept, "a": a, "b": b, "c": c, "admin": people["admin"]}


def scope_of(user, report="attendance", **kwargs):
    kwargs.setdefault("start", MONDAY)
    kwargs.setdefault("end", SUNDAY)
    return selectors.scope_for(user=user, report=report, **kwargs)


def by(table, key):
    i = table.columns.index(key)
    return {row[i]: dict(zip(table.columns, row, strict=True)) for row in table.rows}


def test_daily_present_late_absent_are_exact_across_midnight_and_dst(week):
    table = attendance.daily(scope_of(week["admin"], department_id=week["dept"].pk))
    rows = by(table, "date")
    summary = {d: (r["present"], r["late"], r["absent"], r["scheduled"]) for d, r in rows.items()}
    assert summary == {
        "2025-10-20": (2, 0, 0, 2),
        "2025-10-21": (2, 1, 0, 2),
        "2025-10-22": (2, 0, 0, 2),  # 59 s after grace is not a late minute
        "2025-10-23": (1, 0, 1, 2),  # A absent
        "2025-10-24": (2, 1, 0, 2),
        "2025-10-25": (2, 0, 0, 1),  # B's night shift counts on Saturday, C unscheduled
        "2025-10-26": (0, 0, 0, 0),
    }
    assert rows["2025-10-21"]["avg_late_minutes"] == 15
    assert rows["2025-10-24"]["avg_late_minutes"] == 1


def test_hours_overtime_and_lateness_per_person_are_exact(week):
    table = attendance.people(scope_of(week["admin"], department_id=week["dept"].pk))
    rows = by(table, "person")
    got = {
        name: (
            r["days_present"],
            r["hours"],
            r["overtime_hours"],
            r["late_days"],
            r["late_minutes"],
        )
        for name, r in rows.items()
    }
    assert got == {
        "Anna A": (4, 32.5, 2.5, 2, 16),  # daily excess 0.5 + 2
        "Bert B": (1, 9.0, 1.0, 0, 0),  # the DST night is 9 real hours
        "Cora C": (6, 48.0, 8.0, 0, 0),  # weekly excess 48 - 40
    }
    # The same numbers as the attendance app's own timesheet.
    for key in ("a", "b", "c"):
        person = week[key]
        days, weeks = attendance_selectors.timesheet(person=person, start=MONDAY, end=SUNDAY)
        assert len(weeks) == 1
        row = rows[str(person)]
        assert row["hours"] == round(weeks[0].worked.total_seconds() / 3600, 2)
        assert row["overtime_hours"] == round(weeks[0].overtime.total_seconds() / 3600, 2)
        assert row["late_minutes"] == sum(d.late_minutes for d in days)


def test_person_days_list_local_times_and_daily_figures(week):
    table = attendance.person_days(scope_of(week["admin"], person_id=week["b"].pk))
    rows = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
    assert [
        (r["date"], r["first_in"], r["last_out"], r["hours"], r["overtime_hours"]) for r in rows
    ] == [("2025-10-25", "22:00", "06:00", 9.0, 1.0)]


def test_open_sessions_and_review_queue(week, make_person):
    a = week["a"]
    shift(a, local(MONDAY + timedelta(3), 9), None)  # forgot to clock out on Thursday...
    shift(a, local(MONDAY + timedelta(5), 9), local(MONDAY + timedelta(5), 10))  # ...then came in
    ClockEvent.objects.create(
        person=a,
        direction="in",
        timestamp=local(MONDAY + timedelta(6), 9),
        method=Method.PIN,
        needs_review=True,
        pin_fallback=True,
    )
    attendance_services.rebuild_sessions(person=a)
    scope = scope_of(week["admin"], department_id=week["dept"].pk)
    open_rows = list(attendance.open_sessions(scope).rows)
    assert [(r[1], r[3], r[6]) for r in open_rows if r[6] != "Overdue"] == [
        ("Anna A", "2025-10-23", "Missing clock-out")
    ]
    review = attendance.review(scope)
    assert review.row_count() == 1
    assert [r[0] for r in review.rows] == ["PIN fallback"]


def clock_in(person, at: datetime, method: str, **extra) -> None:
    ClockEvent.objects.create(person=person, direction="in", timestamp=at, method=method, **extra)


@pytest.fixture
def methods_week(week, people):
    """On top of ``week`` (11 PIN clock-ins by A, B and C): a kiosk face clock-in, a personal
    one at the last minute of the range, a PIN fallback, a correction, a face clock-out (not a
    clock-in), two clock-ins just outside the range, one of another department (Operations,
    the manager's) and a pseudonymised one (no person)."""
    a, b, c = week["a"], week["b"], week["c"]
    clock_in(a, local(MONDAY + timedelta(3), 9), Method.FACE_1N)
    clock_in(b, local(SUNDAY, 23, 59), Method.FACE_1V1)
    clock_in(a, local(SUNDAY, 9), Method.PIN, pin_fallback=True, needs_review=True)
    clock_in(c, local(MONDAY + timedelta(5), 9), Method.CORRECTION)
    ClockEvent.objects.create(
        person=c, direction="out", timestamp=local(SUNDAY, 18), method=Method.FACE_1N
    )
    clock_in(a, local(SUNDAY + timedelta(1), 0), Method.FACE_1V1)  # Monday after: outside
    clock_in(c, local(MONDAY - timedelta(1), 23, 59), Method.FACE_1N)  # Sunday before: outside
    clock_in(people["employee"], local(MONDAY + timedelta(2), 8), Method.FACE_1V1)
    clock_in(None, local(MONDAY + timedelta(2), 8), Method.PIN, pseudonym="p" * 32)
    return week


def method_rows(table):
    """label -> (clock_ins, people, percent)."""
    return {r[1]: tuple(r[2:]) for r in table.rows}


def test_clock_ins_by_method_are_exact_and_scoped(methods_week, people):
    week = methods_week
    table = attendance.methods(scope_of(week["admin"], department_id=week["dept"].pk))
    assert list(table.columns) == [
        "method",
        "label",
        "clock_ins",
        "people",
        "percent",
    ]
    # label: clock-ins, distinct people, share of the range's clock-ins (15).
    assert method_rows(table) == {
        "Face (kiosk)": (1, 1, 6.7),
        "Face (personal)": (1, 1, 6.7),
        "PIN": (12, 3, 80.0),
        "Correction": (1, 1, 6.7),
    }
    assert [r[0] for r in table.rows] == ["face_1n", "face_1v1", "pin", "correction"]
    # Everybody (admin, no filter): Operations' clock-in and the pseudonymised one count too.
    everybody = method_rows(attendance.methods(scope_of(week["admin"])))
    assert everybody["Face (personal)"] == (2, 2, 11.8)
    assert everybody["PIN"] == (13, 3, 76.5)
    # One person.
    anna = method_rows(attendance.methods(scope_of(week["admin"], person_id=week["a"].pk)))
    assert anna == {
        "Face (kiosk)": (1, 1, 16.7),
        "Face (personal)": (0, 0, 0),
        "PIN": (5, 1, 83.3),
        "Correction": (0, 0, 0),
    }
    # A manager is pinned to their department (Operations), whatever they ask for.
    manager = method_rows(
        attendance.methods(scope_of(people["manager"], department_id=week["dept"].pk))
    )
    assert manager == {
        "Face (kiosk)": (0, 0, 0),
        "Face (personal)": (1, 1, 100.0),
        "PIN": (0, 0, 0),
        "Correction": (0, 0, 0),
    }
    # An empty range: every method still has a row, all zero.
    empty = attendance.methods(
        scope_of(week["admin"], start=date(2024, 1, 1), end=date(2024, 1, 2))
    )
    assert [tuple(r[2:]) for r in empty.rows] == [(0, 0, 0)] * 4


def test_clock_ins_by_method_on_the_data_endpoint_and_audited_csv(client, methods_week, people):
    week = methods_week
    params = {"start": MONDAY, "end": SUNDAY, "department": week["dept"].pk}
    client.force_login(week["admin"])
    body = client.get("/reports/attendance/data/", params).json()["tables"]["methods"]
    assert body["title"] == "Clock-ins by method"
    assert [r[1:3] for r in body["rows"]] == [
        ["Face (kiosk)", 1],
        ["Face (personal)", 1],
        ["PIN", 12],
        ["Correction", 1],
    ]
    response = client.get("/reports/attendance/export/methods.csv", params)
    assert response["X-Report-Rows"] == "4"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["method", "label", "clock_ins", "people", "percent"],
        ["face_1n", "Face (kiosk)", "1", "1", "6.7"],
        ["face_1v1", "Face (personal)", "1", "1", "6.7"],
        ["pin", "PIN", "12", "3", "80.0"],
        ["correction", "Correction", "1", "1", "6.7"],
    ]
    entry = AuditEntry.objects.filter(action="report.export").order_by("-id").first()
    assert (entry.actor, entry.details["report"], entry.details["rows"]) == (
        week["admin"],
        "attendance.methods",
        4,
    )
    # The manager's data endpoint shows only their department's clock-ins.
    client.force_login(people["manager"])
    body = client.get("/reports/attendance/data/", params).json()["tables"]["methods"]
    assert [r[2] for r in body["rows"]] == [0, 1, 0, 0]


@pytest.fixture
def doors(db, door_device):
    hq = Area.objects.create(name="HQ")
    lab = Area.objects.create(name="Lab", parent=hq)
    point = AccessPoint.objects.create(name="Lab door", area=lab, device=door_device)
    return {"hq": hq, "lab": lab, "point": point}


def test_access_hours_and_days_are_local_across_the_dst_change(doors, people):
    point = doors["point"]
    for at, decision in (
        (datetime(2025, 10, 25, 22, 30, tzinfo=ZoneInfo("UTC")), "granted"),  # 00:30 CEST, 26th
        (datetime(2025, 10, 25, 23, 30, tzinfo=ZoneInfo("UTC")), "granted"),  # 01:30 CEST
        (datetime(2025, 10, 26, 1, 30, tzinfo=ZoneInfo("UTC")), "granted"),  # 02:30 CET
        (datetime(2025, 10, 26, 7, 0, tzinfo=ZoneInfo("UTC")), "denied"),  # 08:00 CET
    ):
        AccessEvent.objects.create(
            created_at=at,
            access_point=point,
            area=point.area,
            decision=decision,
            reason="rule_allows" if decision == "granted" else "not_recognised",
            mode="face",
            score=0.95,
        )
    scope = scope_of(people["admin"], report="access")
    hourly = {(r[1], r[2]): r[3] for r in access.hourly(scope).rows}
    assert hourly == {("Sun", 0): 1, ("Sun", 1): 1, ("Sun", 2): 1}
    daily = by(access.daily(scope), "date")
    assert (daily["2025-10-25"]["granted"], daily["2025-10-26"]["granted"]) == (0, 3)
    assert daily["2025-10-26"]["unknown_faces"] == 1
    assert [r[0] for r in access.denial_reasons(scope).rows] == ["not_recognised"]


# ---------------------------------------------------------------- permissions

PAGES = {
    "attendance": ("admin", "manager"),
    "access": ("admin", "manager", "guard"),
    "security": ("admin",),
}
ROLES = ("admin", "manager", "guard", "employee", "visitor", "contractor")


def _expected(role: str, report: str) -> int:
    return 200 if role in PAGES[report] else 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("report", list(PAGES))
def test_dashboard_and_data_endpoint_per_role(client, people, role, report):
    client.force_login(people[role])
    expected = _expected(role, report)
    assert client.get(f"/reports/{report}/").status_code == expected
    response = client.get(f"/reports/{report}/data/")
    assert response.status_code == expected
    if expected == 200:
        assert set(response.json()["tables"]) == {
            name for name, d in selectors.DATASETS[report].items() if d.on_dashboard
        }


@pytest.mark.parametrize("role", ROLES)
def test_every_export_per_role(client, people, role):
    assert "methods" in selectors.DATASETS["attendance"]
    client.force_login(people[role])
    for report, datasets in selectors.DATASETS.items():
        for name in datasets:
            response = client.get(f"/reports/{report}/export/{name}.csv")
            assert response.status_code == _expected(role, report), (report, name)
            if response.status_code == 200:
                assert isinstance(response, StreamingHttpResponse)
                b"".join(response.streaming_content)


@pytest.mark.parametrize("report", list(PAGES))
def test_anonymous_is_sent_to_login(client, db, report):
    for url in (f"/reports/{report}/", f"/reports/{report}/data/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


def test_person_page_for_own_department_only(client, people, make_person):
    other = make_person("employee", department=Department.objects.create(name="X", code="x"))
    mine = people["employee"]
    client.force_login(people["manager"])
    assert client.get(f"/reports/attendance/person/{mine.pk}/").status_code == 200
    assert client.get(f"/reports/attendance/person/{other.pk}/").status_code == 404
    client.force_login(people["admin"])
    assert client.get(f"/reports/attendance/person/{other.pk}/").status_code == 200
    client.force_login(people["guard"])
    assert client.get(f"/reports/attendance/person/{mine.pk}/").status_code == 403


def test_manager_is_pinned_to_their_department_and_areas(client, week, people, doors):
    other = Department.objects.create(name="Other", code="other")
    doors["lab"].department = people["manager"].department
    doors["lab"].save()
    outside = Area.objects.create(name="Elsewhere", department=other)
    for area in (doors["lab"], outside):
        AccessEvent.objects.create(
            access_point=doors["point"],
            area=area,
            decision="granted",
            reason="rule_allows",
            mode="face",
        )
    client.force_login(people["manager"])
    # Asking for another department changes nothing: the scope is pinned.
    params = {"start": MONDAY, "end": SUNDAY, "department": week["dept"].pk}
    people_rows = client.get("/reports/attendance/data/", params).json()["tables"]["people"]
    assert people_rows["rows"] == []
    events = client.get("/reports/access/export/events.csv")
    rows = list(csv.reader(io.StringIO(b"".join(events.streaming_content).decode())))
    assert [r[2] for r in rows[1:]] == ["Lab"]


def test_export_honours_filters_is_audited_and_defuses_formulas(client, week, make_person):
    week["c"].display_name = "=HYPERLINK(evil)"
    week["c"].save()
    client.force_login(week["admin"])
    params = {"start": MONDAY, "end": SUNDAY, "department": week["dept"].pk}
    response = client.get("/reports/attendance/export/people.csv", params)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["person_id", "person", "department"]
    assert sorted(r[1] for r in rows[1:]) == ["'=HYPERLINK(evil)", "Anna A", "Bert B"]
    one = client.get(
        "/reports/attendance/export/clock_events.csv", {**params, "person": week["a"].pk}
    )
    assert one["X-Report-Rows"] == "8"
    entry = AuditEntry.objects.filter(action="report.export").order_by("-id").first()
    assert entry.actor == week["admin"]
    assert entry.details == {
        "report": "attendance.clock_events",
        "filters": {
            "start": "2025-10-20",
            "end": "2025-10-26",
            "department": week["dept"].pk,
            "person": week["a"].pk,
        },
        "rows": 8,
    }


def test_bad_filters_answer_400(client, people):
    client.force_login(people["admin"])
    response = client.get("/reports/attendance/data/", {"start": "not-a-date"})
    assert response.status_code == 400
    assert "start" in response.json()["errors"]
