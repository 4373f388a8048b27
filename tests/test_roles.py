"""Each role reaches exactly what it should: admin pages, API endpoints, login windows."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

ROLES = ("employee", "admin", "manager", "guard", "visitor", "contractor")


@pytest.mark.django_db
def test_every_role_is_a_group_with_its_permissions():
    groups = {g.name: g for g in Group.objects.prefetch_related("permissions")}
    assert set(groups) >= {"Employee", "Admin", "Manager", "Guard", "Visitor", "Contractor"}
    admin_perms = {p.codename for p in groups["Admin"].permissions.all()}
    assert {"add_user", "change_user", "add_device", "change_device"} <= admin_perms
    assert "view_user" in {p.codename for p in groups["Manager"].permissions.all()}
    assert "change_user" not in {p.codename for p in groups["Manager"].permissions.all()}
    assert not groups["Employee"].permissions.exists()


def test_onboarded_person_is_in_exactly_their_role_group(people):
    for role, person in people.items():
        assert list(person.groups.values_list("name", flat=True)) == [role.title()]


@pytest.mark.parametrize(
    "role, admin_status", [(r, 200 if r in ("admin", "manager") else 302) for r in ROLES]
)
def test_admin_site_is_for_admins_and_managers_only(client, people, role, admin_status):
    client.force_login(people[role])
    assert client.get(reverse("admin:index")).status_code == admin_status


@pytest.mark.parametrize("role", ROLES)
def test_manager_cannot_edit_people_but_admin_can(client, people, role):
    client.force_login(people[role])
    url = reverse("admin:accounts_user_change", args=[people["employee"].pk])
    response = client.get(url)
    if role == "admin":
        assert response.status_code == 200 and b"Save" in response.content
    elif role == "manager":
        # view permission only: the form is read-only
        assert response.status_code == 200 and b'name="_save"' not in response.content
    else:
        assert response.status_code == 302


@pytest.mark.parametrize("role", ROLES)
def test_people_api_is_for_staff_and_me_api_for_everybody(client, people, role):
    client.force_login(people[role])
    assert client.get("/api/accounts/me/").json()["role"] == role
    status = client.get("/api/accounts/people/").status_code
    assert status == (200 if role in ("admin", "manager") else 403)


def test_manager_sees_only_their_department(client, people, make_person):
    outsider = make_person("employee")  # no department
    client.force_login(people["manager"])
    names = {p["username"] for p in client.get("/api/accounts/people/").json()["results"]}
    assert people["employee"].username in names
    assert outsider.username not in names


def test_api_denies_anonymous_with_json(client, db):
    response = client.get("/api/accounts/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_device_token_authenticates_a_kiosk_and_revocation_refuses_it(client, kiosk):
    from accounts import services

    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    assert client.get("/api/accounts/me/", **auth).json()["role"] == "device:kiosk"
    # a kiosk is nobody: it cannot list people
    assert client.get("/api/accounts/people/", **auth).status_code == 403
    kiosk.refresh_from_db()
    assert kiosk.last_seen_at is not None
    services.revoke_device(device=kiosk)
    assert client.get("/api/accounts/me/", **auth).status_code == 401
    assert client.get("/api/accounts/me/", HTTP_AUTHORIZATION="Device nope").status_code == 401


@pytest.mark.calendar
def test_visitor_can_log_in_only_inside_their_window(client, make_person):
    now = timezone.now()
    inside = make_person("visitor", password="visit-pass-123")
    expired = make_person(
        "visitor",
        password="visit-pass-123",
        valid_from=now - timedelta(days=2),
        valid_until=now - timedelta(days=1),
    )
    future = make_person(
        "contractor",
        password="visit-pass-123",
        valid_from=now + timedelta(days=1),
        valid_until=now + timedelta(days=2),
    )
    login = reverse("login")
    ok = client.post(login, {"username": inside.username, "password": "visit-pass-123"})
    assert ok.status_code == 302
    client.logout()
    for person in (expired, future):
        refused = client.post(login, {"username": person.username, "password": "visit-pass-123"})
        assert refused.status_code == 200
        assert b"access window" in refused.content


def test_session_of_a_visitor_stops_working_when_their_window_ends(client, people):
    visitor = people["visitor"]
    client.force_login(visitor)
    assert client.get("/api/accounts/me/").status_code == 200
    visitor.valid_until = timezone.now() - timedelta(seconds=1)
    visitor.save()
    # the session no longer resolves to a user: the request is unauthenticated
    assert client.get("/api/accounts/me/").status_code == 401


def test_visitor_without_a_window_is_rejected_at_onboarding(make_person):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_person("visitor", valid_from=None, valid_until=None)


def test_login_page_is_styled_and_home_needs_login(client, db):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"faceauth.css" in page.content and b"Sign in" in page.content
    assert client.get("/").status_code == 302


def test_navigation_differs_by_role(client, people):
    client.force_login(people["admin"])
    assert b'href="/admin/"' in client.get("/").content
    client.force_login(people["employee"])
    assert b'href="/admin/"' not in client.get("/").content
