"""The people directory, the CSV import and an enrolment link on a phone, in headless Chromium
(the link's camera is a clip from ../shared; the face pipeline is the real one)."""

import pytest
from django.urls import reverse

from accounts.models import User
from biometrics import enrolment_links, privacy
from biometrics.models import EnrolmentLink, PolicyDocument

from .conftest import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}
CSV = (
    "employee_number,display_name,email,role,department\n"
    "P100,Paula Import,paula@example.com,employee,ops\n"
    "P101,Peter Import,,guard,ops\n"
    "P102,Vince Visitor,,visitor,ops\n"  # a visitor needs a validity window
    "P103,Dana Nowhere,,employee,nowhere\n"
)


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services

    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    settings.FACEAUTH_LIVENESS_ENABLED = False
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


@pytest.fixture
def task_runner(request):
    from .conftest import USES_SERVICES

    return request.getfixturevalue("celery_worker") if USES_SERVICES else None


def signed_in(chromium, live_server, client, person, video=None):
    client.force_login(person)
    context = chromium(video)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_admin_adds_a_person_and_imports_a_csv_with_good_and_bad_rows(
    chromium, live_server, client, make_person, department, tmp_path
):
    admin = make_person("admin", department=department, display_name="Ada Admin")
    make_person("employee", department=department, display_name="Alice Example")
    page = signed_in(chromium, live_server, client, admin)
    page.goto(live_server.url + reverse("home"))
    # The menu names the directory (collapsed or not, that is the layout's business).
    assert page.locator("nav a[href='/people/']").count() == 1
    page.goto(live_server.url + reverse("people:list"))
    page.wait_for_selector("table.people")
    assert "Alice Example" in page.inner_text("table.people")
    page.fill("input[name=q]", "alice")
    page.click("form.filters button[type=submit]")
    assert page.inner_text("#people-count").startswith("1 ")
    page.screenshot(path=str(ARTIFACTS / "people-directory.png"), full_page=True)

    # Add a person: the answer is their one-time enrolment link and its QR code.
    page.click("text=Add a person")
    page.fill("#id_username", "nina")
    page.fill("#id_display_name", "Nina New")
    page.fill("#id_employee_number", "E0900")
    page.select_option("#id_role", "employee")
    page.select_option("#id_department", str(department.pk))
    page.click("main form button[type=submit]")
    page.wait_for_selector("#new-link .qr svg")
    url = page.input_value("#link-url")
    assert "/enrol/" in url and EnrolmentLink.objects.filter(person__username="nina").exists()
    page.screenshot(path=str(ARTIFACTS / "people-enrolment-link.png"), full_page=True)

    # Import: the preview shows each bad row's error and saves nothing.
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(CSV)
    page.goto(live_server.url + reverse("people:import"))
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("main form button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert "2 new, 0 changed, 0 unchanged, 2 with errors" in page.inner_text("#import-summary")
    errors = page.inner_text("#import-rows")
    assert "validity window" in errors and "Unknown department" in errors
    assert not User.objects.filter(employee_number__startswith="P1").exists()
    page.screenshot(path=str(ARTIFACTS / "people-import-preview.png"), full_page=True)

    page.click("#confirm-import")
    page.wait_for_selector("#import-summary:has-text('Imported')")
    assert set(
        User.objects.filter(employee_number__startswith="P1").values_list(
            "employee_number", flat=True
        )
    ) == {"P100", "P101"}

    # The same file again: nothing to change.
    page.goto(live_server.url + reverse("people:import"))
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("main form button[type=submit]")
    page.wait_for_selector("#import-summary")
    assert "0 new, 0 changed, 2 unchanged, 2 with errors" in page.inner_text("#import-summary")
    page.click("#confirm-import")
    page.wait_for_selector("#import-summary:has-text('Imported')")
    assert User.objects.filter(employee_number__startswith="P1").count() == 2


def test_manager_sees_the_directory_read_only(
    chromium, live_server, client, make_person, department
):
    manager = make_person("manager", department=department)
    make_person("employee", department=department, display_name="Erik Employee")
    page = signed_in(chromium, live_server, client, manager)
    page.goto(live_server.url + reverse("people:list"))
    assert "Erik Employee" in page.inner_text("table.people")
    assert page.locator("text=Add a person").count() == 0
    assert page.locator("text=Import CSV").count() == 0


def test_enrolment_link_on_a_phone_with_the_webcam_stores_templates(
    chromium, live_server, make_person, department, task_runner
):
    privacy.publish_policy(
        kind=PolicyDocument.Kind.CONSENT,
        title="Consent to face recognition",
        body="FaceAuth makes an encrypted numeric template of your face.\n\nWithdraw any time.",
    )
    admin = make_person("admin", department=department)
    person = make_person("employee", department=department, display_name="Oscar Third")
    _, token = enrolment_links.issue_link(person=person, actor=admin)

    context = chromium("person_03_live_30fps.mjpeg")
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("enrol-link", args=[token]))
    page.wait_for_selector("#consent-form:not([hidden])")
    assert "encrypted numeric template" in page.inner_text("#consent-text")
    assert no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "people-enrol-link-phone-consent.png"), full_page=True)
    page.click("#consent-agree")
    page.wait_for_selector("section[data-step=intro]:not([hidden])")
    assert page.is_hidden("#consent-status")  # the link does not offer withdrawal
    page.click("section[data-step=intro] [data-next]")
    page.wait_for_selector("#done-message:has-text('Your face is enrolled')", timeout=90_000)
    assert no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "people-enrol-link-phone-done.png"), full_page=True)
    assert person.face_templates.count() >= 3
    assert privacy.active_consent(person).channel == "self_service"

    # Single use: opening it again says so.
    page.goto(live_server.url + reverse("enrol-link", args=[token]))
    assert "not valid any more" in page.inner_text("#link-error")
