"""Finding 9: password sign-in has a brute-force limit (django-axes) on both login pages, by
username at an address; the lock-out is a clear page (429, Retry-After), audited, and an admin
unlock in the admin restores it, audited too."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_person
ATTACKER = "203.0.113.7"


def try_login(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ATTACKER)


@pytest.mark.parametrize("page", ["login", "admin:login"])
def test_forty_wrong_passwords_then_the_right_one_is_refused_on_both_login_pages(people, page):
    person = people["admin"]
    url = reverse(page)
    client = Client()
    statuses = [try_login(client, url, person.username, f"bad{i}").status_code for i in range(40)]
    assert statuses[:4] == [200] * 4  # the form again, with its error
    assert set(statuses[5:]) == {429}

    right = try_login(client, url, person.username, PASSWORD)
    assert right.status_code == 429
    assert b"Too many failed sign-ins" in right.content
    assert 0 < int(right["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session
    audited = AuditEntry.objects.filter(action="auth.locked_out", target_label=person.username)
    assert audited.exists()

    # The same username from another address, and another username here, are not locked.
    other = Client().post(
        url, {"username": person.username, "password": PASSWORD}, REMOTE_ADDR="198.51.100.2"
    )
    assert other.status_code == 302
    assert try_login(Client(), url, people["manager"].username, PASSWORD).status_code == 302


def test_an_admin_unlock_restores_sign_in_and_is_audited(people):
    from axes.models import AccessAttempt

    victim, admin = people["employee"], people["admin"]
    client = Client()
    for i in range(6):
        try_login(client, reverse("login"), victim.username, f"guess-{i}")
    assert try_login(client, reverse("login"), victim.username, PASSWORD).status_code == 429

    staff = Client()
    staff.force_login(admin)
    changelist = reverse("admin:axes_accessattempt_changelist")
    listed = staff.get(changelist)
    assert listed.status_code == 200 and victim.username.encode() in listed.content
    attempt = AccessAttempt.objects.get(username=victim.username)
    done = staff.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk]})
    assert done.status_code == 302
    assert not AccessAttempt.objects.filter(username=victim.username).exists()
    entry = AuditEntry.objects.get(action="auth.login_unlock")
    assert entry.actor == admin and entry.target_label == f"{victim.username}@{ATTACKER}"

    assert try_login(client, reverse("login"), victim.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("role", ["manager", "guard", "employee"])
def test_only_admins_see_and_unlock_sign_in_lock_outs(people, role):
    client = Client()
    client.force_login(people[role])
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code in (302, 403)


@pytest.mark.parametrize("page", ["login", "admin:login"])
def test_wrong_passwords_for_one_account_from_many_addresses_make_it_wait(people, page, settings):
    """Axes counts per username at one address; an attacker with many addresses is bounded by
    the per-account limit (FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES) across all of them."""
    limit = settings.FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES
    person, url = people["employee"], reverse(page)

    def attempt(n: int, username: str, password: str):
        # Two guesses per address: below axes' per-address limit of five.
        address = f"198.18.{n // 2 // 250}.{n // 2 % 250 + 1}"
        return Client().post(url, {"username": username, "password": password}, REMOTE_ADDR=address)

    statuses = [attempt(n, person.username, f"bad{n}").status_code for n in range(limit + 5)]
    assert statuses[:limit] == [200] * limit, statuses  # the form again, with its error
    assert set(statuses[limit:]) == {429}, statuses
    # Now even the right password from a fresh address waits, with a clear page.
    right = attempt(1000, person.username.upper(), PASSWORD)
    assert right.status_code == 429 and b"too many wrong passwords" in right.content
    assert 0 < int(right["Retry-After"]) <= 60
    # Another account is not affected.
    assert attempt(1002, people["manager"].username, PASSWORD).status_code == 302


def test_a_right_password_clears_the_accounts_count(people, settings):
    settings.FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES = 3
    person, url = people["employee"], reverse("login")

    def attempt(address: str, password: str) -> int:
        return (
            Client()
            .post(url, {"username": person.username, "password": password}, REMOTE_ADDR=address)
            .status_code
        )

    assert [attempt(f"192.0.2.{n}", "bad") for n in range(1, 3)] == [200, 200]
    assert attempt("192.0.2.50", PASSWORD) == 302  # clears the two failures
    assert [attempt(f"192.0.2.{n}", "bad") for n in range(10, 13)] == [200, 200, 200]
    assert attempt("192.0.2.60", PASSWORD) == 429
