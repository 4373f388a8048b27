"""Issue 14, finding 17: a visitor was clocked in at the attendance kiosk ("Hello, Peter —
Clocked IN"). Staff take part in attendance; visitors and contractors are refused with a clear
message on every clock path (kiosk face, personal clock, employee number + PIN).

Real kiosk API, database and face pipeline (photos from ../shared/faces)."""

import uuid

import pytest

from attendance.models import ClockEvent
from attendance.participation import ATTENDANCE_ROLES, takes_part
from biometrics import services as biometric_services
from tests.biometrics_helpers import enrol_now, photo, photos, upload

CLOCK = "/api/attendance/clock/"
REFUSAL = "Visitors and contractors do not clock in here: attendance is for staff."


@pytest.fixture(autouse=True)
def _single_images(settings, monkeypatch):
    # One photo per clock (liveness off); bursts are tested in test_attendance_liveness.py.
    settings.FACEAUTH_LIVENESS_ENABLED = False
    monkeypatch.setattr(biometric_services, "gallery_cache", biometric_services._GalleryCache())


@pytest.fixture
def kiosk_client(client, kiosk):
    client.defaults["HTTP_AUTHORIZATION"] = f"Device {kiosk.token}"
    return client


def assert_refused(response) -> None:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "not_in_attendance" and body["detail"] == REFUSAL, body


def test_a_visitor_recognised_at_the_kiosk_is_not_clocked_in(
    kiosk_client, make_person, django_capture_on_commit_callbacks
):
    visitor = make_person("visitor", display_name="Peter Visitor")
    enrol_now(visitor, photos("deepface_05", [1, 2, 3]), django_capture_on_commit_callbacks)
    response = kiosk_client.post(
        CLOCK,
        {"image": upload("probe.jpg", photo("deepface_05/4.jpg")), "capture_id": uuid.uuid4()},
    )
    assert_refused(response)
    assert not ClockEvent.objects.exists()


def test_staff_recognised_at_the_kiosk_are_clocked_in(
    kiosk_client, make_person, django_capture_on_commit_callbacks
):
    guard = make_person("guard")
    enrol_now(guard, photos("deepface_05", [1, 2, 3]), django_capture_on_commit_callbacks)
    response = kiosk_client.post(
        CLOCK,
        {"image": upload("probe.jpg", photo("deepface_05/4.jpg")), "capture_id": uuid.uuid4()},
    )
    assert response.status_code == 201, response.content
    assert ClockEvent.objects.get().person == guard


@pytest.mark.parametrize("role", ["visitor", "contractor"])
def test_visitors_and_contractors_cannot_clock_with_a_pin(kiosk_client, make_person, role):
    person = make_person(role, pin="4321")
    response = kiosk_client.post(
        CLOCK,
        {"employee_number": person.employee_number, "pin": "4321", "capture_id": uuid.uuid4()},
    )
    assert_refused(response)
    assert not ClockEvent.objects.exists()


@pytest.mark.parametrize("role", ["visitor", "contractor"])
def test_visitors_and_contractors_cannot_use_the_personal_clock(client, make_person, role):
    person = make_person(role, pin="4321")
    client.force_login(person)
    by_pin = client.post(CLOCK, {"pin": "4321", "capture_id": uuid.uuid4()})
    assert_refused(by_pin)
    by_face = client.post(
        CLOCK,
        {"image": upload("probe.jpg", photo("deepface_05/4.jpg")), "capture_id": uuid.uuid4()},
    )
    assert_refused(by_face)
    assert not ClockEvent.objects.exists()


@pytest.mark.parametrize("role", sorted(ATTENDANCE_ROLES))
def test_staff_clock_with_their_pin(kiosk_client, make_person, role):
    person = make_person(role, pin="4321")
    assert takes_part(person)
    response = kiosk_client.post(
        CLOCK,
        {"employee_number": person.employee_number, "pin": "4321", "capture_id": uuid.uuid4()},
    )
    assert response.status_code == 201, response.content
