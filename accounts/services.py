"""State changes for people and devices. Views and the admin call these, nothing else."""

import functools
from datetime import datetime

from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from . import audit, pairing
from .errors import NotAllowedToOffboard
from .limits import Attempt, Limited
from .models import STAFF_ROLES, Department, Device, Role, User
from .roles import group_name
from .signals import person_offboarded


def assign_role(*, person: User, role: str, actor: User | None = None) -> User:
    """Make ``role`` the person's role: one role group, staff flag for admin-site roles."""
    previous = person.role
    person.role = Role(role)
    person.is_staff = person.role in STAFF_ROLES or person.is_superuser
    person.save(update_fields=["role", "is_staff"])
    role_groups = Group.objects.filter(name__in=[group_name(r) for r in Role])
    person.groups.remove(*role_groups)
    person.groups.add(Group.objects.get_or_create(name=group_name(person.role))[0])
    if previous != person.role or actor is not None:
        audit.record(
            "person.role",
            actor=actor,
            outcome="done",
            target=person,
            details={"from": previous, "to": person.role},
        )
    return person


@transaction.atomic
def onboard_person(
    *,
    username: str,
    role: str,
    display_name: str,
    employee_number: str | None = None,
    email: str = "",
    department: Department | None = None,
    job_title: str = "",
    password: str | None = None,
    pin: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    sponsor: User | None = None,
    actor: User | None = None,
) -> User:
    """Create a person with their role in one step. Validates like the admin form does."""
    first, _, last = display_name.partition(" ")
    person = User(
        username=username,
        role=Role(role),
        display_name=display_name,
        first_name=first,
        last_name=last,
        employee_number=employee_number or None,
        email=email,
        department=department,
        job_title=job_title,
        valid_from=valid_from,
        valid_until=valid_until,
        sponsor=sponsor,
    )
    if password:
        person.set_password(password)
    else:
        # Kiosk-only people never log in with a password.
        person.set_unusable_password()
    person.set_pin(pin)
    person.full_clean()
    person.save()
    assign_role(person=person, role=role)
    audit.record_change(
        actor=actor,
        target=person,
        message=f"Onboarded as {audit.source_text(Role(person.role).label)}",
        action="person.onboard",
        details={"role": person.role},
    )
    return person


# What update_person may change; the role goes through assign_role.
EDITABLE_FIELDS = (
    "display_name",
    "email",
    "employee_number",
    "department",
    "job_title",
    "valid_from",
    "valid_until",
    "sponsor",
)
# Changing these can lock a person out (or promote them): the offboarding rule decides who may.
STANDING_FIELDS = frozenset({"role", "valid_from", "valid_until"})


@transaction.atomic
def update_person(*, person: User, actor: User | None = None, **changes) -> list[str]:
    """Change a person's details (EDITABLE_FIELDS and ``role``); returns the changed names.
    Role and validity follow ``may_offboard``; validates like onboarding; audited."""
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"role"}
    if unknown:
        raise TypeError(f"update_person cannot change {sorted(unknown)}")
    changes = {
        name: (value or None) if name == "employee_number" else value
        for name, value in changes.items()
    }
    changed = [n for n, v in changes.items() if n != "role" and getattr(person, n) != v]
    role_changed = "role" in changes and Role(changes["role"]) != person.role
    if (role_changed or STANDING_FIELDS & set(changed)) and not may_offboard(
        actor=actor, person=person
    ):
        raise NotAllowedToOffboard()
    if not changed and not role_changed:
        return []
    for name in changed:
        setattr(person, name, changes[name])
    if "display_name" in changed:
        person.first_name, _, person.last_name = person.display_name.partition(" ")
    previous_role = person.role
    person.role = Role(changes.get("role", person.role))
    person.full_clean()  # with the new role: visitors and contractors need their window
    person.role = previous_role
    person.save()
    if role_changed:
        assign_role(person=person, role=changes["role"], actor=actor)
        changed.append("role")
    audit.record_change(
        actor=actor,
        target=person,
        message=f"Changed {', '.join(changed)}",
        action="person.update",
        details={"fields": changed},
    )
    return changed


def may_offboard(*, actor: User | None, person: User) -> bool:
    """Who may offboard or reactivate whom (docs/security.md, "Authorization"): the system
    (no actor) and admins; nobody themselves; an admin or superuser only a superuser."""
    if actor is None:
        return True
    if person.pk == actor.pk or not actor.is_active:
        return False
    if person.is_superuser or person.role == Role.ADMIN:
        return actor.is_superuser
    return actor.is_superuser or actor.role == Role.ADMIN


@transaction.atomic
def offboard_person(*, person: User, actor: User | None = None) -> User:
    """Deactivate a person at once; biometrics revokes their templates on the signal."""
    if not may_offboard(actor=actor, person=person):
        raise NotAllowedToOffboard()
    person.is_active = False
    person.offboarded_at = timezone.now()
    person.save(update_fields=["is_active", "offboarded_at"])
    audit.record_change(
        actor=actor, target=person, message="Offboarded (deactivated)", action="person.offboard"
    )
    person_offboarded.send(sender=User, person=person, actor=actor)
    return person


@transaction.atomic
def reactivate_person(*, person: User, actor: User | None = None) -> User:
    if not may_offboard(actor=actor, person=person):
        raise NotAllowedToOffboard()
    person.is_active = True
    person.offboarded_at = None
    person.save(update_fields=["is_active", "offboarded_at"])
    audit.record_change(
        actor=actor, target=person, message="Reactivated", action="person.reactivate"
    )
    return person


def set_pin(*, person: User, pin: str | None) -> None:
    person.set_pin(pin)
    person.save(update_fields=["pin_hash"])


@functools.cache
def _dummy_pin_hash(algorithm: str) -> str:
    return make_password("no-such-pin", hasher=algorithm)


def check_pin(*, person: User | None, pin: str) -> bool:
    """Whether ``pin`` is ``person``'s PIN. An unknown person or one without a PIN costs the
    same hash as a real check, so the answer time does not tell which employee numbers exist
    (security finding 12)."""
    if person is not None and person.has_pin:
        return person.check_pin(str(pin))
    check_password(str(pin), _dummy_pin_hash(get_hasher().algorithm))
    return False


def unlock_login(*, attempt, actor: User | None = None) -> None:
    """Admin unlock of a password sign-in lock-out (a django-axes ``AccessAttempt``)."""
    label = f"{attempt.username or '?'}@{attempt.ip_address or '?'}"
    failures = attempt.failures_since_start
    attempt.delete()
    audit.record(
        "auth.login_unlock",
        actor=actor,
        outcome="done",
        target_label=label[:150],
        details={"failures": failures},
    )


def register_device(
    *, name: str, kind: str, location: str = "", actor: User | None = None
) -> tuple[Device, str]:
    """Register a kiosk or door; returns the device and its token (shown once)."""
    device = Device(name=name, kind=kind, location=location)
    token = device.issue_token()
    device.full_clean(exclude=["token_hash", "token_prefix"])
    device.save()
    audit.record_change(
        actor=actor,
        target=device,
        message="Registered device",
        action="device.register",
        details={"kind": kind},
    )
    return device, token


@transaction.atomic
def rotate_device_token(*, device: Device, actor: User | None = None) -> str:
    """A new token: the old one, the browsers paired with it and its open pairing links stop
    working at once."""
    token = device.issue_token()
    device.is_active = True
    device.revoked_at = None
    device.save(update_fields=["token_hash", "token_prefix", "is_active", "revoked_at"])
    audit.record_change(
        actor=actor, target=device, message="Issued a new token", action="device.token"
    )
    pairing.revoke_pairing_links(device=device, actor=actor, reason="token_rotated")
    return token


@transaction.atomic
def revoke_device(*, device: Device, actor: User | None = None) -> Device:
    device.is_active = False
    device.revoked_at = timezone.now()
    device.save(update_fields=["is_active", "revoked_at"])
    audit.record_change(
        actor=actor, target=device, message="Revoked device", action="device.revoke"
    )
    pairing.revoke_pairing_links(device=device, actor=actor, reason="device_revoked")
    return device


def create_department(*, name: str, actor: User | None = None) -> Department:
    """A department by its name; its code is a unique slug of the name."""
    from django.utils.text import slugify

    base = slugify(name)[:32] or "department"
    code, n = base, 1
    while Department.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    department = Department(name=name, code=code)
    department.full_clean()
    department.save()
    audit.record_change(
        actor=actor, target=department, message="Created department", action="department.create"
    )
    return department


def rename_department(*, department: Department, name: str, actor: User | None = None) -> None:
    if department.name == name:
        return
    previous, department.name = department.name, name
    department.full_clean()
    department.save(update_fields=["name"])
    audit.record_change(
        actor=actor,
        target=department,
        message="Renamed department",
        action="department.rename",
        details={"from": previous, "to": name},
    )


def delete_department(*, department: Department, actor: User | None = None) -> None:
    """Its people stay, without a department."""
    audit.record(
        "department.delete",
        actor=actor,
        outcome="done",
        target=department,
        details={"people": department.people.count()},
    )
    department.delete()


# ----------------------------------------------------------------- sign-in without a password


def begin_address_sign_in(request) -> Attempt:
    """Count a sign-in attempt by another first factor (a passkey) on the address it comes
    from, before it is judged. Raises ``Limited`` while the address waits."""
    from .backends import LOGIN_ADDRESS

    return LOGIN_ADDRESS.begin(f"ip:{audit.client_ip(request) or 'unknown'}")


def begin_account_sign_in(request, *, person: User) -> Attempt:
    """Count a sign-in attempt by another first factor on ``person``'s account, on the same
    per-account limit as wrong passwords. Raises ``Limited`` while the account waits, or while
    django-axes locks the username at this address: a lock-out closes every door."""
    from axes.handlers.proxy import AxesProxyHandler
    from axes.helpers import get_cool_off

    from .backends import LOGIN_ACCOUNT, account_key

    if AxesProxyHandler.is_locked(request, credentials={"username": person.username}):
        cool_off = get_cool_off(request)
        raise Limited(int(cool_off.total_seconds()) if cool_off else 60)
    return LOGIN_ACCOUNT.begin(account_key(person.username))
