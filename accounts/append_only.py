"""Append-only records: rows written once and never changed or removed (evidence, payroll).

One primitive for every log (the audit trail, clock events, access events). The model mixin and
its queryset refuse a save of a stored row, delete, bulk update and bulk delete with
``AppendOnlyViolation``; database triggers (``install_triggers``, called by each app's migration)
refuse the same from raw SQL on PostgreSQL and SQLite.

The one sanctioned change is a redaction: ``Model.objects.redact(column=value, ...)`` updates
only the columns the model declares in ``redactable``, and only in the direction their kind
allows (cleared, set once, restamped). The triggers enforce the same kinds column by column,
with every other column unchanged. DELETE is always refused by the triggers; flushing a
database wholesale (TRUNCATE on PostgreSQL, the ``flush`` command on SQLite) is not a row edit.
"""

from collections.abc import Mapping
from contextlib import contextmanager

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

# What a redactable column may become.
CLEAR = "clear"  # NULL (nullable column) or '' (text column)
SET_ONCE = "set_once"  # from blank to a non-blank value, once (a pseudonym)
RESTAMP = "restamp"  # any non-null value (when the row was last redacted)
KINDS = (CLEAR, SET_ONCE, RESTAMP)


class AppendOnlyViolation(DomainError):
    status_code = 409
    code = "append_only"
    message = _("This record is append-only: it is never changed or deleted.")


def _refuse(model: type[models.Model], what: str) -> AppendOnlyViolation:
    return AppendOnlyViolation(f"{model._meta.verbose_name} records are append-only ({what}).")


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk writes bypass the model's save() and delete(); refuse them too."""

    def update(self, **kwargs):
        raise _refuse(self.model, "update refused")

    def delete(self):
        raise _refuse(self.model, "delete refused")

    def bulk_update(self, objs, fields, batch_size=None):
        raise _refuse(self.model, "update refused")

    # QuerySet.delete's private twin, used by the deletion collector for fast deletes.
    def _raw_delete(self, using):
        raise _refuse(self.model, "delete refused")

    def redact(self, **columns) -> int:
        """The sanctioned change: blank (or stamp) declared redactable columns of these rows."""
        declared: Mapping[str, str] = self.model.redactable
        if not columns:
            raise _refuse(self.model, "nothing to redact")
        for name, value in columns.items():
            kind = declared.get(name)
            blank = value is None or value == ""
            if kind is None or (kind == CLEAR) != blank:
                raise _refuse(self.model, f"{name} cannot be set to {value!r}")
        return super().update(**columns)


class AppendOnlyModel(models.Model):
    """Abstract base: rows are inserted once. ``redactable`` maps field names to a kind."""

    redactable: Mapping[str, str] = {}

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise _refuse(type(self), "a stored row cannot be saved again")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise _refuse(type(self), "delete refused")


# ---------------------------------------------------------------- database triggers


def _blank_sql(field) -> str:
    return "NULL" if field.null else "''"


def _is_blank(ref: str, field) -> str:
    return f"{ref} IS NULL" if field.null else f"{ref} = ''"


def _allowed(field, kind: str) -> str:
    col = f'"{field.column}"'
    new, old = f"NEW.{col}", f"OLD.{col}"
    if kind == CLEAR:
        return _is_blank(new, field)
    if kind == SET_ONCE:
        return f"({_is_blank(old, field)}) AND NOT ({_is_blank(new, field)})"
    if kind == RESTAMP:
        return f"{new} IS NOT NULL"
    raise ValueError(f"unknown redaction kind {kind!r}")


def _update_allowed(model, redactable: Mapping[str, str], vendor: str) -> str:
    """SQL true when an UPDATE changes nothing but redactable columns, as their kinds allow.
    ``model`` is the migration's historical model: the columns as of that migration."""
    same = "IS NOT DISTINCT FROM" if vendor == "postgresql" else "IS"
    cast = "::text" if vendor == "postgresql" else ""  # json has no = on PostgreSQL
    fields = {f.name: f for f in model._meta.concrete_fields}
    unknown = set(redactable) - set(fields)
    if unknown:
        raise ValueError(f"not columns of {model.__name__}: {sorted(unknown)}")
    parts = []
    for name, field in fields.items():
        col = f'"{field.column}"'
        unchanged = f"NEW.{col}{cast} {same} OLD.{col}{cast}"
        if name in redactable:
            parts.append(f"({unchanged} OR ({_allowed(field, redactable[name])}))")
        else:
            parts.append(unchanged)
    return "\n        AND ".join(parts)


def _names(table: str) -> tuple[str, str, str]:
    return f"{table}_append_only", f"{table}_append_only_update", f"{table}_append_only_delete"


def trigger_statements(model, redactable: Mapping[str, str], vendor: str) -> list[str]:
    table = model._meta.db_table
    function, on_update, on_delete = _names(table)
    allowed = _update_allowed(model, redactable, vendor)
    # No "%" anywhere: the SQL goes through the driver's parameter formatting.
    if vendor == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {allowed} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'append-only: ' || TG_OP || ' on {table} refused',
        ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql""",
            f'DROP TRIGGER IF EXISTS {function} ON "{table}"',
            f"""CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON "{table}"
    FOR EACH ROW EXECUTE FUNCTION {function}()""",
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {on_update}",
            f"DROP TRIGGER IF EXISTS {on_delete}",
            f"""CREATE TRIGGER {on_update} BEFORE UPDATE ON "{table}"
    WHEN NOT ({allowed})
BEGIN
    SELECT RAISE(ABORT, 'append-only: UPDATE on {table} refused');
END""",
            f"""CREATE TRIGGER {on_delete} BEFORE DELETE ON "{table}"
BEGIN
    SELECT RAISE(ABORT, 'append-only: DELETE on {table} refused');
END""",
        ]
    return []  # other databases: the ORM guards only


def drop_statements(model, vendor: str) -> list[str]:
    table = model._meta.db_table
    function, on_update, on_delete = _names(table)
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {function} ON "{table}"',
            f"DROP FUNCTION IF EXISTS {function}()",
        ]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {on_update}", f"DROP TRIGGER IF EXISTS {on_delete}"]
    return []


def install_triggers(schema_editor, model, redactable: Mapping[str, str]) -> None:
    """For a migration's RunPython: ``redactable`` is spelled out in the migration (frozen)."""
    for sql in trigger_statements(model, redactable, schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove_triggers(schema_editor, model) -> None:
    for sql in drop_statements(model, schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


@contextmanager
def flushing(connection):
    """Around a wholesale flush (tests, ``manage.py flush``): SQLite has no TRUNCATE, and
    Django's SQLite flush is a DELETE per table, so the DELETE triggers step aside for it and
    are put back, in the same transaction, as they were."""
    if connection.vendor != "sqlite":
        yield
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
            ["%append_only_delete"],
        )
        saved = cursor.fetchall()
        for name, _sql in saved:
            cursor.execute(f'DROP TRIGGER "{name}"')
        yield
        for _name, sql in saved:
            cursor.execute(sql)
