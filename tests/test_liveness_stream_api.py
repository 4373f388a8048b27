"""Streamed liveness through the API: chunks to /api/biometrics/liveness/stream/, the decision
claimed once by the page's final request (kiosk clock, personal clock, door), and the nonce,
order, replay and timing rules of the stream."""

import pytest

from attendance.models import ClockEvent
from biometrics import liveness
from biometrics.engine.stream import STREAM_FPS
from biometrics.models import LivenessChallenge

from .biometrics_helpers import enrol_now, timed_burst, upload
from .conftest import SHARED

VIDEO = SHARED / "video"
CHALLENGE_URL = "/api/biometrics/challenge/"
STREAM_URL = "/api/biometrics/liveness/stream/"
CLOCK_URL = "/api/attendance/clock/"
CHUNK = 5


def _frames(clip: str, start: float, seconds: float) -> tuple[list[bytes], list[float]]:
    frames, times = timed_burst(clip, start_s=start, seconds=seconds, fps=STREAM_FPS)
    return frames, [t * 1000 for t in times]


@pytest.fixture(scope="module")
def live_stream():
    return _frames("person_03_live.mp4", 0.8, 2.5)  # blinks at 1.40 s


@pytest.fixture(scope="module")
def attack_stream():
    return _frames("attack_person_02_photo.mp4", 0.0, 2.0)


@pytest.fixture(autouse=True)
def _stream_clock(monkeypatch):
    # The test sends seconds of frames in a fraction of that: allow the page's clock to run
    # ahead of the server's (the rule itself is tested below with the slack restored).
    monkeypatch.setattr(liveness, "STREAM_CLOCK_SLACK_S", 60.0)


@pytest.fixture
def enrolled_03(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Person Three")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra, _ = _frames("person_03_live.mp4", 4.0, 0.2)
    enrol_now(person, [still, *extra[:2]], django_capture_on_commit_callbacks)
    return person


@pytest.fixture
def kiosk_client(client, kiosk, settings):
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {kiosk.token}"
    return client


def challenge(client) -> dict:
    response = client.post(CHALLENGE_URL)
    assert response.status_code == 201, response.content
    return response.json()


def chunk(client, nonce: str, seq: int, frames: list[bytes], times: list[float] | None):
    data = {
        "nonce": nonce,
        "seq": seq,
        "frames": [upload(f"f{i}.jpg", f) for i, f in enumerate(frames)],
    }
    if times is not None:
        data["t"] = [str(t) for t in times]
    return client.post(STREAM_URL, data)


def stream_all(client, nonce: str, frames, times):
    """Send chunk by chunk until decided; returns (last response, chunks sent)."""
    for seq, k in enumerate(range(0, len(frames), CHUNK)):
        response = chunk(client, nonce, seq, frames[k : k + CHUNK], times[k : k + CHUNK])
        assert response.status_code in (200, 202), response.content
        if response.status_code == 200:
            return response, seq + 1
    return response, -1


def clock(client, nonce: str, capture_id: str = "7f1b3c2e-1111-4a6b-9c1d-2e3f4a5b6c7d"):
    return client.post(CLOCK_URL, {"capture_id": capture_id, "nonce": nonce, "streamed": "1"})


def test_a_streamed_blink_clocks_the_identified_person_in(kiosk_client, enrolled_03, live_stream):
    c = challenge(kiosk_client)
    assert c["stream"]["fps"] == STREAM_FPS and c["challenges"] == ["blink"]
    frames, times = live_stream
    answer, sent = stream_all(kiosk_client, c["nonce"], frames, times)
    body = answer.json()
    assert body["state"] == "decided" and body["passed"] and body["reason"] == "ok"
    assert sent * CHUNK < len(frames)  # decided before the frames ran out: no fixed wait
    response = clock(kiosk_client, c["nonce"])
    assert response.status_code == 201, response.content
    event = ClockEvent.objects.get()
    assert event.person == enrolled_03 and event.method == "face_1n"
    assert event.liveness["passed"] and event.liveness["mode"] == "stream"
    assert LivenessChallenge.objects.get(nonce=c["nonce"]).outcome == "ok"
    # The decision is claimed once.
    again = clock(kiosk_client, c["nonce"], "7f1b3c2e-2222-4a6b-9c1d-2e3f4a5b6c7d")
    assert again.status_code == 400 and again.json()["code"] == "nonce_invalid"


@pytest.mark.parametrize(
    ("nonce", "frames", "flag", "claims"),
    [
        ("n", None, "1", True),
        ("n", [], "TRUE", True),
        ("n", None, "on", True),
        ("n", None, "0", False),
        ("n", None, None, False),
        ("", None, "1", False),  # nothing to claim it under
        ("n", [b"jpeg"], "1", False),  # frames sent are a burst, whatever the flag says
    ],
)
def test_one_reading_of_the_streamed_flag(nonce, frames, flag, claims):
    from biometrics import services

    assert services.claims_stream(nonce=nonce, frames=frames, flag=flag) is claims


def test_the_clock_reads_streamed_as_the_boolean_its_schema_declares(
    kiosk_client, enrolled_03, live_stream
):
    # The clock, the door and the face step read the flag by one rule: "on" is true, as for
    # any boolean form field; the clock alone used to read only "1"/"true" (400 here).
    c = challenge(kiosk_client)
    assert stream_all(kiosk_client, c["nonce"], *live_stream)[0].json()["passed"]
    response = kiosk_client.post(
        CLOCK_URL,
        {
            "capture_id": "7f1b3c2e-3333-4a6b-9c1d-2e3f4a5b6c7d",
            "nonce": c["nonce"],
            "streamed": "on",
        },
    )
    assert response.status_code == 201, response.content
    assert ClockEvent.objects.get().person == enrolled_03
    # The flag without its nonce claims nothing: a clear 400, no event.
    bare = kiosk_client.post(
        CLOCK_URL, {"capture_id": "7f1b3c2e-4444-4a6b-9c1d-2e3f4a5b6c7d", "streamed": "1"}
    )
    assert bare.status_code == 400, bare.content
    assert ClockEvent.objects.count() == 1


def test_a_photo_is_refused_early_and_the_clock_records_the_spoof(
    kiosk_client, make_person, attack_stream, django_capture_on_commit_callbacks
):
    person_02 = make_person("employee")
    still = (VIDEO / "person_02_still.jpg").read_bytes()
    enrol_now(person_02, [still] * 3, django_capture_on_commit_callbacks)
    c = challenge(kiosk_client)
    frames, times = attack_stream
    answer, sent = stream_all(kiosk_client, c["nonce"], frames, times)
    assert answer.json() == {**answer.json(), "state": "decided", "passed": False}
    assert answer.json()["reason"] == "static_image" and sent <= 3
    response = clock(kiosk_client, c["nonce"])
    assert response.status_code == 422
    assert response.json()["code"] == "spoof_suspected"
    assert response.json()["reason"] == "static_image"
    # The final request sent again (its answer lost): the verdict is spent, the answer is not.
    again = clock(kiosk_client, c["nonce"])
    assert (again.status_code, again.json()) == (422, response.json())
    # Another capture id is another request: the decision was claimed once.
    other = clock(kiosk_client, c["nonce"], "7f1b3c2e-3333-4a6b-9c1d-2e3f4a5b6c7d")
    assert other.status_code == 400 and other.json()["code"] == "nonce_invalid"
    assert not ClockEvent.objects.exists()


def test_pending_until_the_blink_then_the_prompt(kiosk_client, enrolled_03):
    # person_03's first 1.3 s hold no blink: pending; past the prompt time the page is told.
    frames, times = _frames("person_03_live.mp4", 0.0, 1.3)
    c = challenge(kiosk_client)
    first = chunk(kiosk_client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK])
    assert first.status_code == 202 and first.json()["state"] == "pending"
    assert not first.json()["prompt"]
    seq, last = 1, first
    for k in range(CHUNK, len(frames), CHUNK):
        last = chunk(kiosk_client, c["nonce"], seq, frames[k : k + CHUNK], times[k : k + CHUNK])
        seq += 1
    assert last.status_code == 202 and last.json()["span_s"] < 1.5 and not last.json()["prompt"]
    # Claiming before the decision is refused, the stream goes on.
    early = clock(kiosk_client, c["nonce"])
    assert early.status_code == 409 and early.json()["code"] == "stream_not_decided"


def test_chunks_are_bound_to_their_device_order_and_nonce(
    kiosk_client, client, enrolled_03, live_stream, door_device
):
    frames, times = live_stream
    c = challenge(kiosk_client)
    assert chunk(kiosk_client, c["nonce"], 1, frames[:CHUNK], times[:CHUNK]).status_code == 400
    assert chunk(kiosk_client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK]).status_code == 202
    # The same chunk again (a lost answer) gets the same answer; a skipped one is refused.
    assert chunk(kiosk_client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK]).status_code == 202
    skipped = chunk(kiosk_client, c["nonce"], 2, frames[CHUNK:10], times[CHUNK:10])
    assert skipped.status_code == 409 and skipped.json()["code"] == "chunk_out_of_order"
    # Another device cannot continue it.
    kiosk_client.defaults["HTTP_AUTHORIZATION"] = f"Device {door_device.token}"
    other = chunk(kiosk_client, c["nonce"], 1, frames[CHUNK:10], times[CHUNK:10])
    assert other.status_code == 403 and other.json()["code"] == "nonce_wrong_device"
    # An unknown nonce, too many frames, times that go back.
    assert chunk(kiosk_client, "nope", 0, frames[:CHUNK], times[:CHUNK]).status_code in (400, 403)


def test_frame_times_cannot_run_ahead_of_the_server(
    kiosk_client, enrolled_03, live_stream, monkeypatch
):
    monkeypatch.setattr(liveness, "STREAM_CLOCK_SLACK_S", 1.0)
    frames, times = live_stream
    c = challenge(kiosk_client)
    assert chunk(kiosk_client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK]).status_code == 202
    # 2 s of "capture" claimed right after the first chunk: made up.
    late = chunk(kiosk_client, c["nonce"], 1, frames[CHUNK:10], [t + 3000 for t in times[5:10]])
    assert late.status_code == 400 and late.json()["code"] == "bad_timestamps"
    bad = chunk(kiosk_client, c["nonce"], 1, frames[CHUNK:10], ["x"] * 5)
    assert bad.status_code == 400


def test_the_same_stream_sent_again_is_a_replay(kiosk_client, enrolled_03, live_stream):
    frames, times = live_stream
    first = challenge(kiosk_client)
    answer, sent = stream_all(kiosk_client, first["nonce"], frames, times)
    assert answer.json()["passed"]
    assert clock(kiosk_client, first["nonce"]).status_code == 201
    second = challenge(kiosk_client)
    again, _ = stream_all(kiosk_client, second["nonce"], frames[: sent * CHUNK], times)
    assert again.json()["passed"] is False and again.json()["reason"] == "replay"
    response = clock(kiosk_client, second["nonce"], "7f1b3c2e-3333-4a6b-9c1d-2e3f4a5b6c7d")
    assert response.status_code == 409 and response.json()["code"] == "replay"


def test_personal_clock_streams_under_the_persons_own_nonce(
    client, enrolled_03, live_stream, settings
):
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    client.force_login(enrolled_03)
    c = challenge(client)
    frames, times = live_stream
    answer, _ = stream_all(client, c["nonce"], frames, times)
    assert answer.json()["passed"]
    response = clock(client, c["nonce"])
    assert response.status_code == 201, response.content
    assert ClockEvent.objects.get().method == "face_1v1"


def test_a_refused_stream_counts_against_the_device_once_claimed_or_not(
    kiosk_client, kiosk, make_person, attack_stream, django_capture_on_commit_callbacks
):
    from access_control.models import Alert
    from biometrics.models import FaceLockout

    person_02 = make_person("employee")
    still = (VIDEO / "person_02_still.jpg").read_bytes()
    enrol_now(person_02, [still] * 3, django_capture_on_commit_callbacks)
    rows = FaceLockout.objects.filter(subject_type="device", subject_id=kiosk.pk)
    frames, times = attack_stream
    # Not claimed: the stream's answer is no free oracle, the refusal counts (and alerts).
    c = challenge(kiosk_client)
    assert stream_all(kiosk_client, c["nonce"], frames, times)[0].json()["passed"] is False
    assert rows.get().total_failures == 1
    assert Alert.objects.filter(kind="spoof_suspected", device=kiosk).exists()
    # Claimed: counted once, not twice.
    c = challenge(kiosk_client)
    stream_all(kiosk_client, c["nonce"], frames[1:], times[1:])
    assert clock(kiosk_client, c["nonce"]).status_code in (409, 422)
    assert rows.get().total_failures == 2


def test_a_refused_door_stream_alerts_the_guards_claimed_or_not(
    db, client, attack_stream, settings
):
    """An attacker who walks away before the door page's final request is still reported: the
    refusal counts and raises the guards' alert when the stream decides it. A claim that does
    come logs the access event, which joins that alert instead of raising a second one."""
    from access_control.models import AccessEvent, AccessPoint, Alert, Area
    from accounts import services as accounts_services
    from biometrics.models import FaceLockout

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    door, token = accounts_services.register_device(name="Main entrance", kind="door")
    area = Area.objects.create(name="Building A")
    point = AccessPoint.objects.create(name="Main entrance", area=area, device=door)
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {token}"
    frames, times = attack_stream

    nonce = client.post("/api/access/challenge/").json()["nonce"]
    assert stream_all(client, nonce, frames, times)[0].json()["passed"] is False
    alert = Alert.objects.get(kind="spoof_suspected")
    # The door's alert, as its access events raise it: naming the door, not the terminal.
    assert (alert.access_point, alert.state, alert.event_count) == (point, "open", 1)
    assert alert.message == "At Main entrance (Building A)"
    assert not AccessEvent.objects.exists()  # never claimed: no access event, still an alert
    lockout = FaceLockout.objects.get(subject_type="device", subject_id=door.pk)
    assert lockout.total_failures == 1

    nonce = client.post("/api/access/challenge/").json()["nonce"]
    stream_all(client, nonce, frames[1:], times[1:])
    response = client.post("/api/access/check/", {"nonce": nonce, "streamed": "1"})
    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "spoof_suspected"
    event = AccessEvent.objects.get()
    alert.refresh_from_db()
    assert Alert.objects.filter(kind="spoof_suspected").count() == 1
    assert alert.event_count == 2  # two attempts: the claim is the second one, not a third
    assert alert.first_event == event and alert.last_event == event
    lockout.refresh_from_db()
    assert lockout.total_failures == 2


def test_the_stream_state_is_encrypted_in_the_cache_and_a_tampered_one_is_absent(
    kiosk_client, enrolled_03, live_stream
):
    from django.core.cache import cache

    frames, times = live_stream
    c = challenge(kiosk_client)
    assert chunk(kiosk_client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK]).status_code == 202
    key = liveness._stream_key(c["nonce"], "state")
    sealed = cache.get(key)
    assert isinstance(sealed, bytes) and b"blink" not in sealed  # no readable state
    cache.set(key, sealed[:-3] + b"xyz", 60)
    tampered = chunk(kiosk_client, c["nonce"], 1, frames[CHUNK:10], times[CHUNK:10])
    assert tampered.status_code == 400 and tampered.json()["code"] == "nonce_invalid"


def test_the_sign_in_face_step_streams_before_the_face_factor_and_claims_the_decision(
    client, enrolled_03, live_stream, attack_stream, settings
):
    """The face step's page streams like the personal clock: a person who has only given the
    password yet may stream (nothing else answers them), and the face step's request claims
    the decision, for this person only, once."""
    from django.urls import reverse

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    settings.FACEAUTH_SITE_FACE_REQUIRED_ROLES = ["employee"]
    signed_in = client.post(
        reverse("login"), {"username": enrolled_03.username, "password": "correct-horse-battery"}
    )
    assert signed_in.status_code == 302
    assert client.get("/api/attendance/events/").json()["code"] == "face_step_required"

    frames, times = attack_stream
    c = challenge(client)
    assert stream_all(client, c["nonce"], frames, times)[0].json()["reason"] == "static_image"
    refused = client.post("/api/identity/face/", {"nonce": c["nonce"], "streamed": "1"})
    assert refused.status_code == 422 and refused.json()["code"] == "spoof_suspected"
    assert client.get("/api/attendance/events/").json()["code"] == "face_step_required"

    frames, times = live_stream
    c = challenge(client)
    answer, _ = stream_all(client, c["nonce"], frames, times)
    assert answer.json()["passed"]
    # Without `streamed` nothing is claimed: liveness needs the stream's decision or a burst.
    bare = client.post("/api/identity/face/", {"nonce": c["nonce"]})
    assert bare.status_code == 400 and bare.json()["code"] == "liveness_required"
    ok = client.post(
        "/api/identity/face/", {"nonce": c["nonce"], "streamed": "1", "next": "/attendance/"}
    )
    assert ok.status_code == 200, ok.content
    assert ok.json() == {"ok": True, "next": "/attendance/"}
    assert client.get("/api/attendance/events/").status_code == 200
    again = client.post("/api/identity/face/", {"nonce": c["nonce"], "streamed": "1"})
    assert again.status_code == 400 and again.json()["code"] == "nonce_invalid"


def test_a_streamed_decision_is_claimed_by_its_own_person_only(
    client, enrolled_03, make_person, live_stream, settings, django_capture_on_commit_callbacks
):
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    other_person = make_person("employee")
    still = (VIDEO / "person_01_still.jpg").read_bytes()
    enrol_now(other_person, [still] * 3, django_capture_on_commit_callbacks)
    client.force_login(enrolled_03)
    c = challenge(client)
    frames, times = live_stream
    assert stream_all(client, c["nonce"], frames, times)[0].json()["passed"]
    client.force_login(other_person)
    other = client.post("/api/identity/face/", {"nonce": c["nonce"], "streamed": "1"})
    assert other.status_code == 403 and other.json()["code"] == "nonce_wrong_device"
    # The decision is still its own person's to claim.
    client.force_login(enrolled_03)
    own = client.post("/api/identity/face/", {"nonce": c["nonce"], "streamed": "1"})
    assert own.status_code == 200 and own.json()["ok"]


def _password_session(client, person):
    from django.urls import reverse

    signed_in = client.post(
        reverse("login"), {"username": person.username, "password": "correct-horse-battery"}
    )
    assert signed_in.status_code == 302


@pytest.mark.parametrize("in_face_step", [True, False])
@pytest.mark.parametrize(
    ("disabled", "answer"), [(False, (429, "locked_out")), (True, (403, "face_login_disabled"))]
)
def test_a_face_lock_out_met_by_the_stream_signs_a_face_step_out_on_the_server(
    client, enrolled_03, live_stream, settings, in_face_step, disabled, answer
):
    """The face step's stream meets the lock-out (the back-off, or face login disabled) before
    the face step's own request (which signs the session out) is ever sent: the server ends the
    sign-in itself; the page is not trusted to. A person at the personal clock (no face step)
    keeps the session."""
    from biometrics import lockouts
    from biometrics.models import FaceLockout

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    _password_session(client, enrolled_03)
    if in_face_step:
        assert client.get("/identity/face/").status_code == 200  # the step's page
    c = challenge(client)
    for _ in range(5):  # five faces that were not theirs, elsewhere: a wait starts
        lockouts.failed(lockouts.begin(person=enrolled_03))
    if disabled:  # as after FACEAUTH_LOCKOUT_DISABLE_AFTER failures
        FaceLockout.objects.filter(subject_type="person", subject_id=enrolled_03.pk).update(
            disabled=True, locked_until=None
        )
    frames, times = live_stream
    refused = chunk(client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK])
    assert (refused.status_code, refused.json()["code"]) == answer
    page = client.get("/attendance/clock/")
    if in_face_step:
        assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    else:
        assert page.status_code == 200


def test_a_finished_face_step_leaves_later_lock_outs_to_the_clock(
    client, enrolled_03, live_stream, settings
):
    """Once the face factor is recorded the sign-in's face step is over: a later lock-out at
    the personal clock does not sign the person out."""
    from biometrics import lockouts

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    _password_session(client, enrolled_03)
    assert client.get("/identity/face/").status_code == 200
    frames, times = live_stream
    c = challenge(client)
    assert stream_all(client, c["nonce"], frames, times)[0].json()["passed"]
    ok = client.post("/api/identity/face/", {"nonce": c["nonce"], "streamed": "1"})
    assert ok.status_code == 200, ok.content
    c = challenge(client)
    for _ in range(5):
        lockouts.failed(lockouts.begin(person=enrolled_03))
    refused = chunk(client, c["nonce"], 0, frames[:CHUNK], times[:CHUNK])
    assert refused.status_code == 429 and refused.json()["code"] == "locked_out"
    assert client.get("/attendance/clock/").status_code == 200


def test_a_face_lock_out_met_by_the_face_steps_own_burst_signs_the_session_out(
    client, enrolled_03, live_stream, settings
):
    from biometrics import lockouts

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    _password_session(client, enrolled_03)  # an API client: it never opened the page
    c = challenge(client)
    for _ in range(5):
        lockouts.failed(lockouts.begin(person=enrolled_03))
    frames, _ = live_stream
    refused = client.post(
        "/api/identity/face/",
        {"nonce": c["nonce"], "frames": [upload(f"f{i}.jpg", f) for i, f in enumerate(frames)]},
    )
    assert refused.status_code == 429 and refused.json()["code"] == "locked_out"
    page = client.get("/attendance/clock/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
