"""The rule engine without faces: roles x areas x times x pass states, schedules, DST."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from access_control import services
from access_control.models import (
    AccessGroup,
    AccessRule,
    Area,
    Effect,
    PassKind,
    SecurityLevel,
    TimeWindow,
    VisitorPass,
)
from access_control.rules import evaluate

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = "0,1,2,3,4"


def local(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


# Wednesday 11 June 2025 (summer time), Saturday 14 June 2025.
WED_10 = local(2025, 6, 11, 10)
WED_20 = local(2025, 6, 11, 20)
SAT_10 = local(2025, 6, 14, 10)
SAT_03 = local(2025, 6, 14, 3)


@pytest.fixture(autouse=True)
def _berlin(settings):
    settings.DISPLAY_TIME_ZONE = "Europe/Berlin"


def rule(name, *, effect=Effect.ALLOW, areas, windows=(), **subject) -> AccessRule:
    r = AccessRule.objects.create(name=name, effect=effect, **subject)
    r.areas.set(areas)
    for days, start, end in windows:
        TimeWindow.objects.create(rule=r, weekdays=days, start=start, end=end)
    return r


@pytest.fixture
def site(db, make_person):
    building = Area.objects.create(name="Building A", contractor_passes=True)
    lab = Area.objects.create(name="Lab 2", parent=building, security_level=SecurityLevel.HIGH)
    lobby = Area.objects.create(name="Lobby", security_level=SecurityLevel.LOW)
    night = AccessGroup.objects.create(name="Night shift")
    rules = {
        "employees": rule(
            "Employees on weekdays",
            areas=[building],
            role="employee",
            windows=[(WEEKDAYS, time(7), time(19))],
        ),
        "guards": rule("Guards at any time", areas=[building, lobby], role="guard"),
        "night": rule(
            "Night shift in the lab",
            areas=[lab],
            group=night,
            windows=[(WEEKDAYS, time(22), time(6))],
        ),
        "no_contractors_lab": rule(
            "No contractors in the lab", effect=Effect.DENY, areas=[lab], role="contractor"
        ),
    }
    # People valid over the whole test period (their own window always applies).
    window = {"valid_from": local(2025, 1, 1, 0), "valid_until": local(2026, 1, 1, 0)}
    sponsor = make_person("employee")
    people = {
        "employee": make_person("employee"),
        "guard": make_person("guard"),
        "visitor": make_person("visitor", sponsor=sponsor, **window),
        "contractor": make_person("contractor", sponsor=sponsor, **window),
        "night": make_person("manager"),  # no role rule: only the group rule applies
    }
    night.members.add(people["night"])
    return {
        "areas": {"building": building, "lab": lab, "lobby": lobby},
        "rules": rules,
        "people": people,
        "sponsor": sponsor,
    }


def give_pass(site, who: str, state: str, areas: list[str], at: datetime) -> VisitorPass:
    starts, ends = {
        "valid": (at - timedelta(hours=1), at + timedelta(hours=2)),
        "expired": (at - timedelta(hours=5), at - timedelta(minutes=1)),
        "upcoming": (at + timedelta(hours=1), at + timedelta(hours=3)),
        "revoked": (at - timedelta(hours=1), at + timedelta(hours=2)),
    }[state]
    person = site["people"][who]
    p = VisitorPass.objects.create(
        visitor=person,
        kind=PassKind.CONTRACTOR if who == "contractor" else PassKind.VISITOR,
        sponsor=site["sponsor"],
        created_by=site["sponsor"],
        starts_at=starts,
        ends_at=ends,
        purpose="Test",
        revoked_at=at - timedelta(minutes=5) if state == "revoked" else None,
    )
    p.areas.set([site["areas"][a] for a in areas])
    return p


MATRIX = [
    # who, area, at, pass (state, areas) or None, granted, reason, deciding rule key
    ("employee", "building", WED_10, None, True, "rule_allows", "employees"),
    ("employee", "lab", WED_10, None, True, "rule_allows", "employees"),  # parent covers child
    ("employee", "building", WED_20, None, False, "outside_schedule", "employees"),
    ("employee", "building", SAT_10, None, False, "outside_schedule", "employees"),
    ("employee", "lobby", WED_10, None, False, "no_rule", None),
    ("guard", "lobby", SAT_03, None, True, "rule_allows", "guards"),
    ("guard", "lab", SAT_03, None, True, "rule_allows", "guards"),
    ("contractor", "building", WED_20, ("valid", ["building"]), True, "pass_valid", None),
    # A deny rule wins over a valid pass for the parent area.
    (
        "contractor",
        "lab",
        WED_10,
        ("valid", ["building"]),
        False,
        "denied_by_rule",
        "no_contractors_lab",
    ),
    ("contractor", "building", WED_10, ("expired", ["building"]), False, "pass_expired", None),
    ("visitor", "lobby", WED_10, ("valid", ["lobby"]), True, "pass_valid", None),
    ("visitor", "lobby", SAT_10, ("valid", ["lobby"]), True, "pass_valid", None),
    ("visitor", "lobby", WED_10, ("expired", ["lobby"]), False, "pass_expired", None),
    ("visitor", "lobby", WED_10, ("revoked", ["lobby"]), False, "pass_revoked", None),
    ("visitor", "lobby", WED_10, ("upcoming", ["lobby"]), False, "pass_not_started", None),
    ("visitor", "building", WED_10, ("valid", ["lobby"]), False, "not_on_pass", None),
    ("visitor", "lab", WED_10, ("valid", ["building"]), True, "pass_valid", None),
    ("visitor", "lobby", WED_10, None, False, "no_rule", None),
    ("night", "lab", local(2025, 6, 10, 23, 30), None, True, "rule_allows", "night"),
    ("night", "lab", local(2025, 6, 11, 5, 59), None, True, "rule_allows", "night"),
    ("night", "lab", local(2025, 6, 14, 1), None, True, "rule_allows", "night"),  # Fri night
    ("night", "lab", local(2025, 6, 14, 23), None, False, "outside_schedule", "night"),
    ("night", "lab", local(2025, 6, 16, 5), None, False, "outside_schedule", "night"),  # Sun night
    ("night", "lab", local(2025, 6, 11, 6), None, False, "outside_schedule", "night"),  # end excl.
]


@pytest.mark.parametrize(
    "who, area, at, pass_state, granted, reason, rule_key",
    MATRIX,
    ids=[f"{m[0]}-{m[1]}-{m[2]:%a%H%M}-{m[3][0] if m[3] else 'nopass'}" for m in MATRIX],
)
def test_rule_matrix(site, who, area, at, pass_state, granted, reason, rule_key):
    if pass_state:
        give_pass(site, who, pass_state[0], pass_state[1], at)
    decision = evaluate(site["people"][who], site["areas"][area], at)
    assert (decision.granted, decision.reason) == (granted, reason), decision.explanation
    expected_rule = site["rules"][rule_key] if rule_key else None
    assert decision.rule == expected_rule
    if reason.startswith("pass_") or reason == "not_on_pass":
        assert decision.visitor_pass is not None


def test_an_inactive_person_is_denied_whatever_the_rules(site):
    from accounts.services import offboard_person

    guard = site["people"]["guard"]
    assert evaluate(guard, site["areas"]["lobby"], SAT_03).granted
    offboard_person(person=guard)
    guard.refresh_from_db()
    decision = evaluate(guard, site["areas"]["lobby"], SAT_03)
    assert (decision.granted, decision.reason) == (False, "inactive")


def test_a_visitor_outside_their_validity_window_is_denied_even_with_a_pass(site):
    visitor = site["people"]["visitor"]
    at = local(2026, 2, 1, 10)  # after valid_until
    give_pass(site, "visitor", "valid", ["lobby"], at)
    decision = evaluate(visitor, site["areas"]["lobby"], at)
    assert (decision.granted, decision.reason) == (False, "person_validity")


@pytest.mark.calendar
def test_revoking_a_pass_denies_at_the_next_check(site):
    from django.utils import timezone

    now = timezone.now()
    visitor = site["people"]["visitor"]
    visitor.valid_from, visitor.valid_until = now - timedelta(hours=1), now + timedelta(hours=3)
    visitor.save()
    p = services.create_pass(
        visitor=visitor,
        sponsor=site["sponsor"],
        created_by=site["people"]["guard"],
        areas=[site["areas"]["lobby"]],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        purpose="Meeting",
    )
    assert evaluate(visitor, site["areas"]["lobby"], timezone.now()).reason == "pass_valid"
    services.revoke_pass(visitor_pass=p, actor=site["people"]["guard"])
    decision = evaluate(visitor, site["areas"]["lobby"], timezone.now())
    assert (decision.granted, decision.reason) == (False, "pass_revoked")


def test_rule_validity_dates_are_inclusive_local_dates(site):
    employees = site["rules"]["employees"]
    employees.valid_until = WED_10.date()
    employees.save()
    assert evaluate(site["people"]["employee"], site["areas"]["building"], WED_10).granted
    thursday = WED_10 + timedelta(days=1)
    decision = evaluate(site["people"]["employee"], site["areas"]["building"], thursday)
    assert decision.reason == "outside_schedule" and decision.rule == employees


def test_a_deny_rule_with_a_window_only_denies_inside_it(site):
    rule(
        "No employees at lunch",
        effect=Effect.DENY,
        areas=[site["areas"]["building"]],
        role="employee",
        windows=[(WEEKDAYS, time(12), time(13))],
    )
    employee, building = site["people"]["employee"], site["areas"]["building"]
    assert evaluate(employee, building, local(2025, 6, 11, 12, 30)).reason == "denied_by_rule"
    assert evaluate(employee, building, local(2025, 6, 11, 13, 0)).reason == "rule_allows"


def test_subject_fields_must_all_match(site, department):
    employee = site["people"]["employee"]
    lobby = site["areas"]["lobby"]
    rule("Ops employees in the lobby", areas=[lobby], role="employee", department=department)
    assert evaluate(employee, lobby, WED_10).reason == "no_rule"  # no department
    employee.department = department
    employee.save()
    assert evaluate(employee, lobby, WED_10).reason == "rule_allows"
    rule("This person", areas=[lobby], person=site["people"]["visitor"])
    assert evaluate(site["people"]["visitor"], lobby, WED_10).reason == "rule_allows"


@pytest.mark.parametrize(
    "utc, granted",
    [
        # Monday 08:00-17:00 local. Spring forward on Sunday 30 March 2025.
        (datetime(2025, 3, 24, 6, 30, tzinfo=ZoneInfo("UTC")), False),  # 07:30 CET
        (datetime(2025, 3, 31, 6, 30, tzinfo=ZoneInfo("UTC")), True),  # 08:30 CEST
        (datetime(2025, 3, 31, 15, 30, tzinfo=ZoneInfo("UTC")), False),  # 17:30 CEST
        # Fall back on Sunday 26 October 2025.
        (datetime(2025, 10, 20, 6, 30, tzinfo=ZoneInfo("UTC")), True),  # 08:30 CEST
        (datetime(2025, 10, 27, 6, 30, tzinfo=ZoneInfo("UTC")), False),  # 07:30 CET
        (datetime(2025, 10, 27, 15, 30, tzinfo=ZoneInfo("UTC")), True),  # 16:30 CET
    ],
)
def test_weekday_windows_follow_the_local_clock_across_dst(site, utc, granted):
    employees = site["rules"]["employees"]
    employees.windows.all().delete()
    TimeWindow.objects.create(rule=employees, weekdays="0", start=time(8), end=time(17))
    decision = evaluate(site["people"]["employee"], site["areas"]["building"], utc)
    assert decision.granted is granted


@pytest.mark.parametrize(
    "utc, granted",
    [
        # Saturday 22:00 - Sunday 06:00 local, over the spring-forward night (02:00 -> 03:00).
        (datetime(2025, 3, 29, 20, 59, tzinfo=ZoneInfo("UTC")), False),  # Sat 21:59 CET
        (datetime(2025, 3, 29, 21, 0, tzinfo=ZoneInfo("UTC")), True),  # Sat 22:00 CET
        (datetime(2025, 3, 30, 0, 59, tzinfo=ZoneInfo("UTC")), True),  # Sun 01:59 CET
        (datetime(2025, 3, 30, 1, 0, tzinfo=ZoneInfo("UTC")), True),  # Sun 03:00 CEST
        (datetime(2025, 3, 30, 3, 59, tzinfo=ZoneInfo("UTC")), True),  # Sun 05:59 CEST
        (datetime(2025, 3, 30, 4, 0, tzinfo=ZoneInfo("UTC")), False),  # Sun 06:00 CEST
        # ... and over the fall-back night (03:00 -> 02:00), a 9-hour night.
        (datetime(2025, 10, 26, 4, 59, tzinfo=ZoneInfo("UTC")), True),  # Sun 05:59 CET
        (datetime(2025, 10, 26, 5, 0, tzinfo=ZoneInfo("UTC")), False),  # Sun 06:00 CET
    ],
)
def test_a_window_across_midnight_and_a_dst_change(site, utc, granted):
    night_rule = site["rules"]["night"]
    night_rule.windows.all().delete()
    TimeWindow.objects.create(rule=night_rule, weekdays="5", start=time(22), end=time(6))
    decision = evaluate(site["people"]["night"], site["areas"]["lab"], utc)
    assert decision.granted is granted, decision.explanation


@pytest.mark.calendar
def test_pass_limits_contractor_areas_and_visitor_length(site, make_person):
    from django.utils import timezone

    from access_control.errors import InvalidPass

    now = timezone.now()
    common = {
        "sponsor": site["sponsor"],
        "created_by": make_person("admin"),  # contractor passes: reception or an admin
        "purpose": "Work",
        "starts_at": now,
    }
    # Contractors: only areas open to contractors, but for weeks.
    with pytest.raises(InvalidPass, match="Lobby"):
        services.create_pass(
            visitor=site["people"]["contractor"],
            areas=[site["areas"]["lobby"]],
            ends_at=now + timedelta(days=2),
            **common,
        )
    long = services.create_pass(
        visitor=site["people"]["contractor"],
        areas=[site["areas"]["building"]],
        ends_at=now + timedelta(days=30),
        widen_validity=True,
        **common,
    )
    assert long.kind == PassKind.CONTRACTOR
    # The admin explicitly widened the contractor's own validity window to cover the pass.
    site["people"]["contractor"].refresh_from_db()
    assert site["people"]["contractor"].valid_until >= long.ends_at
    # Visitors: a day at most.
    with pytest.raises(InvalidPass, match="at most"):
        services.create_pass(
            visitor=site["people"]["visitor"],
            areas=[site["areas"]["lobby"]],
            ends_at=now + timedelta(days=2),
            **common,
        )
    with pytest.raises(InvalidPass):
        services.create_pass(
            visitor=site["people"]["employee"],
            areas=[site["areas"]["lobby"]],
            ends_at=now + timedelta(hours=2),
            **common,
        )
