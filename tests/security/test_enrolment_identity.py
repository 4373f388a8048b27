"""Issue 14, "Who may grant what": enrolling a face for someone else is a reception task, and
every enrolment is checked against the gallery before its templates are attached.

Real photos from ../shared/faces, the real pipeline, the real API and admin views."""

import pytest

from accounts.models import AuditEntry, Device
from biometrics import enrolment_checks, privacy, services
from biometrics.models import EnrolmentJob, FaceSample, FaceTemplate
from tests.biometrics_helpers import enrol_now, photo, photos, upload

ENROL_URL = "/api/biometrics/enrolments/"
IDENTIFY_URL = "/api/biometrics/identify/"


@pytest.fixture(autouse=True)
def _fresh_gallery(monkeypatch):
    # Rolled-back tests restart the gallery version: never reuse another test's gallery.
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


@pytest.fixture
def kiosk_1n(kiosk):
    Device.objects.filter(pk=kiosk.pk).update(liveness_required=False)
    return kiosk


def enrol_via_api(client, person, images, capture) -> EnrolmentJob:
    """POST to the enrolment API as the logged-in client, then run the queued task here."""
    with capture(execute=False):
        response = client.post(
            ENROL_URL,
            {"person": person.pk, "images": [upload(f"{n}.jpg", d) for n, d in enumerate(images)]},
        )
    assert response.status_code == 202, response.content
    return services.run_enrolment(job_id=response.json()["id"])


def identify_at_kiosk(client, kiosk, image: bytes) -> dict:
    response = client.post(
        IDENTIFY_URL,
        {"image": upload("probe.jpg", image)},
        HTTP_AUTHORIZATION=f"Device {kiosk.token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


# ---------------------------------------------------------------- who may enrol whom


def test_an_employee_cannot_enrol_a_face_for_someone_else(client, people):
    visitor = people["visitor"]
    privacy.give_consent(person=visitor, channel="paper")
    client.force_login(people["employee"])
    response = client.post(
        ENROL_URL,
        {
            "person": visitor.pk,
            "images": [
                upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_01", [1, 2, 3]))
            ],
        },
    )
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "enrolment_forbidden"
    assert not EnrolmentJob.objects.filter(person=visitor).exists()


def test_reception_roles_enrol_only_whom_they_may(people):
    guard, admin, manager = people["guard"], people["admin"], people["manager"]
    assert enrolment_checks.may_enrol(actor=guard, person=people["visitor"])
    assert enrolment_checks.may_enrol(actor=guard, person=people["contractor"])
    assert not enrolment_checks.may_enrol(actor=guard, person=people["employee"])
    assert not enrolment_checks.may_enrol(actor=manager, person=people["employee"])
    assert enrolment_checks.may_enrol(actor=admin, person=people["employee"])
    assert enrolment_checks.may_enrol(actor=people["employee"], person=people["employee"])


# ---------------------------------------------------------------- the duplicate-identity check


def test_an_employee_s_own_face_enrolled_for_a_visitor_is_held_not_attached(
    client, people, kiosk_1n, django_capture_on_commit_callbacks
):
    """Finding 2: bob enrolled his own photos for "his visitor". Even through reception, a
    face that is already somebody else's waits for an admin."""
    capture = django_capture_on_commit_callbacks
    bob, visitor = people["employee"], people["visitor"]
    assert enrol_now(bob, photos("deepface_01", [1, 2, 3]), capture).accepted == 3
    privacy.give_consent(person=visitor, channel="paper", recorded_by=people["guard"])

    client.force_login(people["guard"])
    job = enrol_via_api(client, visitor, photos("deepface_01", [4, 5, 6]), capture)

    assert job.status == EnrolmentJob.Status.HELD, job.error
    assert job.hold_reason == enrolment_checks.MATCHES_OTHER_PERSON
    assert job.hold_match == bob and job.hold_score >= job.hold_threshold
    assert not FaceTemplate.objects.filter(person=visitor).exists()
    assert set(job.samples.values_list("status", flat=True)) == {FaceSample.Status.HELD}
    assert AuditEntry.objects.filter(action="enrolment.hold", target_id=str(visitor.pk)).exists()
    # The face at the kiosk is still only bob.
    seen = identify_at_kiosk(client, kiosk_1n, photo("deepface_01/7.jpg"))
    assert seen["person"]["id"] == bob.pk


def test_a_stranger_s_photos_for_an_enrolled_contractor_are_held(
    client, people, kiosk_1n, django_capture_on_commit_callbacks
):
    """Finding 2: a stranger's photos attached to a contractor made the stranger that
    contractor at a kiosk (score 0.974)."""
    capture = django_capture_on_commit_callbacks
    contractor = people["contractor"]
    assert enrol_now(contractor, photos("deepface_05", [1, 2, 3]), capture).accepted == 3

    client.force_login(people["guard"])
    job = enrol_via_api(client, contractor, photos("deepface_02", [1, 2, 3]), capture)

    assert job.status == EnrolmentJob.Status.HELD
    assert job.hold_reason == enrolment_checks.NOT_THE_ENROLLED_PERSON
    assert job.hold_score < job.hold_threshold
    assert FaceTemplate.objects.filter(person=contractor).count() == 3
    stranger = identify_at_kiosk(client, kiosk_1n, photo("deepface_02/4.jpg"))
    assert stranger["match"] is False and stranger["person"] is None


def test_self_enrolment_with_a_colleague_s_face_is_held(
    client, people, django_capture_on_commit_callbacks
):
    """The self-service page (kiosk enrolment) goes through the same check."""
    capture = django_capture_on_commit_callbacks
    alice, bob = people["manager"], people["employee"]
    assert enrol_now(alice, photos("deepface_03", [1, 2, 3]), capture).accepted == 3
    privacy.give_consent(person=bob, channel="self_service")
    client.force_login(bob)
    job = enrol_via_api(client, bob, photos("deepface_03", [4, 5, 6]), capture)
    assert job.status == EnrolmentJob.Status.HELD and job.hold_match == alice
    assert not FaceTemplate.objects.filter(person=bob).exists()


def test_new_faces_and_a_person_s_own_new_photos_are_attached_at_once(
    people, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    for role, identity in (
        ("admin", "deepface_10"),
        ("manager", "deepface_11"),
        ("guard", "deepface_12"),
    ):
        assert enrol_now(people[role], photos(identity, [1, 2, 3]), capture).status == "done"
    first = enrol_now(people["employee"], photos("deepface_01", [1, 2, 3]), capture)
    assert first.status == EnrolmentJob.Status.DONE and first.accepted == 3
    again = enrol_now(people["employee"], photos("deepface_01", [4, 5, 6]), capture)
    assert again.status == EnrolmentJob.Status.DONE and again.accepted == 3
    assert FaceTemplate.objects.filter(person=people["employee"]).count() == 6


# ---------------------------------------------------------------- the admin's review


@pytest.fixture
def held_job(client, people, django_capture_on_commit_callbacks) -> EnrolmentJob:
    capture = django_capture_on_commit_callbacks
    enrol_now(people["employee"], photos("deepface_01", [1, 2, 3]), capture)
    privacy.give_consent(person=people["visitor"], channel="paper", recorded_by=people["guard"])
    client.force_login(people["guard"])
    job = enrol_via_api(client, people["visitor"], photos("deepface_01", [4, 5, 6]), capture)
    assert job.status == EnrolmentJob.Status.HELD
    client.logout()
    return job


def test_an_admin_approves_a_held_enrolment_and_it_is_audited(
    client, people, held_job, django_capture_on_commit_callbacks
):
    client.force_login(people["admin"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/admin/biometrics/enrolmentjob/",
            {"action": "approve_held", "_selected_action": [str(held_job.pk)]},
        )
    assert response.status_code == 302, response.content[:2000]
    held_job.refresh_from_db()
    assert held_job.review == "approved" and held_job.reviewed_by == people["admin"]
    job = services.run_enrolment(job_id=str(held_job.pk))  # the task the approval queued
    assert job.status == EnrolmentJob.Status.DONE and job.accepted == 3
    assert FaceTemplate.objects.filter(person=people["visitor"]).count() == 3
    assert AuditEntry.objects.filter(action="enrolment.review.approved").exists()


def test_an_admin_rejects_a_held_enrolment_and_its_photos_are_gone(client, people, held_job):
    client.force_login(people["admin"])
    response = client.post(
        "/admin/biometrics/enrolmentjob/",
        {"action": "reject_held", "_selected_action": [str(held_job.pk)]},
    )
    assert response.status_code == 302
    held_job.refresh_from_db()
    assert held_job.status == EnrolmentJob.Status.FAILED and held_job.review == "rejected"
    assert not held_job.samples.exclude(image=None).exists()
    assert not FaceTemplate.objects.filter(person=people["visitor"]).exists()
    assert AuditEntry.objects.filter(action="enrolment.review.rejected").exists()


def test_only_an_admin_may_review(people, held_job):
    from faceauth.api import DomainError

    for role in ("guard", "manager", "employee"):
        with pytest.raises(DomainError):
            enrolment_checks.review_enrolment(job=held_job, reviewer=people[role], approve=True)
    held_job.refresh_from_db()
    assert held_job.status == EnrolmentJob.Status.HELD
