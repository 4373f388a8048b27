"""Finding 5: a high-security door's two-action challenge cannot be downgraded or re-drawn.

Through the real views, database and face pipeline (real clips from ../shared/video)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access_control.models import AccessEvent, AccessPoint, AccessRule, Area, SecurityLevel
from biometrics.models import LivenessChallenge

from ..biometrics_helpers import VIDEO, burst, enrol_now, upload

BIOMETRICS_CHALLENGE = "/api/biometrics/challenge/"
DOOR_CHALLENGE = "/api/access/challenge/"
CHECK = "/api/access/check/"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services

    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = ""
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


@pytest.fixture
def lab_door(door_device):
    lab = Area.objects.create(name="Server room", security_level=SecurityLevel.HIGH)
    rule = AccessRule.objects.create(name="Employees in the server room", role="employee")
    rule.areas.set([lab])
    return AccessPoint.objects.create(name="Server room door", area=lab, device=door_device)


def door(client, device):
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {device.token}"
    return client


def test_a_high_security_door_gets_two_actions_from_either_challenge_endpoint(
    client, lab_door, door_device
):
    door(client, door_device)
    for url in (BIOMETRICS_CHALLENGE, DOOR_CHALLENGE, BIOMETRICS_CHALLENGE):
        response = client.post(url)
        assert response.status_code == 201, response.content
        assert len(response.json()["challenges"]) == 2, (url, response.json())


def test_drawing_again_keeps_the_actions_and_voids_the_earlier_nonce(client, lab_door, door_device):
    door(client, door_device)
    first = client.post(BIOMETRICS_CHALLENGE).json()
    draws = [client.post(DOOR_CHALLENGE).json() for _ in range(8)]
    assert {tuple(d["challenges"]) for d in draws} == {tuple(first["challenges"])}
    open_ = LivenessChallenge.objects.filter(device=door_device, used_at__isnull=True)
    assert list(open_.values_list("nonce", flat=True)) == [draws[-1]["nonce"]]
    frames = burst("person_03_live.mp4", start_s=0.5, seconds=1.0)
    stale = client.post(
        CHECK,
        {"nonce": first["nonce"], "frames": [upload(f"{i}.jpg", f) for i, f in enumerate(frames)]},
    )
    assert stale.status_code == 409 and stale.json()["code"] == "nonce_superseded"


def test_drawing_challenges_is_rate_limited_per_device(client, lab_door, door_device, settings):
    settings.FACEAUTH_THROTTLE_RATES = {
        **settings.FACEAUTH_THROTTLE_RATES,
        "face_challenge": "3/min",
    }
    door(client, door_device)
    statuses = [client.post(BIOMETRICS_CHALLENGE).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_the_door_refuses_a_one_action_challenge_with_a_live_burst(
    client, lab_door, door_device, make_person, django_capture_on_commit_callbacks
):
    person = make_person("employee", display_name="Oscar Third")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    assert enrol_now(person, [still, *extra], django_capture_on_commit_callbacks).accepted == 3
    # A one-action challenge for the door's device: what the biometrics endpoint used to hand
    # out (or one issued before the area became high security).
    weak = LivenessChallenge.objects.create(
        nonce="one-blink",
        device=door_device,
        challenges=["blink"],
        expires_at=timezone.now() + timedelta(seconds=20),
    )
    door(client, door_device)
    frames = burst("person_03_live.mp4", start_s=0.5, seconds=3.0)  # a real live blink
    response = client.post(
        CHECK,
        {"nonce": weak.nonce, "frames": [upload(f"{i}.jpg", f) for i, f in enumerate(frames)]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decision"] == "denied" and body["reason"] == "spoof_suspected", body
    assert not AccessEvent.objects.filter(decision="granted").exists()
    weak.refresh_from_db()
    assert weak.outcome == "challenge_too_weak"
