"""Consent before capture, erasure that leaves nothing, retention, policy pages."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEntry
from biometrics import privacy, services
from biometrics.models import (
    BiometricConsent,
    EnrolmentJob,
    FaceSample,
    FaceTemplate,
    PolicyDocument,
)

from .biometrics_helpers import enrol_now, photo, photos, upload
from .test_access_log import site  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def _single_image_matching(settings):
    settings.FACEAUTH_LIVENESS_ENABLED = False


def test_enrolment_api_refuses_without_consent_and_accepts_after(client, make_person):
    person = make_person("employee")
    client.force_login(person)
    images = [upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_05", [1, 2, 3]))]
    refused = client.post("/api/biometrics/enrolments/", {"images": images})
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    assert not EnrolmentJob.objects.exists()
    status = client.get("/api/biometrics/consent/").json()
    assert status["given"] is False and status["current"]["version"] == 1
    given = client.post("/api/biometrics/consent/", {"version": status["current"]["version"]})
    assert given.status_code == 201
    consent = BiometricConsent.objects.get(person=person)
    assert consent.channel == "self_service" and consent.document.version == 1
    images = [upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_05", [1, 2, 3]))]
    assert client.post("/api/biometrics/enrolments/", {"images": images}).status_code == 202


def test_admin_enrolment_refuses_without_consent(client, people):
    client.force_login(people["admin"])
    images = [upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_05", [1, 2, 3]))]
    response = client.post(
        "/admin/biometrics/enrolmentjob/add/", {"person": people["employee"].pk, "images": images}
    )
    assert response.status_code == 200 and b"No biometric consent" in response.content
    assert not EnrolmentJob.objects.exists()


def test_admin_records_a_paper_release(client, people):
    client.force_login(people["admin"])
    current = privacy.current_policy(PolicyDocument.Kind.CONSENT)
    response = client.post(
        "/admin/biometrics/biometricconsent/add/",
        {"person": people["employee"].pk, "document": current.pk, "channel": "paper"},
    )
    assert response.status_code == 302
    consent = BiometricConsent.objects.get(person=people["employee"])
    assert consent.recorded_by == people["admin"] and consent.channel == "paper"


def test_publishing_a_policy_makes_a_new_version_and_the_page_shows_it(client, people):
    client.force_login(people["admin"])
    response = client.post(
        "/admin/biometrics/policydocument/add/",
        {"kind": "privacy_notice", "title": "Privacy notice", "body": "Revised text 2027."},
    )
    assert response.status_code == 302
    versions = list(
        PolicyDocument.objects.filter(kind="privacy_notice").values_list("version", flat=True)
    )
    assert sorted(versions) == [1, 2]
    client.logout()
    page = client.get("/privacy/")  # public
    assert page.status_code == 200 and b"Revised text 2027." in page.content
    assert b"Version 2" in page.content
    assert client.get("/privacy/retention/").status_code == 200


def _face_rows(person) -> dict:
    return {
        "templates": FaceTemplate.objects.filter(person=person).count(),
        "samples": FaceSample.objects.filter(person=person).count(),
        "jobs": EnrolmentJob.objects.filter(person=person).count(),
    }


def test_delete_my_face_data_leaves_nothing_in_db_cache_or_gallery(
    client, make_person, django_capture_on_commit_callbacks, settings
):
    settings.FACEAUTH_KEEP_ENROLMENT_IMAGES = True  # the strictest case: images were kept
    person = make_person("employee")
    enrol_now(person, photos("deepface_06", [1, 2, 3]), django_capture_on_commit_callbacks)
    assert services.identify_face(image=photo("deepface_06/1.jpg")).person == person
    client.force_login(person)
    for _ in range(2):  # leave throttle counters keyed by the person in the cache
        client.post("/api/biometrics/challenge/")
    assert cache.get(f"limit:throttle-face_device:user:{person.pk}:n") is not None
    erased = client.delete("/api/biometrics/me/face-data/").json()["erased"]
    assert erased["templates"] == 3 and erased["samples"] == 3
    assert _face_rows(person) == {"templates": 0, "samples": 0, "jobs": 0}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM biometrics_facesample WHERE image IS NOT NULL")
        assert cursor.fetchone()[0] == 0
    assert cache.get(f"limit:throttle-face_device:user:{person.pk}:n") is None
    assert services.identify_face(image=photo("deepface_06/1.jpg")).person is None
    entry = AuditEntry.objects.get(action="face.erase", target_id=str(person.pk))
    assert entry.details["templates"] == 3 and "embedding" not in str(entry.details)


def test_withdrawing_consent_erases_and_blocks_new_enrolment(
    client, make_person, django_capture_on_commit_callbacks
):
    person = make_person("employee")
    enrol_now(person, photos("deepface_06", [1, 2, 3]), django_capture_on_commit_callbacks)
    client.force_login(person)
    response = client.delete("/api/biometrics/consent/")
    assert response.json()["erased"]["templates"] == 3
    assert _face_rows(person)["templates"] == 0
    assert not privacy.has_consent(person)
    with pytest.raises(privacy.ConsentRequired):
        services.start_enrolment(person=person, images=photos("deepface_06", [1, 2, 3]))


@pytest.mark.calendar
def test_retention_job_deletes_unused_templates_and_is_idempotent(
    make_person, django_capture_on_commit_callbacks, settings
):
    settings.FACEAUTH_TEMPLATE_RETENTION_DAYS = 30
    stale, fresh = make_person("employee"), make_person("employee")
    enrol_now(stale, photos("deepface_06", [1, 2, 3]), django_capture_on_commit_callbacks)
    enrol_now(fresh, photos("deepface_05", [1, 2, 3]), django_capture_on_commit_callbacks)
    now = timezone.now()
    FaceTemplate.objects.filter(person=stale).update(last_used_at=now - timedelta(days=31))
    FaceTemplate.objects.filter(person=fresh).update(last_used_at=now - timedelta(days=29))
    first = privacy.purge_expired(now=now)
    assert first["templates"] == 3 and first["people"] == 1
    assert _face_rows(stale)["templates"] == 0 and _face_rows(fresh)["templates"] == 3
    again = privacy.purge_expired(now=now)
    assert again["templates"] == 0 and again["people"] == 0
    # frozen time moves on: the fresh person's templates expire too
    later = privacy.purge_expired(now=now + timedelta(days=2))
    assert later["templates"] == 3
    assert AuditEntry.objects.filter(action="retention.face").count() == 3


def test_a_match_refreshes_last_use(make_person, django_capture_on_commit_callbacks):
    person = make_person("employee")
    enrol_now(person, photos("deepface_06", [1, 2, 3]), django_capture_on_commit_callbacks)
    assert not FaceTemplate.objects.filter(person=person, last_used_at__isnull=False).exists()
    services.verify_person(person=person, image=photo("deepface_06/1.jpg"))
    assert FaceTemplate.objects.filter(person=person, last_used_at__isnull=False).count() == 3


def test_retention_longer_than_three_years_is_refused():
    import subprocess
    import sys

    from .conftest import REPO

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "FACEAUTH_TEMPLATE_RETENTION_DAYS": "1200"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "3 years" in result.stderr


def test_key_rotation_re_encrypts_every_template_under_the_new_key(
    make_person, django_capture_on_commit_callbacks, settings
):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from biometrics.fields import DecryptionError

    old, new = settings.FIELD_ENCRYPTION_KEY[0], Fernet.generate_key().decode()
    person = make_person("employee")
    enrol_now(person, photos("deepface_06", [1, 2, 3]), django_capture_on_commit_callbacks)
    before = {t.pk: t.embedding for t in FaceTemplate.objects.all()}
    settings.FIELD_ENCRYPTION_KEY = [new, old]  # during the rotation both decrypt
    call_command("rotate_field_keys", batch=2)
    call_command("rotate_field_keys")  # resumable: a second run has nothing left to do
    settings.FIELD_ENCRYPTION_KEY = [new]
    after = {t.pk: t.embedding for t in FaceTemplate.objects.all()}
    assert before.keys() == after.keys() and len(after) == 3
    for pk, vector in before.items():
        assert (after[pk] == vector).all()
    settings.FIELD_ENCRYPTION_KEY = [old]
    with pytest.raises(DecryptionError):
        list(FaceTemplate.objects.all())


def test_every_page_links_the_public_policies(client, db, settings):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/privacy/"' in page and 'href="/privacy/retention/"' in page
    assert settings.DISPLAY_TIME_ZONE in page


def test_the_subject_access_export_includes_door_events_and_passes(client, site, people):  # noqa: F811
    """One export for every app: attendance's part and access control's part together."""
    import json

    from django.urls import reverse

    from access_control import services as access
    from access_control.models import AccessEvent

    employee = people["employee"]
    access.record_event(
        access_point=site["entrance"], person=employee, granted=True, reason="rule_allows"
    )
    access.record_event(
        access_point=site["entrance"], person=employee, granted=False, reason="not_recognised"
    )
    access.record_event(
        access_point=site["entrance"], person=people["guard"], granted=True, reason="rule_allows"
    )
    client.force_login(employee)
    response = client.get(reverse("subject-access-export"))
    assert response.status_code == 200 and response.request["PATH_INFO"] == (
        "/attendance/me/export.json"
    )
    data = json.loads(response.content)
    assert data["format"] == "faceauth.subject_access.v2"
    assert [(e["door"], e["decision"], e["reason"]) for e in data["access_events"]] == [
        (site["entrance"].name, "granted", "rule_allows"),
        (site["entrance"].name, "denied", "not_recognised"),
    ]
    assert data["passes"] == [] and data["clock_events"] == []
    assert AccessEvent.objects.count() == 3  # the guard's event is not in the employee's export
    entry = AuditEntry.objects.get(action="export.subject_access")
    assert entry.details["access_events"] == 2
