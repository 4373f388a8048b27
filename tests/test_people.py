"""The people directory (/people/), enrolment links and the CSV import, through the test client.

The enrolment-link enrolments run the real face pipeline on the photos in ../shared."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts import one_time_links
from accounts.models import AuditEntry, Department, User
from biometrics import enrolment_links, privacy
from biometrics.models import EnrolmentJob, EnrolmentLink, PolicyDocument

from .biometrics_helpers import clip_frames, enrol_now, upload
from .conftest import SHARED

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_person, department):
    return make_person("admin", department=department)


@pytest.fixture
def other_department(db):
    return Department.objects.create(name="Logistics", code="log")


@pytest.fixture
def consent_text(db):
    return privacy.publish_policy(
        kind=PolicyDocument.Kind.CONSENT, title="Consent", body="Face templates, encrypted."
    )


def person_03_images() -> list[bytes]:
    return [
        (SHARED / "video" / "person_03_still.jpg").read_bytes(),
        *clip_frames("person_03_live.mp4", 3),
    ]


def actions(**filters) -> list[str]:
    return list(AuditEntry.objects.filter(**filters).values_list("action", flat=True))


# ------------------------------------------------------------------------ directory and roles


def test_admin_directory_shows_role_enrolment_consent_and_searches(
    client, admin, make_person, department
):
    enrolled = make_person("employee", department=department, display_name="Alice Enrolled")
    privacy.give_consent(person=enrolled, channel="paper")
    make_person("employee", department=department, display_name="Bob Plain")
    client.force_login(admin)
    page = client.get(reverse("people:list")).content.decode()
    assert "Alice Enrolled" in page and "Bob Plain" in page
    assert "Add a person" in page and "Not enrolled" in page and "Given" in page
    found = client.get(reverse("people:list"), {"q": "alice"}).content.decode()
    assert "Alice Enrolled" in found and "Bob Plain" not in found


def test_manager_reads_only_their_department(client, make_person, department, other_department):
    manager = make_person("manager", department=department)
    mine = make_person("employee", department=department, display_name="Mine Person")
    theirs = make_person("employee", department=other_department, display_name="Theirs Person")
    client.force_login(manager)
    page = client.get(reverse("people:list")).content.decode()
    assert "Mine Person" in page and "Theirs Person" not in page
    assert "Add a person" not in page and "Read-only" in page
    assert client.get(reverse("people:detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("people:detail", args=[theirs.pk])).status_code == 404
    export = b"".join(client.get(reverse("people:export")).streaming_content).decode()
    assert "Mine Person" in export and "Theirs Person" not in export
    # Read-only: every change is refused, and nothing changed.
    assert client.get(reverse("people:add")).status_code == 403
    assert client.get(reverse("people:edit", args=[mine.pk])).status_code == 403
    assert client.post(reverse("people:offboard", args=[mine.pk])).status_code == 403
    assert client.post(reverse("people:link", args=[mine.pk])).status_code == 403
    assert client.get(reverse("people:import")).status_code == 403
    mine.refresh_from_db()
    assert mine.is_active and not EnrolmentLink.objects.exists()


def test_nobody_offboards_themselves_and_admins_offboard_and_reactivate(
    client, admin, make_person, department
):
    person = make_person("employee", department=department)
    client.force_login(admin)
    client.post(reverse("people:offboard", args=[admin.pk]))
    admin.refresh_from_db()
    assert admin.is_active
    client.post(reverse("people:offboard", args=[person.pk]))
    person.refresh_from_db()
    assert not person.is_active
    client.post(reverse("people:reactivate", args=[person.pk]))
    person.refresh_from_db()
    assert person.is_active
    assert actions(target_id=str(person.pk), action__startswith="person.")[:2] == [
        "person.reactivate",
        "person.offboard",
    ]


def test_admin_edits_a_person_through_the_service(client, admin, make_person, department):
    person = make_person("employee", department=department, display_name="Old Name")
    client.force_login(admin)
    response = client.post(
        reverse("people:edit", args=[person.pk]),
        {
            "role": "guard",
            "display_name": "New Name",
            "email": "new@example.com",
            "employee_number": person.employee_number,
            "department": department.pk,
            "job_title": "Night guard",
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.display_name, person.role, person.first_name) == ("New Name", "guard", "New")
    assert person.groups.filter(name="Guard").exists()
    entry = AuditEntry.objects.filter(action="person.update").get()
    assert set(entry.details["fields"]) == {"display_name", "email", "job_title", "role"}


# ------------------------------------------------------------------------ enrolment links


def test_adding_a_person_hands_out_a_one_time_link_with_its_qr_code(client, admin, department):
    client.force_login(admin)
    response = client.post(
        reverse("people:add"),
        {
            "username": "nora",
            "display_name": "Nora New",
            "employee_number": "E0777",
            "role": "employee",
            "department": department.pk,
        },
    )
    assert response.status_code == 201
    page = response.content.decode()
    person = User.objects.get(username="nora")
    link = EnrolmentLink.objects.get(person=person)
    assert "<svg" in page and "/enrol/" in page and "<script" not in page.split("<svg")[1][:2000]
    url = page.split('id="link-url" type="text" readonly value="')[1].split('"')[0]
    assert url.startswith("http://testserver/enrol/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert link.token_hash == one_time_links.hash_token(token) and token not in str(link.__dict__)
    assert actions(target_id=str(person.pk))[:1] == ["enrolment_link.issue"]
    assert "person.onboard" in actions(target_id=str(person.pk))


def test_enrolment_link_is_single_use_and_runs_the_identity_check(
    client,
    admin,
    make_person,
    department,
    consent_text,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from biometrics import services

    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())
    images = person_03_images()
    # Somebody else is already enrolled with this face.
    enrol_now(
        make_person("employee", department=department), images, django_capture_on_commit_callbacks
    )
    person = make_person("employee", department=department, display_name="Link Person")
    _, token = enrolment_links.issue_link(person=person, actor=admin)

    assert client.get(reverse("enrol-link", args=[token])).status_code == 200
    consent = client.get(reverse("enrol-link-consent", args=[token])).json()
    assert consent["given"] is False and consent["current"]["version"] == consent_text.version
    # No photo before consent.
    photos = {"images": [upload(f"{i}.jpg", data) for i, data in enumerate(images)]}
    refused = client.post(reverse("enrol-link-photos", args=[token]), photos)
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    given = client.post(reverse("enrol-link-consent", args=[token]), {"version": 1})
    assert given.status_code == 201
    assert privacy.active_consent(person).channel == "self_service"

    photos = {"images": [upload(f"{i}.jpg", data) for i, data in enumerate(images)]}
    # The job runs here, whatever the Celery mode (with REDIS_URL it would wait for a worker).
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("enrol-link-photos", args=[token]), photos)
    assert response.status_code == 202
    job = EnrolmentJob.objects.get(person=person)
    services.run_enrolment(job_id=str(job.pk))
    followed = client.get(reverse("enrol-link-job", args=[token, job.pk])).json()
    # The duplicate-identity check ran: the face is someone else's, so it waits for review.
    assert followed["status"] == "held"
    assert job.__class__.objects.get(pk=job.pk).hold_reason == "matches_other_person"

    # Used up: the page and every call refuse it.
    assert client.get(reverse("enrol-link", args=[token])).status_code == 410
    again = client.post(reverse("enrol-link-photos", args=[token]), {"images": []})
    assert again.status_code == 410
    assert {
        "enrolment_link.issue",
        "enrolment_link.open",
        "enrolment_link.use",
        "enrolment_link.refused",
        "enrolment.hold",
    } <= set(actions(target_id=str(person.pk)))


def test_enrolment_link_expires(client, admin, make_person, _fixed_clock):
    person = make_person("employee")
    _, token = enrolment_links.issue_link(person=person, actor=admin)
    _fixed_clock.shift(enrolment_links.ttl() + timedelta(minutes=1))
    assert client.get(reverse("enrol-link", args=[token])).status_code == 410
    assert client.get(reverse("enrol-link-consent", args=[token])).status_code == 410
    refused = AuditEntry.objects.filter(action="enrolment_link.refused")
    assert [e.outcome for e in refused] == ["expired", "expired"]


def test_enrolment_link_revoked_by_admin_or_by_a_new_link(client, admin, make_person):
    person = make_person("employee")
    first, first_token = enrolment_links.issue_link(person=person, actor=admin)
    second, second_token = enrolment_links.issue_link(person=person, actor=admin)
    assert client.get(reverse("enrol-link", args=[first_token])).status_code == 410
    client.force_login(admin)
    response = client.post(reverse("people:link-revoke", args=[person.pk, second.pk]))
    assert response.status_code == 302
    client.logout()
    assert client.get(reverse("enrol-link", args=[second_token])).status_code == 410
    assert client.get(reverse("enrol-link", args=["not-a-token"])).status_code == 404
    revokes = AuditEntry.objects.filter(action="enrolment_link.revoke").order_by("at", "id")
    assert [e.outcome for e in revokes] == ["replaced", "revoked"]


def test_offboarded_person_link_is_refused(client, admin, make_person):
    from accounts import services

    person = make_person("employee")
    _, token = enrolment_links.issue_link(person=person, actor=admin)
    services.offboard_person(person=person, actor=admin)
    assert client.get(reverse("enrol-link", args=[token])).status_code == 410


# ------------------------------------------------------------------------ CSV import / export

CSV = (
    "employee_number,display_name,email,role,department,valid_from,valid_until\n"
    "H001,Hanna Import,hanna@example.com,employee,ops,,\n"
    "H002,Hugo Import,,manager,Operations,,\n"
    "H003,Vic Visitor,,visitor,ops,,\n"  # a visitor without a window
    ",No Number,,employee,,,\n"
    "H004,Dora Dept,,employee,nowhere,,\n"
    "H005,Bad Mail,not-an-email,employee,,,\n"
)


def _upload_csv(client, text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("people:import"),
        {"file": SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")},
    )


def test_import_previews_then_imports_good_rows_and_reimport_changes_nothing(
    client, admin, department
):
    client.force_login(admin)
    preview = _upload_csv(client, CSV)
    page = preview.content.decode()
    assert preview.status_code == 200 and "Preview" in page
    assert "2 new, 0 changed, 0 unchanged, 4 with errors" in page
    assert "validity window" in page and "Unknown department" in page and "valid email" in page
    assert not User.objects.filter(employee_number__startswith="H").exists()
    assert not AuditEntry.objects.filter(action="person.onboard", actor=admin).exists()

    digest = page.split('name="confirm" value="')[1].split('"')[0]
    done = client.post(reverse("people:import"), {"confirm": digest}).content.decode()
    assert "Imported" in done
    hanna = User.objects.get(employee_number="H001")
    assert hanna.department == department and hanna.username == "h001"
    assert User.objects.get(employee_number="H002").groups.filter(name="Manager").exists()
    assert User.objects.filter(employee_number__startswith="H").count() == 2
    assert AuditEntry.objects.get(action="people.import").details["create"] == 2

    again = _upload_csv(client, CSV).content.decode()
    assert "0 new, 0 changed, 2 unchanged, 4 with errors" in again
    digest = again.split('name="confirm" value="')[1].split('"')[0]
    client.post(reverse("people:import"), {"confirm": digest})
    assert not AuditEntry.objects.filter(action="person.update").exists()

    changed = _upload_csv(
        client, "employee_number,display_name,job_title\nH001,Hanna Import,Chef\n"
    )
    assert "0 new, 1 changed" in changed.content.decode()


def test_export_reimports_as_it_is(client, admin, make_person, department):
    make_person("visitor", department=department, display_name="Vera Visit")
    client.force_login(admin)
    export = b"".join(client.get(reverse("people:export")).streaming_content).decode()
    assert export.startswith("employee_number,username,display_name")
    page = _upload_csv(client, export).content.decode()
    assert "0 new, 0 changed, 2 unchanged, 0 with errors" in page
    assert AuditEntry.objects.filter(action="people.export").exists()


def test_import_refuses_a_file_without_the_key_column(client, admin):
    client.force_login(admin)
    response = _upload_csv(client, "name,email\nA,a@example.com\n")
    assert response.status_code == 400 and "Missing column" in response.content.decode()


def test_an_hr_export_of_300_people_imports_in_one_go(client, admin, department):
    """The issue's size: 300 people from one file, previewed, then all onboarded."""
    role = {True: "manager", False: "employee"}
    rows = "".join(
        f"E{n:04d},Person {n:03d},p{n}@example.com,{role[n % 50 == 0]},ops,,\n" for n in range(300)
    )
    client.force_login(admin)
    preview = _upload_csv(client, CSV.splitlines(keepends=True)[0] + rows).content.decode()
    assert "300 new, 0 changed, 0 unchanged, 0 with errors" in preview
    digest = preview.split('name="confirm" value="')[1].split('"')[0]
    assert "Imported" in client.post(reverse("people:import"), {"confirm": digest}).content.decode()
    imported = User.objects.filter(employee_number__startswith="E")
    assert imported.count() == 300 and imported.filter(department=department).count() == 300
    assert imported.filter(groups__name="Manager").count() == 6
