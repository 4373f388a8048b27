"""Retention of access events: pseudonyms after ACCESS_EVENT_RETENTION_DAYS."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.pseudonyms import pseudonym_of

from .. import conf
from ..models import AccessEvent


def pseudonymise_expired(*, now: datetime | None = None) -> dict:
    """Retention: events older than ACCESS_EVENT_RETENTION_DAYS lose their person link and
    scores. Idempotent (pseudonymised rows have no person any more) and audited with counts."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.get("ACCESS_EVENT_RETENTION_DAYS"))
    expired = AccessEvent.objects.filter(created_at__lt=cutoff, person__isnull=False)
    people = list(expired.order_by().values_list("person_id", flat=True).distinct())
    events = 0
    with transaction.atomic():
        for person_id in people:
            events += expired.filter(person_id=person_id).redact(
                person=None,
                pseudonym=pseudonym_of(person_id),
                score=None,
                threshold=None,
                client_request_id="",
            )
    counts = {"events": events, "people": len(people)}
    audit.record("retention.access_events", outcome="done", details=counts)
    return counts
