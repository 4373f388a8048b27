"""Demo people, onboarded through ``accounts.services`` like the admin does: the named demo
accounts of ``bootstrap_demo`` and the generated staff and guests of ``seed_demo``."""

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from accounts import services as accounts
from accounts.models import Department, Role, User

from . import site as demo_site

ADMIN_USERNAME = "admin"
PASSWORD = "faceauth-demo"
PREFIX = "seed-"  # generated people; their presence means the demo was seeded

FIRST = (
    "Anna Ben Clara David Emma Felix Greta Hannes Ida Jonas Katrin Lukas Mia Noah Olga Paul "
    "Quentin Rosa Stefan Tina Ulrich Vera Wanda Xaver Yara Zoe Aylin Bilal Chiara Dario Elif "
    "Farid Hana Ivan Jana Kemal Lina Mehmet Nora Omar Petra Rania Sven Tarek Uwe Valentina"
).split()
LAST = (
    "Schmidt Müller Weber Wagner Becker Hoffmann Schulz Koch Richter Klein Wolf Neumann "
    "Schwarz Braun Zimmermann Krüger Hartmann Lange Werner Krause Lehmann Köhler Maier Frank "
    "Yilmaz Kaya Nowak Rossi Garcia Silva Jansen Dubois Novak Horvat Popescu Ivanova"
).split()


def demo_admin() -> User:
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = accounts.onboard_person(
            username=ADMIN_USERNAME,
            role=Role.ADMIN,
            display_name="Demo Admin",
            employee_number="A0001",
            password=PASSWORD,
        )
        admin.is_superuser = True
        admin.save(update_fields=["is_superuser"])
        accounts.assign_role(person=admin, role=Role.ADMIN)
    return admin


def site_admin() -> User:
    """The admin who sets the demo up: the site's first admin, else the demo admin."""
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    return admin or demo_admin()


def named_people(*, admin: User, now: datetime) -> dict[str, User]:
    """manager, guard, alice, bob (staff), vera (visitor for a day), carl (contractor)."""
    ops, lab = demo_site.department("ops"), demo_site.department("lab")
    plan = [
        ("manager", Role.MANAGER, "Maria Manager", "M0001", ops, {}),
        ("guard", Role.GUARD, "Gustav Guard", "G0001", ops, {}),
        ("alice", Role.EMPLOYEE, "Alice Andersen", "E0001", ops, {}),
        ("bob", Role.EMPLOYEE, "Bob Brown", "E0002", lab, {}),
        ("vera", Role.VISITOR, "Vera Visitor", None, None, {"until": timedelta(days=1)}),
        ("carl", Role.CONTRACTOR, "Carl Contractor", "C0001", lab, {"until": timedelta(days=30)}),
    ]
    people = {}
    for username, role, name, number, dept, extra in plan:
        person = User.objects.filter(username=username).first()
        if person is None:
            guest = role in (Role.VISITOR, Role.CONTRACTOR)
            person = accounts.onboard_person(
                username=username,
                role=role,
                display_name=name,
                employee_number=number,
                department=dept,
                password=PASSWORD,
                pin="1234" if role == Role.EMPLOYEE else None,
                sponsor=admin if guest else None,
                valid_from=now if guest else None,
                valid_until=now + extra["until"] if guest else None,
                actor=admin,
            )
        people[username] = person
    return people


@dataclass
class Staff:
    people: list[User] = field(default_factory=list)  # staff who clock in and pass doors
    managers: dict[int, User] = field(default_factory=dict)  # department pk -> its manager
    guards: list[User] = field(default_factory=list)
    visitors: list[User] = field(default_factory=list)
    contractors: list[User] = field(default_factory=list)
    night: set[int] = field(default_factory=set)  # people on the 22:00 shift


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def generated_people(
    *,
    rng: random.Random,
    count: int,
    departments: dict[str, Department],
    admin: User,
    valid_from: datetime,
    valid_until: datetime,
) -> Staff:
    """``count`` staff (a manager per department first, then a guard, then employees) and
    their guests."""
    staff = Staff()
    codes = list(departments)
    for i in range(count):
        code = codes[i % len(codes)]
        role = Role.EMPLOYEE
        if i < len(codes):
            role = Role.MANAGER
        elif i == len(codes) or i % 47 == 0:
            role = Role.GUARD
        first, last = _name(rng)
        person = accounts.onboard_person(
            username=f"{PREFIX}{i + 1:04d}",
            role=role,
            display_name=f"{first} {last}",
            employee_number=f"S{i + 1:05d}",
            department=departments[code],
            # Hashing a password takes a while: only the first manager signs in (the tests
            # and the tour use Operations); the rest clock in and pass doors by face.
            password=PASSWORD if i == 0 else None,
            actor=admin,
        )
        staff.people.append(person)
        if role == Role.MANAGER:
            staff.managers[person.department_id] = person
        elif role == Role.GUARD:
            staff.guards.append(person)
        # Night shift: some of Operations and Facilities start at 22:00 (across midnight).
        if role == Role.EMPLOYEE and code in ("ops", "fac") and rng.random() < 0.15:
            demo_site.personal_schedule(person, time(22, 0), grace_minutes=10)
            staff.night.add(person.pk)
    hosts = list(staff.managers.values()) or [admin]
    for i in range(max(6, count // 25)):
        role = Role.CONTRACTOR if i % 3 == 0 else Role.VISITOR
        first, last = _name(rng)
        guest = accounts.onboard_person(
            username=f"{PREFIX}{role}-{i + 1:03d}",
            role=role,
            display_name=f"{first} {last}",
            valid_from=valid_from,
            valid_until=valid_until,
            # A visitor is hosted by a manager (who may then issue their passes); reception
            # (a guard or admin) issues contractors' passes.
            sponsor=hosts[i % len(hosts)] if role == Role.VISITOR else admin,
            actor=admin,
        )
        (staff.contractors if role == Role.CONTRACTOR else staff.visitors).append(guest)
    return staff
