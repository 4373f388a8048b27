"""Devices and doors without the Django admin (faceauth/devices): adding a kiosk or door with
its access point, pairing a screen by a one-time link (single use, expiring, audited), rotation
and revocation, and the admin's first-run checklist."""

from datetime import time, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from access_control.models import AccessPoint, AccessRule, Area
from accounts import pairing, services
from accounts.models import AuditEntry, Device, PairingLink
from attendance.models import WorkSchedule

from .biometrics_helpers import clip_frames, enrol_now
from .conftest import SHARED

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def admin_client(people):
    client = Client()
    client.force_login(people["admin"])
    return client


def _token_of(response) -> str:
    url = response.context["link_url"]
    return url.rstrip("/").rsplit("/", 1)[-1]


def _add_door(admin_client, **fields) -> Device:
    data = {"kind": "door", "name": "Main entrance", "location": "Ground floor", "mode": "face"}
    data.update(fields)
    response = admin_client.post(reverse("devices:add"), data)
    assert response.status_code == 302, response.content
    return Device.objects.get(name=data["name"])


def test_admin_adds_a_door_with_a_new_area_and_access_point(admin_client, people):
    device = _add_door(admin_client, new_area="Building A")
    point = AccessPoint.objects.get(device=device)
    assert point.name == "Main entrance" and point.area.name == "Building A"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"device.register", "area.create", "access_point.device"} <= actions
    listing = admin_client.get(reverse("devices:list"))
    assert b"Main entrance" in listing.content and b"Building A" in listing.content
    # The token is never shown on adding: a screen is paired by link.
    detail = admin_client.get(reverse("devices:detail", args=[device.pk]))
    assert b"Pair a screen" in detail.content and b"new-token" not in detail.content


def test_a_door_can_take_over_an_existing_access_point(admin_client, door_device):
    area = Area.objects.create(name="Lobby")
    point = AccessPoint.objects.create(name="Lobby door", area=area, device=door_device)
    device = _add_door(admin_client, name="Lobby terminal 2", access_point=point.pk)
    point.refresh_from_db()
    assert point.device == device


def test_a_door_without_an_area_is_refused_with_the_field_named(admin_client):
    response = admin_client.post(
        reverse("devices:add"), {"kind": "door", "name": "X", "mode": "face"}
    )
    assert response.status_code == 200
    assert "Pick an area or name a new one." in response.content.decode()
    assert not Device.objects.exists()


def test_a_duplicate_device_name_is_a_form_error_not_a_500(admin_client, kiosk):
    response = admin_client.post(reverse("devices:add"), {"kind": "kiosk", "name": kiosk.name})
    assert response.status_code == 200 and b"already exists" in response.content


def test_only_admins_reach_the_device_pages(people, kiosk):
    for role in ("manager", "guard", "employee"):
        client = Client()
        client.force_login(people[role])
        assert client.get(reverse("devices:list")).status_code == 403
        assert client.post(reverse("devices:link", args=[kiosk.pk])).status_code == 403
    assert Client().get(reverse("devices:list")).status_code == 302  # to the sign-in page


def test_pairing_link_pairs_a_door_screen_once_and_lands_on_the_door(admin_client, people):
    device = _add_door(admin_client, new_area="Building A")
    point = AccessPoint.objects.get(device=device)
    issued = admin_client.post(reverse("devices:link", args=[device.pk]))
    assert (
        issued.status_code == 200 and b"<svg" in issued.content and b"style=" not in issued.content
    )
    token = _token_of(issued)
    assert PairingLink.objects.get().token_hash != token  # only a hash is stored

    screen = Client()
    url = reverse("devices:pair", args=[token])
    confirm = screen.get(url)  # a link preview must not use it up
    assert confirm.status_code == 200 and b"Main entrance" in confirm.content
    paired = screen.post(url)
    assert paired.status_code == 302
    assert paired["Location"] == reverse("access:door", args=[point.pk])
    assert screen.get(paired["Location"]).status_code == 200
    assert screen.get("/api/accounts/me/").json()["role"] == "device:door"
    device.refresh_from_db()
    assert device.last_seen_at is not None

    # Single use: a second screen (or the same one again) is refused, and that is audited.
    again = Client().post(url)
    assert again.status_code == 410 and b"not valid any more" in again.content
    outcomes = list(
        AuditEntry.objects.filter(action="device.pairing_link").values_list("outcome", flat=True)
    )
    assert {"issued", "used", "refused_used"} <= set(outcomes)


def test_pairing_link_expires_within_minutes(admin_client, kiosk, _fixed_clock):
    token = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    link = PairingLink.objects.get()
    assert link.expires_at - link.created_at == pairing.DEFAULT_TTL <= timedelta(minutes=15)
    _fixed_clock.shift(pairing.DEFAULT_TTL + timedelta(seconds=1))
    screen = Client()
    assert screen.get(reverse("devices:pair", args=[token])).status_code == 410
    assert screen.post(reverse("devices:pair", args=[token])).status_code == 410
    assert screen.get("/api/accounts/me/").status_code in (401, 403)
    assert AuditEntry.objects.filter(outcome="refused_expired").count() == 2


def test_an_unknown_pairing_link_is_a_404_page(db):
    response = Client().get(reverse("devices:pair", args=["no-such-token"]))
    assert response.status_code == 404 and b"does not exist" in response.content


def test_a_new_link_replaces_the_open_one(admin_client, kiosk):
    first = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    second = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    assert Client().post(reverse("devices:pair", args=[first])).status_code == 410
    landed = Client().post(reverse("devices:pair", args=[second]))
    assert landed["Location"] == reverse("attendance:kiosk")


def test_rotating_unpairs_screens_revokes_open_links_and_shows_the_token_once(admin_client, kiosk):
    token = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    screen = Client()
    screen.post(reverse("devices:pair", args=[token]))
    assert screen.get(reverse("attendance:kiosk")).status_code == 200
    open_token = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))

    rotated = admin_client.post(reverse("devices:rotate", args=[kiosk.pk]))
    new_token = rotated.context["new_token"]
    assert new_token and new_token.encode() in rotated.content
    assert (
        admin_client.get(reverse("devices:detail", args=[kiosk.pk])).content.count(
            new_token.encode()
        )
        == 0
    )
    # The paired screen goes back to the pairing page; the open link is dead.
    assert screen.get(reverse("attendance:kiosk")).status_code == 302
    assert Client().post(reverse("devices:pair", args=[open_token])).status_code == 410
    assert AuditEntry.objects.filter(action="device.token").exists()
    assert AuditEntry.objects.filter(outcome="token_rotated").exists()


def test_revoking_stops_paired_screens_and_links(admin_client, kiosk):
    token = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    screen = Client()
    screen.post(reverse("devices:pair", args=[token]))
    later = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    assert admin_client.post(reverse("devices:revoke", args=[kiosk.pk])).status_code == 302
    kiosk.refresh_from_db()
    assert not kiosk.is_active
    assert screen.get("/api/accounts/me/").status_code in (401, 403)
    assert Client().post(reverse("devices:pair", args=[later])).status_code == 410
    # No new link for a revoked device; rotating reactivates it.
    assert admin_client.post(reverse("devices:link", args=[kiosk.pk])).status_code == 302
    assert not PairingLink.objects.filter(revoked_at=None, used_at=None).exists()
    assert AuditEntry.objects.filter(action="device.revoke").exists()


def test_pairing_by_token_without_a_target_lands_on_the_screen(client, kiosk, door_device):
    response = client.post(reverse("pair-device"), {"token": kiosk.token}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("attendance:kiosk")
    area = Area.objects.create(name="Lobby")
    point = AccessPoint.objects.create(name="Lobby door", area=area, device=door_device)
    door = Client().post(reverse("pair-device"), {"token": door_device.token}, follow=True)
    assert door.redirect_chain[-1][0] == reverse("access:door", args=[point.pk])


def test_a_paired_door_without_an_access_point_says_so(door_device):
    client = Client()
    response = client.post(reverse("pair-device"), {"token": door_device.token}, follow=True)
    assert response.status_code == 200 and b"no access point yet" in response.content


def test_a_door_without_an_access_point_gets_one_from_its_page(admin_client, door_device):
    area = Area.objects.create(name="Warehouse")
    response = admin_client.post(
        reverse("devices:access-point", args=[door_device.pk]),
        {"area": area.pk, "mode": "face"},
    )
    assert response.status_code == 302
    assert AccessPoint.objects.get(device=door_device).name == door_device.name


def _checklist(client) -> dict[str, bool]:
    items = client.get(reverse("home")).context["checklist"]
    return {item.key: item.done for item in items}


@pytest.mark.slow
def test_the_first_run_checklist_ticks_itself_from_the_data(
    admin_client, people, django_capture_on_commit_callbacks
):
    state = _checklist(admin_client)
    assert state == {
        "departments": True,  # the people fixture made one
        "work_schedule": False,
        "kiosk": False,
        "door": False,
        "rule": False,
        "enrolled": False,
    }
    page = admin_client.get(reverse("home")).content.decode()
    assert 'data-item="kiosk"' in page and "/devices/add/?kind=kiosk" in page

    WorkSchedule.objects.create(department=people["employee"].department, start_time=time(9))
    kiosk, _ = services.register_device(name="Kiosk", kind="kiosk")
    assert _checklist(admin_client)["kiosk"] is False  # registered, never seen
    token = _token_of(admin_client.post(reverse("devices:link", args=[kiosk.pk])))
    Client().post(reverse("devices:pair", args=[token]))
    door = _add_door(admin_client, new_area="Building A")
    assert _checklist(admin_client)["door"] and not _checklist(admin_client)["rule"]
    rule = AccessRule.objects.create(name="Employees", role="employee")
    rule.areas.set([AccessPoint.objects.get(device=door).area])
    images = [(SHARED / "video" / "person_03_still.jpg").read_bytes()]
    images += clip_frames("person_03_live.mp4", 3)
    job = enrol_now(people["employee"], images, django_capture_on_commit_callbacks)
    assert job.status == "done", job.error
    assert all(_checklist(admin_client).values())
    # Nobody else sees it.
    other = Client()
    other.force_login(people["manager"])
    assert other.get(reverse("home")).context["checklist"] == []
