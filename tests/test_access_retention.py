"""Retention: old access events keep their facts but lose the person and the scores."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from access_control import services
from access_control.models import AccessEvent
from accounts.models import AuditEntry
from accounts.pseudonyms import pseudonym_of

from .test_access_log import grant, site  # noqa: F401  (fixture)


@pytest.mark.calendar
def test_old_events_are_pseudonymised_once_and_new_ones_kept(site, people, settings):  # noqa: F811
    settings.ACCESS_EVENT_RETENTION_DAYS = 365
    now = timezone.now()
    employee, guard = people["employee"], people["guard"]
    old = [
        grant(site["entrance"], employee, score=0.97, threshold=0.93, at=now - timedelta(days=400)),
        grant(site["entrance"], employee, score=0.96, threshold=0.93, at=now - timedelta(days=380)),
        grant(site["entrance"], guard, score=0.95, threshold=0.93, at=now - timedelta(days=366)),
    ]
    recent = grant(site["entrance"], employee, score=0.98, threshold=0.93, at=now)
    counts = services.pseudonymise_expired(now=now)
    assert counts == {"events": 3, "people": 2}
    rows = {e.pk: e for e in AccessEvent.objects.all()}
    for event in old:
        row = rows[event.pk]
        assert row.person_id is None and row.score is None and row.threshold is None
        assert row.pseudonym == pseudonym_of(event.person_id)
        assert len(row.pseudonym) == 22 and row.pseudonym != f"p-{event.person_id}"
        assert (row.reason, row.decision, row.access_point_id) == (
            event.reason,
            event.decision,
            event.access_point_id,
        )
    # the same person keeps one pseudonym, so patterns stay analysable
    assert rows[old[0].pk].pseudonym == rows[old[1].pk].pseudonym != rows[old[2].pk].pseudonym
    assert rows[recent.pk].person_id == employee.pk and rows[recent.pk].score == 0.98
    assert services.pseudonymise_expired(now=now) == {"events": 0, "people": 0}
    assert AuditEntry.objects.filter(action="retention.access_events").count() == 2


def test_the_database_trigger_allows_pseudonymisation_and_nothing_else(site, people):  # noqa: F811
    event = grant(site["entrance"], people["employee"], score=0.97, threshold=0.93)
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE access_control_accessevent SET person_id = NULL, pseudonym = 'p-x', "
                "score = NULL, threshold = NULL, reason = 'no_rule' WHERE id = %s",
                [event.pk],
            )
    AccessEvent.objects.filter(pk=event.pk).redact(
        person=None, pseudonym="p-x", score=None, threshold=None, client_request_id=""
    )
    assert AccessEvent.objects.get(pk=event.pk).pseudonym == "p-x"
