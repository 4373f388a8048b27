"""What a report dataset is (named columns and rows), and the SQL pieces the datasets share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import FloatField, Func, IntegerField
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, ExtractMinute, ExtractSecond


@dataclass
class Table:
    """One chart's or table's data. ``rows`` may be a lazy iterator (exports stream it);
    ``count`` then says how many rows it will yield without fetching them."""

    columns: Sequence[str]
    rows: Iterable[Sequence]
    count: Callable[[], int] | None = None

    def row_count(self) -> int:
        if self.count is not None:
            return self.count()
        self.rows = list(self.rows)
        return len(self.rows)


@dataclass(frozen=True)
class Dataset:
    report: str
    name: str
    title: str
    build: Callable[..., Table]
    # False: too big or too detailed for the dashboard's data endpoint; CSV only.
    on_dashboard: bool = True


class SecondsBetween(Func):
    """``end - start`` in seconds (float), on PostgreSQL and SQLite alike.

    A plain number keeps sums and comparisons portable where a duration would be an
    interval on PostgreSQL and microseconds on SQLite."""

    output_field = FloatField()
    arity = 2

    def __init__(self, start, end, **extra):
        super().__init__(start, end, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        (start_sql, start_params), (end_sql, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return self._sql(connection, start_sql, end_sql), [*end_params, *start_params]

    @staticmethod
    def _sql(connection, start: str, end: str) -> str:
        if connection.vendor == "postgresql":
            return f"EXTRACT(EPOCH FROM ({end} - {start}))::float8"
        if connection.vendor == "sqlite":
            # julianday is a double: round off its last bits so that 8 h is exactly 28800 s.
            return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"
        raise NotImplementedError(connection.vendor)


def hours(seconds: float | None) -> float:
    return round((seconds or 0) / 3600, 2)


class LocalPart(Func):
    """A part of a timestamp in a time zone, as an integer: ``hour``, ``isodow`` or
    ``seconds`` (since local midnight, whole seconds); for a TimeField leave ``zone`` unset.

    On PostgreSQL this is ``date_part`` (double precision), which aggregates about twice as
    fast as the ``EXTRACT`` (numeric) that Django's Extract* functions emit; other databases
    get Django's Extract* functions, with the same results."""

    output_field = IntegerField()

    def __init__(self, expression, part: str, zone=None, **extra):
        if part not in ("hour", "isodow", "seconds"):
            raise ValueError(part)
        self.part, self.zone = part, zone
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        if self.zone is not None:
            sql, params = f"({sql} AT TIME ZONE %s)", [*params, self.zone.key]
        if self.part == "seconds":
            return f"FLOOR(date_part('epoch', ({sql})::time))::integer", params
        return f"date_part('{self.part}', {sql})::integer", params

    def as_sql(self, compiler, connection, **extra_context):
        expression = self.get_source_expressions()[0]
        kwargs = {"tzinfo": self.zone} if self.zone is not None else {}
        if self.part == "hour":
            fallback = ExtractHour(expression, **kwargs)
        elif self.part == "isodow":
            fallback = ExtractIsoWeekDay(expression, **kwargs)
        else:
            fallback = (
                ExtractHour(expression, **kwargs) * 3600
                + ExtractMinute(expression, **kwargs) * 60
                + ExtractSecond(expression, **kwargs)
            )
        fallback = fallback.resolve_expression(compiler.query)
        return compiler.compile(fallback)
