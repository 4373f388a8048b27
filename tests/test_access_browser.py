"""The guard console and the door page in real headless Chromium."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from access_control import services
from access_control.models import AccessPoint, AccessRule, Alert, Area, SecurityLevel

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
    # A fresh gallery per test: flushed databases restart the gallery version at 1.
    monkeypatch.setattr(biometrics_services, "gallery_cache", biometrics_services._GalleryCache())


@pytest.fixture
def site(db):
    from accounts import services as accounts_services

    def door(name: str, area: Area, **kw) -> AccessPoint:
        device, token = accounts_services.register_device(name=name, kind="door")
        point = AccessPoint.objects.create(name=name, area=area, device=device, **kw)
        point.token = token
        return point

    building = Area.objects.create(name="Building A")
    lab = Area.objects.create(name="Lab 2", parent=building, security_level=SecurityLevel.HIGH)
    lobby = Area.objects.create(name="Lobby", security_level=SecurityLevel.LOW)
    return {
        "building": building,
        "lab": lab,
        "lobby": lobby,
        "entrance": door("Main entrance", building),
        "lab_door": door("Lab 2 door", lab),
        "lobby_door": door("Lobby door", lobby),
    }


def sign_in(context, live_server, user, next_url: str):
    page = context.new_page()
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")
    return page


def test_guard_console_shows_new_events_live_and_acknowledges_alerts(
    chromium, live_server, site, people, make_person
):
    employee, visitor = people["employee"], people["visitor"]
    services.create_pass(
        visitor=visitor,
        sponsor=employee,
        created_by=people["guard"],
        areas=[site["lobby"]],
        starts_at=visitor.valid_from,
        ends_at=visitor.valid_until,
        purpose="Job interview",
    )
    services.record_event(
        access_point=site["entrance"], person=employee, granted=True, reason="rule_allows"
    )
    services.record_event(
        access_point=site["lobby_door"], person=visitor, granted=True, reason="pass_valid"
    )
    page = sign_in(chromium(), live_server, people["guard"], reverse("access:console"))
    page.wait_for_selector("#log-body tr")
    assert page.locator("#log-body tr").count() == 2
    # The pages run under a strict CSP (no eval): wait with selectors, not JS predicates.
    page.wait_for_selector("#live-text:text-matches('^Live')")
    assert str(visitor) in page.inner_text("#visitors")
    assert str(employee) in page.inner_text("#visitors")  # the sponsor
    assert "Building A" in page.inner_text("#inside")

    # A new event written on the server appears without a reload, and raises an alert.
    event = services.record_event(
        access_point=site["lab_door"], person=None, granted=False, reason="not_recognised"
    )
    page.wait_for_selector(f'#log-body tr[data-event="{event.pk}"]', timeout=10_000)
    row = page.inner_text(f'#log-body tr[data-event="{event.pk}"]')
    assert "Unknown" in row and "Denied" in row and "Lab 2 door" in row
    assert page.locator("#log-body tr").first.get_attribute("data-event") == str(event.pk)
    page.wait_for_selector("#alerts li.alert.open", timeout=10_000)
    assert "Unknown face at a high-security door" in page.inner_text("#alerts")
    assert page.inner_text("#alert-count") == "1"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "access-console.png"), full_page=True)

    alert = Alert.objects.get()
    page.fill(f'li[data-alert="{alert.pk}"] textarea', "Courier at the lab, escorted out.")
    page.click(f'li[data-alert="{alert.pk}"] button')
    page.wait_for_selector(f'li[data-alert="{alert.pk}"].acknowledged', timeout=10_000)
    assert "Courier at the lab" in page.inner_text("#alerts")
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == people["guard"]
    assert alert.note == "Courier at the lab, escorted out."
    assert page.inner_text("#alert-count") == "0"

    # Filters narrow the log at once.
    page.select_option("select[name=decision]", "denied")
    expect(page.locator("#log-body tr")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "access-console-acknowledged.png"), full_page=True)


def open_door(context, live_server, point):
    page = context.new_page()
    door_url = reverse("access:door", args=[point.pk])
    page.goto(f"{live_server.url}{reverse('pair-device')}?next={door_url}")
    page.fill("input[name=token]", point.token)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{door_url}")
    return page


def test_door_page_shows_granted_and_denied_for_person_03(
    chromium, live_server, site, make_person, django_capture_on_commit_callbacks, monkeypatch
):
    from biometrics import tasks

    monkeypatch.setattr(tasks.process_enrolment, "delay", lambda *a, **k: None)
    person = make_person("employee", display_name="Oscar Third")
    images = [(SHARED / "video" / "person_03_still.jpg").read_bytes()]
    images += clip_frames("person_03_live.mp4", 3)
    job = enrol_now(person, images, django_capture_on_commit_callbacks)
    assert job.status == "done" and job.accepted >= 3, job.error
    rule = AccessRule.objects.create(name="Employees in Building A", role="employee")
    rule.areas.set([site["building"]])

    context = chromium("person_03_live_30fps.mjpeg")
    page = open_door(context, live_server, site["entrance"])
    page.wait_for_selector("#verdict.granted", timeout=45_000)
    assert "GRANTED" in page.inner_text("#verdict") and "Oscar" in page.inner_text("#verdict")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "access-door-granted.png"))
    page.close()  # pairing the next door changes this session's device

    lobby = open_door(context, live_server, site["lobby_door"])
    lobby.wait_for_selector("#verdict.denied", timeout=45_000)
    text = lobby.inner_text("#verdict")
    assert "DENIED" in text and "You do not have access to this area." in text
    lobby.screenshot(path=str(ARTIFACTS / "access-door-denied.png"))


def test_door_page_draws_the_face_box_through_the_shared_capture_script(
    chromium, live_server, site
):
    # A face + PIN door waits for the PIN, so the guidance loop keeps drawing boxes. The engine
    # answers left/top/width/height: a page that handed those to drawFaces as right/bottom drew
    # nothing (NaN rectangles), so count only boxes with finite coordinates.
    point = site["lobby_door"]
    point.mode = "face_pin"
    point.save(update_fields=["mode"])
    context = chromium("person_03_live_30fps.mjpeg")
    page = open_door(context, live_server, point)
    # The page's CSP forbids eval, so wait on the attribute rather than with wait_for_function.
    page.wait_for_selector(
        '#overlay[data-boxes-drawn]:not([data-boxes-drawn="0"])', state="attached", timeout=30_000
    )
    painted = page.evaluate(
        """() => {
            const c = document.getElementById('overlay');
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 100
