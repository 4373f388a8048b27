"""Onboarding and offboarding through the Django admin, with Django's test client."""

from django.contrib.admin.models import LogEntry
from django.urls import reverse

from accounts.models import User
from accounts.signals import person_offboarded


def test_admin_onboards_a_person_with_a_role_in_one_step(client, people, department):
    client.force_login(people["admin"])
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "display_name": "Nina Newbie",
            "email": "nina@example.com",
            "employee_number": "E9001",
            "role": "employee",
            "department": department.pk,
            "job_title": "Technician",
            "password": "s3cret-pass-word",
            "pin": "4711",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    nina = User.objects.get(username="newbie")
    assert nina.role == "employee" and nina.department == department
    assert list(nina.groups.values_list("name", flat=True)) == ["Employee"]
    assert nina.check_pin("4711") and not nina.check_pin("0000")
    assert "4711" not in nina.pin_hash
    assert nina.check_password("s3cret-pass-word")
    assert LogEntry.objects.filter(object_id=str(nina.pk), user=people["admin"]).exists()
    from accounts.models import AuditEntry

    # one audit entry for the onboarding, not a second one for the admin's "added"
    additions = AuditEntry.objects.filter(target_id=str(nina.pk), action__startswith="person.")
    assert list(additions.values_list("action", flat=True)) == ["person.onboard"]


def test_onboarding_a_visitor_without_window_shows_a_form_error(client, people):
    client.force_login(people["admin"])
    response = client.post(
        reverse("admin:accounts_user_add"),
        {"username": "v1", "display_name": "Vic Visitor", "role": "visitor"},
    )
    assert response.status_code == 200
    assert b"validity window" in response.content
    assert not User.objects.filter(username="v1").exists()


def test_non_numeric_pin_is_a_form_error(client, people):
    client.force_login(people["admin"])
    response = client.post(
        reverse("admin:accounts_user_add"),
        {"username": "p1", "display_name": "P One", "role": "employee", "pin": "abcd"},
    )
    assert response.status_code == 200 and b"digits only" in response.content


def test_offboard_action_deactivates_logs_and_announces(client, people):
    received = []

    def receiver(sender, person, actor, **kwargs):
        received.append((person.pk, actor.pk))

    person_offboarded.connect(receiver)
    try:
        employee = people["employee"]
        client.force_login(people["admin"])
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "offboard", "_selected_action": [employee.pk]},
        )
        assert response.status_code == 302
    finally:
        person_offboarded.disconnect(receiver)
    employee.refresh_from_db()
    assert not employee.is_active and employee.offboarded_at is not None
    assert received == [(employee.pk, people["admin"].pk)]
    entry = LogEntry.objects.filter(object_id=str(employee.pk)).latest("action_time")
    assert "Offboarded" in entry.get_change_message() and entry.user == people["admin"]
    # an offboarded person can no longer sign in
    client.logout()
    assert (
        client.post(
            reverse("login"), {"username": employee.username, "password": "correct-horse-battery"}
        ).status_code
        == 200
    )

    client.force_login(people["admin"])
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reactivate", "_selected_action": [employee.pk]},
    )
    employee.refresh_from_db()
    assert employee.is_active and employee.offboarded_at is None


def test_changelist_filters_by_role_department_active_and_validity(client, people):
    client.force_login(people["admin"])
    url = reverse("admin:accounts_user_changelist")
    page = client.get(url, {"role__exact": "guard"})
    assert page.status_code == 200
    listed = {p.username for p in page.context["cl"].result_list}
    assert listed == {people["guard"].username}
    for query in ({"is_active__exact": "1"}, {"validity": "current"}, {"q": "Person"}):
        assert client.get(url, query).status_code == 200
    expired = client.get(url, {"validity": "expired"}).context["cl"].result_list
    assert list(expired) == []


def test_changing_role_in_admin_moves_the_group(client, people):
    from accounts import services

    guard = people["guard"]
    services.assign_role(person=guard, role="manager")
    guard.refresh_from_db()
    assert guard.is_staff
    assert list(guard.groups.values_list("name", flat=True)) == ["Manager"]


def test_registering_a_device_in_admin_shows_the_token_once(client, people):
    from accounts.models import Device

    client.force_login(people["admin"])
    response = client.post(
        reverse("admin:accounts_device_add"),
        {"name": "Lobby kiosk", "kind": "kiosk", "location": "Lobby", "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    device = Device.objects.get(name="Lobby kiosk")
    shown = [str(m) for m in response.context["messages"]]
    token = next(m.split(": ")[-1] for m in shown if "shown once" in m)
    assert Device.hash_token(token) == device.token_hash
    assert token not in device.token_hash
