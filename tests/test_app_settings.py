"""App settings (attendance/conf.py, access_control/conf.py): Django settings, then the
environment, then the default; a bad environment value stops the start with a clear message."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from access_control import conf as access_conf
from accounts.app_settings import AppSettings, Setting
from attendance import conf as attendance_conf

from .conftest import REPO

DECLARED = {
    "DEMO_HOURS": Setting(8, float),
    "DEMO_COUNT": Setting(3),
    "DEMO_ON": Setting(True),
    "DEMO_SECONDS": Setting(None, float, optional=True),
}


def test_environment_values_are_parsed_by_the_declared_type():
    s = AppSettings(
        DECLARED, {"DEMO_HOURS": "38.5", "DEMO_COUNT": " 7 ", "DEMO_ON": "off", "DEMO_SECONDS": ""}
    )
    assert s.get("DEMO_HOURS") == 38.5
    assert s.get("DEMO_COUNT") == 7
    assert s.get("DEMO_ON") is False
    assert s.get("DEMO_SECONDS") is None
    assert AppSettings(DECLARED, {}).get("DEMO_COUNT") == 3


@pytest.mark.parametrize(
    "name, raw, expected",
    [("DEMO_COUNT", "7.5", "a whole number"), ("DEMO_HOURS", "eight", "a number"),
     ("DEMO_ON", "ture", "true or false")],
)  # fmt: skip
def test_a_bad_environment_value_names_the_variable_and_the_type(name, raw, expected):
    with pytest.raises(ImproperlyConfigured, match=f"{name}='{raw}'.*expected {expected}"):
        AppSettings(DECLARED, {name: raw})


def test_django_settings_win_over_the_environment():
    s = AppSettings(DECLARED, {"DEMO_COUNT": "7"})
    with override_settings(DEMO_COUNT=9):
        assert s.get("DEMO_COUNT") == 9
    with pytest.raises(KeyError):
        s.get("DEMO_UNKNOWN")


def test_every_documented_app_setting_is_declared():
    docs = (REPO / "docs" / "attendance.md").read_text() + (
        REPO / "docs" / "access_control.md"
    ).read_text()
    for conf in (attendance_conf, access_conf):
        for name in conf.DEFAULTS:
            assert f"`{name}`" in docs, name
    assert attendance_conf.weekly_limit() == timedelta(hours=40)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "faceauth.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_environment_variable_reaches_the_app_setting():
    done = _run(
        "from attendance import conf; from access_control.services import capture_settings;"
        " print(conf.daily_limit(), conf.get('ATTENDANCE_PIN_MAX_FAILURES'),"
        " capture_settings()['seconds'])",
        ATTENDANCE_DAILY_LIMIT_HOURS="7.5",
        ATTENDANCE_PIN_MAX_FAILURES="3",
        ACCESS_CAPTURE_SECONDS="4.5",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7:30:00", "3", "4.5"]


def test_a_bad_environment_value_stops_the_start():
    done = _run("pass", ATTENDANCE_WEEKLY_LIMIT_HOURS="forty")
    assert done.returncode != 0
    assert "ATTENDANCE_WEEKLY_LIMIT_HOURS='forty' is not valid: expected a number" in done.stderr
