"""Findings 10 and 15: a recorded live burst sent again after re-encoding, resizing or a
brightness change (near-duplicate replay), and a door's stale "granted" answered again after
the grant stopped holding.

Through the real views, database and face pipeline (real clips from ../shared/video)."""

from datetime import timedelta

import cv2
import numpy as np
import pytest
import time_machine
from django.utils import timezone

from access_control.models import AccessEvent, AccessPoint, AccessRule, Area

from ..biometrics_helpers import VIDEO, burst, enrol_now, upload

CHALLENGE = "/api/biometrics/challenge/"
IDENTIFY = "/api/biometrics/identify/"
CHECK = "/api/access/check/"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services

    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


@pytest.fixture
def oscar(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Oscar Third")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    job = enrol_now(person, [still, *extra], django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    return person


def send(client, device, frames: list[bytes]):
    auth = {"HTTP_AUTHORIZATION": f"Device {device.token}"}
    nonce = client.post(CHALLENGE, **auth).json()["nonce"]
    files = [upload(f"{i}.jpg", f) for i, f in enumerate(frames)]
    return client.post(IDENTIFY, {"nonce": nonce, "frames": files}, **auth)


def changed(frames: list[bytes], *, quality: int = 80, scale: float = 1.0, shift: int = 0):
    """What an attacker who recorded the burst sends: the same pictures, other bytes."""
    out = []
    for data in frames:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if scale != 1.0:
            h, w = bgr.shape[:2]
            bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)))
        if shift:
            bgr = np.clip(bgr.astype(np.int16) + shift, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        out.append(buf.tobytes())
    return out


def test_a_reencoded_resized_or_brightened_copy_of_a_live_burst_is_refused_as_a_replay(
    client, kiosk, oscar
):
    live = burst("person_03_live.mp4", start_s=0.5, seconds=3.0)
    first = send(client, kiosk, live)
    assert first.status_code == 200 and first.json()["person"]["id"] == oscar.pk, first.content
    for copy in (
        {"quality": 77},
        {"quality": 83},
        {"quality": 60},
        {"scale": 0.75},
        {"scale": 1.25},
        {"shift": 20},
        {"shift": -20},
    ):
        replayed = send(client, kiosk, changed(live, **copy))
        assert replayed.status_code == 409, (copy, replayed.content)
        assert replayed.json()["code"] == "replay", copy
    # The same person at another moment (no frame in common) is a new, live capture.
    later = send(client, kiosk, burst("person_03_live.mp4", start_s=3.0, seconds=3.0))
    assert later.status_code == 200 and later.json()["person"]["id"] == oscar.pk, later.content


def test_a_copy_sent_at_another_kiosk_is_refused_by_the_persons_memory(client, kiosk, oscar):
    from accounts import services

    other, token = services.register_device(name="Kiosk 2", kind="kiosk")
    other.token = token
    live = burst("person_03_live.mp4", start_s=0.5, seconds=3.0)
    assert send(client, kiosk, live).status_code == 200
    replayed = send(client, other, changed(live, quality=77))
    assert replayed.status_code == 409 and replayed.json()["code"] == "replay", replayed.content


def test_a_door_does_not_answer_a_retry_with_a_grant_that_stopped_holding(
    client, door_device, oscar
):
    from accounts.models import Device, User

    Device.objects.filter(pk=door_device.pk).update(liveness_required=False)
    building = Area.objects.create(name="Building A")
    rule = AccessRule.objects.create(name="Employees", role="employee")
    rule.areas.set([building])
    AccessPoint.objects.create(name="Main entrance", area=building, device=door_device)
    start = timezone.now()
    # Oscar's access ends two seconds from now (an employee's last day, a contractor's pass).
    User.objects.filter(pk=oscar.pk).update(valid_until=start + timedelta(seconds=2))
    image = (VIDEO / "person_03_still.jpg").read_bytes()
    auth = {"HTTP_AUTHORIZATION": f"Device {door_device.token}"}

    def check():
        return client.post(CHECK, {"image": upload("probe.jpg", image)}, **auth).json()

    with time_machine.travel(start, tick=False):
        assert check()["decision"] == "granted"
    # The door re-sends the same photo within the 5 s retry window, after the end.
    with time_machine.travel(start + timedelta(seconds=3), tick=False):
        again = check()
        assert again["decision"] == "denied", again
        assert again["reason"] == "person_validity", again
        assert check()["decision"] == "denied"  # and every retry after it
    assert list(AccessEvent.objects.order_by("pk").values_list("decision", flat=True)) == [
        "granted",
        "denied",
    ]
