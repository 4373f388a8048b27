"""The demo data (faceauth/demo) obeys the rules real use obeys, and the services it writes
through (past clock events, past door decisions) refuse what a live clock or door would."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from access_control import services as access
from access_control.models import AccessEvent, AccessPoint, AccessRule, Alert, Area, VisitorPass
from accounts.models import Role, User
from attendance.models import ClockEvent, Correction, CorrectionKind, Method, WorkSession
from attendance.participation import NotParticipant
from attendance.services.history import PastClock, PastClockRefused, record_past_clocks
from biometrics.models import FaceLockout

pytestmark = pytest.mark.django_db


def _face(at, direction, kiosk):
    return PastClock(at, direction, Method.FACE_1N, kiosk, score=0.96, threshold=0.92)


def test_past_clocks_build_sessions_and_a_pin_event_waits_for_review(people, kiosk):
    now = timezone.now()
    start = now - timedelta(days=2)
    events = record_past_clocks(
        person=people["employee"],
        clocks=[
            _face(start, "in", kiosk),
            _face(start + timedelta(hours=8), "out", kiosk),
            PastClock(start + timedelta(days=1), "in", Method.PIN, kiosk),
        ],
    )
    assert len(events) == 3
    assert WorkSession.objects.filter(person=people["employee"]).count() == 2
    review = Correction.objects.get(event=events[2])
    assert review.kind == CorrectionKind.REVIEW and events[2].pin_fallback


@pytest.mark.parametrize(
    "case",
    ["future", "out_of_order", "before_last_event", "pin_with_score", "correction_method"],
)
def test_past_clocks_refuse_what_a_live_clock_would(people, kiosk, case):
    person, now = people["employee"], timezone.now()
    earlier = now - timedelta(hours=5)
    clocks = {
        "future": [_face(now + timedelta(minutes=5), "in", kiosk)],
        "out_of_order": [
            _face(earlier, "in", kiosk),
            _face(earlier - timedelta(hours=1), "out", kiosk),
        ],
        "before_last_event": [_face(earlier - timedelta(days=1), "in", kiosk)],
        "pin_with_score": [PastClock(earlier, "in", Method.PIN, kiosk, score=0.9, threshold=0.9)],
        "correction_method": [PastClock(earlier, "in", Method.CORRECTION, kiosk)],
    }[case]
    if case == "before_last_event":
        record_past_clocks(person=person, clocks=[_face(earlier, "in", kiosk)])
    before = ClockEvent.objects.count()
    with pytest.raises(PastClockRefused):
        record_past_clocks(person=person, clocks=clocks)
    assert ClockEvent.objects.count() == before


def test_visitors_and_contractors_get_no_past_clock_events(people, kiosk):
    for role in ("visitor", "contractor"):
        with pytest.raises(NotParticipant):
            record_past_clocks(
                person=people[role],
                clocks=[_face(timezone.now() - timedelta(hours=1), "in", kiosk)],
            )
    assert not ClockEvent.objects.exists()


def test_past_door_decisions_are_appended_in_order_and_raise_alerts(door_device):
    area = Area.objects.create(name="Vault", security_level=3)
    point = AccessPoint.objects.create(name="Vault door", area=area, device=door_device)
    at = timezone.now() - timedelta(days=3)
    unknown = {"access_point": point, "person": None, "granted": False, "reason": "not_recognised"}
    events = access.record_past_events(decisions=[{**unknown, "at": at}])
    alert = Alert.objects.get()
    assert alert.first_event == events[0] and alert.created_at == at  # dated by its event
    for bad in (
        [{**unknown, "at": timezone.now() + timedelta(minutes=1)}],  # the future
        [{**unknown, "at": at}, {**unknown, "at": at - timedelta(minutes=1)}],  # out of order
        [{**unknown, "granted": True, "at": at}],  # reason contradicts the decision
        [unknown],  # no time
    ):
        with pytest.raises(ValueError):
            access.record_past_events(decisions=bad)
    assert AccessEvent.objects.count() == 1


@pytest.fixture
def seeded():
    call_command("bootstrap_demo", verbosity=0)
    call_command("seed_demo", people=14, days=14, verbosity=0)


@pytest.mark.calendar
def test_the_demo_obeys_the_rules(seeded):
    # Every demo employee has history, alice and bob included.
    for username in ("alice", "bob", "manager", "guard", "seed-0010"):
        assert ClockEvent.objects.filter(person__username=username).exists(), username
    # Attendance is for staff only.
    assert not ClockEvent.objects.filter(person__role__in=(Role.VISITOR, Role.CONTRACTOR)).exists()
    assert not ClockEvent.objects.filter(timestamp__gt=timezone.now()).exists()
    # Lock-outs as configured: nobody disabled, nobody above the threshold.
    threshold = settings.FACEAUTH_LOCKOUT_THRESHOLD
    assert FaceLockout.objects.exists()
    assert not FaceLockout.objects.filter(disabled=True).exists()
    assert not FaceLockout.objects.filter(consecutive_failures__gt=threshold).exists()
    # Every grant names the rule or pass that allowed it; passes respect their sponsors' rules.
    assert not AccessEvent.objects.filter(reason="rule_allows", rule=None).exists()
    assert not AccessEvent.objects.filter(reason="pass_valid", visitor_pass=None).exists()
    assert not VisitorPass.objects.filter(
        sponsor__role__in=(Role.VISITOR, Role.CONTRACTOR)
    ).exists()
    # One door with a rule for the demo; staff walk through it.
    lobby = AccessPoint.objects.get(device__name="Demo door")
    assert AccessRule.objects.filter(areas=lobby.area).exists()
    assert AccessEvent.objects.filter(access_point=lobby, decision="granted").exists()


def test_seed_demo_runs_once(seeded):
    people = User.objects.count()
    call_command("seed_demo", people=14, days=14, verbosity=0)
    assert User.objects.count() == people


def test_the_home_page_links_the_kiosk_and_the_door_for_admins(seeded, client):
    client.force_login(User.objects.get(username="admin"))
    page = client.get("/").content.decode()
    door = AccessPoint.objects.get(device__name="Demo door")
    assert "/accounts/device/pair/?next=/attendance/kiosk/" in page
    assert f"/accounts/device/pair/?next=/access/door/{door.pk}/" in page
    client.force_login(User.objects.get(username="alice"))
    assert "/accounts/device/pair/" not in client.get("/").content.decode()
