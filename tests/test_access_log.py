"""The access log (append-only), alerts, the console feed, role checks and the pass pages."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from access_control import services
from access_control.models import (
    AccessEvent,
    AccessPoint,
    Area,
    SecurityLevel,
    VisitorPass,
)
from accounts.append_only import AppendOnlyViolation


def site_now(at=None):
    """A time as the pages' forms read it: in the site's display time zone."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    return timezone.localtime(at or timezone.now(), ZoneInfo(settings.DISPLAY_TIME_ZONE))


ROLES = ("employee", "admin", "manager", "guard", "visitor", "contractor")


@pytest.fixture
def site(db, door_device, department):
    from accounts import services as accounts_services

    building = Area.objects.create(name="Building A", department=department)
    lab = Area.objects.create(name="Lab 2", parent=building, security_level=SecurityLevel.HIGH)
    lobby = Area.objects.create(name="Lobby")
    lab_device, _ = accounts_services.register_device(name="Lab door", kind="door")
    lobby_device, _ = accounts_services.register_device(name="Lobby door", kind="door")
    return {
        "building": building,
        "lab": lab,
        "lobby": lobby,
        "entrance": AccessPoint.objects.create(
            name="Main entrance", area=building, device=door_device
        ),
        "lab_door": AccessPoint.objects.create(name="Lab 2 door", area=lab, device=lab_device),
        "lobby_door": AccessPoint.objects.create(
            name="Lobby door", area=lobby, device=lobby_device
        ),
    }


def deny(point, person=None, reason="not_recognised", **kw) -> AccessEvent:
    return services.record_event(
        access_point=point, person=person, granted=False, reason=reason, **kw
    )


def grant(point, person, reason="rule_allows", **kw) -> AccessEvent:
    return services.record_event(
        access_point=point, person=person, granted=True, reason=reason, **kw
    )


# ---------------------------------------------------------------- append-only


def test_access_events_cannot_be_changed_or_deleted_through_the_orm(site, people):
    event = grant(site["entrance"], people["employee"])
    event.reason = "pass_valid"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        AccessEvent.objects.filter(pk=event.pk).update(reason="no_rule")
    with pytest.raises(AppendOnlyViolation):
        AccessEvent.objects.all().delete()
    with pytest.raises(AppendOnlyViolation):
        AccessEvent.objects.bulk_update([event], ["reason"])
    event.refresh_from_db()
    assert event.reason == "rule_allows"
    # The things it points to cannot take the log down with them.
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        site["entrance"].delete()


def test_the_admin_shows_the_log_read_only(client, site, people):
    event = grant(site["entrance"], people["employee"])
    client.force_login(people["admin"])
    assert client.get(reverse("admin:access_control_accessevent_changelist")).status_code == 200
    change_url = reverse("admin:access_control_accessevent_change", args=[event.pk])
    page = client.get(change_url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    client.post(change_url, {"reason": "no_rule", "decision": "denied"})
    delete_url = reverse("admin:access_control_accessevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:access_control_accessevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert client.get(reverse("admin:access_control_accessevent_add")).status_code == 403
    event.refresh_from_db()
    assert (event.reason, event.decision) == ("rule_allows", "granted")
    assert AccessEvent.objects.count() == 1


def test_the_database_refuses_raw_updates_of_the_log(site, people):
    from django.db import DatabaseError

    event = grant(site["entrance"], people["employee"])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE access_control_accessevent SET reason = 'no_rule' WHERE id = %s", [event.pk]
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM access_control_accessevent WHERE id = %s", [event.pk])


# ---------------------------------------------------------------- alerts


def test_repeated_denials_at_one_door_raise_one_alert(site, settings):
    from access_control.models import Alert

    settings.ACCESS_ALERT_DENIALS = 3
    settings.ACCESS_ALERT_WINDOW_MINUTES = 5
    point = site["entrance"]
    deny(point)
    deny(site["lobby_door"])  # another door does not count
    deny(point)
    assert not Alert.objects.filter(kind="repeated_denials").exists()
    deny(point)
    alert = Alert.objects.get(kind="repeated_denials")
    assert alert.event_count == 3 and alert.access_point == point
    deny(point)  # the same burst: the open alert counts it
    alert.refresh_from_db()
    assert alert.event_count == 4 and Alert.objects.filter(kind="repeated_denials").count() == 1


@pytest.mark.calendar
def test_denials_spread_over_more_than_the_window_do_not_alert(site, settings):
    from access_control.models import Alert

    settings.ACCESS_ALERT_DENIALS = 3
    settings.ACCESS_ALERT_WINDOW_MINUTES = 5
    now = timezone.now()
    for minutes in (20, 10, 0):
        deny(site["entrance"], at=now - timedelta(minutes=minutes))
    assert not Alert.objects.exists()


def test_a_visitor_refused_outside_their_pass_raises_an_alert(site, people):
    from access_control.models import Alert

    deny(site["lab_door"], people["visitor"], reason="not_on_pass")
    alert = Alert.objects.get(kind="visitor_outside_pass")
    assert alert.person == people["visitor"] and "not include" in alert.message
    # An employee refused for the same reason is not a visitor problem.
    deny(site["lab_door"], people["employee"], reason="no_rule")
    assert Alert.objects.filter(kind="visitor_outside_pass").count() == 1


def test_spoof_suspected_events_raise_an_alert(site):
    from access_control.models import Alert

    deny(site["lobby_door"], reason="spoof_suspected")
    assert Alert.objects.filter(kind="spoof_suspected", state="open").exists()


def test_unknown_faces_alert_only_at_high_security_doors(site):
    from access_control.models import Alert

    deny(site["lobby_door"])
    assert not Alert.objects.exists()
    deny(site["lab_door"])  # the door is normal, its area is high
    assert Alert.objects.get().kind == "unknown_face_high"


def test_a_guard_acknowledges_then_closes_an_alert(client, site, people):
    from access_control.models import Alert

    deny(site["lab_door"])
    alert = Alert.objects.get()
    url = f"/api/access/alerts/{alert.pk}/acknowledge/"
    client.force_login(people["employee"])
    assert client.post(url, {"note": "x"}).status_code == 403
    client.force_login(people["guard"])
    body = client.post(url, {"note": "Checked the camera: a courier."}).json()
    assert body["state"] == "acknowledged" and body["acknowledged_by"] == str(people["guard"])
    alert.refresh_from_db()
    assert alert.note == "Checked the camera: a courier." and alert.acknowledged_at
    assert client.post(url, {"note": "again"}).status_code == 409
    closed = client.post(f"/api/access/alerts/{alert.pk}/close/", {})
    assert closed.json()["state"] == "closed"


def test_record_event_refuses_a_reason_that_contradicts_the_decision(site):
    with pytest.raises(ValueError):
        services.record_event(
            access_point=site["entrance"], person=None, granted=True, reason="no_rule"
        )


# ---------------------------------------------------------------- reads and roles


@pytest.mark.parametrize("role", ROLES)
def test_only_guards_and_admins_use_the_console(client, people, site, role):
    client.force_login(people[role])
    allowed = role in ("guard", "admin")
    assert client.get("/api/access/console/").status_code == (200 if allowed else 403)
    assert client.get(reverse("access:console")).status_code == (200 if allowed else 403)
    log_ok = role in ("guard", "admin", "manager")
    assert client.get("/api/access/events/").status_code == (200 if log_ok else 403)


@pytest.mark.parametrize("role", ROLES)
def test_nobody_but_admins_edits_rules(client, people, role):
    client.force_login(people[role])
    status = client.get(reverse("admin:access_control_accessrule_add")).status_code
    assert (status == 200) is (role == "admin")


def test_anonymous_users_are_sent_to_login(client, db):
    assert client.get(reverse("access:console")).status_code == 302
    assert client.get("/api/access/console/").status_code == 401


def test_managers_see_the_events_of_their_departments_areas(client, site, people):
    inside = grant(site["lab_door"], people["employee"])  # Lab 2 is inside Building A
    outside = grant(site["lobby_door"], people["employee"])
    client.force_login(people["manager"])
    ids = {e["id"] for e in client.get("/api/access/events/").json()["results"]}
    assert inside.pk in ids and outside.pk not in ids
    page = client.get(reverse("access:events"))
    assert page.status_code == 200 and b"Lab 2 door" in page.content
    assert b"Lobby door" not in page.content.split(b"<tbody>")[1]
    client.force_login(people["guard"])
    ids = {e["id"] for e in client.get("/api/access/events/").json()["results"]}
    assert {inside.pk, outside.pk} <= ids


def test_the_console_feed_sends_only_new_events_and_filters(client, site, people):
    first = grant(site["entrance"], people["employee"])
    client.force_login(people["guard"])
    feed = client.get("/api/access/console/").json()
    assert [e["id"] for e in feed["events"]] == [first.pk]
    since = feed["last_id"]
    assert client.get(f"/api/access/console/?since={since}").json()["events"] == []
    second = deny(site["lab_door"], people["visitor"], reason="not_on_pass")
    new = client.get(f"/api/access/console/?since={since}").json()
    assert [e["id"] for e in new["events"]] == [second.pk]
    assert new["events"][0]["reason_label"] == "The visitor pass does not include this area"
    assert [a["kind"] for a in new["alerts"]] == ["visitor_outside_pass"]
    only_denied = client.get("/api/access/console/?decision=denied").json()["events"]
    assert [e["id"] for e in only_denied] == [second.pk]
    by_area = client.get(f"/api/access/console/?area={site['building'].pk}").json()["events"]
    assert {e["id"] for e in by_area} == {first.pk, second.pk}  # Lab 2 is in Building A
    by_name = client.get("/api/access/console/?person=visitor").json()["events"]
    assert [e["id"] for e in by_name] == [second.pk]


@pytest.mark.calendar
def test_the_console_knows_who_is_inside_and_which_visitors_are_on_site(
    client, site, people, make_person
):
    now = timezone.now()
    visitor = people["visitor"]
    services.create_pass(
        visitor=visitor,
        sponsor=people["employee"],
        created_by=people["guard"],
        areas=[site["lobby"]],
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(hours=2),
        purpose="Interview",
    )
    grant(site["entrance"], people["employee"])
    grant(site["lab_door"], people["employee"])  # moved on into the lab
    grant(site["lobby_door"], visitor, reason="pass_valid")
    client.force_login(people["guard"])
    feed = client.get("/api/access/console/").json()
    inside = {g["area"]: [p["name"] for p in g["people"]] for g in feed["inside"]}
    assert inside == {"Building A › Lab 2": [str(people["employee"])], "Lobby": [str(visitor)]}
    [on_site] = feed["visitors"]
    assert on_site["name"] == str(visitor) and on_site["sponsor"] == str(people["employee"])
    assert "Lobby door" in on_site["last_entry"]


# ---------------------------------------------------------------- pages


def test_a_guard_creates_a_pass_for_a_new_visitor(client, site, people):
    client.force_login(people["guard"])
    assert client.get(reverse("access:pass-create")).status_code == 200
    now = site_now()
    response = client.post(
        reverse("access:pass-create"),
        {
            "new_name": "Vera Visitor",
            "new_role": "visitor",
            "sponsor": people["employee"].pk,
            "areas": [site["lobby"].pk],
            "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "purpose": "Interview",
        },
    )
    assert response.status_code == 302, response.content
    visitor_pass = VisitorPass.objects.get()
    assert visitor_pass.visitor.display_name == "Vera Visitor"
    assert visitor_pass.visitor.role == "visitor" and visitor_pass.sponsor == people["employee"]
    assert visitor_pass.visitor.sponsor == people["employee"]
    assert visitor_pass.visitor.is_within_validity(timezone.now() + timedelta(hours=1))
    detail = client.get(response["Location"])
    assert b"Not enrolled yet" in detail.content


def hosts_in_the_lobby(site, employee, visitor) -> None:
    """The sponsoring rules: an employee hosts their own visitors in areas they may enter."""
    from access_control.models import AccessRule
    from accounts.models import User

    AccessRule.objects.create(name="Employees in the lobby", role="employee").areas.set(
        [site["lobby"]]
    )
    User.objects.filter(pk=visitor.pk).update(sponsor=employee)


def test_an_employee_sponsors_their_own_pass_and_the_limits_show_as_errors(client, site, people):
    hosts_in_the_lobby(site, people["employee"], people["visitor"])
    client.force_login(people["employee"])
    now = site_now()
    data = {
        "visitor": people["visitor"].pk,
        "areas": [site["lobby"].pk],
        "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "purpose": "Workshop",
    }
    too_long = client.post(reverse("access:pass-create"), data)
    assert too_long.status_code == 200 and b"at most 12 hours" in too_long.content
    data["ends_at"] = (now + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    created = client.post(reverse("access:pass-create"), data, follow=True)
    assert created.redirect_chain and b"Pass created" in created.content
    assert VisitorPass.objects.get().sponsor == people["employee"]
    # Another employee does not see it; the guard does.
    client.force_login(people["manager"])
    assert str(people["visitor"]).encode() not in client.get(reverse("access:passes")).content
    client.force_login(people["guard"])
    assert str(people["visitor"]).encode() in client.get(reverse("access:passes")).content


def test_revoke_and_extend_from_the_pass_page(client, site, people):
    hosts_in_the_lobby(site, people["employee"], people["visitor"])
    people["visitor"].refresh_from_db()
    now = timezone.now()
    visitor_pass = services.create_pass(
        visitor=people["visitor"],
        sponsor=people["employee"],
        created_by=people["employee"],
        areas=[site["lobby"]],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        purpose="Meeting",
    )
    url = reverse("access:pass-detail", args=[visitor_pass.pk])
    client.force_login(people["employee"])
    new_end = site_now(now + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(url, {"action": "extend", "ends_at": new_end}).status_code == 302
    visitor_pass.refresh_from_db()
    assert visitor_pass.ends_at > now + timedelta(hours=5)
    assert client.post(url, {"action": "revoke", "reason": "Left early"}).status_code == 302
    visitor_pass.refresh_from_db()
    assert visitor_pass.revoked_at and visitor_pass.revoked_by == people["employee"]
    from accounts.models import AuditEntry

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"access.pass.create", "access.pass.extend", "access.pass.revoke"} <= actions
    client.force_login(people["visitor"])
    assert client.get(url).status_code == 403


def test_reception_enrols_a_visitor_from_uploaded_photos(
    client, site, people, django_capture_on_commit_callbacks
):
    from biometrics.models import EnrolmentJob

    from .biometrics_helpers import photos, upload

    now = timezone.now()
    visitor_pass = services.create_pass(
        visitor=people["visitor"],
        sponsor=people["employee"],
        created_by=people["guard"],
        areas=[site["lobby"]],
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        purpose="Meeting",
    )
    client.force_login(people["guard"])
    url = reverse("access:pass-detail", args=[visitor_pass.pk])
    files = [upload(f"{n}.jpg", d) for n, d in enumerate(photos("deepface_02", [1, 2, 3]))]
    with django_capture_on_commit_callbacks(execute=False):
        refused = client.post(url, {"action": "enrol", "photos": files}, follow=True)
        assert b"consent is needed" in refused.content
        for f in files:
            f.seek(0)
        response = client.post(
            url,
            {"action": "enrol", "photos": files, "consent": "on", "consent_evidence": "Form 17"},
        )
    assert response.status_code == 302, response.content.decode()[-3000:]
    job = EnrolmentJob.objects.get(person=people["visitor"])
    assert job.total == 3 and job.requested_by == people["guard"]
    for f in files:
        f.seek(0)
    one = client.post(url, {"action": "enrol", "photos": files[:1]}, follow=True)
    assert b"between 3 and 5" in one.content


def test_the_door_page_needs_the_paired_terminal_of_that_door(client, site, people, lab_door_token):
    url = reverse("access:door", args=[site["entrance"].pk])
    assert client.get(url)["Location"].startswith(reverse("pair-device"))
    client.post(reverse("pair-device"), {"token": lab_door_token})
    assert client.get(url).status_code == 403
    assert client.get(reverse("access:door", args=[site["lab_door"].pk])).status_code == 200


@pytest.fixture
def lab_door_token(site):
    from accounts import services as accounts_services

    return accounts_services.rotate_device_token(device=site["lab_door"].device)
