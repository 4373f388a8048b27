"""The demo's calendar: the last ``days`` local days up to now, and wall-clock arithmetic."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class DemoClock:
    now: datetime
    zone: ZoneInfo
    days: list[date] = field(default_factory=list)

    @classmethod
    def last_days(cls, days: int) -> "DemoClock":
        zone = ZoneInfo(settings.DISPLAY_TIME_ZONE)
        now = timezone.now()
        today = now.astimezone(zone).date()
        return cls(now, zone, [today - timedelta(days=i) for i in range(days - 1, -1, -1)])

    @property
    def start(self) -> datetime:
        return datetime.combine(self.days[0], time.min, tzinfo=self.zone)

    def at(self, day: date, minutes: float) -> datetime:
        """``minutes`` after local midnight of ``day`` on the wall clock, as a real instant
        (DST-aware through the zone)."""
        base = datetime.combine(day, time.min, tzinfo=self.zone)
        return (base + timedelta(minutes=minutes)).astimezone(UTC)
