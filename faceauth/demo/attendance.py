"""A month (or more) of clock history per person, written through the attendance services:
``record_past_clocks`` keeps the live rules (staff only, no future, debounce, PIN review), and
forgotten clock-outs become correction requests that managers decide."""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from accounts.models import Device, User
from attendance.models import CorrectionStatus, Direction, Method
from attendance.selectors import corrections_visible_to
from attendance.services import decide_correction, request_correction
from attendance.services.history import PastClock, record_past_clocks
from biometrics.selectors import PIPELINE_VERSION as MODEL

from .clock import DemoClock

# Face scores of a genuine match (cosine similarity; the calibrated threshold is about 0.92).
THRESHOLD = 0.92
GENUINE_MEAN, GENUINE_SD = 0.965, 0.012


def genuine_score(rng: random.Random) -> float:
    return round(min(0.995, max(THRESHOLD + 0.001, rng.gauss(GENUINE_MEAN, GENUINE_SD))), 4)


@dataclass(frozen=True)
class Shift:
    day: date
    arrive: float  # minutes after local midnight of ``day``
    leave: float


@dataclass(frozen=True)
class Habits:
    start: float  # the schedule's start, minutes after midnight
    punctual: float
    lateness: float  # chance of a late arrival
    length: float  # usual shift length, minutes


def habits(rng: random.Random, start_minutes: float) -> Habits:
    return Habits(
        start=start_minutes,
        punctual=rng.gauss(-8, 6),
        lateness=rng.choice((0.03, 0.06, 0.1, 0.25)),
        length=rng.gauss(8.6, 0.35) * 60 + (60 if rng.random() < 0.15 else 0),
    )


def holidays(rng: random.Random, days: list[date]) -> set[date]:
    out: set[date] = set()
    for _ in range(2):
        if len(days) < 90 or rng.random() < 0.5:  # holidays only in long ranges
            continue
        first = rng.randrange(len(days) - 10)
        out.update(days[first : first + rng.choice((5, 7, 10))])
    return out


def shifts(rng: random.Random, clock: DemoClock, person_habits: Habits) -> list[Shift]:
    """The days a person worked: weekdays, the odd weekend, minus holidays and sick days."""
    off = holidays(rng, clock.days)
    out = []
    for day in clock.days:
        if day.weekday() >= 5 and rng.random() > 0.03:
            continue
        if day in off or rng.random() < 0.03:
            continue
        arrive = person_habits.start + rng.gauss(person_habits.punctual, 7)
        if rng.random() < person_habits.lateness:
            arrive += rng.expovariate(1 / 18) + 6
        leave = arrive + rng.gauss(person_habits.length, 25)
        if clock.at(day, arrive) < clock.now:
            out.append(Shift(day, arrive, leave))
    return out


def record_history(
    *,
    rng: random.Random,
    clock: DemoClock,
    person: User,
    worked: list[Shift],
    kiosk: Device,
    reviewer: User | None,
) -> dict[str, int]:
    """Clock the shifts in and out at ``kiosk``; about 2 % by PIN (a review for the manager),
    about 1 % without a clock-out (most of those ask for a correction)."""
    clocks, forgotten = [], []
    for shift in worked:
        t_in, t_out = clock.at(shift.day, shift.arrive), clock.at(shift.day, shift.leave)
        if rng.random() < 0.02:
            clocks.append(PastClock(t_in, Direction.IN, Method.PIN, kiosk))
        else:
            clocks.append(_face(rng, t_in, Direction.IN, kiosk))
        if t_out >= clock.now:
            continue
        if rng.random() < 0.008:
            forgotten.append(t_in)
            continue
        clocks.append(_face(rng, t_out, Direction.OUT, kiosk))
    events = record_past_clocks(person=person, clocks=clocks)
    counts = {"clock events": len(events), "corrections": 0}
    recent = clock.now - timedelta(days=14)
    for started in forgotten:
        if rng.random() > 0.6:
            continue
        request_correction(
            person=person,
            requested_by=person,
            direction=Direction.OUT,
            timestamp=started + timedelta(hours=8, minutes=30),
            reason="Forgot to clock out",
        )
        counts["corrections"] += 1
    # PIN reviews older than two weeks were decided; the recent ones wait for the manager.
    if reviewer is not None:
        for event in events:
            if not event.pin_fallback or event.timestamp >= recent:
                continue
            review = (
                corrections_visible_to(user=reviewer)
                .filter(event=event, status=CorrectionStatus.PENDING)
                .first()
            )
            if review is not None:
                decide_correction(correction=review, approve=True, reviewer=reviewer)
    return counts


def _face(rng: random.Random, at: datetime, direction: str, kiosk: Device) -> PastClock:
    return PastClock(
        at,
        direction,
        Method.FACE_1N,
        kiosk,
        score=genuine_score(rng),
        threshold=THRESHOLD,
        model_version=MODEL,
    )
