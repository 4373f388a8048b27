"""Liveness at doors: challenge, burst, spoof denials and alerts, with real clips and models."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access_control.models import (
    AccessEvent,
    AccessMode,
    AccessPoint,
    AccessRule,
    Alert,
    Area,
    Badge,
    SecurityLevel,
)
from biometrics.models import LivenessChallenge

from .biometrics_helpers import burst, enrol_now, upload
from .conftest import SHARED

VIDEO = SHARED / "video"
CHECK_URL = "/api/access/check/"
CHALLENGE_URL = "/api/access/challenge/"
LIVE_PERSON_TEXT = (
    "We could not confirm a live person. Please look at the camera and follow the instruction."
)


@pytest.fixture(scope="module")
def live_burst() -> list[bytes]:
    return burst("person_03_live.mp4", start_s=0.5, seconds=3.0)


@pytest.fixture(scope="module")
def attack_burst() -> list[bytes]:
    return burst("attack_person_02_photo.mp4")


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch):
    from biometrics import services as biometrics_services

    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    monkeypatch.setattr(biometrics_services, "gallery_cache", biometrics_services._GalleryCache())


@pytest.fixture
def site(db):
    from accounts import services as accounts_services

    def door(name: str, area: Area) -> AccessPoint:
        device, token = accounts_services.register_device(name=name, kind="door")
        device.token = token
        point = AccessPoint.objects.create(name=name, area=area, device=device)
        point.device = device
        return point

    building = Area.objects.create(name="Building A")
    lab = Area.objects.create(name="Lab 2", parent=building, security_level=SecurityLevel.HIGH)
    rule = AccessRule.objects.create(name="Employees in Building A", role="employee")
    rule.areas.set([building])
    return {"entrance": door("Main entrance", building), "lab_door": door("Lab 2 door", lab)}


@pytest.fixture
def person_03(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Oscar Third")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    job = enrol_now(person, [still, *extra], django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    return person


@pytest.fixture
def person_02(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Katie Second")
    still = (VIDEO / "person_02_still.jpg").read_bytes()
    job = enrol_now(person, [still] * 3, django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    return person


def auth(point) -> dict:
    return {"HTTP_AUTHORIZATION": f"Device {point.device.token}"}


def challenge(client, point) -> dict:
    response = client.post(CHALLENGE_URL, **auth(point))
    assert response.status_code == 201, response.content
    return response.json()


def send(client, point, frames: list[bytes], nonce: str, **fields):
    files = [upload(f"frame-{i}.jpg", f) for i, f in enumerate(frames)]
    return client.post(CHECK_URL, {"frames": files, "nonce": nonce, **fields}, **auth(point))


def test_a_live_person_passes_the_blink_and_is_granted(client, site, person_03, live_burst):
    door = site["entrance"]
    c = challenge(client, door)
    assert c["challenges"] == ["blink"]
    assert c["capture"]["seconds"] > 0 and c["capture"]["fps"] > 0
    response = send(client, door, live_burst, c["nonce"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["decision"], body["reason"]) == ("granted", "rule_allows"), body
    assert body["person"]["id"] == person_03.pk
    assert body["liveness"] == {"checked": True, "passed": True, "reason": "ok"}
    event = AccessEvent.objects.get(pk=body["event"])
    assert event.person == person_03 and event.liveness["passed"] is True
    assert event.liveness["challenges"] == ["blink"] and event.liveness["backend"]
    assert event.liveness_label == "passed (blink)"
    assert LivenessChallenge.objects.get(nonce=c["nonce"]).used_at is not None


def test_a_photo_attack_is_denied_as_spoof_and_alerts(client, site, person_02, attack_burst):
    door = site["entrance"]
    c = challenge(client, door)
    response = send(client, door, attack_burst, c["nonce"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["decision"], body["reason"]) == ("denied", "spoof_suspected")
    assert body["reason_text"] == LIVE_PERSON_TEXT
    assert body["person"] is None
    assert body["liveness"] == {"checked": True, "passed": False, "reason": "static_image"}
    event = AccessEvent.objects.get()
    assert event.reason == "spoof_suspected" and event.person is None
    assert event.liveness["reason"] == "static_image" and event.liveness["checked"] is True
    assert event.detail == "spoof_suspected: static_image"
    alert = Alert.objects.get(kind="spoof_suspected")
    assert alert.state == "open" and alert.access_point == door and alert.last_event == event


def test_a_replayed_request_is_refused_and_alerts_at_the_door(client, site, person_03, live_burst):
    door = site["entrance"]
    c = challenge(client, door)
    first = send(client, door, live_burst, c["nonce"]).json()
    assert first["decision"] == "granted"

    # The very same request again (same frames, same nonce): the nonce is spent.
    again = send(client, door, live_burst, c["nonce"])
    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    body = again.json()
    assert (body["decision"], body["reason"], body["person"]) == (
        "denied",
        "spoof_suspected",
        None,
    )
    assert body["liveness"]["reason"] == "nonce_reused"
    event = AccessEvent.objects.get(pk=body["event"])
    assert event.detail == "nonce_reused" and event.liveness["passed"] is False
    alert = Alert.objects.get(kind="spoof_suspected")
    assert alert.access_point == door and alert.state == "open"

    # The same frames under a fresh nonce: a replayed burst, the same alert bumped.
    replay = send(client, door, live_burst, challenge(client, door)["nonce"]).json()
    assert replay["reason"] == "spoof_suspected" and replay["liveness"]["reason"] == "replay"
    alert.refresh_from_db()
    assert alert.event_count == 2 and Alert.objects.filter(kind="spoof_suspected").count() == 1


def test_a_network_retry_with_its_request_id_gets_the_first_answer(
    client, site, person_03, live_burst, attack_burst
):
    door = site["entrance"]
    c = challenge(client, door)
    first = send(client, door, live_burst, c["nonce"], request_id="try-1")
    retry = send(client, door, live_burst, c["nonce"], request_id="try-1")
    assert retry["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    assert AccessEvent.objects.count() == 1
    # Other frames under that request id do not borrow its answer.
    other = send(client, door, attack_burst, c["nonce"], request_id="try-1").json()
    assert other["reason"] == "spoof_suspected" and AccessEvent.objects.count() == 2


def test_a_single_image_at_a_liveness_door_is_refused_without_an_event(client, site, person_03):
    door = site["entrance"]
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    response = client.post(CHECK_URL, {"image": upload("p.jpg", still)}, **auth(door))
    assert response.status_code == 400 and response.json()["code"] == "liveness_required"
    assert not AccessEvent.objects.exists()


def test_missing_unknown_and_expired_nonces_are_400_without_an_event(
    client, site, person_03, live_burst
):
    door = site["entrance"]
    missing = send(client, door, live_burst, "")
    assert missing.status_code == 400 and missing.json()["code"] == "nonce_missing"
    unknown = send(client, door, live_burst, "made-up")
    assert unknown.status_code == 400 and unknown.json()["code"] == "nonce_invalid"
    c = challenge(client, door)
    LivenessChallenge.objects.filter(nonce=c["nonce"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = send(client, door, live_burst, c["nonce"])
    assert expired.status_code == 400 and expired.json()["code"] == "nonce_expired"
    assert not AccessEvent.objects.exists() and not Alert.objects.exists()


def test_another_doors_nonce_is_an_attack(client, site, person_03, live_burst):
    lab_nonce = challenge(client, site["lab_door"])["nonce"]
    body = send(client, site["entrance"], live_burst, lab_nonce).json()
    assert body["reason"] == "spoof_suspected"
    assert body["liveness"]["reason"] == "nonce_wrong_device"
    assert Alert.objects.get(kind="spoof_suspected").access_point == site["entrance"]


def test_a_high_security_door_asks_for_two_actions(client, site, settings):
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = ""
    lab = challenge(client, site["lab_door"])
    assert len(lab["challenges"]) == 2 and len(set(lab["challenges"])) == 2
    assert len(challenge(client, site["entrance"])["challenges"]) == 1
    stored = LivenessChallenge.objects.get(nonce=lab["nonce"])
    assert stored.device == site["lab_door"].device


def test_capture_length_can_be_set_for_doors(client, site, settings):
    settings.ACCESS_CAPTURE_SECONDS = 4.5
    assert challenge(client, site["entrance"])["capture"]["seconds"] == 4.5


def test_only_door_terminals_get_door_challenges(client, site, kiosk):
    assert client.post(CHALLENGE_URL).status_code == 401
    assert client.post(CHALLENGE_URL, HTTP_AUTHORIZATION=f"Device {kiosk.token}").status_code == 403


def test_a_door_with_liveness_off_takes_one_image_and_records_it(client, site, person_03):
    door = site["entrance"]
    door.device.liveness_required = False
    door.device.save(update_fields=["liveness_required"])
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    body = client.post(CHECK_URL, {"image": upload("p.jpg", still)}, **auth(door)).json()
    assert body["decision"] == "granted", body
    event = AccessEvent.objects.get(pk=body["event"])
    assert event.liveness == {
        "checked": False,
        "reason": "disabled_for_device",
        "device": door.device.pk,
    }
    assert event.liveness_label == "off for this door"


def test_badge_door_with_a_photo_attack_names_nobody(client, site, person_02, attack_burst):
    door = site["entrance"]
    AccessPoint.objects.filter(pk=door.pk).update(mode=AccessMode.FACE_BADGE)
    Badge.objects.create(person=person_02, number="B-2002")
    c = challenge(client, door)
    body = send(client, door, attack_burst, c["nonce"], badge="B-2002").json()
    assert (body["reason"], body["person"]) == ("spoof_suspected", None)
    event = AccessEvent.objects.get()
    assert event.person is None and "badge B-2002" in event.detail
    assert Alert.objects.filter(kind="spoof_suspected", state="open").exists()


def test_liveness_shows_in_the_console_feed_and_the_admin(client, site, people):
    from access_control import services

    door = site["entrance"]
    services.record_event(
        access_point=door,
        person=None,
        granted=False,
        reason="spoof_suspected",
        liveness={"checked": True, "passed": False, "reason": "static_image"},
    )
    client.force_login(people["admin"])
    feed = client.get("/api/access/console/").json()
    event = feed["events"][0]
    assert event["liveness"]["reason"] == "static_image"
    assert event["liveness_label"] == "failed: a still image"
    assert feed["alerts"][0]["kind"] == "spoof_suspected"
    page = client.get("/admin/access_control/accessevent/")
    assert page.status_code == 200 and "failed: a still image" in page.content.decode()
    log = client.get("/access/events/")
    assert "failed: a still image" in log.content.decode()
