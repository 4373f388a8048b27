"""Challenge-response liveness through the API: nonces, replays, spoofs, lockout."""

from datetime import timedelta

import pytest
from django.utils import timezone

from biometrics.models import FaceLockout, LivenessChallenge

from .biometrics_helpers import burst, enrol_now, upload
from .conftest import SHARED

VIDEO = SHARED / "video"
CHALLENGE_URL = "/api/biometrics/challenge/"
IDENTIFY_URL = "/api/biometrics/identify/"


@pytest.fixture(scope="module")
def live_burst() -> list[bytes]:
    return burst("person_03_live.mp4", start_s=0.5, seconds=3.0)


@pytest.fixture(scope="module")
def attack_burst() -> list[bytes]:
    return burst("attack_person_02_photo.mp4")


@pytest.fixture
def enrolled_03(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Person Three")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    enrol_now(person, [still, *extra], django_capture_on_commit_callbacks)
    return person


@pytest.fixture
def kiosk_client(client, kiosk, settings):
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {kiosk.token}"
    client.device = kiosk
    return client


def challenge(client) -> dict:
    response = client.post(CHALLENGE_URL)
    assert response.status_code == 201, response.content
    return response.json()


def send(client, frames: list[bytes], nonce: str):
    files = [upload(f"f{i}.jpg", f) for i, f in enumerate(frames)]
    return client.post(IDENTIFY_URL, {"frames": files, "nonce": nonce})


def test_a_live_person_passes_the_blink_challenge_and_is_identified(
    kiosk_client, enrolled_03, live_burst
):
    c = challenge(kiosk_client)
    assert c["challenges"] == ["blink"] and c["capture"]["fps"] > 0
    answer = send(kiosk_client, live_burst, c["nonce"])
    assert answer.status_code == 200, answer.content
    assert answer.json()["person"]["id"] == enrolled_03.pk


def test_a_photo_replay_is_refused_as_spoof(
    kiosk_client, make_person, attack_burst, django_capture_on_commit_callbacks
):
    person_02 = make_person("employee")
    enrol_now(
        person_02,
        [(VIDEO / "person_02_still.jpg").read_bytes()] * 3,
        django_capture_on_commit_callbacks,
    )
    c = challenge(kiosk_client)
    answer = send(kiosk_client, attack_burst, c["nonce"])
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "spoof_suspected" and body["reason"] == "static_image"
    assert LivenessChallenge.objects.get(nonce=c["nonce"]).outcome == "static_image"


def test_a_reused_nonce_and_a_replayed_burst_are_refused(kiosk_client, enrolled_03, live_burst):
    c = challenge(kiosk_client)
    assert send(kiosk_client, live_burst, c["nonce"]).status_code == 200
    again = send(kiosk_client, live_burst, c["nonce"])
    assert again.status_code == 409 and again.json()["code"] == "nonce_reused"
    fresh = challenge(kiosk_client)
    replay = send(kiosk_client, live_burst, fresh["nonce"])
    assert replay.status_code == 409 and replay.json()["code"] == "replay"


def test_expired_unknown_and_foreign_nonces_are_refused(
    kiosk_client, door_device, live_burst, enrolled_03
):
    c = challenge(kiosk_client)
    LivenessChallenge.objects.filter(nonce=c["nonce"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert send(kiosk_client, live_burst, c["nonce"]).json()["code"] == "nonce_expired"
    assert send(kiosk_client, live_burst, "made-up").json()["code"] == "nonce_invalid"
    door_nonce = LivenessChallenge.objects.create(
        nonce="door-nonce", device=door_device, challenges=["blink"],
        expires_at=timezone.now() + timedelta(seconds=20),
    ).nonce  # fmt: skip
    foreign = send(kiosk_client, live_burst, door_nonce)
    assert foreign.status_code == 403 and foreign.json()["code"] == "nonce_wrong_device"


def test_a_kiosk_that_requires_liveness_refuses_a_single_image(kiosk_client, enrolled_03):
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    response = kiosk_client.post(IDENTIFY_URL, {"image": upload("s.jpg", still)})
    assert response.status_code == 400 and response.json()["code"] == "liveness_required"


def test_liveness_can_be_turned_off_per_device_and_the_result_says_so(kiosk_client, enrolled_03):
    from biometrics import services

    device = kiosk_client.device
    device.liveness_required = False
    device.save()
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    result = services.identify_face(image=still, device=device)
    assert result.person == enrolled_03
    assert result.liveness == {
        "checked": False,
        "reason": "disabled_for_device",
        "device": device.pk,
    }


def test_two_challenges_at_a_high_security_device(door_device, settings):
    from access_control.models import AccessPoint, Area, SecurityLevel
    from biometrics import services

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = ""
    lab = Area.objects.create(name="Lab", security_level=SecurityLevel.HIGH)
    AccessPoint.objects.create(name="Lab door", area=lab, device=door_device)
    challenge = services.issue_challenge(device=door_device)
    assert len(challenge.challenges) == 2 and len(set(challenge.challenges)) == 2
    assert set(challenge.challenges) <= {"blink", "turn_left", "turn_right"}


def fail(**subject) -> None:
    from biometrics import lockouts

    lockouts.failed(lockouts.begin(**subject))


def test_person_lockout_after_five_failures_grows_and_an_admin_can_reset(make_person):
    from biometrics import lockouts

    person = make_person("employee")
    rows = FaceLockout.objects.filter(subject_type="person", subject_id=person.pk)
    for _ in range(4):
        fail(person=person)
    lockouts.begin(person=person).refund()  # four failures: still allowed
    fail(person=person)
    first_wait = rows.get().locked_until - timezone.now()
    assert timedelta(seconds=28) < first_wait <= timedelta(seconds=30)
    with pytest.raises(lockouts.LockedOut) as locked:
        lockouts.begin(person=person)
    assert 0 < locked.value.retry_after <= 30
    rows.update(locked_until=timezone.now())
    fail(person=person)
    assert rows.get().locked_until - timezone.now() > timedelta(seconds=59)  # doubled
    # a success after the wait resets the count
    rows.update(locked_until=timezone.now())
    lockouts.begin(person=person).succeeded()
    assert rows.get().consecutive_failures == 0
    # fifty in a row disable face login until an admin resets it
    for _ in range(50):
        rows.update(locked_until=None)
        fail(person=person)
    assert rows.get().disabled and rows.get().total_failures == 56
    with pytest.raises(lockouts.FaceLoginDisabled):
        lockouts.begin(person=person)
    lockouts.reset(lockout=rows.get(), actor=make_person("admin"))
    lockouts.begin(person=person).succeeded()


def test_a_shared_kiosk_backs_off_for_seconds_and_is_never_disabled(kiosk):
    from biometrics import lockouts

    rows = FaceLockout.objects.filter(subject_type="device", subject_id=kiosk.pk)
    for _ in range(5):
        fail(device=kiosk)
    with pytest.raises(lockouts.LockedOut) as locked:
        lockouts.begin(device=kiosk)
    assert 0 < locked.value.retry_after <= 2
    waits = []
    for _ in range(60):
        rows.update(locked_until=None)
        fail(device=kiosk)
        waits.append((rows.get().locked_until - timezone.now()).total_seconds())
    assert 2 < waits[0] <= 3 and waits[1] > waits[0]  # growing modestly (x1.5)
    assert max(waits) <= 15  # never more than a few seconds
    assert not rows.get().disabled
    rows.update(locked_until=None)
    lockouts.begin(device=kiosk).succeeded()  # no admin needed
    assert rows.get().consecutive_failures == 0


def test_a_locked_out_person_gets_429_on_verify(client, enrolled_03, settings):
    from biometrics import lockouts

    settings.FACEAUTH_LIVENESS_ENABLED = False
    for _ in range(5):
        lockouts.failed(lockouts.begin(person=enrolled_03))
    client.force_login(enrolled_03)
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    response = client.post("/api/biometrics/verify/", {"image": upload("s.jpg", still)})
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert 0 < int(response["Retry-After"]) <= 30


def test_face_attempts_are_audited_without_biometric_data(kiosk_client, enrolled_03, live_burst):
    from accounts.models import AuditEntry

    c = challenge(kiosk_client)
    send(kiosk_client, live_burst, c["nonce"])
    send(kiosk_client, live_burst, c["nonce"])  # reused
    entries = list(AuditEntry.objects.filter(action="auth.face.identify").order_by("id"))
    assert [e.outcome for e in entries] == ["match", "error"]
    assert entries[0].details["liveness"] == "ok" and entries[1].details["code"] == "nonce_reused"
    assert entries[0].device == kiosk_client.device
    for entry in entries:
        assert "embedding" not in str(entry.details) and len(str(entry.details)) < 500


def test_biometric_endpoints_are_rate_limited_per_device(kiosk_client, settings):
    settings.FACEAUTH_THROTTLE_RATES = {"face_device": "3/min", "face_ip": "100/min"}
    statuses = [kiosk_client.post(CHALLENGE_URL).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert kiosk_client.post(IDENTIFY_URL, {}).json()["code"] == "throttled"


def test_clock_and_door_endpoints_share_the_rate_limits(client, kiosk, door_device, settings):
    settings.FACEAUTH_THROTTLE_RATES = {"face_device": "2/min", "face_ip": "100/min"}
    for url, device in (("/api/attendance/clock/", kiosk), ("/api/access/check/", door_device)):
        auth = {"HTTP_AUTHORIZATION": f"Device {device.token}"}
        statuses = [client.post(url, {}, **auth).status_code for _ in range(3)]
        assert statuses[-1] == 429 and 429 not in statuses[:2], (url, statuses)
