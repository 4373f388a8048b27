"""Who asks, for which dates, departments, people and areas: every report query starts here.

Permissions that shape a query live in ``Scope``: a manager's scope is pinned to their
department (and its areas) whatever the request asks for; guards get no attendance scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from access_control.selectors import areas_of_department, descendants
from accounts.models import Role
from accounts.permissions import role_of
from accounts.site_time import site_zone

# Which roles read which report.
REPORT_ROLES: dict[str, tuple[str, ...]] = {
    "attendance": (Role.ADMIN, Role.MANAGER),
    "access": (Role.ADMIN, Role.MANAGER, Role.GUARD),
    "security": (Role.ADMIN,),
}
DEFAULT_DAYS = 30
# People who clock and are expected at work (visitors and contractors are not).
STAFF_ROLES = (Role.EMPLOYEE, Role.MANAGER, Role.GUARD, Role.ADMIN)


def default_range(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate(timezone=site_zone())
    return today - timedelta(days=DEFAULT_DAYS - 1), today


@dataclass(frozen=True)
class Scope:
    user: object
    role: str
    start: date
    end: date
    department_id: int | None = None
    person_id: int | None = None
    # None: every area; otherwise the set a query must stay inside.
    area_ids: frozenset[int] | None = None
    zone: ZoneInfo = field(default_factory=site_zone)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=self.zone)

    @property
    def end_at(self) -> datetime:
        """Exclusive: local midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def people(self, queryset: QuerySet, prefix: str = "person") -> QuerySet:
        """Narrow rows that belong to a person to the department and person filters."""
        lookups = Q()
        if self.department_id is not None:
            field = f"{prefix}__department_id" if prefix else "department_id"
            lookups &= Q(**{field: self.department_id})
        if self.person_id is not None:
            lookups &= Q(**{f"{prefix}_id" if prefix else "pk": self.person_id})
        return queryset.filter(lookups)

    def areas(self, queryset: QuerySet, field_name: str = "area_id") -> QuerySet:
        if self.area_ids is None:
            return queryset
        return queryset.filter(**{f"{field_name}__in": sorted(self.area_ids)})

    def as_params(self) -> dict:
        """The effective filters, as the audit trail and the CSV links record them."""
        params = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.department_id is not None:
            params["department"] = self.department_id
        if self.person_id is not None:
            params["person"] = self.person_id
        if self.area_ids is not None:
            params["areas"] = len(self.area_ids)
        return params


def may_read(user, report: str) -> bool:
    role = role_of(user)
    return (
        role in REPORT_ROLES[report]
        and getattr(user, "pk", None) is not None
        and user.may_authenticate()
    )


def scope_for(
    *,
    user,
    report: str,
    start: date | None = None,
    end: date | None = None,
    department_id: int | None = None,
    person_id: int | None = None,
    area_id: int | None = None,
) -> Scope:
    """The scope ``user`` may read in ``report`` with these filters; PermissionDenied if none."""
    if not may_read(user, report):
        raise PermissionDenied
    role = role_of(user)
    default_start, default_end = default_range()
    start, end = start or default_start, end or default_end
    if end < start:
        start, end = end, start
    area_ids: set[int] | None = None
    if role == Role.MANAGER:
        if user.department_id is None:
            raise PermissionDenied
        department_id = user.department_id
        area_ids = areas_of_department(user.department_id)
    if area_id is not None:
        wanted = descendants({area_id})
        area_ids = wanted if area_ids is None else area_ids & wanted
    return Scope(
        user=user,
        role=role,
        start=start,
        end=end,
        department_id=department_id,
        person_id=person_id,
        area_ids=frozenset(area_ids) if area_ids is not None else None,
    )
