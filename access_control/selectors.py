"""Reads of access control, shaped by who asks (permissions that shape queries live here)."""

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from accounts.permissions import role_of
from accounts.site_time import site_zone

from .models import (
    AccessEvent,
    AccessPoint,
    AccessRule,
    Alert,
    AlertState,
    Area,
    Decision,
    VisitorPass,
)
from .reasons import Reason as Reason
from .reasons import reason_label as reason_label

LOG_ROLES = (Role.ADMIN, Role.GUARD)
PASS_ISSUERS = (Role.ADMIN, Role.GUARD, Role.MANAGER, Role.EMPLOYEE)


def descendants(area_ids: set[int]) -> set[int]:
    """The areas and everything nested inside them."""
    children = defaultdict(list)
    for pk, parent in Area.objects.values_list("pk", "parent_id"):
        children[parent].append(pk)
    found, todo = set(), list(area_ids)
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children[pk])
    return found


def areas_of_department(department_id: int | None) -> set[int]:
    if department_id is None:
        return set()
    return descendants(
        set(Area.objects.filter(department_id=department_id).values_list("pk", flat=True))
    )


def events_visible_to(*, user) -> QuerySet[AccessEvent]:
    """Guards and admins read the whole log; managers the areas of their department."""
    events = AccessEvent.objects.select_related(
        "access_point", "area", "area__parent", "person", "rule", "visitor_pass"
    )
    role = role_of(user)
    if role in LOG_ROLES:
        return events
    if role == Role.MANAGER:
        return events.filter(area_id__in=areas_of_department(user.department_id))
    return events.none()


def filter_events(
    events: QuerySet[AccessEvent],
    *,
    since: int | None = None,
    area: int | None = None,
    point: int | None = None,
    decision: str = "",
    person: str = "",
) -> QuerySet[AccessEvent]:
    if since:
        events = events.filter(pk__gt=since)
    if area:
        events = events.filter(area_id__in=descendants({area}))
    if point:
        events = events.filter(access_point_id=point)
    if decision in Decision.values:
        events = events.filter(decision=decision)
    if person:
        events = events.filter(
            Q(person__display_name__icontains=person) | Q(person__username__icontains=person)
        )
    return events


def open_alerts() -> QuerySet[Alert]:
    """Alerts a guard still has to deal with: open first, then acknowledged, newest first."""
    return (
        Alert.objects.exclude(state=AlertState.CLOSED)
        .select_related("access_point", "device", "person", "acknowledged_by")
        .order_by("-state", "-created_at")
    )


def start_of_today(at: datetime | None = None) -> datetime:
    local = (at or timezone.now()).astimezone(site_zone())
    return datetime.combine(local.date(), time.min, tzinfo=site_zone())


def people_inside(*, at: datetime | None = None) -> list[dict]:
    """Who is in which area now: each person's last granted entry today (there are no exit
    readers, so the latest door a person passed tells where they are)."""
    at = at or timezone.now()
    latest: dict[int, AccessEvent] = {}
    events = (
        AccessEvent.objects.filter(
            decision=Decision.GRANTED,
            person__isnull=False,
            created_at__gte=start_of_today(at),
            created_at__lte=at,
        )
        .select_related("person", "area", "area__parent", "access_point")
        .order_by("pk")
    )
    for event in events:
        latest[event.person_id] = event
    by_area: dict[int, dict] = {}
    for event in latest.values():
        entry = by_area.setdefault(event.area_id, {"area": event.area, "events": []})
        entry["events"].append(event)
    groups = sorted(by_area.values(), key=lambda g: str(g["area"]))
    for group in groups:
        group["events"].sort(key=lambda e: str(e.person))
    return groups


def visitors_on_site(*, at: datetime | None = None) -> list[dict]:
    """Visitors and contractors whose pass is valid now, with sponsor and last entry today."""
    at = at or timezone.now()
    passes = (
        VisitorPass.objects.filter(starts_at__lte=at, ends_at__gt=at)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        .filter(visitor__is_active=True)
        .select_related("visitor", "sponsor")
        .prefetch_related("areas")
        .order_by("visitor__display_name", "pk")
    )
    seen: dict[int, dict] = {}
    for visitor_pass in passes:
        seen.setdefault(visitor_pass.visitor_id, {"pass": visitor_pass, "last_entry": None})
    last = (
        AccessEvent.objects.filter(
            decision=Decision.GRANTED,
            person_id__in=seen.keys(),
            created_at__gte=start_of_today(at),
        )
        .select_related("access_point")
        .order_by("pk")
    )
    for event in last:
        seen[event.person_id]["last_entry"] = event
    return list(seen.values())


def passes_visible_to(*, user) -> QuerySet[VisitorPass]:
    """Guards and admins see every pass; other employees the passes they sponsor or created."""
    passes = VisitorPass.objects.select_related(
        "visitor", "sponsor", "created_by"
    ).prefetch_related("areas")
    role = role_of(user)
    if role in LOG_ROLES:
        return passes
    if role in PASS_ISSUERS:
        return passes.filter(Q(sponsor=user) | Q(created_by=user))
    return passes.none()


def sponsors() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=PASS_ISSUERS).order_by(
        "display_name", "username"
    )


def visitors(*, user=None) -> QuerySet[User]:
    """Visitors and contractors a pass may be issued for: all for reception and admins, only
    their own visitors for an employee or manager (access_control.sponsoring)."""
    people = User.objects.filter(is_active=True, role__in=(Role.VISITOR, Role.CONTRACTOR)).order_by(
        "display_name", "username"
    )
    if user is None or role_of(user) in LOG_ROLES:
        return people
    return people.filter(sponsor=user, role=Role.VISITOR)


def console_filters() -> dict:
    return {
        "areas": list(Area.objects.select_related("parent")),
        "points": list(AccessPoint.objects.select_related("area")),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def subject_access_section(*, person: User) -> dict:
    """Access control's part of a person's subject-access export (faceauth.subject_access):
    their door events and the passes they hold. Pseudonymised events are nobody's any more."""
    zone = site_zone()
    events = (
        AccessEvent.objects.filter(person=person)
        .select_related("access_point", "area")
        .order_by("created_at", "pk")
    )
    passes = (
        VisitorPass.objects.filter(visitor=person)
        .select_related("sponsor")
        .prefetch_related("areas")
        .order_by("starts_at", "pk")
    )
    return {
        "access_events": [
            {
                "id": e.pk,
                "at": e.created_at.isoformat(),
                "local_time": e.created_at.astimezone(zone).isoformat(),
                "door": e.access_point.name,
                "area": e.area.name,
                "decision": e.decision,
                "reason": e.reason,
                "mode": e.mode,
                "score": e.score,
                "threshold": e.threshold,
                "model_version": e.model_version,
                "liveness": e.liveness,
                "detail": e.detail,
            }
            for e in events
        ],
        "passes": [
            {
                "id": p.pk,
                "kind": p.kind,
                "sponsor": str(p.sponsor),
                "areas": sorted(a.name for a in p.areas.all()),
                "starts_at": p.starts_at.isoformat(),
                "ends_at": p.ends_at.isoformat(),
                "purpose": p.purpose,
                "revoked_at": _iso(p.revoked_at),
                "status": p.status(),
            }
            for p in passes
        ],
    }


def setup_state() -> dict[str, bool]:
    """For the admin's first-run checklist: an active door with an active terminal, and an
    active access rule."""
    return {
        "door": AccessPoint.objects.filter(is_active=True, device__is_active=True).exists(),
        "rule": AccessRule.objects.filter(is_active=True).exists(),
    }


def access_points_of(*, device_ids) -> dict[int, AccessPoint]:
    """{device id: its access point} for the device list."""
    points = AccessPoint.objects.select_related("area").filter(device_id__in=list(device_ids))
    return {point.device_id: point for point in points}


def access_point_of(*, device) -> AccessPoint | None:
    return AccessPoint.objects.select_related("area").filter(device=device).first()


def access_points() -> QuerySet[AccessPoint]:
    return AccessPoint.objects.select_related("area", "device")


def areas() -> QuerySet[Area]:
    return Area.objects.select_related("parent")


# A pass that ended this long ago still shows on its holder's home page ("expired yesterday").
RECENT_PASS = timedelta(days=1)


def passes_of_holder(*, person: User, at: datetime | None = None) -> list[dict]:
    """A visitor's or contractor's own passes for their home page: current and coming ones
    (and those that ended in the last day), each with its status, areas, the doors that lead
    into them and the way those doors check people (AccessMode), earliest first."""
    at = at or timezone.now()
    passes = (
        VisitorPass.objects.filter(visitor=person, ends_at__gt=at - RECENT_PASS)
        .select_related("sponsor")
        .prefetch_related("areas")
        .order_by("starts_at", "pk")
    )
    out = []
    for visitor_pass in passes:
        areas = list(visitor_pass.areas.all())
        doors = list(
            AccessPoint.objects.filter(
                is_active=True, area_id__in=descendants({a.pk for a in areas})
            ).order_by("name")
        )
        out.append(
            {
                "pass": visitor_pass,
                "status": visitor_pass.status(at),
                "areas": sorted(str(a) for a in areas),
                "doors": [d.name for d in doors],
                "modes": sorted({d.mode for d in doors}),
            }
        )
    return out
