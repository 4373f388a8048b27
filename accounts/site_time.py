"""The site's wall clock: the one time zone that pages, rules and reports count and show in
(``DISPLAY_TIME_ZONE``; the database stores UTC). Work days, lateness, door schedules and report
days all turn on it, so every app takes it from here."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def local_time(at: datetime) -> datetime:
    """``at`` on the site's wall clock (DST included)."""
    return at.astimezone(site_zone())
