"""Biometrics through the API and services, on real photos and the real dlib models."""

import io
import time

import pytest
from django.db import connection
from PIL import Image

from biometrics import services
from biometrics.fields import DecryptionError
from biometrics.models import EnrolmentJob, FaceSample, FaceTemplate

from .biometrics_helpers import enrol_now, photo, photos, upload
from .conftest import USES_SERVICES

ENROL_URL = "/api/biometrics/enrolments/"


@pytest.fixture(autouse=True)
def _single_image_matching(settings):
    # These tests are about matching; liveness bursts have their own tests.
    settings.FACEAUTH_LIVENESS_ENABLED = False


@pytest.fixture
def task_runner(request):
    """The Celery worker process on Redis, nothing on the embedded default (eager)."""
    return request.getfixturevalue("celery_worker") if USES_SERVICES else None


def wait_for_job(client, job_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"{ENROL_URL}{job_id}/").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    pytest.fail(f"enrolment job {job_id} did not finish in {timeout} s: {job}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_enrol_three_photos_through_the_api_then_verify(client, make_person, task_runner):
    from biometrics import privacy

    admin = make_person("admin")
    person = make_person("employee")
    privacy.give_consent(person=person, channel="paper", recorded_by=admin)
    client.force_login(admin)
    response = client.post(
        ENROL_URL,
        {
            "person": person.pk,
            "images": [
                upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_02", [1, 2, 3]))
            ],
        },
    )
    assert response.status_code == 202, response.content
    job = wait_for_job(client, response.json()["id"])
    assert job["status"] == "done" and job["accepted"] == 3 and job["progress"] == 100
    assert FaceTemplate.objects.filter(person=person).count() == 3
    # no image is kept by default
    assert not FaceSample.objects.filter(person=person).exclude(image=None).exists()

    same = client.post(
        "/api/biometrics/verify/",
        {"person": person.pk, "image": upload("4.jpg", photo("deepface_02/4.jpg"))},
    ).json()
    assert same["match"] is True and same["score"] >= same["threshold"]
    assert same["model"]
    other = client.post(
        "/api/biometrics/verify/",
        {"person": person.pk, "image": upload("x.jpg", photo("deepface_03/1.jpg"))},
    ).json()
    assert other["match"] is False and other["score"] < other["threshold"]
    assert set(same) == {"match", "score", "threshold", "model"}  # never a template


def test_a_bad_photo_is_recorded_and_the_good_ones_still_enrol(
    make_person, django_capture_on_commit_callbacks
):
    person = make_person("employee")
    images = [*photos("deepface_05", [1, 2]), photo("_no_face/01.jpg")]
    job = enrol_now(person, images, django_capture_on_commit_callbacks)
    assert job.status == EnrolmentJob.Status.DONE and job.accepted == 2
    rejected = FaceSample.objects.get(job=job, status="rejected")
    assert rejected.position == 2 and rejected.reason == "no_face"
    assert "photo 3" in job.error
    # a retry of the task is a no-op: no duplicate templates
    services.run_enrolment(job_id=str(job.pk))
    EnrolmentJob.objects.filter(pk=job.pk).update(status="running")
    services.run_enrolment(job_id=str(job.pk))
    assert FaceTemplate.objects.filter(person=person).count() == 2


@pytest.fixture
def enrolled(make_person, django_capture_on_commit_callbacks):
    people = {}
    for identity in ("deepface_01", "deepface_02", "deepface_03", "deepface_10"):
        person = make_person("employee", display_name=identity)
        enrol_now(person, photos(identity, [1, 2, 3]), django_capture_on_commit_callbacks)
        people[identity] = person
    return people


def test_identify_finds_the_right_person_and_nobody_for_a_stranger(client, enrolled, kiosk):
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    for identity, person in enrolled.items():
        answer = client.post(
            "/api/biometrics/identify/",
            {"image": upload("p.jpg", photo(f"{identity}/4.jpg"))},
            **auth,
        ).json()
        assert answer["person"] is not None, (identity, answer)
        assert answer["person"]["id"] == person.pk
    for stranger in ("deepface_04/1.jpg", "Aaron_Sorkin/1.jpg", "deepface_12/1.jpg"):
        answer = client.post(
            "/api/biometrics/identify/", {"image": upload("s.jpg", photo(stranger))}, **auth
        ).json()
        assert answer["match"] is False and answer["person"] is None, (stranger, answer)


def test_offboarding_removes_a_person_from_identify_at_once(client, enrolled, kiosk):
    from accounts import services as accounts_services

    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    probe = {"image": upload("p.jpg", photo("deepface_01/4.jpg"))}
    first = client.post("/api/biometrics/identify/", probe, **auth).json()
    assert first["person"]["id"] == enrolled["deepface_01"].pk
    rebuilds = services.gallery_cache.rebuilds
    accounts_services.offboard_person(person=enrolled["deepface_01"])
    assert not FaceTemplate.objects.filter(person=enrolled["deepface_01"]).exists()
    probe = {"image": upload("p.jpg", photo("deepface_01/4.jpg"))}
    after = client.post("/api/biometrics/identify/", probe, **auth).json()
    assert after["person"] is None
    assert services.gallery_cache.rebuilds == rebuilds + 1


def test_a_gallery_loaded_before_another_process_deletes_templates_is_rebuilt(enrolled):
    # Another process deletes rows and bumps the version straight in the database.
    probe = photo("deepface_02/4.jpg")
    assert services.identify_face(image=probe).person == enrolled["deepface_02"]
    loaded = services.gallery_cache.gallery
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM biometrics_facetemplate WHERE person_id = %s", [enrolled["deepface_02"].pk]
        )
        cursor.execute("UPDATE biometrics_gallerystate SET version = version + 1")
    assert services.identify_face(image=probe).person is None
    assert services.gallery_cache.gallery is not loaded


def test_the_gallery_is_not_rebuilt_per_request(enrolled):
    services.identify_face(image=photo("deepface_03/4.jpg"))
    rebuilds = services.gallery_cache.rebuilds
    for _ in range(3):
        services.identify_face(image=photo("deepface_03/5.jpg"))
    assert services.gallery_cache.rebuilds == rebuilds


def test_templates_are_ciphertext_in_the_database(enrolled):
    template = FaceTemplate.objects.filter(person=enrolled["deepface_01"]).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT embedding FROM biometrics_facetemplate WHERE id = %s", [template.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert template.embedding_ciphertext not in raw
    vector = template.embedding
    assert vector.shape == (128,) and abs(float((vector**2).sum()) - 1.0) < 1e-3


def test_a_wrong_key_fails_loudly_instead_of_returning_garbage(enrolled, settings):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError):
        FaceTemplate.objects.first()


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def bad_inputs(shared):
    face = Image.open(shared / "faces" / "deepface_02" / "4.jpg").convert("RGB")
    tiny = face.resize((face.width // 12, face.height // 12))
    return {
        "corrupt": (photo("deepface_02/4.jpg")[:2000], 400, "corrupt_image"),
        "empty": (b"", 400, "empty_file"),
        "huge": (b"\xff\xd8" + b"0" * (11 * 1024 * 1024), 413, "image_too_large"),
        "not_an_image": (b"%PDF-1.4 this is not a picture", 400, "corrupt_image"),
        "no_face": (photo("_no_face/01.jpg"), 422, "no_face"),
        "several_faces": (photo("_multi_face/05.jpg"), 422, "multiple_faces"),
        "dark": (_jpeg(face.point(lambda v: v * 0.12)), 422, "poor_quality"),
        "tiny": (_jpeg(tiny), 422, None),  # too small or no face, both say "move closer"
    }


@pytest.mark.parametrize(
    "case", ["corrupt", "empty", "huge", "not_an_image", "no_face", "several_faces", "dark", "tiny"]
)
def test_bad_images_get_a_clear_status_and_reason(client, enrolled, kiosk, bad_inputs, case):
    data, status, code = bad_inputs[case]
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    for url, extra in (
        ("/api/biometrics/identify/", {}),
        ("/api/biometrics/verify/", {"person": enrolled["deepface_02"].pk}),
    ):
        response = client.post(url, {"image": upload("x.jpg", data), **extra}, **auth)
        assert response.status_code == status, (url, response.content)
        body = response.json()
        if code:
            assert body["code"] == code
        else:
            assert body["code"] in ("poor_quality", "no_face")
        assert body["detail"]


def test_verify_of_unknown_person_and_person_without_templates(client, make_person, kiosk):
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    image = photo("deepface_02/4.jpg")
    unknown = client.post(
        "/api/biometrics/verify/", {"person": 999999, "image": upload("x.jpg", image)}, **auth
    )
    # A kiosk cannot tell an unknown person from one without templates (security finding 6).
    assert unknown.status_code == 200 and unknown.json()["match"] is False
    fresh = make_person("employee")
    none = client.post(
        "/api/biometrics/verify/", {"person": fresh.pk, "image": upload("x.jpg", image)}, **auth
    )
    assert (none.status_code, none.json()) == (unknown.status_code, unknown.json())
    missing = client.post("/api/biometrics/verify/", {"person": fresh.pk}, **auth)
    assert missing.status_code == 400 and missing.json()["code"] == "missing_image"


def test_enrolment_refuses_wrong_counts_and_bad_files_and_stores_nothing(client, make_person):
    from biometrics import privacy

    admin, person = make_person("admin"), make_person("employee")
    privacy.give_consent(person=person, channel="paper")
    client.force_login(admin)
    two = client.post(
        ENROL_URL,
        {"person": person.pk, "images": [upload("a.jpg", photo("deepface_02/1.jpg"))] * 2},
    )
    assert two.status_code == 400
    corrupt = client.post(
        ENROL_URL,
        {
            "person": person.pk,
            "images": [
                upload(f"{n}.jpg", d)
                for n, d in enumerate([*photos("deepface_02", [1, 2]), b"junk"])
            ],
        },
    )
    assert corrupt.status_code == 400 and corrupt.json()["code"] == "corrupt_image"
    assert not EnrolmentJob.objects.exists() and not FaceSample.objects.exists()


def test_biometric_endpoints_check_roles(client, people, kiosk, door_device):
    image = photo("deepface_02/4.jpg")
    employee, other = people["employee"], people["manager"]
    client.force_login(employee)
    # a person may not verify or enrol somebody else, nor identify, nor revoke
    assert (
        client.post(
            "/api/biometrics/verify/", {"person": other.pk, "image": upload("x.jpg", image)}
        ).status_code
        == 403
    )
    assert (
        client.post("/api/biometrics/identify/", {"image": upload("x.jpg", image)}).status_code
        == 403
    )
    assert client.delete(f"/api/biometrics/people/{other.pk}/templates/").status_code == 403
    enrol_other = client.post(
        ENROL_URL,
        {"person": other.pk, "images": [upload(f"{n}.jpg", image) for n in range(3)]},
    )
    assert enrol_other.status_code == 403
    # a guard may enrol a visitor but not an employee
    client.force_login(people["guard"])
    assert (
        client.post(
            ENROL_URL,
            {"person": employee.pk, "images": [upload(f"{n}.jpg", image) for n in range(3)]},
        ).status_code
        == 403
    )
    # devices cannot enrol or revoke
    client.logout()
    for device in (kiosk, door_device):
        auth = {"HTTP_AUTHORIZATION": f"Device {device.token}"}
        assert client.post(ENROL_URL, {}, **auth).status_code == 403
        assert (
            client.delete(f"/api/biometrics/people/{employee.pk}/templates/", **auth).status_code
            == 403
        )
    assert (
        client.post("/api/biometrics/identify/", {"image": upload("x.jpg", image)}).status_code
        == 401
    )


def test_admin_deletes_templates_and_sees_counts_never_embeddings(client, enrolled, people):
    person = enrolled["deepface_03"]
    client.force_login(people["admin"])
    summary = client.get(f"/api/biometrics/people/{person.pk}/templates/").json()
    assert summary["count"] == 3 and 0 < summary["mean_quality"] <= 1
    page = client.get("/admin/biometrics/enrolmentperson/")
    assert page.status_code == 200
    template = FaceTemplate.objects.filter(person=person).first()
    detail = client.get(f"/admin/biometrics/facetemplate/{template.pk}/change/")
    assert detail.status_code == 200
    assert b"gAAAAA" not in detail.content and b"embedding" not in detail.content.lower()
    deleted = client.delete(f"/api/biometrics/people/{person.pk}/templates/").json()
    assert deleted == {"deleted": 3}
    assert not FaceTemplate.objects.filter(person=person).exists()


def test_admin_enrols_a_person_from_uploaded_photos(
    client, people, django_capture_on_commit_callbacks
):
    from biometrics import privacy

    client.force_login(people["admin"])
    person = people["employee"]
    privacy.give_consent(person=person, channel="paper", recorded_by=people["admin"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/admin/biometrics/enrolmentjob/add/",
            {
                "person": person.pk,
                "images": [
                    upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_11", [1, 2, 3]))
                ],
            },
        )
    assert response.status_code == 302, response.content[:3000]
    job = EnrolmentJob.objects.get(person=person)
    assert job.total == 3 and job.status == "pending" and callbacks
    services.run_enrolment(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == "done" and job.accepted == 3
    bad = client.post(
        "/admin/biometrics/enrolmentjob/add/",
        {"person": person.pk, "images": [upload(f"{n}.jpg", b"junk") for n in range(3)]},
    )
    assert bad.status_code == 200, bad.status_code
    assert "Photo 1" in str(bad.context["adminform"].form.errors), bad.context[
        "adminform"
    ].form.errors


def test_analyse_gives_live_guidance(client, people):
    client.force_login(people["employee"])
    good = client.post(
        "/api/biometrics/analyse/", {"image": upload("x.jpg", photo("deepface_02/4.jpg"))}
    )
    assert good.status_code == 200 and good.json()["ok"] is True and len(good.json()["faces"]) == 1
    none = client.post(
        "/api/biometrics/analyse/", {"image": upload("x.jpg", photo("_no_face/02.jpg"))}
    )
    assert none.json()["ok"] is False and none.json()["issues"][0]["code"] == "no_face"
