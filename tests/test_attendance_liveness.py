"""Attendance with liveness and privacy: bursts at the kiosk and in personal mode, spoofs,
nonce replays, erasure, subject access export and retention pseudonymisation.

Real models and real clips (the same bursts a capture page sends)."""

import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.pseudonyms import pseudonym_of
from attendance import services
from attendance.models import Capture, ClockEvent, Correction, Method, WorkSession
from biometrics.models import FaceLockout, LivenessChallenge

from .biometrics_helpers import VIDEO, burst, enrol_now, upload

CLOCK = "/api/attendance/clock/"
CHALLENGE = "/api/biometrics/challenge/"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services as biometric_services

    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    monkeypatch.setattr(biometric_services, "gallery_cache", biometric_services._GalleryCache())


@pytest.fixture(scope="module")
def live_burst() -> list[bytes]:
    return burst("person_03_live.mp4", start_s=0.5, seconds=3.0)


@pytest.fixture(scope="module")
def attack_burst() -> list[bytes]:
    return burst("attack_person_02_photo.mp4")


@pytest.fixture
def person_03(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Oscar Third", pin="1357")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    job = enrol_now(person, [still, *extra], django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    return person


@pytest.fixture
def person_02(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Katie Second")
    still = (VIDEO / "person_02_still.jpg").read_bytes()
    enrol_now(person, [still] * 3, django_capture_on_commit_callbacks)
    return person


@pytest.fixture
def kiosk_client(client, kiosk):
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {kiosk.token}"
    client.device = kiosk
    return client


def challenge(client) -> str:
    response = client.post(CHALLENGE)
    assert response.status_code == 201, response.content
    assert response.json()["challenges"] == ["blink"]
    return response.json()["nonce"]


def clock_burst(client, frames, nonce, capture_id=None, **extra):
    data = {
        "capture_id": capture_id or str(uuid.uuid4()),
        "frames": [upload(f"f{i}.jpg", f) for i, f in enumerate(frames)],
        "nonce": nonce,
        **extra,
    }
    return client.post(CLOCK, data)


# ---------------------------------------------------------------- kiosk


def test_a_live_person_blinks_at_the_kiosk_and_is_clocked_in(kiosk_client, person_03, live_burst):
    nonce = challenge(kiosk_client)
    response = clock_burst(kiosk_client, live_burst, nonce)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["greeting"] == "Hello, Oscar" and body["event"]["direction"] == "in"
    event = ClockEvent.objects.get()
    assert event.person == person_03 and event.method == Method.FACE_1N
    assert event.device == kiosk_client.device and event.score >= event.threshold
    assert event.liveness["checked"] is True and event.liveness["passed"] is True
    assert event.liveness["reason"] == "ok" and event.liveness["challenges"] == ["blink"]
    assert body["event"]["liveness"]["passed"] is True
    assert LivenessChallenge.objects.get(nonce=nonce).outcome == "ok"


def test_a_photo_at_the_kiosk_is_refused_as_spoof_and_makes_no_event(
    kiosk_client, person_02, attack_burst
):
    nonce = challenge(kiosk_client)
    response = clock_burst(kiosk_client, attack_burst, nonce)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "spoof_suspected" and body["reason"] == "static_image"
    assert body["detail"]
    assert not ClockEvent.objects.exists() and not Capture.objects.exists()


def test_a_retried_refusal_gets_the_same_refusal_and_is_not_counted_again(
    kiosk_client, person_02, attack_burst
):
    # The kiosk lost the answer to a refused burst and sends the very same request again: its
    # nonce is spent, but the retry is the same request, so it gets the same refusal, not
    # nonce_reused (an attack reason), and the device's lock-out counts the failure once.
    nonce, capture_id = challenge(kiosk_client), str(uuid.uuid4())
    first = clock_burst(kiosk_client, attack_burst, nonce, capture_id)
    assert first.status_code == 422 and first.json()["reason"] == "static_image"
    lockout = FaceLockout.objects.get(subject_type="device", subject_id=kiosk_client.device.pk)
    for _ in range(2):
        again = clock_burst(kiosk_client, attack_burst, nonce, capture_id)
        assert (again.status_code, again.json()) == (422, first.json())
    lockout.refresh_from_db()
    assert lockout.total_failures == 1
    # Anything else under that nonce is not a retry: a new capture id, or other frames.
    reused = clock_burst(kiosk_client, attack_burst, nonce)
    assert reused.status_code == 409 and reused.json()["code"] == "nonce_reused"
    other = clock_burst(kiosk_client, attack_burst[1:], nonce, capture_id)
    assert other.status_code == 409 and other.json()["code"] == "nonce_reused"
    assert not ClockEvent.objects.exists() and not Capture.objects.exists()


def test_a_reused_nonce_replayed_frames_and_a_retried_capture(kiosk_client, person_03, live_burst):
    nonce = challenge(kiosk_client)
    capture_id = str(uuid.uuid4())
    first = clock_burst(kiosk_client, live_burst, nonce, capture_id)
    assert first.status_code == 201, first.content
    # A network retry of the same capture (same id, frames and nonce): the same answer.
    retry = clock_burst(kiosk_client, live_burst, nonce, capture_id)
    assert retry.status_code == 201 and retry.json()["replayed"] is True
    assert retry.json()["event"]["id"] == first.json()["event"]["id"]
    # The same capture id with other frames is not a retry.
    other = clock_burst(kiosk_client, live_burst[1:], nonce, capture_id)
    assert other.status_code == 409 and other.json()["code"] == "capture_id_reused"
    # The same nonce under a new capture id: refused as reused.
    reused = clock_burst(kiosk_client, live_burst, nonce)
    assert reused.status_code == 409 and reused.json()["code"] == "nonce_reused"
    # The same frames with a fresh nonce: a replay.
    replay = clock_burst(kiosk_client, live_burst, challenge(kiosk_client))
    assert replay.status_code == 409 and replay.json()["code"] == "replay"
    # Made-up and missing nonces.
    assert clock_burst(kiosk_client, live_burst[:5], "made-up").json()["code"] == "nonce_invalid"
    assert clock_burst(kiosk_client, live_burst[:6], "").json()["code"] == "nonce_missing"
    assert ClockEvent.objects.count() == 1


def test_a_single_image_at_a_liveness_kiosk_is_refused_and_allowed_where_turned_off(
    kiosk_client, person_03
):
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    data = {"capture_id": str(uuid.uuid4()), "image": upload("s.jpg", still)}
    response = kiosk_client.post(CLOCK, data)
    assert response.status_code == 400 and response.json()["code"] == "liveness_required"
    assert not ClockEvent.objects.exists()

    device = kiosk_client.device
    device.liveness_required = False
    device.save()
    data = {"capture_id": str(uuid.uuid4()), "image": upload("s.jpg", still)}
    response = kiosk_client.post(CLOCK, data)
    assert response.status_code == 201, response.content
    event = ClockEvent.objects.get()
    assert event.person == person_03
    assert event.liveness == {
        "checked": False,
        "reason": "disabled_for_device",
        "device": device.pk,
    }


# ---------------------------------------------------------------- personal mode


def test_personal_clock_with_a_person_bound_burst(client, person_03, live_burst, make_person):
    client.force_login(person_03)
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    single = client.post(CLOCK, {"capture_id": str(uuid.uuid4()), "image": upload("s.jpg", still)})
    assert single.status_code == 400 and single.json()["code"] == "liveness_required"

    nonce = challenge(client)
    assert LivenessChallenge.objects.get(nonce=nonce).person == person_03
    response = clock_burst(client, live_burst, nonce)
    assert response.status_code == 201, response.content
    event = ClockEvent.objects.get()
    assert event.method == Method.FACE_1V1 and event.device is None
    assert event.liveness["passed"] is True

    # Somebody else's challenge cannot be used.
    other = make_person("employee")
    client.force_login(other)
    foreign = clock_burst(client, live_burst[:10], nonce)
    assert foreign.status_code >= 400, foreign.content
    assert ClockEvent.objects.count() == 1


# ---------------------------------------------------------------- erasure and export


def test_erasing_face_data_keeps_the_events_but_blanks_their_scores(
    kiosk_client, client, person_03, live_burst
):
    # kiosk_client is the test client with the kiosk's Authorization header.
    assert clock_burst(kiosk_client, live_burst, challenge(kiosk_client)).status_code == 201
    pin_event = ClockEvent.objects.create(person=person_03, direction="out", method=Method.PIN)
    personal = client.__class__()
    personal.force_login(person_03)
    response = personal.delete("/api/biometrics/me/face-data/")
    assert response.status_code == 200, response.content
    assert ClockEvent.objects.filter(person=person_03).count() == 2
    face = ClockEvent.objects.get(method=Method.FACE_1N)
    assert face.score is None and face.threshold is None and face.model_version == ""
    assert face.liveness is None and face.redacted_at is not None
    assert ClockEvent.objects.get(pk=pin_event.pk).redacted_at is None  # nothing to redact
    entry = AuditEntry.objects.get(action="attendance.redact_scores")
    assert entry.details["events"] == 1


def test_subject_access_export(client, person_03, people, settings):
    from biometrics import privacy

    ClockEvent.objects.create(person=person_03, direction="in", method=Method.PIN)
    services.request_correction(
        person=person_03,
        requested_by=person_03,
        direction="out",
        timestamp=timezone.now() - timedelta(minutes=5),
        reason="Forgot to clock out",
    )
    privacy.withdraw_consent(person=person_03)
    privacy.give_consent(person=person_03, channel="paper")
    client.force_login(person_03)
    response = client.get(reverse("subject-access-export"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    raw = response.content.decode()
    assert "pin_hash" not in raw and "password" not in raw and "embedding" not in raw
    assert data["profile"]["employee_number"] == person_03.employee_number
    assert data["profile"]["has_pin"] is True
    assert [c["channel"] for c in data["consents"]] == ["paper", "paper"]
    assert data["consents"][1]["withdrawn_at"] and data["consents"][0]["withdrawn_at"] is None
    assert {"version", "channel", "given_at", "withdrawn_at"} <= set(data["consents"][0])
    assert len(data["clock_events"]) == 1 and len(data["corrections"]) == 1
    assert data["corrections"][0]["reason"] == "Forgot to clock out"
    assert data["face_templates"]["included"] is False
    assert "never exported" in data["face_templates"]["why"]
    assert data["access_events"] == [] and data["passes"] == []
    entry = AuditEntry.objects.get(action="export.subject_access")
    assert entry.actor == person_03 and entry.target_id == str(person_03.pk)
    # Only your own data: there is no parameter to ask for somebody else's.
    client.force_login(people["admin"])
    assert json.loads(client.get(reverse("subject-access-export")).content)["profile"]["id"] == (
        people["admin"].pk
    )
    client.logout()
    assert client.get(reverse("subject-access-export")).status_code == 302


# ---------------------------------------------------------------- retention


@pytest.mark.calendar
def test_retention_pseudonymises_old_events_once_and_is_audited(make_person, settings):
    settings.ATTENDANCE_EVENT_RETENTION_DAYS = 3650
    anna = make_person("employee", display_name="Anna Old")
    ben = make_person("employee", display_name="Ben Old")
    now = datetime(2030, 6, 1, 12, 0, tzinfo=BERLIN)
    old = now - timedelta(days=3651)
    recent = now - timedelta(days=30)
    for person in (anna, ben):
        for direction, hours in (("in", 0), ("out", 8)):
            ClockEvent.objects.create(
                person=person,
                direction=direction,
                timestamp=old + timedelta(hours=hours),
                method=Method.FACE_1N,
                score=0.8,
                threshold=0.5,
                model_version="m",
                liveness={"checked": True, "passed": True},
            )
    keep = ClockEvent.objects.create(
        person=anna, direction="in", timestamp=recent, method=Method.FACE_1N, score=0.9
    )
    services.rebuild_sessions(person=anna)
    services.rebuild_sessions(person=ben)
    Correction.objects.create(
        person=anna,
        kind="missing_event",
        proposed_direction="out",
        proposed_timestamp=old + timedelta(hours=9),
        reason="Went home",
        requested_by=anna,
    )
    Correction.objects.filter(person=anna).update(requested_at=old + timedelta(hours=12))
    assert WorkSession.objects.count() == 3

    counts = services.pseudonymise_expired(now=now)
    assert counts == {"events": 4, "corrections": 1, "sessions": 2, "people": 2}
    gone = ClockEvent.objects.filter(timestamp__lt=now - timedelta(days=3650))
    assert gone.count() == 4 and not gone.filter(person__isnull=False).exists()
    assert not gone.filter(score__isnull=False).exists()
    assert not gone.filter(liveness__isnull=False).exists()
    # Stable: one pseudonym per person, the same on every run, not the id.
    pseudonyms = set(gone.values_list("pseudonym", flat=True))
    assert len(pseudonyms) == 2 and str(anna.pk) not in pseudonyms
    assert pseudonym_of(anna.pk) in pseudonyms
    keep.refresh_from_db()
    assert keep.person == anna and keep.score == 0.9 and keep.pseudonym == ""
    correction = Correction.objects.get()
    assert correction.person is None and correction.reason == "[pseudonymised]"
    assert correction.requested_by is None
    assert WorkSession.objects.filter(person=anna).count() == 1  # the recent, open one

    again = services.pseudonymise_expired(now=now)
    assert again == {"events": 0, "corrections": 0, "sessions": 0, "people": 0}
    entries = AuditEntry.objects.filter(action="retention.attendance").order_by("pk")
    assert [e.details["events"] for e in entries] == [4, 0]


def test_the_daily_retention_job_runs_attendance_too(db):
    from faceauth.tasks import run_retention

    result = run_retention()
    assert result["attendance"] == {"events": 0, "corrections": 0, "sessions": 0, "people": 0}
