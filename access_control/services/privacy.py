"""Retention of access events: pseudonyms after ACCESS_EVENT_RETENTION_DAYS."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts import audit

from .. import conf
from ..models import AccessEvent


def pseudonym_for(person_id: int) -> str:
    """A keyed hash: the same person gets the same pseudonym (patterns stay analysable), and
    without SECRET_KEY nobody can map it back."""
    import hmac

    from django.conf import settings

    digest = hmac.new(settings.SECRET_KEY.encode(), f"person:{person_id}".encode(), "sha256")
    return "p-" + digest.hexdigest()[:20]


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
            events += expired.filter(person_id=person_id).pseudonymise(
                pseudonym=pseudonym_for(person_id)
            )
    counts = {"events": events, "people": len(people)}
    audit.record("retention.access_events", outcome="done", details=counts)
    return counts
