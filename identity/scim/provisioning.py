"""People and departments as SCIM resources, and SCIM writes as FaceAuth's own services:
onboarding, update_person, offboarding (deactivate), reactivation, anonymisation (delete).

A provisioning client acts as the system (``actor=None`` in accounts.services) and is named in
a ``scim.<operation>`` audit entry next to the services' own entries. It never touches an
admin or a superuser, and never grants the admin role.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from scim2_models import (
    ForbiddenException,
    InvalidValueException,
    MutabilityException,
    NotFoundException,
    UniquenessException,
)

from accounts import audit
from accounts import services as people
from accounts.errors import DomainError
from accounts.models import Department, Role, User

from ..models import GroupLink, ProvisioningClient, Subject
from .resources import (
    PROVISIONED_ROLES,
    Email,
    EnterpriseUser,
    FaceAuthUser,
    Group,
    GroupRef,
    Member,
    Name,
)
from .resources import User as ScimUser

ANONYMISED_NAME = "Deleted person"


# ----------------------------------------------------------------- reads


def people_in_scim() -> QuerySet[User]:
    return (
        User.objects.exclude(faceauth_subject__deprovisioned_at__isnull=False)
        .select_related("department", "faceauth_subject")
        .order_by("pk")
    )


def subject_for(person: User) -> Subject:
    subject, _ = Subject.objects.get_or_create(person=person)
    return subject


def person_by_id(scim_id: str) -> User:
    try:
        sub = uuid.UUID(str(scim_id))
    except ValueError:
        raise NotFoundException(detail=f"No User {scim_id}") from None
    person = people_in_scim().filter(faceauth_subject__sub=sub).first()
    if person is None:
        raise NotFoundException(detail=f"No User {scim_id}")
    return person


def department_by_id(scim_id: str) -> Department:
    department = Department.objects.filter(pk=int(scim_id)).first() if scim_id.isdigit() else None
    if department is None:
        raise NotFoundException(detail=f"No Group {scim_id}")
    return department


def user_resource(person: User, base: str) -> ScimUser:
    subject = subject_for(person)
    extensions = [
        EnterpriseUser(
            employee_number=person.employee_number or None,
            department=person.department.name if person.department else None,
        ),
        FaceAuthUser(
            role=person.role, valid_from=person.valid_from, valid_until=person.valid_until
        ),
    ]
    user = ScimUser(
        id=str(subject.sub),
        external_id=subject.external_id or None,
        user_name=person.username,
        name=Name(
            formatted=person.display_name or None,
            given_name=person.first_name or None,
            family_name=person.last_name or None,
        ),
        display_name=person.display_name or None,
        title=person.job_title or None,
        active=person.is_active,
        emails=[Email(value=person.email)] if person.email else None,
        groups=[
            GroupRef(
                value=str(person.department.pk),
                ref=f"{base}/Groups/{person.department.pk}",
                display=person.department.name,
            )
        ]
        if person.department
        else None,
        meta={
            "resourceType": "User",
            "created": person.date_joined,
            "lastModified": person.date_joined,
            "location": f"{base}/Users/{subject.sub}",
        },
    )
    for extension in extensions:
        user[type(extension)] = extension
    return user


def group_resource(department: Department, base: str) -> Group:
    members = people_in_scim().filter(department=department)
    link = GroupLink.objects.filter(department=department).first()
    return Group(
        id=str(department.pk),
        external_id=(link.external_id or None) if link else None,
        display_name=department.name,
        members=[
            Member(
                value=str(subject_for(p).sub),
                ref=f"{base}/Users/{subject_for(p).sub}",
                type="User",
            )
            for p in members
        ]
        or None,
        meta={"resourceType": "Group", "location": f"{base}/Groups/{department.pk}"},
    )


# ----------------------------------------------------------------- writes


def _audit(client: ProvisioningClient, operation: str, target, **details) -> None:
    audit.record(
        f"scim.{operation}",
        outcome="done",
        target=target,
        details={"client": client.name, **details},
    )


def _writable(person: User) -> None:
    if person.is_superuser or person.role == Role.ADMIN:
        raise ForbiddenException(detail="Admins are managed in FaceAuth, not by provisioning.")


def _fields_of(user: ScimUser) -> dict:
    """FaceAuth's fields from a SCIM User (see docs/identity.md for the mapping)."""
    enterprise = user[EnterpriseUser] or EnterpriseUser()
    faceauth = user[FaceAuthUser] or FaceAuthUser()
    display = user.display_name or ""
    emails = user.emails or []
    email = emails[0].value if emails else ""
    role = (faceauth.role or Role.EMPLOYEE).lower()
    if role not in PROVISIONED_ROLES:
        raise InvalidValueException(detail=f"role must be one of {', '.join(PROVISIONED_ROLES)}")
    return {
        "display_name": display[:150],
        "email": email or "",
        "employee_number": enterprise.employee_number or None,
        "job_title": (user.title or "")[:120],
        "department_name": enterprise.department or None,
        "role": role,
        "valid_from": faceauth.valid_from,
        "valid_until": faceauth.valid_until,
    }


def _department(name: str | None) -> Department | None:
    if not name:
        return None
    return Department.objects.filter(name__iexact=name).first() or people.create_department(
        name=name[:120]
    )


def _check_unique(*, username: str | None, employee_number: str | None, person=None) -> None:
    others = User.objects.exclude(pk=person.pk) if person else User.objects.all()
    if username and others.filter(username__iexact=username).exists():
        raise UniquenessException(detail="userName is taken")
    if employee_number and others.filter(employee_number=employee_number).exists():
        raise UniquenessException(detail="employeeNumber is taken")


def _invalid(exc: ValidationError) -> InvalidValueException:
    messages = "; ".join(
        f"{k}: {' '.join(v)}" for k, v in getattr(exc, "message_dict", {"": exc.messages}).items()
    )
    return InvalidValueException(detail=messages)


@transaction.atomic
def create_user(*, user: ScimUser, client: ProvisioningClient) -> User:
    if not user.user_name:
        raise InvalidValueException(detail="userName is required")
    fields = _fields_of(user)
    _check_unique(username=user.user_name, employee_number=fields["employee_number"])
    try:
        person = people.onboard_person(
            username=user.user_name,
            role=fields["role"],
            display_name=fields["display_name"],
            employee_number=fields["employee_number"],
            email=fields["email"],
            department=_department(fields["department_name"]),
            job_title=fields["job_title"],
            valid_from=fields["valid_from"],
            valid_until=fields["valid_until"],
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    subject = subject_for(person)
    subject.external_id = user.external_id or ""
    subject.save(update_fields=["external_id"])
    if user.active is False:
        people.offboard_person(person=person)
    _audit(client, "create", person, active=person.is_active)
    return person


@transaction.atomic
def replace_user(*, person: User, user: ScimUser, client: ProvisioningClient) -> User:
    """PUT (and PATCH, applied to the current resource first): the resource becomes ``user``."""
    _writable(person)
    if user.user_name and user.user_name != person.username:
        if user.user_name.lower() != person.username.lower():
            raise MutabilityException(detail="userName cannot change")
    fields = _fields_of(user)
    _check_unique(username=None, employee_number=fields["employee_number"], person=person)
    changes = {
        name: fields[name]
        for name in (
            "display_name",
            "email",
            "employee_number",
            "job_title",
            "role",
            "valid_from",
            "valid_until",
        )
    }
    changes["department"] = _department(fields["department_name"])
    try:
        changed = people.update_person(person=person, **changes)
    except ValidationError as exc:
        raise _invalid(exc) from None
    subject = subject_for(person)
    if subject.external_id != (user.external_id or ""):
        subject.external_id = user.external_id or ""
        subject.save(update_fields=["external_id"])
        changed.append("externalId")
    if user.active is False and person.is_active:
        people.offboard_person(person=person)
        changed.append("active")
    elif user.active is True and not person.is_active:
        people.reactivate_person(person=person)
        changed.append("active")
    _audit(client, "replace", person, fields=changed)
    return person


@transaction.atomic
def delete_user(*, person: User, client: ProvisioningClient) -> None:
    """Offboard (templates revoked, sign-ins ended) and anonymise what SCIM wrote; the person's
    row stays, unlinked from SCIM, for the records that keep it for their retention period."""
    _writable(person)
    if person.is_active:
        people.offboard_person(person=person)
    people.update_person(
        person=person,
        display_name=ANONYMISED_NAME,
        email="",
        employee_number=None,
        job_title="",
        department=None,
    )
    subject = subject_for(person)
    subject.external_id = ""
    subject.deprovisioned_at = timezone.now()
    subject.save(update_fields=["external_id", "deprovisioned_at"])
    _audit(client, "delete", person)


def _members(group: Group) -> list[User]:
    found = []
    for member in group.members or []:
        try:
            found.append(person_by_id(member.value or ""))
        except NotFoundException:
            raise InvalidValueException(detail=f"No User {member.value}") from None
    return found


def _set_members(department: Department, members: list[User]) -> None:
    wanted = {p.pk for p in members}
    for person in people_in_scim().filter(department=department).exclude(pk__in=wanted):
        people.update_person(person=person, department=None)
    for person in members:
        if person.department_id != department.pk:
            people.update_person(person=person, department=department)


def _set_external_id(department: Department, external_id: str | None) -> None:
    GroupLink.objects.update_or_create(
        department=department, defaults={"external_id": external_id or ""}
    )


@transaction.atomic
def create_group(*, group: Group, client: ProvisioningClient) -> Department:
    if not group.display_name:
        raise InvalidValueException(detail="displayName is required")
    if Department.objects.filter(name__iexact=group.display_name).exists():
        raise UniquenessException(detail="A department has this displayName")
    members = _members(group)
    try:
        department = people.create_department(name=group.display_name)
    except ValidationError as exc:
        raise _invalid(exc) from None
    _set_members(department, members)
    _set_external_id(department, group.external_id)
    _audit(client, "create", department, members=len(members))
    return department


@transaction.atomic
def replace_group(*, department: Department, group: Group, client: ProvisioningClient) -> None:
    if not group.display_name:
        raise InvalidValueException(detail="displayName is required")
    clash = Department.objects.filter(name__iexact=group.display_name).exclude(pk=department.pk)
    if clash.exists():
        raise UniquenessException(detail="A department has this displayName")
    members = _members(group)
    try:
        people.rename_department(department=department, name=group.display_name)
    except ValidationError as exc:
        raise _invalid(exc) from None
    _set_members(department, members)
    _set_external_id(department, group.external_id)
    _audit(client, "replace", department, members=len(members))


@transaction.atomic
def delete_group(*, department: Department, client: ProvisioningClient) -> None:
    _audit(client, "delete", department)
    people.delete_department(department=department)


def domain_error(exc: DomainError) -> ForbiddenException | InvalidValueException:
    if exc.status_code == 403:
        return ForbiddenException(detail=str(exc.message))
    return InvalidValueException(detail=str(exc.message))
