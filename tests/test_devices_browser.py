"""Devices and approvals in real headless Chromium: an admin adds a door and pairs a second
browser by its one-time link, which lands on the door page and checks a real face; a manager
approves a correction with a note."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access_control.models import AccessPoint, AccessRule
from attendance import services as attendance_services

from .biometrics_helpers import clip_frames, enrol_now
from .conftest import ARTIFACTS, SHARED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services as biometrics_services

    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"
    settings.FACEAUTH_LIVENESS_ENABLED = False
    monkeypatch.setattr(biometrics_services, "gallery_cache", biometrics_services._GalleryCache())


def sign_in(context, live_server, user, next_url: str):
    page = context.new_page()
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")
    return page


def test_admin_pairs_a_door_by_link_and_the_screen_checks_a_face(
    chromium, live_server, people, make_person, django_capture_on_commit_callbacks, monkeypatch
):
    from biometrics import tasks

    monkeypatch.setattr(tasks.process_enrolment, "delay", lambda *a, **k: None)
    person = make_person("employee", display_name="Oscar Third")
    images = [(SHARED / "video" / "person_03_still.jpg").read_bytes()]
    images += clip_frames("person_03_live.mp4", 3)
    job = enrol_now(person, images, django_capture_on_commit_callbacks)
    assert job.status == "done", job.error

    admin = sign_in(chromium(), live_server, people["admin"], reverse("home"))
    assert admin.locator("#checklist li.todo[data-item='door']").count() == 1
    admin.screenshot(path=str(ARTIFACTS / "home-checklist.png"), full_page=True)
    admin.goto(f"{live_server.url}{reverse('devices:add')}?kind=door")
    admin.fill("#id_name", "Main entrance")
    admin.fill("#id_location", "Ground floor")
    admin.fill("#id_new_area", "Building A")
    admin.click("button:text('Add device')")
    admin.wait_for_url("**/devices/*/")
    point = AccessPoint.objects.get(name="Main entrance")
    rule = AccessRule.objects.create(name="Employees in Building A", role="employee")
    rule.areas.set([point.area])

    admin.click("button:text('Pair a screen')")
    admin.wait_for_selector("#pairing-link svg")
    link = admin.get_attribute("#pairing-url", "href")
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "devices-pairing-link.png"), full_page=True)

    # The door screen: a second browser, nobody signed in, opens the link and confirms.
    screen = chromium("person_03_live_30fps.mjpeg").new_page()
    screen.goto(link)
    screen.click("#pair-confirm")
    screen.wait_for_url(f"**{reverse('access:door', args=[point.pk])}")
    screen.wait_for_selector("#verdict.granted", timeout=45_000)
    assert "Oscar" in screen.inner_text("#verdict")
    screen.screenshot(path=str(ARTIFACTS / "devices-paired-door-granted.png"))

    # The link was single use; the admin's list shows the door as seen.
    again = chromium().new_page()
    response = again.goto(link)
    assert response.status == 410
    admin.goto(f"{live_server.url}{reverse('devices:list')}")
    row = admin.inner_text("tr:has-text('Main entrance')")
    assert "Never" not in row and "Building A" in row
    admin.goto(f"{live_server.url}{reverse('home')}")
    assert admin.locator("#checklist li.done[data-item='door']").count() == 1
    assert admin.locator("#checklist li.done[data-item='rule']").count() == 1
    assert admin.locator("#checklist li.done[data-item='enrolled']").count() == 1


def test_manager_approves_a_correction_in_the_app(chromium, live_server, people):
    correction = attendance_services.request_correction(
        person=people["employee"],
        requested_by=people["employee"],
        direction="out",
        timestamp=timezone.now() - timedelta(hours=3),
        reason="Forgot to clock out after the late shift",
    )
    page = sign_in(chromium(), live_server, people["manager"], reverse("home"))
    page.click(".tiles a:text('Approvals')")
    page.wait_for_url(f"**{reverse('attendance:approvals')}")
    row = f'#pending tr[data-correction="{correction.pk}"]'
    assert "Forgot to clock out" in page.inner_text(row)
    page.fill(f"{row} textarea", "Confirmed with the shift lead.")
    page.screenshot(path=str(ARTIFACTS / "approvals.png"), full_page=True)
    page.click(f"{row} button[value=approve]")
    page.wait_for_selector(f'#decided tr[data-correction="{correction.pk}"]')
    assert "Approved" in page.inner_text(f'#decided tr[data-correction="{correction.pk}"]')
    assert "Nothing waits for you." in page.inner_text("#pending")
    page.screenshot(path=str(ARTIFACTS / "approvals-decided.png"), full_page=True)
    correction.refresh_from_db()
    assert correction.status == "approved" and correction.decided_by == people["manager"]
    assert correction.decision_note == "Confirmed with the shift lead."
