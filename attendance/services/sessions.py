"""Work sessions: IN/OUT pairs derived from the counted clock events."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models.functions import Coalesce

from accounts.models import User

from .. import conf, selectors
from ..models import ClockEvent, Direction, SessionStatus, WorkSession


def display_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def local_time(value: datetime) -> datetime:
    return value.astimezone(display_zone())


def rebuild_sessions(*, person: User, since: datetime | None = None) -> list[WorkSession]:
    """Re-derive the person's sessions from their counted events, from ``since`` on.

    Pairing restarts at the session that holds ``since`` (every earlier session is final
    because a later one began), so a live clock only redoes the last session.
    """
    # Orphan OUTs have no start: a session is keyed by its start, else its end.
    sessions = WorkSession.objects.filter(person=person).annotate(
        key=Coalesce("started_at", "ended_at")
    )
    anchor = None
    if since is not None:
        anchor = (
            sessions.filter(key__lte=since).order_by("-key").values_list("key", flat=True).first()
        )
    stale = sessions.filter(key__gte=anchor) if anchor is not None else sessions
    WorkSession.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    events = selectors.counted_events(person=person).order_by("timestamp", "id")
    if anchor is not None:
        events = events.filter(timestamp__gte=anchor)
    built = pair_events(person=person, events=list(events))
    return WorkSession.objects.bulk_create(built)


def pair_events(*, person: User, events: list[ClockEvent]) -> list[WorkSession]:
    """IN/OUT pairs in time order. An IN after an IN leaves the first without an OUT; an OUT
    with no IN, or more than the maximum shift after it, stands alone (both flagged)."""
    zone, limit = display_zone(), conf.max_shift()
    out: list[WorkSession] = []
    open_in: ClockEvent | None = None

    def session(start: ClockEvent | None, end: ClockEvent | None, status: str) -> WorkSession:
        key = (start or end).timestamp
        return WorkSession(
            person=person,
            start_event=start,
            end_event=end,
            started_at=start.timestamp if start else None,
            ended_at=end.timestamp if end else None,
            work_date=key.astimezone(zone).date(),
            status=status,
        )

    for event in events:
        if event.direction == Direction.IN:
            if open_in is not None:
                out.append(session(open_in, None, SessionStatus.MISSING_OUT))
            open_in = event
            continue
        if open_in is not None and event.timestamp - open_in.timestamp <= limit:
            out.append(session(open_in, event, SessionStatus.CLOSED))
        else:
            if open_in is not None:
                out.append(session(open_in, None, SessionStatus.MISSING_OUT))
            out.append(session(None, event, SessionStatus.MISSING_IN))
        open_in = None
    if open_in is not None:
        out.append(session(open_in, None, SessionStatus.OPEN))
    return out
