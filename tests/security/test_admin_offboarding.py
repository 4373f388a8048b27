"""Finding 1: offboarding and reactivation in the admin are for admins, never for oneself, and
an admin (or superuser) is offboarded only by a superuser (services.may_offboard)."""

import pytest
from django.urls import reverse

from accounts import services

CHANGELIST = "admin:accounts_user_changelist"


def _act(client, action: str, *people):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [p.pk for p in people], "index": "0"},
        follow=True,
    )


def _active(person) -> bool:
    person.refresh_from_db()
    return person.is_active


def test_manager_cannot_offboard_anyone_admins_included(client, people):
    client.force_login(people["manager"])
    response = _act(client, "offboard", people["admin"], people["employee"])
    assert b"Offboarded" not in response.content
    assert _active(people["admin"]) and _active(people["employee"])


def test_manager_cannot_reactivate_an_offboarded_person(client, people):
    services.offboard_person(person=people["employee"])
    client.force_login(people["manager"])
    _act(client, "reactivate", people["employee"])
    assert not _active(people["employee"])


def test_admin_offboards_an_employee_but_not_another_admin_nor_themselves(
    client, people, make_person
):
    other_admin = make_person("admin")
    client.force_login(people["admin"])
    response = _act(client, "offboard", people["employee"], other_admin, people["admin"])
    assert not _active(people["employee"])
    assert _active(other_admin) and _active(people["admin"])
    assert b"Not allowed for" in response.content


def test_only_a_superuser_offboards_or_reactivates_an_admin(client, people, make_person):
    root = make_person("admin")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    client.force_login(root)
    _act(client, "offboard", people["admin"])
    assert not _active(people["admin"])
    _act(client, "reactivate", people["admin"])
    assert _active(people["admin"])


def test_a_non_superuser_admin_cannot_deactivate_another_admin_in_the_change_form(
    client, people, make_person
):
    other_admin = make_person("admin")
    client.force_login(people["admin"])
    response = client.get(reverse("admin:accounts_user_change", args=[other_admin.pk]))
    assert "is_active" not in response.context["adminform"].form.fields
    assert "role" not in response.context["adminform"].form.fields


@pytest.mark.parametrize(
    "actor, target, allowed",
    [
        (None, "admin", True),
        ("admin", "employee", True),
        ("admin", "admin", False),
        ("manager", "employee", False),
        ("guard", "visitor", False),
    ],
)
def test_may_offboard_rule(people, make_person, actor, target, allowed):
    person = make_person(target)
    assert services.may_offboard(actor=people.get(actor), person=person) is allowed
