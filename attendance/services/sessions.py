"""Work sessions: IN/OUT pairs derived from the counted clock events (the pairing rule is
``attendance.rules.pair_events``)."""

from datetime import datetime

from django.db.models.functions import Coalesce

from accounts.models import User

from .. import selectors
from ..models import WorkSession
from ..rules import pair_events


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
