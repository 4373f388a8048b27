"""Attendance: clocking, idempotency, debounce, sessions across midnight and DST, totals,
corrections, roles and the admin. Faces go through the real pipeline (biometrics services)."""

import threading
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.append_only import AppendOnlyViolation
from accounts.errors import DomainError
from attendance import conf, selectors, services
from attendance.models import (
    Capture,
    ClockEvent,
    Correction,
    CorrectionStatus,
    ImmutableRecord,
    Method,
    SessionStatus,
    WorkSchedule,
    WorkSession,
)

from .biometrics_helpers import enrol_now, photo, photos, upload

CLOCK = "/api/attendance/clock/"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _display_zone(settings, monkeypatch):
    from biometrics import services as biometric_services

    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    # Single-image matching here; liveness bursts are tested in test_attendance_liveness.py.
    settings.FACEAUTH_LIVENESS_ENABLED = False
    # A fresh gallery per test: flushed databases restart the gallery version at 1.
    monkeypatch.setattr(biometric_services, "gallery_cache", biometric_services._GalleryCache())


def local(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def event(person, direction: str, when: datetime, **kw) -> ClockEvent:
    return ClockEvent.objects.create(
        person=person, direction=direction, timestamp=when, method=Method.FACE_1N, **kw
    )


@pytest.fixture
def worker(make_person, department):
    return make_person("employee", department=department, pin="4321")


@pytest.fixture
def kiosk_client(client, kiosk):
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {kiosk.token}"
    return client


def clock_pin(kiosk_client, worker, pin="4321", **extra):
    data = {"employee_number": worker.employee_number, "pin": pin, "capture_id": str(uuid.uuid4())}
    data.update(extra)
    return kiosk_client.post(CLOCK, data)


# ---------------------------------------------------------------- PIN fallback and toggling


def test_pin_fallback_clocks_in_then_out_and_is_flagged_for_review(kiosk_client, worker, settings):
    settings.ATTENDANCE_DEBOUNCE_SECONDS = 0
    first = clock_pin(kiosk_client, worker)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["event"]["direction"] == "in" and body["created"] is True
    assert body["message"].startswith("Clocked IN at ")
    assert body["greeting"] == f"Hello, {worker.first_name}"
    in_event = ClockEvent.objects.get()
    assert in_event.method == Method.PIN and in_event.pin_fallback and in_event.needs_review
    assert in_event.device is not None and in_event.score is None
    review = Correction.objects.get(event=in_event)
    assert review.kind == "review" and review.status == CorrectionStatus.PENDING

    second = clock_pin(kiosk_client, worker)
    assert second.status_code == 201 and second.json()["event"]["direction"] == "out"
    session = WorkSession.objects.get(person=worker)
    assert session.status == SessionStatus.CLOSED and session.duration is not None


def test_wrong_pin_or_unknown_number_makes_no_event_and_locks_out(kiosk_client, worker):
    wrong = clock_pin(kiosk_client, worker, pin="0000")
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_pin"
    unknown = kiosk_client.post(
        CLOCK, {"employee_number": "NOPE", "pin": "4321", "capture_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 403 and unknown.json() == wrong.json()
    for _ in range(4):
        clock_pin(kiosk_client, worker, pin="0000")
    locked = clock_pin(kiosk_client, worker)  # even the right PIN, while locked
    assert locked.status_code == 429 and locked.json()["code"] == "pin_locked"
    assert not ClockEvent.objects.exists()


def test_inactive_or_expired_person_cannot_clock_with_pin(kiosk_client, make_person):
    gone = make_person("employee", pin="4321")
    gone.is_active = False
    gone.save()
    expired = make_person(
        "contractor",
        pin="4321",
        valid_from=timezone.now() - timedelta(days=2),
        valid_until=timezone.now() - timedelta(days=1),
    )
    for person in (gone, expired):
        response = clock_pin(kiosk_client, person)
        assert response.status_code == 403 and response.json()["code"] == "inactive_person"
    assert not ClockEvent.objects.exists()


def test_double_capture_within_the_debounce_window_returns_the_first_event(kiosk_client, worker):
    first = clock_pin(kiosk_client, worker)
    again = clock_pin(kiosk_client, worker)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["message"].startswith("Already clocked in at ")
    assert again.json()["event"]["id"] == first.json()["event"]["id"]
    assert ClockEvent.objects.count() == 1
    # An explicit OUT is intent, not a double capture.
    out = clock_pin(kiosk_client, worker, direction="out")
    assert out.status_code == 201 and out.json()["event"]["manual_override"] is True
    assert ClockEvent.objects.count() == 2


def test_bad_requests_get_a_code_and_make_no_event(kiosk_client, worker, client, door_device):
    no_id = kiosk_client.post(CLOCK, {"employee_number": worker.employee_number, "pin": "4321"})
    assert no_id.status_code == 400 and no_id.json()["code"] == "missing_capture_id"
    bad_id = clock_pin(kiosk_client, worker, capture_id="not-a-uuid")
    assert bad_id.status_code == 400 and bad_id.json()["code"] == "invalid_capture_id"
    nothing = kiosk_client.post(CLOCK, {"capture_id": str(uuid.uuid4())})
    assert nothing.status_code == 400 and nothing.json()["code"] == "missing_image"
    bad_dir = clock_pin(kiosk_client, worker, direction="sideways")
    assert bad_dir.status_code == 400 and bad_dir.json()["code"] == "invalid_direction"
    door = client.post(
        CLOCK,
        {"employee_number": worker.employee_number, "pin": "4321", "capture_id": str(uuid.uuid4())},
        HTTP_AUTHORIZATION=f"Device {door_device.token}",
    )
    assert door.status_code == 403 and door.json()["code"] == "permission_denied"
    anonymous = client.post(CLOCK, {"capture_id": str(uuid.uuid4())}, HTTP_AUTHORIZATION="")
    assert anonymous.status_code in (401, 403)
    assert not ClockEvent.objects.exists()


# ---------------------------------------------------------------- idempotency


def test_a_retried_capture_returns_the_same_answer_and_a_changed_one_is_refused(
    kiosk_client, worker
):
    capture_id = str(uuid.uuid4())
    first = clock_pin(kiosk_client, worker, capture_id=capture_id)
    retry = clock_pin(kiosk_client, worker, capture_id=capture_id)
    assert first.status_code == retry.status_code == 201
    assert retry.json()["replayed"] is True
    assert retry.json()["event"] == first.json()["event"]
    changed = clock_pin(kiosk_client, worker, capture_id=capture_id, direction="out")
    assert changed.status_code == 409
    assert changed.json()["code"] == "capture_id_reused"
    assert changed.json()["reason"] == "payload_mismatch"
    assert ClockEvent.objects.count() == 1 and Capture.objects.count() == 1


def _race(n: int, call) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = call(i)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_retries_of_one_capture_make_exactly_one_event(make_person, kiosk):
    worker = make_person("employee", pin="4321")
    capture_id = uuid.uuid4()
    results = _race(
        6,
        lambda i: services.clock(
            capture_id=capture_id, device=kiosk, employee_number=worker.employee_number, pin="4321"
        ),
    )
    assert all(isinstance(r, services.ClockResult) for r in results), results
    assert len({r.event.pk for r in results}) == 1
    assert sum(not r.replayed for r in results) >= 1
    assert ClockEvent.objects.count() == 1 and Capture.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_copies_of_a_refused_capture_get_one_refusal_counted_once(make_person, kiosk):
    # More copies of one wrong-PIN request, at once and then in turn, than the PIN's lock-out
    # allows: it is one request, refused once and counted once; each copy gets that refusal.
    worker = make_person("employee", pin="4321")
    attempts = conf.get("ATTENDANCE_PIN_MAX_FAILURES") + 2
    capture_id = uuid.uuid4()

    def wrong(i: int):
        try:
            services.clock(
                capture_id=capture_id, device=kiosk, employee_number=worker.employee_number,
                pin="9999",
            )  # fmt: skip
        except DomainError as exc:
            return exc.status_code, exc.code
        return "clocked"

    assert _race(attempts, wrong) == [(403, "wrong_pin")] * attempts
    assert [wrong(i) for i in range(attempts)] == [(403, "wrong_pin")] * attempts
    # The number is not locked: the right PIN clocks in (a new capture).
    right = services.clock(
        capture_id=uuid.uuid4(), device=kiosk, employee_number=worker.employee_number, pin="4321"
    )
    assert right.created and ClockEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_captures_of_one_person_are_debounced_to_one_event(make_person, kiosk):
    worker = make_person("employee", pin="4321")
    results = _race(
        4,
        lambda i: services.clock(
            capture_id=uuid.uuid4(),
            device=kiosk,
            employee_number=worker.employee_number,
            pin="4321",
        ),
    )
    assert all(isinstance(r, services.ClockResult) for r in results), results
    assert ClockEvent.objects.count() == 1
    assert Capture.objects.count() == 4
    assert [r.created for r in results].count(True) == 1


# ---------------------------------------------------------------- immutability, corrections


def test_clock_events_cannot_be_changed_or_deleted(worker):
    e = event(worker, "in", timezone.now())
    e.direction = "out"
    with pytest.raises(AppendOnlyViolation):
        e.save()
    with pytest.raises(AppendOnlyViolation):
        e.delete()
    assert ClockEvent.objects.get().direction == "in"


@pytest.mark.calendar
def test_a_forgotten_clock_out_is_requested_and_approved_as_a_new_event(
    client, worker, make_person, department
):
    manager = make_person("manager", department=department)
    start = timezone.now() - timedelta(hours=20)
    e = event(worker, "in", start)
    services.rebuild_sessions(person=worker)
    assert WorkSession.objects.get().is_overdue  # past the 16 h maximum shift

    client.force_login(worker)
    left = timezone.localtime(start + timedelta(hours=8), BERLIN).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("attendance:timesheet"),
        {"direction": "out", "timestamp": left, "reason": "Forgot to clock out"},
    )
    assert response.status_code == 302
    correction = Correction.objects.get()
    assert correction.status == CorrectionStatus.PENDING

    with pytest.raises(Exception, match="not decide"):
        services.decide_correction(correction=correction, approve=True, reviewer=worker)
    decided = services.decide_correction(correction=correction, approve=True, reviewer=manager)
    assert decided.decided_by == manager and decided.decided_at is not None
    added = decided.created_event
    assert added.method == Method.CORRECTION and added.created_by == manager
    session = WorkSession.objects.get(person=worker)
    assert session.status == SessionStatus.CLOSED and session.start_event == e
    assert timedelta(hours=7, minutes=59) <= session.duration <= timedelta(hours=8)
    with pytest.raises(Exception, match="already decided"):
        services.decide_correction(correction=correction, approve=False, reviewer=manager)
    decided.decision_note = "changed my mind"
    with pytest.raises(ImmutableRecord):
        decided.save()


def test_a_rejected_pin_event_stops_counting(kiosk_client, worker, people, settings):
    settings.ATTENDANCE_DEBOUNCE_SECONDS = 0
    clock_pin(kiosk_client, worker)
    review = Correction.objects.get()
    services.decide_correction(correction=review, approve=False, reviewer=people["admin"])
    assert not WorkSession.objects.filter(person=worker).exists()
    # The event is still there (history), but the next capture is an IN again.
    assert ClockEvent.objects.count() == 1
    assert clock_pin(kiosk_client, worker).json()["event"]["direction"] == "in"


@pytest.mark.calendar
def test_correction_requests_are_validated(client, worker):
    client.force_login(worker)
    # The form reads local time in the display zone: UTC + 2 h is "now" in Berlin summer time.
    future = (timezone.localtime(timezone=BERLIN) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page = client.post(
        reverse("attendance:timesheet"), {"direction": "out", "timestamp": future, "reason": "x"}
    )
    assert page.status_code == 200 and b"cannot be in the future" in page.content
    assert not Correction.objects.exists()


# ---------------------------------------------------------------- sessions and totals


def test_overnight_shift_belongs_to_its_start_day(worker):
    event(worker, "in", local(2025, 6, 2, 22, 0))
    event(worker, "out", local(2025, 6, 3, 6, 30))
    services.rebuild_sessions(person=worker)
    days, weeks = selectors.timesheet(person=worker, start=date(2025, 6, 1), end=date(2025, 6, 8))
    assert [d.day for d in days] == [date(2025, 6, 2)]
    assert days[0].worked == timedelta(hours=8, minutes=30)
    assert days[0].overtime == timedelta(minutes=30)
    assert weeks[0].worked == timedelta(hours=8, minutes=30)


@pytest.mark.parametrize(
    "night, hours",
    [
        ((2025, 10, 25), 9),  # clocks go back at 03:00: 22:00-06:00 is 9 hours
        ((2025, 3, 29), 7),  # clocks go forward at 02:00: 22:00-06:00 is 7 hours
    ],
)
def test_night_shift_across_a_dst_change_counts_real_hours(worker, night, hours):
    start = local(*night, 22, 0)
    next_day = date(*night) + timedelta(days=1)
    event(worker, "in", start)
    event(worker, "out", datetime.combine(next_day, time(6, 0), tzinfo=BERLIN))
    services.rebuild_sessions(person=worker)
    days, _ = selectors.timesheet(person=worker, start=date(*night), end=next_day)
    assert len(days) == 1 and days[0].day == date(*night)
    assert days[0].worked == timedelta(hours=hours)


def test_day_boundary_is_the_display_time_zone_not_utc(worker):
    # 00:30 in Berlin is 22:30 UTC the day before.
    event(worker, "in", local(2025, 6, 3, 0, 30))
    event(worker, "out", local(2025, 6, 3, 4, 30))
    services.rebuild_sessions(person=worker)
    assert WorkSession.objects.get().work_date == date(2025, 6, 3)


def test_missing_out_and_missing_in_are_flagged(worker, settings):
    settings.ATTENDANCE_MAX_SHIFT_HOURS = 16
    event(worker, "in", local(2025, 6, 2, 8, 0))
    event(worker, "in", local(2025, 6, 3, 8, 0))  # forgot to clock out on the 2nd
    event(worker, "out", local(2025, 6, 3, 16, 0))
    event(worker, "out", local(2025, 6, 3, 16, 5))  # an OUT with nothing open
    event(worker, "in", local(2025, 6, 4, 8, 0))
    event(worker, "out", local(2025, 6, 6, 8, 0))  # 48 h later: not a shift
    sessions = services.rebuild_sessions(person=worker)
    assert [s.status for s in sessions] == [
        "missing_out",
        "closed",
        "missing_in",
        "missing_out",
        "missing_in",
    ]
    assert all(s.needs_attention for s in sessions if s.status != "closed")


@pytest.mark.calendar
def test_open_session_is_overdue_after_the_maximum_shift(worker, settings):
    settings.ATTENDANCE_MAX_SHIFT_HOURS = 10
    event(worker, "in", timezone.now() - timedelta(hours=11))
    services.rebuild_sessions(person=worker)
    session = WorkSession.objects.get()
    assert session.status == SessionStatus.OPEN and session.is_overdue
    # The next capture starts a new shift rather than closing an 11-hour-old one.
    assert selectors.next_direction(person=worker) == "in"


def test_late_arrival_against_person_or_department_schedule(worker, department):
    WorkSchedule.objects.create(department=department, start_time=time(9, 0), grace_minutes=5)
    event(worker, "in", local(2025, 6, 2, 9, 4))  # Monday, inside grace
    event(worker, "out", local(2025, 6, 2, 17, 0))
    event(worker, "in", local(2025, 6, 3, 9, 20))  # Tuesday, late
    event(worker, "out", local(2025, 6, 3, 17, 0))
    # Wednesday's first IN at 22:00 is 775 minutes after 09:05: no cut-off (docs/attendance.md).
    event(worker, "in", local(2025, 6, 4, 22, 0))
    event(worker, "out", local(2025, 6, 5, 6, 0))
    event(worker, "in", local(2025, 6, 7, 11, 0))  # Saturday: not a working day
    event(worker, "out", local(2025, 6, 7, 12, 0))
    services.rebuild_sessions(person=worker)
    days, _ = selectors.timesheet(person=worker, start=date(2025, 6, 2), end=date(2025, 6, 8))
    assert [d.late_minutes for d in days] == [0, 15, 775, 0]
    WorkSchedule.objects.create(person=worker, start_time=time(9, 30), grace_minutes=0)
    days, _ = selectors.timesheet(person=worker, start=date(2025, 6, 2), end=date(2025, 6, 8))
    assert [d.late_minutes for d in days] == [0, 0, 750, 0]


def test_weekly_overtime_over_the_weekly_limit(worker, settings):
    settings.ATTENDANCE_DAILY_LIMIT_HOURS = 10
    settings.ATTENDANCE_WEEKLY_LIMIT_HOURS = 40
    for day in range(2, 7):  # Mon-Fri, 9 h each
        event(worker, "in", local(2025, 6, day, 8, 0))
        event(worker, "out", local(2025, 6, day, 17, 0))
    services.rebuild_sessions(person=worker)
    days, weeks = selectors.timesheet(person=worker, start=date(2025, 6, 2), end=date(2025, 6, 8))
    assert all(d.overtime == timedelta() for d in days)
    assert weeks[0].worked == timedelta(hours=45)
    assert weeks[0].overtime == timedelta(hours=5)


# ---------------------------------------------------------------- roles and pages


def test_event_and_session_lists_are_scoped_by_role(client, people, make_person, kiosk):
    outsider = make_person("employee")
    for person in (people["employee"], outsider, people["manager"]):
        event(person, "in", timezone.now() - timedelta(hours=1))
        services.rebuild_sessions(person=person)

    def names(user, url):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, response.content
        return {row["person"]["id"] for row in response.json()["results"]}

    for url in ("/api/attendance/events/", "/api/attendance/sessions/"):
        assert names(people["employee"], url) == {people["employee"].pk}
        assert names(people["manager"], url) == {people["employee"].pk, people["manager"].pk}
        assert names(people["admin"], url) == {
            people["employee"].pk,
            outsider.pk,
            people["manager"].pk,
        }
    client.logout()
    as_kiosk = client.get("/api/attendance/events/", HTTP_AUTHORIZATION=f"Device {kiosk.token}")
    assert as_kiosk.status_code == 403
    bad = client.get(
        "/api/attendance/events/?from=2025-13-40", HTTP_AUTHORIZATION=f"Device {kiosk.token}"
    )
    assert bad.status_code == 403
    client.force_login(people["admin"])
    assert client.get("/api/attendance/events/?from=2025-13-40").json()["code"] == "invalid_date"


def test_manager_sees_and_decides_only_their_department_in_the_admin(
    client, people, make_person, kiosk
):
    outsider = make_person("employee", pin="1111")
    insider = people["employee"]
    for person in (insider, outsider):
        e = event(person, "in", timezone.now(), pin_fallback=True, needs_review=True)
        Correction.objects.create(person=person, kind="review", event=e, reason="PIN")
    client.force_login(people["manager"])
    listing = client.get(reverse("admin:attendance_clockevent_changelist"))
    assert listing.status_code == 200
    assert (
        str(insider) in listing.content.decode() and str(outsider) not in listing.content.decode()
    )
    ids = list(ClockEvent.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:attendance_clockevent_changelist"),
        {"action": "approve_review", "_selected_action": ids},
    )
    assert response.status_code == 302
    statuses = dict(Correction.objects.values_list("person_id", "status"))
    assert statuses == {insider.pk: "approved", outsider.pk: "pending"}
    change = client.get(reverse("admin:attendance_clockevent_change", args=[ids[0]]))
    assert change.status_code in (200, 302, 403)
    # View only: no change form that could save.
    assert b'name="_save"' not in change.content


def test_pages_need_the_right_login_or_pairing(client, people, kiosk):
    kiosk_page = client.get(reverse("attendance:kiosk"))
    assert kiosk_page.status_code == 302 and "/accounts/device/pair/" in kiosk_page["Location"]
    client.post(reverse("pair-device"), {"token": kiosk.token})
    assert client.get(reverse("attendance:kiosk")).status_code == 200
    for name in ("clock", "enrol", "timesheet"):
        assert client.get(reverse(f"attendance:{name}")).status_code == 302
    client.force_login(people["employee"])
    for name in ("clock", "enrol", "timesheet"):
        assert client.get(reverse(f"attendance:{name}")).status_code == 200
    home = client.get("/").content.decode()
    assert "My timesheet" in home and "Enrol my face" in home


def timesheet_person(make_person, department):
    """Shifts on the last workdays before today, whatever today is (schedules run Monday to
    Friday): a plain day, overtime, an overnight shift into a late arrival, and a forgotten
    clock-out with a pending correction."""
    person = make_person("employee", department=department, display_name="Tess Timesheet")
    WorkSchedule.objects.create(department=department, start_time=time(9, 0), grace_minutes=5)
    today = timezone.localdate(timezone=BERLIN)
    workdays = [d for d in (today - timedelta(days=n) for n in range(1, 8)) if d.weekday() < 5]
    forgot, late, overtime, plain = workdays[:4]

    def at(day: date, hh: int, mm: int) -> datetime:
        return datetime.combine(day, time(hh, mm), tzinfo=BERLIN)

    shifts = [
        (at(plain, 8, 0), at(plain, 16, 0)),
        (at(overtime, 8, 0), at(overtime, 19, 30)),
        (at(late - timedelta(days=1), 22, 0), at(late, 6, 0)),  # overnight
        (at(late, 9, 20), at(late, 17, 30)),
        (at(forgot, 8, 2), None),
    ]
    for start, end in shifts:
        event(person, "in", start)
        if end:
            event(person, "out", end)
    services.rebuild_sessions(person=person)
    services.request_correction(
        person=person,
        requested_by=person,
        direction="out",
        timestamp=at(forgot, 17, 15),
        reason="Forgot to clock out when I left",
    )
    return person


@pytest.mark.calendar
def test_timesheet_shows_late_missing_clock_out_and_pending_on_any_day(
    client, make_person, department
):
    client.force_login(timesheet_person(make_person, department))
    body = client.get(reverse("attendance:timesheet")).content.decode()
    assert "late 15 min" in body and "missing clock-out" in body and "Pending" in body


# ---------------------------------------------------------------- faces (real pipeline)


@pytest.fixture
def enrolled(make_person, department, django_capture_on_commit_callbacks):
    person = make_person("employee", department=department, display_name="Omar Example")
    job = enrol_now(person, photos("deepface_02", [1, 2, 3]), django_capture_on_commit_callbacks)
    assert job.status == "done"
    return person


def test_face_at_the_kiosk_and_in_personal_mode(kiosk_client, client, enrolled, make_person):
    probe = photo("deepface_02/4.jpg")
    response = kiosk_client.post(
        CLOCK, {"capture_id": str(uuid.uuid4()), "image": upload("p.jpg", probe)}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["greeting"] == "Hello, Omar" and body["event"]["method"] == "face_1n"
    e = ClockEvent.objects.get()
    assert e.score >= e.threshold and e.model_version
    # Liveness off (by setting here): recorded on the event, not left blank.
    assert e.liveness["checked"] is False and e.liveness["reason"] == "disabled_by_setting"
    assert not e.needs_review

    stranger = photo("deepface_03/1.jpg")
    unknown = kiosk_client.post(
        CLOCK, {"capture_id": str(uuid.uuid4()), "image": upload("s.jpg", stranger)}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "not_recognised"
    junk = kiosk_client.post(
        CLOCK, {"capture_id": str(uuid.uuid4()), "image": upload("j.jpg", b"not a jpeg")}
    )
    assert junk.status_code == 400 and junk.json()["code"] == "corrupt_image"
    for bad, code in (("_no_face/01.jpg", "no_face"), ("_multi_face/05.jpg", "multiple_faces")):
        answer = kiosk_client.post(
            CLOCK, {"capture_id": str(uuid.uuid4()), "image": upload("b.jpg", photo(bad))}
        )
        assert answer.status_code == 422 and answer.json()["code"] == code, answer.content
        assert answer.json()["detail"]
    assert ClockEvent.objects.count() == 1

    # Personal mode: 1:1 against their own templates, with an explicit OUT.
    personal = client.__class__()
    personal.force_login(enrolled)
    out = personal.post(
        CLOCK,
        {"capture_id": str(uuid.uuid4()), "image": upload("p.jpg", probe), "direction": "out"},
    )
    assert out.status_code == 201, out.content
    assert out.json()["event"]["method"] == "face_1v1" and out.json()["event"]["direction"] == "out"
    other = make_person("employee")
    personal.force_login(other)
    not_enrolled = personal.post(
        CLOCK, {"capture_id": str(uuid.uuid4()), "image": upload("p.jpg", probe)}
    )
    assert not_enrolled.status_code == 422 and not_enrolled.json()["code"] == "no_templates"
    assert ClockEvent.objects.count() == 2
    assert WorkSession.objects.get(person=enrolled).status == SessionStatus.CLOSED
