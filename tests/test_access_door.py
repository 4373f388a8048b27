"""Door checks end to end: real photos, the real face pipeline, rules, the log and alerts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access_control.models import (
    AccessEvent,
    AccessMode,
    AccessPoint,
    Alert,
    Area,
    Badge,
    SecurityLevel,
)
from access_control.services import create_pass

from .biometrics_helpers import enrol_now, photo, photos, upload

CHECK_URL = "/api/access/check/"


def auth(device) -> dict:
    return {"HTTP_AUTHORIZATION": f"Device {device.token}"}


def check(client, device, image: bytes, **fields):
    return client.post(CHECK_URL, {"image": upload("probe.jpg", image), **fields}, **auth(device))


@pytest.fixture(autouse=True)
def _fresh_gallery(monkeypatch):
    from biometrics import services as biometrics_services

    # Rolled-back tests restart the gallery version, so a process-wide gallery built in an
    # earlier test would look current and hold that test's people.
    monkeypatch.setattr(biometrics_services, "gallery_cache", biometrics_services._GalleryCache())


@pytest.fixture
def lab_door(db):
    from accounts import services

    device, token = services.register_device(name="Lab door", kind="door")
    device.token = token
    return device


@pytest.fixture
def site(db, door_device, lab_door):
    from accounts.models import Device

    # These doors take one photo (liveness off for their terminals); liveness bursts at doors
    # are tested in test_access_liveness.py.
    Device.objects.filter(pk__in=[door_device.pk, lab_door.pk]).update(liveness_required=False)
    building = Area.objects.create(name="Building A", contractor_passes=True)
    lab = Area.objects.create(name="Lab 2", parent=building, security_level=SecurityLevel.HIGH)
    return {
        "building": building,
        "lab": lab,
        "entrance": AccessPoint.objects.create(
            name="Main entrance", area=building, device=door_device
        ),
        "lab_door": AccessPoint.objects.create(name="Lab 2 door", area=lab, device=lab_door),
    }


@pytest.fixture
def contractor(make_person, people, site, django_capture_on_commit_callbacks):
    """A contractor enrolled from deepface_05 photos 1-3 with a pass for Building A now."""
    person = make_person("contractor", sponsor=people["employee"])
    job = enrol_now(person, photos("deepface_05", [1, 2, 3]), django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    now = timezone.now()
    person.visitor_pass = create_pass(
        visitor=person,
        sponsor=people["employee"],
        created_by=people["guard"],
        areas=[site["building"]],
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(hours=4),
        purpose="Fix the air conditioning",
    )
    return person


def test_enrolled_contractor_is_granted_then_denied_after_the_pass_ends(
    client, site, contractor, door_device, lab_door
):
    from access_control.models import VisitorPass

    response = check(client, door_device, photo("deepface_05/4.jpg"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decision"] == "granted" and body["reason"] == "pass_valid", body
    assert body["person"]["id"] == contractor.pk
    event = AccessEvent.objects.get(pk=body["event"])
    assert event.person == contractor and event.visitor_pass == contractor.visitor_pass
    assert event.score >= event.threshold and event.model_version

    # The pass covers Building A, but not Lab 2 inside it: the lab takes no contractor passes.
    lab = check(client, lab_door, photo("deepface_05/5.jpg")).json()
    assert (lab["decision"], lab["reason"]) == ("denied", "not_on_pass")

    # The pass ends (the contractor's own validity window still runs).
    VisitorPass.objects.filter(pk=contractor.visitor_pass.pk).update(
        ends_at=timezone.now() - timedelta(minutes=1)
    )
    denied = check(client, door_device, photo("deepface_05/5.jpg")).json()
    assert denied["decision"] == "denied" and denied["reason"] == "pass_expired"
    assert denied["reason_text"] == "Your pass has expired — please see reception."
    assert Alert.objects.filter(kind="visitor_outside_pass", person=contractor).exists()


def test_a_stranger_is_not_recognised_and_alerts_at_a_high_security_door(
    client, site, contractor, door_device, lab_door
):
    stranger = photo("deepface_02/1.jpg")
    normal = check(client, door_device, stranger).json()
    assert (normal["decision"], normal["reason"], normal["person"]) == (
        "denied",
        "not_recognised",
        None,
    )
    assert not Alert.objects.filter(kind="unknown_face_high").exists()

    high = check(client, lab_door, photo("deepface_02/2.jpg")).json()
    assert high["reason"] == "not_recognised"
    alert = Alert.objects.get(kind="unknown_face_high")
    assert alert.access_point == site["lab_door"] and alert.state == "open"
    assert alert.last_event_id == high["event"]


def test_a_retried_request_writes_one_event_and_returns_the_first_answer(
    client, site, contractor, door_device
):
    image = photo("deepface_05/4.jpg")
    first = check(client, door_device, image)
    again = check(client, door_device, image)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert AccessEvent.objects.count() == 1
    # A client request id makes a retry of a different upload the same attempt, too.
    one = check(client, door_device, photo("deepface_05/5.jpg"), request_id="abc-1").json()
    two = check(client, door_device, image, request_id="abc-1").json()
    assert one == two and AccessEvent.objects.count() == 2


def test_face_problems_are_denials_with_low_quality_not_errors(client, site, door_device):
    response = check(client, door_device, photo("_no_face/01.jpg"))
    assert response.status_code == 200
    assert response.json()["reason"] == "low_quality"
    event = AccessEvent.objects.get()
    assert event.person is None and event.detail.startswith("no_face")
    several = check(client, door_device, photo(_first("_multi_face"))).json()
    assert several["reason"] == "low_quality"
    # Not an image at all: a client error, no decision.
    broken = check(client, door_device, b"definitely not a jpeg")
    assert broken.status_code == 400 and "code" in broken.json()
    assert client.post(CHECK_URL, {}, **auth(door_device)).status_code == 400
    assert AccessEvent.objects.count() == 2


def _first(folder: str) -> str:
    from .biometrics_helpers import FACES

    return f"{folder}/{sorted(p.name for p in (FACES / folder).iterdir())[0]}"


def test_an_offboarded_person_is_refused_at_the_next_check(client, site, contractor, door_device):
    from accounts.services import offboard_person

    assert check(client, door_device, photo("deepface_05/4.jpg")).json()["decision"] == "granted"
    offboard_person(person=contractor)
    denied = check(client, door_device, photo("deepface_05/5.jpg")).json()
    assert denied["decision"] == "denied"
    assert denied["reason"] in ("not_recognised", "not_authorised")


def test_face_and_pin_door_needs_the_right_pin(client, site, contractor, door_device):
    from accounts.services import set_pin

    AccessPoint.objects.filter(pk=site["entrance"].pk).update(mode=AccessMode.FACE_PIN)
    set_pin(person=contractor, pin="2468")
    missing = check(client, door_device, photo("deepface_05/4.jpg"))
    assert missing.status_code == 400 and missing.json()["code"] == "pin_required"
    wrong = check(client, door_device, photo("deepface_05/4.jpg"), pin="1111").json()
    assert wrong["reason"] == "wrong_pin"
    right = check(client, door_device, photo("deepface_05/4.jpg"), pin="2468").json()
    assert right["decision"] == "granted"


def test_badge_and_face_door_verifies_the_badge_holder(client, site, contractor, door_device):
    AccessPoint.objects.filter(pk=site["entrance"].pk).update(mode=AccessMode.FACE_BADGE)
    Badge.objects.create(person=contractor, number="B-1001")
    unknown = check(client, door_device, photo("deepface_05/4.jpg"), badge="B-9999").json()
    assert unknown["reason"] == "badge_unknown"
    ok = check(client, door_device, photo("deepface_05/4.jpg"), badge="B-1001").json()
    assert ok["decision"] == "granted" and ok["reason"] == "pass_valid"
    other = check(client, door_device, photo("deepface_02/1.jpg"), badge="B-1001").json()
    assert other["reason"] == "face_mismatch"


def test_only_door_terminals_may_check(client, site, people, kiosk, door_device):
    image = {"image": upload("p.jpg", photo("deepface_05/4.jpg"))}
    assert client.post(CHECK_URL, image).status_code == 401
    client.force_login(people["guard"])
    assert client.post(CHECK_URL, image).status_code == 403
    client.logout()
    assert client.post(CHECK_URL, image, **auth(kiosk)).status_code == 403


def test_a_door_without_an_access_point_is_refused_clearly(client, db):
    from accounts import services

    device, token = services.register_device(name="Spare door", kind="door")
    response = client.post(
        CHECK_URL,
        {"image": upload("p.jpg", photo("deepface_05/4.jpg"))},
        HTTP_AUTHORIZATION=f"Device {token}",
    )
    assert response.status_code == 409 and response.json()["code"] == "door_not_configured"


def test_a_copy_that_waited_past_a_stuck_holder_leaves_that_holders_lock_alone(
    client, site, contractor, door_device, settings
):
    """Copies of one request take turns on a lock in the shared cache. A copy that waited the
    whole window decides by itself, and must not release the lock it never took: that one
    belongs to the copy still deciding (it used to be deleted, letting a third copy in)."""
    from django.core.cache import cache

    settings.ACCESS_DEDUP_SECONDS = 1
    point = AccessPoint.objects.get(device=door_device)
    key = f"access:check:{point.pk}:stuck-1"
    cache.add(key, "the first copy's token", timeout=30)
    response = check(client, door_device, photo("deepface_05/4.jpg"), request_id="stuck-1")
    assert response.status_code == 200 and response.json()["decision"] == "granted"
    assert AccessEvent.objects.count() == 1
    assert cache.get(key) == "the first copy's token"
    # Once the first copy is done, the same request is answered from the event.
    cache.delete(key)
    again = check(client, door_device, photo("deepface_05/4.jpg"), request_id="stuck-1")
    assert again.json() == response.json() and AccessEvent.objects.count() == 1
