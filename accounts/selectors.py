"""Reads of people, shaped by who is asking."""

from django.db.models import QuerySet

from .models import Role, User
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
