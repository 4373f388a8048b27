"""Clock events that happened before they reach FaceAuth: an import from the previous time
clock, or the demo's month of history (``faceauth.demo``).

The rules of a live clock hold: only staff take part (``require_participant``), no event lies in
the future, a kiosk is a kiosk, a PIN event waits for a manager's review, and events closer than
the debounce interval are one event. The log stays append-only: history goes after the person's
last event, never between stored ones. Sessions are re-derived once per call.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Device, DeviceKind, User

from .. import conf, selectors
from ..errors import AttendanceError, InvalidDirection
from ..models import ClockEvent, Direction, Method
from ..participation import require_participant
from .corrections import open_pin_review
from .sessions import rebuild_sessions

# How a past event was taken; corrections are made through the review, never imported.
PAST_METHODS = frozenset({Method.FACE_1N, Method.FACE_1V1, Method.PIN})


class PastClockRefused(AttendanceError):
    code = "past_clock_refused"
    message = _("This clock event cannot be recorded.")


@dataclass(frozen=True)
class PastClock:
    timestamp: datetime
    direction: str
    method: str = Method.FACE_1N
    device: Device | None = None
    score: float | None = None  # the recognition score and threshold of a face event
    threshold: float | None = None
    model_version: str = ""


def _check(clock: PastClock, *, now: datetime, previous: datetime | None) -> None:
    if clock.direction not in Direction.values:
        raise InvalidDirection()
    if clock.method not in PAST_METHODS:
        raise PastClockRefused(f"Method {clock.method!r} cannot be recorded as history.")
    if timezone.is_naive(clock.timestamp):
        raise PastClockRefused("Timestamps must carry their time zone.")
    if clock.timestamp > now:
        raise PastClockRefused("A clock event cannot lie in the future.")
    if clock.device is not None and clock.device.kind != DeviceKind.KIOSK:
        raise PastClockRefused("Only attendance kiosks clock people.")
    face = clock.method != Method.PIN
    if face != (clock.score is not None and clock.threshold is not None):
        raise PastClockRefused("A face event carries its score and threshold; a PIN event none.")
    if previous is not None and clock.timestamp - previous < conf.debounce():
        raise PastClockRefused(
            "Events must be in time order, after the person's last event and further apart "
            "than the debounce interval."
        )


@transaction.atomic
def record_past_clocks(
    *, person: User, clocks: Sequence[PastClock], actor: User | None = None
) -> list[ClockEvent]:
    """Append ``clocks`` (in time order) to ``person``'s log and re-derive their sessions."""
    if not clocks:
        return []
    require_participant(person)
    User.objects.select_for_update().filter(pk=person.pk).first()
    now = timezone.now()
    last = selectors.counted_events(person=person).first()
    previous = last.timestamp if last is not None else None
    for clock in clocks:
        _check(clock, now=now, previous=previous)
        previous = clock.timestamp
    events = ClockEvent.objects.bulk_create(
        [
            ClockEvent(
                person=person,
                direction=c.direction,
                timestamp=c.timestamp,
                device=c.device,
                method=c.method,
                score=c.score,
                threshold=c.threshold,
                model_version=c.model_version,
                needs_review=c.method == Method.PIN,
                pin_fallback=c.method == Method.PIN,
                created_by=actor,
            )
            for c in clocks
        ]
    )
    for event in events:
        if event.pin_fallback:
            open_pin_review(event=event)
    rebuild_sessions(person=person, since=clocks[0].timestamp)
    return events
