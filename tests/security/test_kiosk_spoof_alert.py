"""Finding 14: photo attacks at a shared kiosk only back it off for seconds (never disable it:
anyone can fail there) and raise one guard alert naming the kiosk, bumped by every repeat.
Spoofs on the personal clock raise an alert naming the person.

Through the real views, database and face pipeline (the photo-replay attack clip and the live
clips of ../shared/video)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings

from access_control import conf as access_conf
from access_control import services
from access_control.models import Alert
from attendance.models import ClockEvent
from biometrics.models import FaceLockout

from ..biometrics_helpers import VIDEO, burst, enrol_now, upload

CLOCK = "/api/attendance/clock/"
CHALLENGE = "/api/biometrics/challenge/"
CONSOLE = "/api/access/console/"
# A Monday morning at the kiosk, fixed so the test never depends on the machine's clock.
START = datetime(2026, 11, 30, 7, 55, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services as biometric_services

    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    monkeypatch.setattr(biometric_services, "gallery_cache", biometric_services._GalleryCache())


@pytest.fixture
def katie(make_person, django_capture_on_commit_callbacks):
    """The person in the attack photo: the photo would match her without liveness."""
    person = make_person("employee", display_name="Katie Second")
    still = (VIDEO / "person_02_still.jpg").read_bytes()
    assert enrol_now(person, [still] * 3, django_capture_on_commit_callbacks).accepted == 3
    return person


@pytest.fixture
def oscar(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee", display_name="Oscar Third")
    still = (VIDEO / "person_03_still.jpg").read_bytes()
    extra = burst("person_03_live.mp4", start_s=4.0, seconds=0.4)[:2]
    assert enrol_now(person, [still, *extra], django_capture_on_commit_callbacks).accepted == 3
    return person


def clock_burst(client, frames: list[bytes], **auth):
    nonce = client.post(CHALLENGE, **auth)
    assert nonce.status_code == 201, nonce.content
    data = {
        "capture_id": str(uuid.uuid4()),
        "nonce": nonce.json()["nonce"],
        "frames": [upload(f"{i}.jpg", f) for i, f in enumerate(frames)],
    }
    return client.post(CLOCK, data, **auth)


def test_photo_bursts_at_a_kiosk_raise_one_guard_alert_and_only_back_the_kiosk_off(
    client, kiosk, katie, oscar, people
):
    assert kiosk.liveness_required
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    with time_machine.travel(START, tick=False) as traveller:
        answers = []
        for n in range(5):
            attack = burst("attack_person_02_photo.mp4", start_s=0.4 * n)  # new bytes each time
            response = clock_burst(client, attack, **auth)
            answers.append((response.status_code, response.json().get("code")))
        assert answers == [(422, "spoof_suspected")] * 5, answers
        assert not ClockEvent.objects.exists()

        # One open alert for the guards, naming the kiosk, bumped by every spoof.
        alert = Alert.objects.get(kind="spoof_suspected")
        assert alert.state == "open" and alert.device == kiosk and alert.access_point is None
        assert alert.event_count == 5 and alert.person is None
        assert "Kiosk 1" in alert.message and "Katie" not in alert.message
        client.force_login(people["guard"])
        feed = client.get(CONSOLE)
        assert feed.status_code == 200, feed.content
        (shown,) = [a for a in feed.json()["alerts"] if a["kind"] == "spoof_suspected"]
        assert shown["device"] == "Kiosk 1" and shown["point"] is None
        assert shown["count"] == 5 and shown["state"] == "open"
        assert "Kiosk 1" in shown["where"] and "Kiosk 1" in shown["message"]
        client.logout()

        # Only a short back-off: answered with its wait, never a disabled kiosk.
        locked = clock_burst(client, burst("attack_person_02_photo.mp4", start_s=2.5), **auth)
        assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
        wait = int(locked["Retry-After"])
        assert 0 < wait <= django_settings.FACEAUTH_DEVICE_BACKOFF_MAX_SECONDS
        state = FaceLockout.objects.get(subject_type="device", subject_id=kiosk.pk)
        assert not state.disabled and state.total_failures == 5

        # After the wait, without an admin, the next person clocks in with a live blink.
        traveller.shift(timedelta(seconds=wait + 1))
        live = clock_burst(client, burst("person_03_live.mp4", start_s=0.5), **auth)
        assert live.status_code == 201, live.content
        assert ClockEvent.objects.get().person == oscar

        # A later spoof within the window bumps the same alert; a guard's acknowledgement
        # lets the next one open a fresh alert.
        again = clock_burst(client, burst("attack_person_02_photo.mp4", start_s=3.0), **auth)
        assert again.status_code == 422 and again.json()["code"] == "spoof_suspected"
        assert Alert.objects.get(kind="spoof_suspected").event_count == 6
        services.acknowledge_alert(alert=alert, user=people["guard"], note="checked the lobby")
        after = clock_burst(client, burst("attack_person_02_photo.mp4", start_s=3.5), **auth)
        assert after.status_code == 422
    assert Alert.objects.filter(kind="spoof_suspected", device=kiosk).count() == 2
    assert Alert.objects.get(kind="spoof_suspected", state="open").event_count == 1


def test_a_photo_on_the_personal_clock_raises_an_alert_naming_the_person(client, katie, people):
    client.force_login(katie)
    response = clock_burst(client, burst("attack_person_02_photo.mp4"))
    assert response.status_code == 422 and response.json()["code"] == "spoof_suspected"
    alert = Alert.objects.get(kind="spoof_suspected")
    assert alert.person == katie and alert.device is None and alert.access_point is None
    assert "Katie Second" in alert.message
    client.force_login(people["guard"])
    (shown,) = client.get(CONSOLE).json()["alerts"]
    assert shown["person"] == "Katie Second" and shown["device"] is None


def test_spoofs_bump_one_alert_per_device_within_the_window(kiosk, door_device, settings):
    window = timedelta(minutes=access_conf.get("ACCESS_ALERT_WINDOW_MINUTES"))
    first = services.raise_spoof_alert(device=kiosk, person=None, where="", at=START)
    bumped = services.raise_spoof_alert(device=kiosk, person=None, where="", at=START + window / 2)
    other = services.raise_spoof_alert(device=door_device, person=None, where="", at=START)
    later = services.raise_spoof_alert(
        device=kiosk, person=None, where="", at=START + window / 2 + window + timedelta(seconds=1)
    )
    assert bumped.pk == first.pk and bumped.event_count == 2
    assert bumped.last_at == START + window / 2 and bumped.created_at == START
    assert other.pk != first.pk and later.pk not in (first.pk, other.pk)
