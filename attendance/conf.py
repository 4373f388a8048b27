"""Attendance settings with their defaults (override any of them in faceauth/settings.py)."""

from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    # Two captures of the same person this close together are one clock event.
    "ATTENDANCE_DEBOUNCE_SECONDS": 60,
    # An IN without an OUT for longer than this is flagged (a forgotten clock-out), and the
    # person's next capture starts a new shift instead of closing a days-old one.
    "ATTENDANCE_MAX_SHIFT_HOURS": 16,
    # Overtime is time worked beyond these limits (German ArbZG: 8 h/day, 48 h/week).
    "ATTENDANCE_DAILY_LIMIT_HOURS": 8,
    "ATTENDANCE_WEEKLY_LIMIT_HOURS": 40,
    # Wrong PINs per employee number before the kiosk refuses PINs for the lock-out period.
    "ATTENDANCE_PIN_MAX_FAILURES": 5,
    "ATTENDANCE_PIN_LOCKOUT_MINUTES": 15,
    # Clock events older than this lose the link to the person (a stable pseudonym instead);
    # payroll and working-time records are commonly kept for up to 10 years.
    "ATTENDANCE_EVENT_RETENTION_DAYS": 3650,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def debounce() -> timedelta:
    return timedelta(seconds=get("ATTENDANCE_DEBOUNCE_SECONDS"))


def max_shift() -> timedelta:
    return timedelta(hours=get("ATTENDANCE_MAX_SHIFT_HOURS"))


def daily_limit() -> timedelta:
    return timedelta(hours=get("ATTENDANCE_DAILY_LIMIT_HOURS"))


def weekly_limit() -> timedelta:
    return timedelta(hours=get("ATTENDANCE_WEEKLY_LIMIT_HOURS"))
