"""Reads of people, shaped by who is asking."""

from django.db.models import QuerySet

from .models import Department, Device, DeviceKind, Role, User
from .permissions import role_of


def people_visible_to(*, user) -> QuerySet[User]:
    """Admins see everybody, managers their department, everyone else only themselves."""
    role = role_of(user)
    people = User.objects.select_related("department", "sponsor")
    if role == Role.ADMIN:
        return people
    if role == Role.MANAGER and user.department_id:
        return people.filter(department_id=user.department_id)
    if role in Role.values:
        return people.filter(pk=user.pk)
    return people.none()


def person_by_employee_number(*, employee_number: str) -> User | None:
    return User.objects.filter(employee_number=employee_number).first()


def subject_access_profile(*, person: User) -> dict:
    """The person's own record for a subject-access export (no password or PIN hash)."""

    def iso(value) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": person.pk,
        "username": person.username,
        "display_name": person.display_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "role": person.role,
        "employee_number": person.employee_number,
        "department": person.department.name if person.department_id else None,
        "job_title": person.job_title,
        "is_active": person.is_active,
        "valid_from": iso(person.valid_from),
        "valid_until": iso(person.valid_until),
        "sponsor": str(person.sponsor) if person.sponsor_id else None,
        "date_joined": iso(person.date_joined),
        "last_login": iso(person.last_login),
        "offboarded_at": iso(person.offboarded_at),
        "has_pin": bool(person.pin_hash),
    }


def setup_state() -> dict[str, bool]:
    """For the admin's first-run checklist: departments exist; a kiosk is registered, active
    and has been seen (paired and used)."""
    return {
        "departments": Department.objects.exists(),
        "kiosk": Device.objects.filter(
            kind=DeviceKind.KIOSK, is_active=True, last_seen_at__isnull=False
        ).exists(),
    }


def devices() -> QuerySet[Device]:
    return Device.objects.all()
