"""The kiosk and timesheet pages in real headless Chromium, with a clip as the webcam."""

import statistics
import time

import pytest
from django.urls import reverse

from attendance.models import ClockEvent, SessionStatus, WorkSession
from benchmarks.streams import empty_scene_mjpeg

from .biometrics_helpers import clip_frames, enrol_now, realtime_clip
from .conftest import ARTIFACTS, SHARED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RESULT = "#result"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services

    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    settings.ATTENDANCE_DEBOUNCE_SECONDS = 60
    settings.FACEAUTH_LIVENESS_ENABLED = False
    # A fresh gallery per test: flushed databases restart the gallery version at 1.
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


@pytest.fixture
def person_03(make_person, department, django_capture_on_commit_callbacks, monkeypatch):
    from biometrics import tasks

    # enrol_now runs the job here; on Redis the queued task must not run a second time.
    monkeypatch.setattr(tasks.process_enrolment, "delay", lambda *a, **k: None)
    person = make_person("employee", department=department, display_name="Oscar Third")
    images = [(SHARED / "video" / "person_03_still.jpg").read_bytes()]
    images += clip_frames("person_03_live.mp4", 3)
    job = enrol_now(person, images, django_capture_on_commit_callbacks)
    assert job.status == "done" and job.accepted >= 3, job.error
    return person


def open_kiosk(browser, live_server, kiosk):
    page = browser.new_page()
    page.goto(live_server.url + reverse("attendance:kiosk"))
    assert "/accounts/device/pair/" in page.url
    page.fill("input[name=token]", kiosk.token)
    page.click("button[type=submit]")
    page.wait_for_url("**/attendance/kiosk/")
    return page


def poll(page, expression: str, timeout: float = 30_000):
    """A page expression's first truthy value within ``timeout`` ms, else None.
    (wait_for_function evals a string, which the CSP forbids.)"""
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(0.05)
    return None


def wait_until(page, expression: str, timeout: float = 30_000):
    value = poll(page, expression, timeout)
    if not value:
        pytest.fail(f"timed out waiting for {expression}")
    return value


def wait_for_result(page, text: str, timeout: float = 30_000) -> str:
    return wait_until(
        page,
        "(() => { const r = document.querySelector('#result');"
        f" return r && !r.hidden && r.textContent.includes({text!r}) && r.innerText; }})()",
        timeout,
    )


def test_kiosk_recognises_clocks_in_debounces_and_clocks_out(
    chromium, live_server, kiosk, person_03
):
    page = open_kiosk(chromium("person_03_live_30fps.mjpeg"), live_server, kiosk)
    wait_until(page, "document.getElementById('guide').textContent.length > 0")
    text = wait_for_result(page, "Clocked IN at")
    assert "Hello, Oscar" in text
    page.screenshot(path=str(ARTIFACTS / "attendance-kiosk-clocked-in.png"))
    event = ClockEvent.objects.get()
    assert event.person == person_03 and event.direction == "in" and event.method == "face_1n"
    assert event.device == kiosk and event.score >= event.threshold

    # The person stays in front of the camera: the page asks again, the server debounces.
    assert "Already clocked in at" in wait_for_result(page, "Already clocked in")
    assert ClockEvent.objects.count() == 1

    # Explicit OUT with the keyboard (the override button's shortcut).
    page.keyboard.press("o")
    assert page.get_attribute("button.dir[data-direction=out]", "aria-pressed") == "true"
    wait_for_result(page, "Clocked OUT at")
    assert list(ClockEvent.objects.order_by("timestamp").values_list("direction", flat=True)) == [
        "in",
        "out",
    ]
    session = WorkSession.objects.get(person=person_03)
    assert session.status == SessionStatus.CLOSED and session.duration.total_seconds() > 0

    # Capture-to-answer on this page: alternate explicit IN/OUT so each press captures at once.
    timings, answers = [], []
    for _ in range(20):
        if len(timings) == 10:
            break
        last = ClockEvent.objects.order_by("-timestamp", "-id").first().direction
        count = page.evaluate("Attendance.timings.length")
        # A press that lands while the page's own capture is still in flight is not one; on a
        # loaded machine that happens (CI saw it once in 20 presses): press again.
        for _ in range(3):
            page.keyboard.press("i" if last == "out" else "o")
            if poll(page, f"Attendance.timings.length > {count}", timeout=10_000):
                break
        else:
            pytest.fail("three presses of the clock key brought no answer")
        answer = page.inner_text(RESULT)
        answers.append(answer.replace("\n", " "))
        if "Clocked" in answer:
            timings.append(page.evaluate("Attendance.timings[Attendance.timings.length - 1]"))
    print(
        f"\nkiosk capture-to-answer over {len(timings)} captures: "
        f"median {statistics.median(timings):.0f} ms, min {min(timings):.0f}, "
        f"max {max(timings):.0f}; answers: {answers}"
    )
    assert len(timings) == 10, answers
    assert ClockEvent.objects.count() == 12

    # Somebody who is not enrolled: "not recognised", and no event.
    stranger = open_kiosk(chromium("person_01_live.mjpeg"), live_server, kiosk)
    assert "Not recognised" in wait_for_result(stranger, "Not recognised")
    assert ClockEvent.objects.count() == 12


def test_an_idle_kiosk_sends_an_unchanged_empty_screen_rarely_and_wakes_for_a_face(
    chromium, live_server, kiosk, person_03, tmp_path
):
    # Nobody in front: after the first answer (no face) the unchanged picture is sent again
    # only every 2 s, not every 250 ms (each one is a face detection on the server).
    empty = empty_scene_mjpeg(tmp_path / "empty.mjpeg", 4.0)
    page = open_kiosk(chromium(empty), live_server, kiosk)
    wait_until(page, "Attendance.marks.ready != null")
    sent = []
    page.on("request", lambda r: "/api/biometrics/analyse/" in r.url and sent.append(r.url))
    page.wait_for_timeout(5000)
    skipped = page.evaluate("FaceCam.watch.skipped")
    assert 1 <= len(sent) <= 4 and skipped >= 8, (len(sent), skipped)
    page.close()

    # The same empty screen, then a person steps in: the change is sent at once and clocks in.
    page = open_kiosk(
        chromium(empty_scene_mjpeg(tmp_path / "then.mjpeg", 3.0, "person_03_live_30fps.mjpeg")),
        live_server,
        kiosk,
    )
    assert "Hello, Oscar" in wait_for_result(page, "Clocked IN at")
    assert page.evaluate("FaceCam.watch.skipped") >= 3
    assert ClockEvent.objects.get().person == person_03


def test_timesheet_page_shows_days_weeks_and_flags(
    chromium, live_server, client, make_person, department
):
    from .test_attendance import timesheet_person

    # The day-dependent part runs on every weekday in test_attendance (marker calendar).
    person = timesheet_person(make_person, department)
    client.force_login(person)
    context = chromium()
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("attendance:timesheet"))
    # The menu (a closed dropdown) names the page too: look for the heading.
    assert page.get_by_role("heading", name="My timesheet").is_visible()
    body = page.inner_text("main")
    assert "late 15 min" in body and "missing clock-out" in body and "Pending" in body
    page.screenshot(path=str(ARTIFACTS / "attendance-timesheet.png"), full_page=True)


def test_camera_denied_shows_the_message_and_the_pin_fallback(
    chromium, live_server, kiosk, make_person
):
    person = make_person("employee", pin="2468", display_name="Pia Pin")
    context = chromium("person_03_live_30fps.mjpeg", deny_camera=True)
    page = open_kiosk(context, live_server, kiosk)
    text = wait_for_result(page, "denied", timeout=15_000)
    assert "Camera access denied" in text and "PIN" in text
    assert page.evaluate("document.getElementById('pin-panel').open")
    assert page.evaluate("document.activeElement.id") == "employee-number"
    page.screenshot(path=str(ARTIFACTS / "attendance-kiosk-camera-denied.png"))
    page.keyboard.type(person.employee_number)
    page.keyboard.press("Tab")
    page.keyboard.type("2468")
    page.keyboard.press("Enter")
    assert "Clocked IN at" in wait_for_result(page, "Clocked IN at")
    event = ClockEvent.objects.get()
    assert event.pin_fallback and event.needs_review and event.person == person


@pytest.fixture
def task_runner(request):
    """The Celery worker process on Redis, nothing on the embedded default (eager)."""
    from .conftest import USES_SERVICES

    return request.getfixturevalue("celery_worker") if USES_SERVICES else None


def test_enrol_page_then_personal_clock_with_1_to_1(
    chromium, live_server, client, make_person, department, task_runner, tmp_path
):
    from biometrics import privacy

    person = make_person("employee", department=department, display_name="Kate Second")
    # Consent is its own step (biometrics.privacy); this test is about capture and clocking.
    privacy.give_consent(person=person, channel="paper")
    client.force_login(person)
    # person_02 looks straight, turns to their right and to their left within the clip: the
    # enrolment page takes each pose's photo only when the pose is there.
    context = chromium(realtime_clip("person_02", tmp_path))
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("attendance:enrol"))
    page.click("section[data-step=intro] [data-next]")
    wait_until(page, "document.getElementById('progress').value >= 2")
    page.screenshot(path=str(ARTIFACTS / "attendance-enrol-capturing.png"))
    page.wait_for_selector("#done-message:has-text('Your face is enrolled')", timeout=90_000)
    assert person.face_templates.count() >= 3

    page.goto(live_server.url + reverse("attendance:clock"))
    wait_until(page, "document.getElementById('guide').textContent === 'Ready'")
    page.click("#clock-button")
    assert "Clocked IN at" in wait_for_result(page, "Clocked IN at")
    assert page.inner_text("#clock-button") == "Clock OUT"
    event = ClockEvent.objects.get()
    assert event.person == person and event.method == "face_1v1" and event.device is None


# ---------------------------------------------------------------- liveness and consent


@pytest.fixture
def liveness_on(settings):
    # live_server runs in this process: these settings apply to the pages and the API too.
    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"


NOT_LIVE = "We could not confirm a live person"


def test_kiosk_liveness_blink_clocks_in_and_the_challenge_time_is_measured(
    chromium, live_server, kiosk, person_03, liveness_on, settings
):
    from biometrics.models import LivenessChallenge

    # A reload restarts Chromium's fake camera clip, so a burst can repeat an earlier one
    # byte for byte: refused as a replay, the kiosk tries again 8 s later. With that, the four
    # greetings below can take more than the 60 s debounce; they must all be the same IN.
    settings.ATTENDANCE_DEBOUNCE_SECONDS = 600

    page = open_kiosk(chromium("person_03_live_30fps.mjpeg"), live_server, kiosk)
    page.wait_for_selector("#instruction:not([hidden])", timeout=45_000)
    assert page.inner_text("#instruction") == "Blink once"
    page.screenshot(path=str(ARTIFACTS / "attendance-kiosk-liveness-instruction.png"))
    text = wait_for_result(page, "Clocked IN at", timeout=60_000)
    assert "Hello, Oscar" in text
    page.screenshot(path=str(ARTIFACTS / "attendance-kiosk-liveness-clocked-in.png"))
    event = ClockEvent.objects.get()
    assert event.person == person_03 and event.method == "face_1n" and event.device == kiosk
    assert event.liveness["checked"] and event.liveness["passed"]
    assert event.liveness["challenges"] == ["blink"]

    # As an employee lives it: the kiosk is ready, they step up, blink, and see the greeting.
    # A fresh page per run (the same person again is debounced: "Already clocked in").
    ready_to_greeting, challenge_to_answer, retries = [], [], []
    from biometrics.liveness import forget_recent_bursts

    for _ in range(3):
        # A reload restarts the fake camera's clip: the same pictures again, a near-duplicate
        # replay for the server. Each run stands for a separate visit: forget the last ones.
        forget_recent_bursts(device=kiosk, person=person_03)
        page.reload()
        wait_until(page, "Attendance.marks.greeted != null", timeout=60_000)
        ready_to_greeting.append(page.evaluate("Attendance.marks.greeted - Attendance.marks.ready"))
        challenge_to_answer.append(
            page.evaluate("Attendance.timings[Attendance.timings.length - 1]")
        )
        retries.append(page.evaluate("Attendance.liveRetries"))
        assert "Hello, Oscar" in page.inner_text(RESULT)
    outcomes = list(
        LivenessChallenge.objects.filter(device=kiosk)
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    report = (
        f"kiosk liveness, page ready -> greeting shown: median "
        f"{statistics.median(ready_to_greeting):.0f} ms over {len(ready_to_greeting)} runs "
        f"{[round(t) for t in ready_to_greeting]}; challenge -> answer median "
        f"{statistics.median(challenge_to_answer):.0f} ms; automatic retries {retries}; "
        f"liveness outcomes {outcomes}"
    )
    print("\n" + report)
    (ARTIFACTS / "attendance-kiosk-liveness-timing.txt").write_text(report + "\n")
    assert ClockEvent.objects.count() == 1  # debounced: still one IN


def test_kiosk_liveness_streams_a_stranger_who_blinks_and_does_not_recognise_them(
    chromium, live_server, kiosk, person_03, liveness_on, tmp_path
):
    from biometrics.models import LivenessChallenge

    # person_01 is live (blinks at 0.40 s) but not enrolled: the stream passes, 1:N does not.
    page = open_kiosk(chromium(realtime_clip("person_01", tmp_path)), live_server, kiosk)
    text = wait_for_result(page, "Not recognised", timeout=60_000)
    assert "Hello" not in text
    assert not ClockEvent.objects.exists()
    used = LivenessChallenge.objects.filter(device=kiosk).exclude(outcome="")
    assert used.first().outcome == "ok"  # live: refused by recognition, not by liveness


def test_kiosk_liveness_refuses_a_photo_and_offers_the_pin(
    chromium,
    live_server,
    kiosk,
    make_person,
    liveness_on,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from biometrics import tasks

    monkeypatch.setattr(tasks.process_enrolment, "delay", lambda *a, **k: None)
    person_02 = make_person("employee", display_name="Katie Second")
    still = (SHARED / "video" / "person_02_still.jpg").read_bytes()
    enrol_now(person_02, [still] * 3, django_capture_on_commit_callbacks)

    page = open_kiosk(chromium("attack_person_02_photo.mjpeg"), live_server, kiosk)
    page.wait_for_selector("#instruction:not([hidden])", timeout=45_000)
    assert page.inner_text("#instruction") == "Blink once"
    text = wait_for_result(page, NOT_LIVE, timeout=60_000)
    assert "follow the instruction" in text
    page.screenshot(path=str(ARTIFACTS / "attendance-kiosk-liveness-refused.png"))
    assert not ClockEvent.objects.exists()
    # The PIN is offered: a button in the answer, and the P key.
    page.click("#result [data-open-pin]")
    assert page.evaluate("document.getElementById('pin-panel').open")
    assert page.evaluate("document.activeElement.id") == "employee-number"


def test_enrolment_asks_for_consent_first_then_personal_clock_with_liveness(
    chromium, live_server, client, make_person, department, task_runner, liveness_on, tmp_path
):
    from biometrics import privacy
    from biometrics.models import BiometricConsent, PolicyDocument

    document = privacy.publish_policy(
        kind=PolicyDocument.Kind.CONSENT,
        title="Consent to face recognition for attendance",
        body="FaceAuth makes an encrypted numeric template of your face.\n\n"
        "It is used only to clock you in and out. You can withdraw at any time.",
    )
    person = make_person("employee", department=department, display_name="Kate Second")
    assert not privacy.has_consent(person)
    client.force_login(person)
    context = chromium(realtime_clip("person_02", tmp_path))
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("attendance:enrol"))
    page.wait_for_selector("#consent-form:not([hidden])")
    assert "encrypted numeric template" in page.inner_text("#consent-text")
    assert page.is_hidden("section[data-step=capture]")
    assert page.evaluate("document.getElementById('cam').srcObject") is None  # no camera yet
    page.screenshot(path=str(ARTIFACTS / "attendance-enrol-consent.png"), full_page=True)

    # "No" explains the PIN path; back, then agree with the keyboard.
    page.click("#consent-decline")
    assert "PIN" in page.inner_text("#consent-declined")
    page.screenshot(path=str(ARTIFACTS / "attendance-enrol-consent-declined.png"))
    page.click("#consent-reconsider")
    page.focus("#consent-agree")
    page.keyboard.press("Enter")
    page.wait_for_selector("#consent-status:not([hidden])")
    consent = BiometricConsent.objects.get(person=person)
    assert consent.channel == "self_service" and consent.document == document
    assert "version" in page.inner_text("#consent-status")
    page.click("section[data-step=intro] [data-next]")
    page.wait_for_selector("#done-message:has-text('Your face is enrolled')", timeout=90_000)
    assert person.face_templates.count() >= 3

    page.goto(live_server.url + reverse("attendance:clock"))
    wait_until(page, "document.getElementById('guide').textContent === 'Ready'")
    page.click("#clock-button")
    page.wait_for_selector("#instruction:not([hidden])", timeout=30_000)
    assert page.inner_text("#instruction") == "Blink once"
    page.screenshot(path=str(ARTIFACTS / "attendance-clock-liveness-instruction.png"))
    assert "Clocked IN at" in wait_for_result(page, "Clocked IN at", timeout=60_000)
    event = ClockEvent.objects.get()
    assert event.person == person and event.method == "face_1v1" and event.liveness["passed"]

    # Withdrawing on the enrolment page erases the face data; the event stays, unscored.
    page.goto(live_server.url + reverse("attendance:enrol"))
    page.click("#withdraw")
    page.click("#withdraw-yes")
    page.wait_for_selector("#consent-notice:has-text('withdrawn')")
    assert person.face_templates.count() == 0
    event = ClockEvent.objects.get()
    assert event.score is None and event.liveness is None and event.redacted_at is not None
