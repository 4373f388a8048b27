"""Demo data for ``make run``, the report benchmarks and the report tests, written only through
the apps' services (and, for site configuration, validated models as the admin saves them), so
it obeys the same rules as real use. The wiring layer may know every app; no app knows this.

- ``bootstrap``: the demo admin, the named demo people, a kiosk, and a lobby door with its
  access rules (``bootstrap_demo``).
- ``seed``: departments with schedules, areas, doors and rules, generated staff and guests, and
  ``days`` of clock history, door traffic, visitor passes, alerts and lock-outs; the named
  demo staff (alice, bob, ...) get the same history (``seed_demo``). Deterministic for a seed.

Face recognition is not run: events carry plausible scores, and nobody is enrolled.
"""

import random
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from accounts.models import DeviceKind, Role, User
from attendance.selectors import counted_events, schedule_for

from . import access, attendance, people, security, site
from .clock import DemoClock

BATCH_PEOPLE = 50  # one transaction per batch keeps transactions short
BATCH_VISITS = 5000


@dataclass
class Bootstrapped:
    admin: User
    people: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)  # new devices: name -> token


@transaction.atomic
def bootstrap() -> Bootstrapped:
    """Idempotent."""
    admin = people.demo_admin()
    named = people.named_people(admin=admin, now=timezone.now())
    demo = site.lobby_with_door(admin)
    site.device(demo, "Demo kiosk", DeviceKind.KIOSK, "Entrance", admin)
    return Bootstrapped(admin, named, demo.tokens)


def already_seeded() -> bool:
    return User.objects.filter(username__startswith=people.PREFIX).exists()


def _start_minutes(person: User) -> float:
    schedule = schedule_for(person=person)
    start = schedule.start_time if schedule else site.PLANS["ops"].start
    return start.hour * 60 + start.minute


def seed(*, count: int, days: int, seed: int = 7) -> tuple[Counter, dict[str, str]]:
    """Returns what was made, and the tokens of the devices registered now."""
    rng = random.Random(seed)
    clock = DemoClock.last_days(days)
    counts: Counter = Counter()
    with transaction.atomic():
        admin = people.site_admin()
        demo = site.full_site(admin)
        staff = people.generated_people(
            rng=rng,
            count=count,
            departments=demo.departments,
            admin=admin,
            valid_from=clock.start,
            valid_until=clock.now + timedelta(days=30),
        )
        counts["people"] = len(staff.people) + len(staff.visitors) + len(staff.contractors)
    # The named demo staff (bootstrap_demo) get the same history, once.
    named = [
        p
        for p in User.objects.filter(username__in=("manager", "guard", "alice", "bob"))
        .exclude(department=None)
        .order_by("username")
        if not counted_events(person=p).exists()
    ]
    history = named + staff.people
    visits: list[access.Visit] = []
    for start in range(0, len(history), BATCH_PEOPLE):
        with transaction.atomic():
            for person in history[start : start + BATCH_PEOPLE]:
                # One generator per person: today's events, cut at the current time, must not
                # shift the draws of everybody after them (same seed, same history).
                key = zlib.crc32(f"{seed}:{person.username}".encode())
                rng, nprng = random.Random(key), np.random.default_rng(key)
                night = person.pk in staff.night
                habits = attendance.habits(rng, 22 * 60 if night else _start_minutes(person))
                worked = attendance.shifts(rng, clock, habits)
                kiosk = demo.kiosks[1 if person.department.code == "fac" else 0]
                reviewer = staff.managers.get(person.department_id)
                if reviewer is None or reviewer.pk == person.pk:
                    reviewer = admin
                counts.update(
                    attendance.record_history(
                        rng=rng,
                        clock=clock,
                        person=person,
                        worked=worked,
                        kiosk=kiosk,
                        reviewer=reviewer,
                    )
                )
                visits.extend(access.staff_visits(rng, nprng, clock, demo, person, worked))
    rng, nprng = random.Random(seed + 1), np.random.default_rng(seed + 1)
    with transaction.atomic():
        guest_visits, passes = access.issue_passes(rng, nprng, clock, demo, staff, admin)
        counts["visitor passes"] += passes
    visits += guest_visits + access.stranger_visits(rng, nprng, clock, demo)
    # The doors decide in time order, as they would have (alerts count recent denials).
    visits.sort(key=lambda v: v.at)
    for start in range(0, len(visits), BATCH_VISITS):
        with transaction.atomic():
            counts["access events"] += access.record_visits(
                rng, visits[start : start + BATCH_VISITS]
            )
    with transaction.atomic():
        reception = staff.guards[0] if staff.guards else admin
        counts.update(access.handle_alerts(random.Random(seed + 2), clock, reception))
        counts["face lock-outs"] += security.lockouts_for(
            random.Random(seed + 3), staff.people[len(demo.areas) :]
        )
        counts["visitor passes"] += _named_guest_passes(demo, admin, staff)
    return counts, demo.tokens


def _named_guest_passes(demo: site.Site, admin: User, staff: people.Staff) -> int:
    """vera and carl (bootstrap_demo) hold a pass for their visit."""
    made = 0
    for username, areas, hours in (
        ("vera", [demo.lobby, demo.canteen, demo.areas["ops"]], 8),
        ("carl", [demo.lobby, demo.areas["eng"], demo.areas["fac"]], 24 * 14),
    ):
        guest = User.objects.filter(username=username, role__in=(Role.VISITOR, Role.CONTRACTOR))
        guest = guest.first()
        if guest is None or not guest.is_within_validity():
            continue
        made += (
            access.guest_pass_now(
                person=guest,
                issuer=admin,
                sponsor=staff.managers.get(demo.departments["ops"].pk, admin),
                areas=areas,
                hours=hours,
            )
            is not None
        )
    return made
