"""Demo data for the report dashboards: people, schedules, clock events, sessions, doors,
access events, visitors, alerts, face attempts and lockouts. Idempotent: it does nothing when
seeded people exist.

Face recognition is bypassed: events are written directly with plausible scores (cosine
similarity; genuine around 0.965, strangers around 0.87, threshold 0.92). Templates carry the
model version ``seed-demo``, which no gallery loads, so they never match a real face.
Everything is bulk-inserted, a batch of people at a time, so memory stays flat.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from access_control.models import (
    AccessEvent,
    AccessMode,
    AccessPoint,
    Alert,
    AlertKind,
    AlertState,
    Area,
    Decision,
    PassKind,
    SecurityLevel,
    VisitorPass,
)
from access_control.selectors import Reason
from accounts.models import AuditEntry, Department, Device, DeviceKind, Role, User
from accounts.roles import group_name
from attendance.models import (
    ClockEvent,
    Correction,
    CorrectionKind,
    CorrectionStatus,
    Direction,
    Method,
    WorkSchedule,
    WorkSession,
)
from attendance.services import pair_events
from biometrics.models import FaceLockout, FaceTemplate
from biometrics.selectors import PIPELINE_VERSION

PREFIX = "seed-"
PASSWORD = "faceauth-demo"
MODEL = PIPELINE_VERSION  # demo templates and decisions carry the running model version
THRESHOLD = 0.92
BATCH_PEOPLE = 50
INSERT_BATCH = 5000

DEPARTMENTS = [
    # code, name, start, area name, security level
    ("ops", "Operations", time(8, 0), "Operations office", SecurityLevel.NORMAL),
    ("lab", "Research Lab", time(9, 0), "Lab 2", SecurityLevel.HIGH),
    ("eng", "Engineering", time(9, 30), "Server room", SecurityLevel.HIGH),
    ("sales", "Sales", time(8, 30), "Sales floor", SecurityLevel.NORMAL),
    ("fac", "Facilities", time(6, 0), "Warehouse", SecurityLevel.NORMAL),
    ("fin", "Finance", time(8, 0), "Finance office", SecurityLevel.HIGH),
]
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
DENIAL_REASONS = (
    (Reason.LOW_QUALITY, 0.45),
    (Reason.NO_RULE, 0.2),
    (Reason.OUTSIDE_SCHEDULE, 0.15),
    (Reason.FACE_MISMATCH, 0.05),
    (Reason.NOT_AUTHORISED, 0.05),
    (Reason.WRONG_PIN, 0.1),
)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


class Command(BaseCommand):
    help = "Generate realistic demo data for the reports (skips when seeded people exist)."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=30)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        if User.objects.filter(username__startswith=PREFIX).exists():
            self.stdout.write("Demo data already seeded; nothing to do.")
            return
        self.zone = ZoneInfo(settings.DISPLAY_TIME_ZONE)
        self.rng = random.Random(options["seed"])
        self.np = np.random.default_rng(options["seed"])
        self.now = timezone.now()
        today = self.now.astimezone(self.zone).date()
        self.days = [today - timedelta(days=i) for i in range(options["days"] - 1, -1, -1)]
        self.counts: dict[str, int] = defaultdict(int)
        with transaction.atomic():
            self._structure()
            people = self._people(options["people"])
            self._templates(people)
        for start in range(0, len(people), BATCH_PEOPLE):
            with transaction.atomic():
                self._attendance_and_doors(people[start : start + BATCH_PEOPLE])
        with transaction.atomic():
            self._visitors()
            self._strangers_and_alerts()
            self._face_attempts(people)
        summary = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Seeded: {summary}"))

    # ------------------------------------------------------------------ structure

    def _device(self, name: str, kind: str, location: str) -> Device:
        device = Device.objects.filter(name=name).first()
        if device is None:
            device = Device(name=name, kind=kind, location=location)
            device.issue_token()
            device.save()
        return device

    def _structure(self) -> None:
        self.departments = {}
        hq, _ = Area.objects.get_or_create(parent=None, name="Headquarters")
        self.lobby, _ = Area.objects.get_or_create(parent=hq, name="Lobby")
        self.canteen, _ = Area.objects.get_or_create(parent=hq, name="Canteen")
        self.dept_area = {}
        for code, name, start, area_name, level in DEPARTMENTS:
            dept, _ = Department.objects.get_or_create(code=code, defaults={"name": name})
            self.departments[code] = dept
            if not WorkSchedule.objects.filter(department=dept).exists():
                WorkSchedule.objects.create(department=dept, start_time=start, grace_minutes=5)
            area, _ = Area.objects.get_or_create(
                parent=hq,
                name=area_name,
                defaults={
                    "department": dept,
                    "security_level": level,
                    "contractor_passes": code in ("fac", "eng"),
                },
            )
            self.dept_area[dept.pk] = area
        self.points = {}
        for area in (self.lobby, self.canteen, *self.dept_area.values()):
            device = self._device(f"Door {area.name}", DeviceKind.DOOR, area.name)
            point, _ = AccessPoint.objects.get_or_create(
                name=f"{area.name} door",
                defaults={"area": area, "device": device, "security_level": area.security_level},
            )
            self.points[area.pk] = point
        self.kiosks = [
            self._device("Kiosk entrance", DeviceKind.KIOSK, "Entrance"),
            self._device("Kiosk warehouse", DeviceKind.KIOSK, "Warehouse"),
        ]

    def _people(self, n: int) -> list[User]:
        rng = self.rng
        password = make_password(PASSWORD)
        codes = list(self.departments)
        start = datetime.combine(self.days[0], time.min, tzinfo=self.zone)
        users = []
        for i in range(n):
            code = codes[i % len(codes)]
            role = Role.EMPLOYEE
            if i < len(codes):
                role = Role.MANAGER
            elif i % 47 == 0:
                role = Role.GUARD
            name = _name(rng)
            users.append(
                User(
                    username=f"{PREFIX}{i + 1:04d}",
                    password=password,
                    role=role,
                    is_staff=role == Role.MANAGER,
                    display_name=name,
                    first_name=name.split()[0],
                    last_name=name.split()[1],
                    employee_number=f"S{i + 1:05d}",
                    department=self.departments[code],
                    date_joined=start,
                )
            )
        for i in range(max(6, n // 25)):
            kind = Role.CONTRACTOR if i % 3 == 0 else Role.VISITOR
            name = _name(rng)
            users.append(
                User(
                    username=f"{PREFIX}{kind}-{i + 1:03d}",
                    password=password,
                    role=kind,
                    display_name=name,
                    valid_from=start,
                    valid_until=self.now + timedelta(days=30),
                    date_joined=start,
                )
            )
        created = User.objects.bulk_create(users, batch_size=INSERT_BATCH)
        groups = {r: Group.objects.get_or_create(name=group_name(r))[0] for r in Role}
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=u.pk, group_id=groups[u.role].pk) for u in created],
            batch_size=INSERT_BATCH,
        )
        self.counts["people"] = len(created)
        staff = [u for u in created if u.role not in (Role.VISITOR, Role.CONTRACTOR)]
        self.visitors = [u for u in created if u.role == Role.VISITOR]
        self.contractors = [u for u in created if u.role == Role.CONTRACTOR]
        self.managers = [u for u in staff if u.role == Role.MANAGER]
        # Night shift: some of Operations and Facilities start at 22:00 (across midnight).
        night = [u for u in staff if u.department.code in ("ops", "fac") and rng.random() < 0.15]
        WorkSchedule.objects.bulk_create(
            [WorkSchedule(person=u, start_time=time(22, 0), grace_minutes=10) for u in night]
        )
        self.night = {u.pk for u in night}
        return staff

    def _templates(self, people: list[User]) -> None:
        templates = []
        for person in people:
            if self.rng.random() < 0.06:
                continue  # not enrolled yet
            vector = self.np.standard_normal(128).astype(np.float32)
            template = FaceTemplate(
                person=person,
                model_version="seed-demo",
                quality_score=0.8 + 0.2 * self.rng.random(),
            )
            template.embedding = vector / np.linalg.norm(vector)
            templates.append(template)
        FaceTemplate.objects.bulk_create(templates, batch_size=1000)
        self.counts["face templates"] = len(templates)

    # ------------------------------------------------------------------ days

    def _local(self, day: date, minutes: float) -> datetime:
        base = datetime.combine(day, time.min, tzinfo=self.zone)
        # Wall-clock arithmetic, then a real instant (DST-aware via the zone).
        return (base + timedelta(minutes=minutes)).astimezone(ZoneInfo("UTC"))

    def _genuine(self) -> float:
        return round(min(0.995, max(THRESHOLD + 0.001, self.rng.gauss(0.965, 0.012))), 4)

    def _attendance_and_doors(self, people: list[User]) -> None:
        rng = self.rng
        events: list[ClockEvent] = []
        access: list[AccessEvent] = []
        for person in people:
            night = person.pk in self.night
            schedule_start = 22 * 60 if night else self._dept_start(person)
            punctual = rng.gauss(-8, 6)
            lateness = rng.choice((0.03, 0.06, 0.1, 0.25))
            length = rng.gauss(8.6, 0.35) * 60 + (60 if rng.random() < 0.15 else 0)
            holidays = self._holidays()
            area = self.dept_area[person.department_id]
            for day in self.days:
                workday = day.weekday() < 5
                if not workday and rng.random() > 0.03:
                    continue
                if day in holidays or rng.random() < 0.03:
                    continue
                arrive = schedule_start + rng.gauss(punctual, 7)
                if rng.random() < lateness:
                    arrive += rng.expovariate(1 / 18) + 6
                leave = arrive + rng.gauss(length, 25)
                t_in, t_out = self._local(day, arrive), self._local(day, leave)
                if t_in > self.now:
                    continue
                pin = rng.random() < 0.02
                kiosk = self.kiosks[1 if person.department.code == "fac" else 0]
                events.append(self._clock(person, Direction.IN, t_in, kiosk, pin))
                if t_out < self.now and rng.random() > 0.008:
                    events.append(self._clock(person, Direction.OUT, t_out, kiosk, False))
                access.extend(self._door_day(person, day, arrive, leave, area))
        created = ClockEvent.objects.bulk_create(events, batch_size=INSERT_BATCH)
        self.counts["clock events"] += len(created)
        by_person = defaultdict(list)
        for event in created:
            by_person[event.person_id].append(event)
        sessions = []
        people_by_pk = {p.pk: p for p in people}
        for pk, person_events in by_person.items():
            person_events.sort(key=lambda e: (e.timestamp, e.pk))
            sessions.extend(pair_events(person=people_by_pk[pk], events=person_events))
        WorkSession.objects.bulk_create(sessions, batch_size=INSERT_BATCH)
        self.counts["work sessions"] += len(sessions)
        self._corrections(created, sessions)
        access_created = AccessEvent.objects.bulk_create(access, batch_size=INSERT_BATCH)
        self.counts["access events"] += len(access_created)
        self._alerts_for(access_created)

    def _dept_start(self, person: User) -> int:
        for code, _, start, *_ in DEPARTMENTS:
            if person.department.code == code:
                return start.hour * 60 + start.minute
        return 8 * 60

    def _holidays(self) -> set[date]:
        out = set()
        for _ in range(2):
            if len(self.days) < 90 or self.rng.random() < 0.5:  # holidays only in long ranges
                continue
            first = self.rng.randrange(len(self.days) - 10)
            out.update(self.days[first : first + self.rng.choice((5, 7, 10))])
        return out

    def _clock(self, person, direction, at, kiosk, pin) -> ClockEvent:
        if pin:
            return ClockEvent(
                person=person,
                direction=direction,
                timestamp=at,
                device=kiosk,
                method=Method.PIN,
                needs_review=True,
                pin_fallback=True,
            )
        return ClockEvent(
            person=person,
            direction=direction,
            timestamp=at,
            device=kiosk,
            method=Method.FACE_1N,
            score=self._genuine(),
            threshold=THRESHOLD,
            model_version=MODEL,
        )

    def _corrections(self, events: list[ClockEvent], sessions: list[WorkSession]) -> None:
        """Forgotten clock-outs get a correction request; PIN fallbacks a review. Those older
        than two weeks were decided (approved), the recent ones wait for a manager."""
        recent = self.now - timedelta(days=14)
        corrections = []
        for session in sessions:
            if session.status != "missing_out" or self.rng.random() > 0.6:
                continue
            at = session.started_at + timedelta(hours=8, minutes=30)
            corrections.append(
                Correction(
                    person_id=session.person_id,
                    kind=CorrectionKind.MISSING_EVENT,
                    proposed_direction=Direction.OUT,
                    proposed_timestamp=at,
                    reason="Forgot to clock out",
                    requested_by_id=session.person_id,
                    status=CorrectionStatus.PENDING,
                )
            )
        for event in events:
            if event.pin_fallback and event.timestamp < recent:
                corrections.append(
                    Correction(
                        person_id=event.person_id,
                        kind=CorrectionKind.REVIEW,
                        event=event,
                        reason="PIN fallback at the kiosk",
                        status=CorrectionStatus.APPROVED,
                        decided_by=self.managers[0] if self.managers else None,
                        decided_at=event.timestamp + timedelta(days=1),
                    )
                )
        Correction.objects.bulk_create(corrections, batch_size=INSERT_BATCH)
        self.counts["corrections"] += len(corrections)

    def _event(self, point: AccessPoint, at: datetime, person, decision, reason, **extra):
        return AccessEvent(
            created_at=at,
            access_point=point,
            area_id=point.area_id,
            person=person,
            decision=decision,
            reason=reason,
            mode=AccessMode.FACE,
            model_version=MODEL,
            threshold=THRESHOLD,
            **extra,
        )

    def _door_day(self, person, day, arrive, leave, area) -> list[AccessEvent]:
        rng = self.rng
        lobby, own = self.points[self.lobby.pk], self.points[area.pk]
        visits = [(lobby, arrive - rng.uniform(1, 4)), (own, arrive + rng.uniform(2, 10))]
        lunch = arrive + rng.uniform(3.5, 5) * 60
        if lunch < leave and rng.random() < 0.65:
            visits.append((self.points[self.canteen.pk], lunch))
            visits.append((own, lunch + rng.uniform(20, 50)))
        for _ in range(self.np.poisson(1.3) if rng.random() < 0.9 else 0):
            visits.append((own, rng.uniform(arrive + 30, max(arrive + 31, leave - 10))))
        out = []
        for point, minutes in visits:
            at = self._local(day, minutes)
            if at > self.now:
                continue
            if rng.random() < 0.035:
                reason = rng.choices(*zip(*DENIAL_REASONS, strict=True))[0]
                score = None if reason == Reason.LOW_QUALITY else self._genuine()
                out.append(self._event(point, at, person, Decision.DENIED, reason, score=score))
                at += timedelta(seconds=rng.uniform(5, 40))
                if reason in (Reason.NO_RULE, Reason.OUTSIDE_SCHEDULE):
                    continue
            out.append(
                self._event(
                    point, at, person, Decision.GRANTED, Reason.RULE_ALLOWS, score=self._genuine()
                )
            )
        return out

    # ------------------------------------------------------------------ visitors, strangers

    def _visitors(self) -> None:
        rng = self.rng
        if not self.managers:
            return
        passes, areas, plans = [], [], []
        guests = self.visitors + self.contractors
        for day in self.days:
            if day.weekday() >= 5:
                continue
            for guest in rng.sample(guests, k=min(len(guests), self.np.poisson(len(guests) / 4))):
                contractor = guest.role == Role.CONTRACTOR
                dept = rng.choice(list(self.departments.values()))
                area = self.dept_area[dept.pk]
                if contractor:
                    area = self.dept_area[self.departments[rng.choice(("fac", "eng"))].pk]
                starts = self._local(day, rng.choice((8, 9, 10, 13)) * 60)
                hours = 9 if contractor else rng.choice((2, 3, 4))
                if starts > self.now:
                    continue
                sponsor = rng.choice(self.managers)
                passes.append(
                    VisitorPass(
                        visitor=guest,
                        kind=PassKind.CONTRACTOR if contractor else PassKind.VISITOR,
                        sponsor=sponsor,
                        created_by=sponsor,
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=hours),
                        purpose=rng.choice(
                            ("Maintenance", "Cabling", "Audit")
                            if contractor
                            else ("Interview", "Customer visit", "Workshop", "Delivery")
                        ),
                    )
                )
                areas.append((self.lobby, area, self.canteen))
                plans.append((guest, starts, hours, area))
        created = VisitorPass.objects.bulk_create(passes, batch_size=INSERT_BATCH)
        through = VisitorPass.areas.through
        through.objects.bulk_create(
            [
                through(visitorpass_id=p.pk, area_id=a.pk)
                for p, pass_areas in zip(created, areas, strict=True)
                for a in pass_areas
            ],
            batch_size=INSERT_BATCH,
        )
        events = []
        for visitor_pass, (guest, starts, hours, area) in zip(created, plans, strict=True):
            for point, offset in (
                (self.points[self.lobby.pk], 2),
                (self.points[area.pk], 8),
                (self.points[area.pk], 60 * hours * 0.6),
            ):
                at = starts + timedelta(minutes=offset + rng.uniform(0, 5))
                if at < self.now:
                    events.append(
                        self._event(
                            point,
                            at,
                            guest,
                            Decision.GRANTED,
                            Reason.PASS_VALID,
                            score=self._genuine(),
                            visitor_pass=visitor_pass,
                        )
                    )
            if rng.random() < 0.05:
                at = starts + timedelta(hours=hours, minutes=20)
                if at < self.now:
                    events.append(
                        self._event(
                            self.points[area.pk],
                            at,
                            guest,
                            Decision.DENIED,
                            Reason.PASS_EXPIRED,
                            score=self._genuine(),
                            visitor_pass=visitor_pass,
                        )
                    )
        AccessEvent.objects.bulk_create(events, batch_size=INSERT_BATCH)
        self.counts["visitor passes"] += len(created)
        self.counts["access events"] += len(events)

    def _strangers_and_alerts(self) -> None:
        """Unknown faces and the odd spoof attempt at every door, with the alerts they raise."""
        rng = self.rng
        events = []
        points = list(self.points.values())
        for day in self.days:
            for point in points:
                for _ in range(self.np.poisson(0.5)):
                    at = self._local(day, rng.uniform(6 * 60, 21 * 60))
                    if at < self.now:
                        score = round(rng.gauss(0.87, 0.03), 4)
                        events.append(
                            self._event(
                                point, at, None, Decision.DENIED, Reason.NOT_RECOGNISED, score=score
                            )
                        )
            if rng.random() < 0.15:
                at = self._local(day, rng.uniform(7 * 60, 20 * 60))
                if at < self.now:
                    events.append(
                        self._event(
                            rng.choice(points),
                            at,
                            None,
                            Decision.DENIED,
                            Reason.SPOOF_SUSPECTED,
                            detail="spoof_suspected: static",
                        )
                    )
        created = AccessEvent.objects.bulk_create(events, batch_size=INSERT_BATCH)
        self.counts["access events"] += len(created)
        self._alerts_for(created)

    def _alerts_for(self, events: list[AccessEvent]) -> None:
        rng = self.rng
        high = {pk for pk, p in self.points.items() if p.area.security_level >= SecurityLevel.HIGH}
        alerts = []
        for event in events:
            if event.decision != Decision.DENIED:
                continue
            if event.reason == Reason.SPOOF_SUSPECTED:
                kind, message = AlertKind.SPOOF_SUSPECTED, "Spoof suspected"
            elif event.reason == Reason.NOT_RECOGNISED and event.area_id in high:
                kind, message = AlertKind.UNKNOWN_FACE_HIGH_SECURITY, "Unknown face"
            elif event.reason == Reason.PASS_EXPIRED:
                kind, message = AlertKind.VISITOR_OUTSIDE_PASS, "Visitor outside their pass"
            elif event.reason == Reason.LOW_QUALITY and rng.random() < 0.05:
                kind, message = AlertKind.REPEATED_DENIALS, "Repeated denials"
            else:
                continue
            alert = Alert(
                kind=kind,
                access_point_id=event.access_point_id,
                person_id=event.person_id,
                first_event=event,
                last_event=event,
                message=f"{message} at {event.access_point.name}",
                created_at=event.created_at,
            )
            if event.created_at < self.now - timedelta(hours=2) or rng.random() < 0.5:
                minutes = rng.lognormvariate(1.6, 1.0)
                ack = event.created_at + timedelta(minutes=minutes)
                if ack < self.now:
                    alert.state = AlertState.ACKNOWLEDGED
                    alert.acknowledged_by = self.managers[0] if self.managers else None
                    alert.acknowledged_at = ack
                    if ack < self.now - timedelta(days=1):
                        alert.state = AlertState.CLOSED
                        alert.closed_by = alert.acknowledged_by
                        alert.closed_at = ack + timedelta(minutes=10)
            alerts.append(alert)
        Alert.objects.bulk_create(alerts, batch_size=INSERT_BATCH)
        self.counts["alerts"] += len(alerts)

    def _face_attempts(self, people: list[User]) -> None:
        """Failed face attempts on the audit trail (kiosks and personal pages), and lockouts."""
        rng = self.rng
        entries = []
        sources = [*self.kiosks, None]
        for day in self.days:
            for device in sources:
                for outcome, rate in (("no_match", 2.0), ("error", 0.4)):
                    for _ in range(self.np.poisson(rate * max(1, len(people) / 100))):
                        at = self._local(day, rng.uniform(6 * 60, 20 * 60))
                        if at > self.now:
                            continue
                        person = rng.choice(people) if device is None else None
                        details = {"where": str(device) if device else "clock"}
                        if outcome == "error":
                            code = rng.choice(("no_face", "low_quality", "spoof_suspected"))
                            details.update(code=code, reason="")
                        else:
                            details.update(
                                score=round(rng.gauss(0.88, 0.03), 4),
                                threshold=THRESHOLD,
                                model=MODEL,
                            )
                        entries.append(
                            AuditEntry(
                                at=at,
                                actor=person,
                                actor_label=person.username if person else "",
                                device=device,
                                action="auth.face.verify"
                                if device is None
                                else "auth.face.identify",
                                outcome=outcome,
                                details=details,
                            )
                        )
        locked = rng.sample(people, k=min(len(people), max(3, len(people) // 80)))
        lockouts = []
        for i, person in enumerate(locked):
            # In turn: disabled until an admin resets it, locked for a while, still failing.
            failures = (rng.randint(10, 14), rng.randint(5, 9), rng.randint(1, 4))[i % 3]
            lockouts.append(
                FaceLockout(
                    subject_type=FaceLockout.Subject.PERSON,
                    subject_id=person.pk,
                    subject_label=person.username,
                    consecutive_failures=failures,
                    total_failures=failures + rng.randint(0, 20),
                    locked_until=self.now + timedelta(minutes=10) if i % 3 == 1 else None,
                    disabled=i % 3 == 0,
                )
            )
            at = self.now - timedelta(days=rng.uniform(0, len(self.days) - 0.5))
            entries.append(
                AuditEntry(
                    at=at,
                    action="face.disabled" if i % 3 == 0 else "face.lockout",
                    outcome="locked",
                    target_label=f"person:{person.username}",
                    details={"failures": failures},
                )
            )
        FaceLockout.objects.bulk_create(lockouts, ignore_conflicts=True)
        AuditEntry.objects.bulk_create(entries, batch_size=INSERT_BATCH)
        self.counts["audit entries"] += len(entries)
        self.counts["lockouts"] += len(lockouts)
