"""Door traffic, visitor passes and alerts through the access_control services: each decision
comes from the rule engine (``rules.evaluate``) as at a real door; ``record_past_events``
appends it to the log and raises the alerts it triggers; passes are issued by a sponsor the
sponsoring rules allow (``create_pass``; high-security ones approved by reception); guards
acknowledge and close the alerts through the alert services."""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from access_control import rules
from access_control import services as access
from access_control.models import AccessPoint, AlertState, VisitorPass
from access_control.selectors import Reason, open_alerts
from accounts.models import Role, User
from biometrics.selectors import PIPELINE_VERSION as MODEL

from .attendance import THRESHOLD, Shift, genuine_score
from .clock import DemoClock
from .people import Staff
from .site import Site

FACE_FAILURE_RATE = 0.035  # a door's first look at a known face that fails
STRANGER_MEAN, STRANGER_SD = 0.87, 0.03


@dataclass(frozen=True)
class Visit:
    at: datetime
    point: AccessPoint
    person: User | None  # None: a stranger
    failure: str = ""  # low_quality, not_recognised, spoof_suspected


def staff_visits(
    rng: random.Random,
    nprng: np.random.Generator,
    clock: DemoClock,
    site: Site,
    person: User,
    worked: list[Shift],
) -> list[Visit]:
    """Lobby on arrival, the department's own door, lunch in the canteen, a few more passes of
    the own door, and now and then a try at another department's door."""
    lobby, canteen = site.points[site.lobby.pk], site.points[site.canteen.pk]
    own = site.points[site.areas[person.department.code].pk]
    others = [p for p in site.points.values() if p not in (lobby, canteen, own)]
    out = []
    for shift in worked:
        arrive, leave = shift.arrive, shift.leave
        stops = [(lobby, arrive - rng.uniform(1, 4)), (own, arrive + rng.uniform(2, 10))]
        lunch = arrive + rng.uniform(3.5, 5) * 60
        if lunch < leave and rng.random() < 0.65:
            stops += [(canteen, lunch), (own, lunch + rng.uniform(20, 50))]
        for _ in range(nprng.poisson(1.3) if rng.random() < 0.9 else 0):
            stops.append((own, rng.uniform(arrive + 30, max(arrive + 31, leave - 10))))
        if others and rng.random() < 0.02:
            stops.append((rng.choice(others), rng.uniform(arrive + 30, max(arrive + 31, leave))))
        for point, minutes in stops:
            at = clock.at(shift.day, minutes)
            if at >= clock.now:
                continue
            if rng.random() < FACE_FAILURE_RATE:
                out.append(Visit(at, point, None, Reason.LOW_QUALITY))
                at += timedelta(seconds=rng.uniform(5, 40))
            out.append(Visit(at, point, person))
    return out


def issue_passes(
    rng: random.Random,
    nprng: np.random.Generator,
    clock: DemoClock,
    site: Site,
    staff: Staff,
    admin: User,
) -> tuple[list[Visit], int]:
    """Weekday visits: visitors hosted by their manager (lobby, canteen and the host's area),
    contractors issued by reception into the areas that take contractors."""
    guests = staff.visitors + staff.contractors
    reception = staff.guards[0] if staff.guards else admin
    contractor_areas = [a for a in site.areas.values() if a.contractor_passes]
    visits, passes = [], 0
    for day in clock.days:
        if day.weekday() >= 5 or not guests:
            continue
        for guest in rng.sample(guests, k=min(len(guests), nprng.poisson(len(guests) / 4))):
            contractor = guest.role == Role.CONTRACTOR
            starts = clock.at(day, rng.choice((8, 9, 10, 13)) * 60)
            if starts >= clock.now:
                continue
            hours = 9 if contractor else rng.choice((2, 3, 4))
            if contractor:
                if not contractor_areas:
                    continue
                area = rng.choice(contractor_areas)
                sponsor = staff.managers.get(area.department_id, admin)
                issuer, purposes = reception, ("Maintenance", "Cabling", "Audit")
            else:
                sponsor = issuer = guest.sponsor
                area = site.areas[sponsor.department.code] if sponsor.department else site.lobby
                purposes = ("Interview", "Customer visit", "Workshop", "Delivery")
            kind = access.pass_kind_for(guest)
            pass_areas = [a for a in (site.lobby, area, site.canteen) if a.allows_pass(kind)]
            visitor_pass = access.create_pass(
                visitor=guest,
                sponsor=sponsor,
                created_by=issuer,
                areas=list(dict.fromkeys(pass_areas)),
                starts_at=starts,
                ends_at=starts + timedelta(hours=hours),
                purpose=rng.choice(purposes),
            )
            if visitor_pass.is_pending():
                approver = reception if reception.pk != issuer.pk else admin
                access.approve_pass(visitor_pass=visitor_pass, actor=approver)
            passes += 1
            point = site.points[area.pk]
            for stop, offset in ((site.points[site.lobby.pk], 2), (point, 8), (point, 36 * hours)):
                at = starts + timedelta(minutes=offset + rng.uniform(0, 5))
                if at < clock.now:
                    visits.append(Visit(at, stop, guest))
            if rng.random() < 0.05:  # back after the pass ended
                at = starts + timedelta(hours=hours, minutes=20)
                if at < clock.now:
                    visits.append(Visit(at, point, guest))
    return visits, passes


def stranger_visits(rng: random.Random, nprng: np.random.Generator, clock: DemoClock, site: Site):
    """Unknown faces at every door, and the odd spoof attempt."""
    points = list(site.points.values())
    out = []
    for day in clock.days:
        for point in points:
            for _ in range(nprng.poisson(0.5)):
                out.append(
                    Visit(
                        clock.at(day, rng.uniform(6 * 60, 21 * 60)), point, None, "not_recognised"
                    )
                )
        if rng.random() < 0.15:
            at = clock.at(day, rng.uniform(7 * 60, 20 * 60))
            out.append(Visit(at, rng.choice(points), None, Reason.SPOOF_SUSPECTED))
    return [v for v in out if v.at < clock.now]


def record_visits(rng: random.Random, visits: list[Visit]) -> int:
    """Append the decisions of ``visits`` (in time order) to the access log."""
    decided: dict[tuple[int, int], rules.AccessDecision] = {}
    decisions = []
    for visit in visits:
        face = {"threshold": THRESHOLD, "model_version": MODEL}
        decision = {"access_point": visit.point, "person": None, "granted": False, "at": visit.at}
        if visit.failure == Reason.LOW_QUALITY:
            decision["reason"] = Reason.LOW_QUALITY
        elif visit.failure == Reason.NOT_RECOGNISED:
            score = round(rng.gauss(STRANGER_MEAN, STRANGER_SD), 4)
            decision.update(reason=Reason.NOT_RECOGNISED, score=score, **face)
        elif visit.failure == Reason.SPOOF_SUSPECTED:
            decision.update(reason=Reason.SPOOF_SUSPECTED, detail="spoof_suspected: static")
        else:
            person, area = visit.person, visit.point.area
            # Guests' passes change by the hour: theirs is decided at every visit. Staff rules
            # carry no time windows here: one decision per person and door.
            guest = person.role in access.TIME_LIMITED
            key = (person.pk, area.pk)
            verdict = None if guest else decided.get(key)
            if verdict is None:
                verdict = rules.evaluate(person, area, visit.at)
                if not guest:
                    decided[key] = verdict
            decision.update(
                person=person,
                granted=verdict.granted,
                reason=verdict.reason,
                rule=verdict.rule,
                visitor_pass=verdict.visitor_pass,
                score=genuine_score(rng),
                **face,
            )
        decisions.append(decision)
    return len(access.record_past_events(decisions=decisions))


def handle_alerts(rng: random.Random, clock: DemoClock, guard: User) -> Counter:
    """Reception works through the alerts: those older than a day are closed, most others
    acknowledged; a few of the last two hours stay open."""
    done: Counter = Counter()
    for alert in open_alerts():
        age = clock.now - alert.last_event.created_at
        if age > timedelta(days=1):
            access.close_alert(alert=alert, user=guard, note="Checked on the camera recording.")
            done["alerts closed"] += 1
        elif alert.state == AlertState.OPEN and (age > timedelta(hours=2) or rng.random() < 0.5):
            access.acknowledge_alert(alert=alert, user=guard)
            done["alerts acknowledged"] += 1
    return done


def guest_pass_now(
    *, person: User, issuer: User, sponsor: User, areas, hours: int
) -> VisitorPass | None:
    """A pass for a named demo guest from now on (within their own window), if they have none."""
    if VisitorPass.objects.filter(visitor=person).exists() or person.valid_until is None:
        return None
    starts = person.valid_from
    ends = min(person.valid_until, starts + timedelta(hours=hours))
    kind_areas = [a for a in areas if a.allows_pass(access.pass_kind_for(person))]
    if not kind_areas:
        return None
    return access.create_pass(
        visitor=person,
        sponsor=sponsor,
        created_by=issuer,
        areas=kind_areas,
        starts_at=starts,
        ends_at=ends,
        purpose="Demo visit" if person.role == Role.VISITOR else "Demo maintenance",
    )
