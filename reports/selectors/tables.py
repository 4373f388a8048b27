"""What a report dataset is (named columns and rows), and the SQL pieces the datasets share
(time in SQL, ``LocalPart`` and ``SecondsBetween``, is defined with the attendance rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from attendance.rules import LocalPart, SecondsBetween

__all__ = ["Dataset", "LocalPart", "SecondsBetween", "Table", "hours"]


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


def hours(seconds: float | None) -> float:
    return round((seconds or 0) / 3600, 2)
