"""Attendance settings with their defaults. Each one can be set in faceauth/settings.py or as an
environment variable of the same name (accounts.app_settings)."""

from datetime import timedelta

from accounts.app_settings import AppSettings, Setting

SETTINGS = AppSettings(
    {
        # Two captures of the same person this close together are one clock event.
        "ATTENDANCE_DEBOUNCE_SECONDS": Setting(60),
        # An IN without an OUT for longer than this is flagged (a forgotten clock-out), and the
        # person's next capture starts a new shift instead of closing a days-old one.
        "ATTENDANCE_MAX_SHIFT_HOURS": Setting(16),
        # Overtime is time worked beyond these limits: 8 h a day (the regular working day of
        # the German ArbZG, s. 3) and 40 h a week (five such days; the ArbZG's own ceiling is
        # 48 h over six working days). Fractions such as 38.5 are allowed.
        "ATTENDANCE_DAILY_LIMIT_HOURS": Setting(8, float),
        "ATTENDANCE_WEEKLY_LIMIT_HOURS": Setting(40, float),
        # Wrong PINs per employee number before the kiosk refuses PINs for the lock-out period.
        "ATTENDANCE_PIN_MAX_FAILURES": Setting(5),
        "ATTENDANCE_PIN_LOCKOUT_MINUTES": Setting(15),
        # Clock events older than this lose the link to the person (a stable pseudonym
        # instead); payroll and working-time records are commonly kept for up to 10 years.
        "ATTENDANCE_EVENT_RETENTION_DAYS": Setting(3650),
    }
)
DEFAULTS = SETTINGS.defaults
get = SETTINGS.get


def debounce() -> timedelta:
    return timedelta(seconds=get("ATTENDANCE_DEBOUNCE_SECONDS"))


def max_shift() -> timedelta:
    return timedelta(hours=get("ATTENDANCE_MAX_SHIFT_HOURS"))


def daily_limit() -> timedelta:
    return timedelta(hours=get("ATTENDANCE_DAILY_LIMIT_HOURS"))


def weekly_limit() -> timedelta:
    return timedelta(hours=get("ATTENDANCE_WEEKLY_LIMIT_HOURS"))
