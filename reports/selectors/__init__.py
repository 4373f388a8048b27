"""Report reads. Each dataset is a named table a dashboard draws and a CSV export streams,
built from one ``Scope`` (who asks, and the filters), so a chart and its export always agree."""

from . import access, attendance, security
from .scope import REPORT_ROLES, Scope, may_read, scope_for
from .tables import Dataset, Table

DATASETS: dict[str, dict[str, Dataset]] = {}


def _register(report: str, name: str, title: str, build, on_dashboard: bool = True) -> None:
    DATASETS.setdefault(report, {})[name] = Dataset(report, name, title, build, on_dashboard)


_register("attendance", "daily", "Present, late and absent per day", attendance.daily)
_register("attendance", "people", "Hours worked per person", attendance.people)
_register(
    "attendance", "open_sessions", "Open sessions (missing clock-out)", attendance.open_sessions
)
_register("attendance", "methods", "Clock-ins by method", attendance.methods)
_register("attendance", "review", "Waiting for review", attendance.review)
_register("attendance", "person_days", "Days per person", attendance.person_days, False)
_register("attendance", "clock_events", "Clock events", attendance.clock_events, False)

_register("access", "hourly", "Entries per area by hour and weekday", access.hourly)
_register("access", "daily", "Decisions, refusals and visitors per day", access.daily)
_register("access", "reasons", "Denial reasons", access.denial_reasons)
_register("access", "scores", "Match score distribution", access.scores)
_register("access", "alerts", "Alerts by kind and time to acknowledge", access.alerts)
_register("access", "on_site", "Visitors and contractors on site now", access.on_site)
_register("access", "events", "Access events", access.access_events, False)

_register("security", "devices", "Failed attempts per device", security.devices)
_register("security", "daily", "Failures, spoofing and lockouts per day", security.daily)
_register("security", "lockouts", "Face lockouts", security.lockouts)
_register("security", "coverage", "Enrolment coverage by department", security.coverage)
_register("security", "unenrolled", "People without a face template", security.unenrolled)


def dataset(report: str, name: str) -> Dataset | None:
    return DATASETS.get(report, {}).get(name)


__all__ = [
    "DATASETS",
    "REPORT_ROLES",
    "Dataset",
    "Scope",
    "Table",
    "dataset",
    "may_read",
    "scope_for",
]
