"""Concurrent first events raise one alert, not one each: the alert rules read (is one open?),
then write, and a row lock on what the alert is about makes them take turns. Real threads on
the run's database; only PostgreSQL lets them really overlap (the in-memory test SQLite
reports colliding writers instead of waiting)."""

import pytest
from django.db import connection

from access_control import services
from access_control.models import AccessEvent, AccessPoint, Alert, Area

from .test_lockout_race import together

PARALLEL = 12

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory test SQLite reports colliding writers instead of waiting")


def test_concurrent_kiosk_spoofs_raise_one_alert_with_every_repeat_counted(kiosk):
    results = together(
        PARALLEL, lambda i: services.raise_spoof_alert(device=kiosk, person=None, where="")
    )
    assert all(isinstance(r, Alert) for r in results), results
    (alert,) = Alert.objects.filter(kind="spoof_suspected", device=kiosk)
    assert alert.event_count == PARALLEL


def test_concurrent_spoofs_at_a_door_raise_one_alert_and_one_repeated_denials(door_device):
    point = AccessPoint.objects.create(
        name="Main entrance", area=Area.objects.create(name="Building A"), device=door_device
    )

    def spoof(i: int):
        return services.record_event(
            access_point=point, person=None, granted=False, reason="spoof_suspected"
        )

    results = together(PARALLEL, spoof)
    assert all(isinstance(r, AccessEvent) for r in results), results
    (alert,) = Alert.objects.filter(kind="spoof_suspected", access_point=point)
    assert alert.event_count == PARALLEL
    assert Alert.objects.filter(kind="repeated_denials", access_point=point).count() == 1
