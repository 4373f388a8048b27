"""Who takes part in attendance: staff clock in and out; visitors and contractors do not.

Visitors come on a pass for a few hours and contractors' hours are their firm's to record (the
access log keeps when either passed a door): neither has a timesheet, a schedule or a manager
here. Every clock path (kiosk face 1:N, personal 1:1, employee number + PIN) asks
``require_participant`` before anything is recorded.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.models import Role, User

from .errors import AttendanceError

ATTENDANCE_ROLES = frozenset({Role.EMPLOYEE, Role.MANAGER, Role.GUARD, Role.ADMIN})


class NotParticipant(AttendanceError):
    code = "not_in_attendance"
    message = _("Visitors and contractors do not clock in here: attendance is for staff.")
    status_code = status.HTTP_403_FORBIDDEN


def takes_part(person: User | None) -> bool:
    return person is not None and (person.role in ATTENDANCE_ROLES or person.is_superuser)


def require_participant(person: User) -> None:
    if not takes_part(person):
        raise NotParticipant()
