"""The demo site's configuration: departments, work schedules, areas, doors, kiosks and access
rules. These are set up in the admin in a real site, which saves them validated (full_clean);
the demo does the same. Devices are registered through ``accounts.services``. Idempotent."""

from dataclasses import dataclass, field
from datetime import time

from access_control.models import AccessPoint, AccessRule, Area, SecurityLevel
from accounts import services as accounts
from accounts.models import Department, Device, DeviceKind, Role, User
from attendance.models import WorkSchedule


@dataclass(frozen=True)
class DepartmentPlan:
    code: str
    name: str
    start: time  # the schedule's start, local time
    area: str  # the department's own area
    level: int
    contractors: bool = False  # contractor passes may name the area


DEPARTMENTS = (
    DepartmentPlan("ops", "Operations", time(8, 0), "Operations office", SecurityLevel.NORMAL),
    DepartmentPlan("lab", "Research Lab", time(9, 0), "Lab 2", SecurityLevel.HIGH),
    DepartmentPlan("eng", "Engineering", time(9, 30), "Server room", SecurityLevel.HIGH, True),
    DepartmentPlan("sales", "Sales", time(8, 30), "Sales floor", SecurityLevel.NORMAL),
    DepartmentPlan("fac", "Facilities", time(6, 0), "Warehouse", SecurityLevel.NORMAL, True),
    DepartmentPlan("fin", "Finance", time(8, 0), "Finance office", SecurityLevel.HIGH),
)
PLANS = {p.code: p for p in DEPARTMENTS}
SITE, LOBBY, CANTEEN = "Headquarters", "Lobby", "Canteen"
DEMO_DOOR = "Demo door"  # the lobby's door terminal, made by bootstrap_demo
# Staff who may pass the common areas; guards and admins may go everywhere.
COMMON_ROLES = (Role.EMPLOYEE, Role.MANAGER)
SITE_ROLES = (Role.GUARD, Role.ADMIN)


@dataclass
class Site:
    headquarters: Area
    lobby: Area
    canteen: Area | None = None
    departments: dict[str, Department] = field(default_factory=dict)
    areas: dict[str, Area] = field(default_factory=dict)  # department code -> its area
    points: dict[int, AccessPoint] = field(default_factory=dict)  # area pk -> its door
    kiosks: list[Device] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # device name -> token (new only)


def _saved(obj):
    obj.full_clean()
    obj.save()
    return obj


def department(code: str) -> Department:
    plan = PLANS[code]
    found = Department.objects.filter(code=code).first()
    return found or _saved(Department(code=code, name=plan.name))


def area(name: str, *, parent: Area | None = None, **options) -> Area:
    found = Area.objects.filter(parent=parent, name=name).first()
    return found or _saved(Area(parent=parent, name=name, **options))


def device(site: Site, name: str, kind: str, location: str, actor: User | None) -> Device:
    found = Device.objects.filter(name=name).first()
    if found is None:
        found, site.tokens[name] = accounts.register_device(
            name=name, kind=kind, location=location, actor=actor
        )
    return found


def door(site: Site, where: Area, *, device_name: str, actor: User | None) -> AccessPoint:
    name = f"{where.name} door"
    point = AccessPoint.objects.filter(name=name).first()
    if point is None:
        terminal = device(site, device_name, DeviceKind.DOOR, where.name, actor)
        point = _saved(
            AccessPoint(name=name, area=where, device=terminal, security_level=where.security_level)
        )
    site.points[where.pk] = point
    return point


def allow(name: str, areas: list[Area], **subject) -> AccessRule:
    rule = AccessRule.objects.filter(name=name).first() or _saved(AccessRule(name=name, **subject))
    rule.areas.add(*areas)
    return rule


def lobby_with_door(actor: User | None) -> Site:
    """The smallest site: a lobby, its door terminal and the rules that let staff in."""
    hq = area(SITE)
    # Contractors come in through the lobby too.
    site = Site(headquarters=hq, lobby=area(LOBBY, parent=hq, contractor_passes=True))
    door(site, site.lobby, device_name=DEMO_DOOR, actor=actor)
    for role in COMMON_ROLES:
        allow(f"{Role(role).label}s: common areas", [site.lobby], role=role)
    for role in SITE_ROLES:
        allow(f"{Role(role).label}s: whole site", [hq], role=role)
    return site


def full_site(actor: User | None) -> Site:
    """Every department with its schedule, area, door and rules; a canteen; two kiosks."""
    site = lobby_with_door(actor)
    site.canteen = area(CANTEEN, parent=site.headquarters)
    door(site, site.canteen, device_name=f"Door {CANTEEN}", actor=actor)
    for role in COMMON_ROLES:
        allow(f"{Role(role).label}s: common areas", [site.canteen], role=role)
    for plan in DEPARTMENTS:
        dept = site.departments[plan.code] = department(plan.code)
        if not WorkSchedule.objects.filter(department=dept).exists():
            _saved(WorkSchedule(department=dept, start_time=plan.start, grace_minutes=5))
        own = site.areas[plan.code] = area(
            plan.area,
            parent=site.headquarters,
            department=dept,
            security_level=plan.level,
            contractor_passes=plan.contractors,
        )
        door(site, own, device_name=f"Door {plan.area}", actor=actor)
        for role in COMMON_ROLES:
            allow(f"{plan.name}: {Role(role).label.lower()}s", [own], role=role, department=dept)
    site.kiosks = [
        device(site, "Kiosk entrance", DeviceKind.KIOSK, "Entrance", actor),
        device(site, "Kiosk warehouse", DeviceKind.KIOSK, "Warehouse", actor),
    ]
    return site


def personal_schedule(person: User, start: time, grace_minutes: int) -> WorkSchedule:
    return _saved(WorkSchedule(person=person, start_time=start, grace_minutes=grace_minutes))
