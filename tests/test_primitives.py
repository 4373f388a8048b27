"""The shared primitives in accounts: append-only records (ORM guards and database triggers)
and pseudonyms. Runs on SQLite (default) and PostgreSQL (DATABASE_URL)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from access_control import services as access
from access_control.models import AccessEvent
from accounts import audit
from accounts.append_only import AppendOnlyViolation
from accounts.models import AuditEntry
from accounts.pseudonyms import pseudonym_of
from attendance import services as attendance
from attendance.models import ClockEvent

from .test_access_log import site  # noqa: F401  (fixture)

MODELS = ["audit", "clock", "access"]


@pytest.fixture
def make_row(site, people):  # noqa: F811
    def make(kind: str):
        employee = people["employee"]
        if kind == "audit":
            return audit.record("test.action", actor=employee, outcome="done")
        if kind == "clock":
            return ClockEvent.objects.create(
                person=employee,
                direction="in",
                method="face_1n",
                score=0.97,
                threshold=0.93,
                model_version="m1",
                liveness={"checked": True, "passed": True},
            )
        return access.record_event(
            access_point=site["entrance"],
            person=employee,
            granted=True,
            reason="rule_allows",
            score=0.97,
            threshold=0.93,
        )

    return make


def _different_value(field, current):
    """A value of the field's type that differs from ``current``, ready for raw SQL."""
    kind = field.get_internal_type()
    if field.is_relation or kind in ("AutoField", "BigAutoField") or "Integer" in kind:
        value = 987654
    elif kind == "FloatField":
        value = 0.123
    elif kind == "BooleanField":
        value = not current
    elif kind == "DateTimeField":
        value = datetime(2001, 2, 3, 4, 5, tzinfo=UTC)
    elif kind == "JSONField":
        value = {"changed": 1}
    elif kind == "UUIDField":
        value = uuid.uuid4()
    elif kind == "GenericIPAddressField":
        value = "10.9.9.9"
    else:
        value = "zz"  # fits the narrowest text column
    target = field.target_field if field.is_relation else field
    return target.get_db_prep_save(value, connection)


def _raw(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize("kind", MODELS)
def test_the_orm_refuses_save_delete_and_bulk_writes(make_row, kind):
    row = make_row(kind)
    model = type(row)
    rows = model.objects.filter(pk=row.pk)
    with pytest.raises(AppendOnlyViolation):
        row.save()
    with pytest.raises(AppendOnlyViolation):
        row.delete()
    with pytest.raises(AppendOnlyViolation):
        rows.update(pk=row.pk)
    with pytest.raises(AppendOnlyViolation):
        rows.delete()
    with pytest.raises(AppendOnlyViolation):
        model.objects.bulk_update([row], ["pk"])
    # redact() takes only declared columns, each only in its direction
    with pytest.raises(AppendOnlyViolation):
        rows.redact(id=row.pk)
    first = next(iter(model.redactable))
    with pytest.raises(AppendOnlyViolation):
        rows.redact(**{first: "not blank"})
    assert AppendOnlyViolation().code == "append_only" and AppendOnlyViolation.status_code == 409
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("kind", MODELS)
def test_the_database_refuses_raw_delete_and_updates_of_every_other_column(make_row, kind):
    row = make_row(kind)
    model = type(row)
    table = connection.ops.quote_name(model._meta.db_table)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(f"DELETE FROM {table} WHERE id = %s", [row.pk])
    protected = [f for f in model._meta.concrete_fields if f.name not in model.redactable]
    assert len(protected) >= 5
    for field in protected:
        value = _different_value(field, getattr(row, field.attname))
        column = connection.ops.quote_name(field.column)
        with pytest.raises(DatabaseError, match="append-only"):
            _raw(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, row.pk])
    # a redactable column may only move in its direction: no score is written back
    for name, redaction in model.redactable.items():
        field = model._meta.get_field(name)
        if redaction != "clear":
            continue
        value = _different_value(field, getattr(row, field.attname))
        column = connection.ops.quote_name(field.column)
        with pytest.raises(DatabaseError, match="append-only"):
            _raw(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, row.pk])
    assert model.objects.filter(pk=row.pk).count() == 1


def test_the_sanctioned_clock_event_redactions_still_work(make_row, people, settings):
    employee = people["employee"]
    row = make_row("clock")
    assert attendance.redact_biometrics(person=employee) == 1
    redacted = ClockEvent.objects.get(pk=row.pk)
    assert (redacted.score, redacted.threshold, redacted.model_version, redacted.liveness) == (
        None,
        None,
        "",
        None,
    )
    assert redacted.redacted_at is not None and redacted.direction == "in"
    settings.ATTENDANCE_EVENT_RETENTION_DAYS = 30
    counts = attendance.pseudonymise_expired(now=timezone.now() + timedelta(days=31))
    assert counts["events"] == 1
    row = ClockEvent.objects.get(pk=row.pk)
    assert row.person_id is None and row.pseudonym == pseudonym_of(employee.pk)
    # set once: the pseudonym cannot be rewritten afterwards, not even in raw SQL
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE attendance_clockevent SET pseudonym = 'p-other' WHERE id = %s", [row.pk])


def test_access_and_clock_events_share_one_pseudonym_per_person(make_row, people, settings):
    employee = people["employee"]
    clock, door = make_row("clock"), make_row("access")
    settings.ATTENDANCE_EVENT_RETENTION_DAYS = 30
    settings.ACCESS_EVENT_RETENTION_DAYS = 30
    later = timezone.now() + timedelta(days=31)
    assert attendance.pseudonymise_expired(now=later)["events"] == 1
    assert access.pseudonymise_expired(now=later) == {"events": 1, "people": 1}
    clock, door = ClockEvent.objects.get(pk=clock.pk), AccessEvent.objects.get(pk=door.pk)
    assert clock.pseudonym == door.pseudonym == pseudonym_of(employee.pk)
    assert door.person_id is None and door.score is None and door.reason == "rule_allows"
    assert pseudonym_of(employee.pk) != pseudonym_of(people["guard"].pk)
    assert len(pseudonym_of(employee.pk)) == 22


def test_deleting_a_person_keeps_their_audit_entries_without_the_link(make_person):
    gone = make_person("employee")
    entry = audit.record("test.action", actor=gone, outcome="done")
    gone.delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor_id is None and entry.actor_label == gone.username


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_flush_empties_the_logs_and_keeps_the_triggers(make_row):
    row = make_row("clock")
    call_command("flush", verbosity=0, interactive=False)
    assert not ClockEvent.objects.exists() and not AuditEntry.objects.exists()
    row = ClockEvent.objects.create(direction="in", method="correction")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM attendance_clockevent WHERE id = %s", [row.pk])
