"""Finding 8: in the admin a manager sees the rows the API shows them (the API's selectors via
the authorization table), not every department's access events, passes, alerts and people."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access_control.models import AccessEvent, AccessPoint, Alert, Area, VisitorPass
from accounts import services
from accounts.models import Department


def _listed(client, model: str) -> set[int]:
    response = client.get(reverse(f"admin:access_control_{model}_changelist"))
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].queryset}


@pytest.fixture
def two_departments(people, make_person):
    mine = people["manager"].department
    other = Department.objects.create(name="Research", code="research")
    area_mine = Area.objects.create(name="Ops floor", department=mine)
    area_other = Area.objects.create(name="Lab", department=other)
    events = {}
    for key, area in (("mine", area_mine), ("other", area_other)):
        device, _ = services.register_device(name=f"{key} door", kind="door")
        point = AccessPoint.objects.create(name=f"{key} door", area=area, device=device)
        events[key] = AccessEvent.objects.create(
            access_point=point, area=area, decision="denied", reason="no_match", mode="face"
        )
    return {"other": other, "events": events, "points": area_other.access_points.all()}


def test_manager_sees_only_their_departments_access_events(client, people, two_departments):
    client.force_login(people["manager"])
    assert _listed(client, "accessevent") == {two_departments["events"]["mine"].pk}
    client.force_login(people["admin"])
    assert _listed(client, "accessevent") == {e.pk for e in two_departments["events"].values()}


def test_manager_sees_only_the_passes_they_sponsor(client, people, make_person):
    now = timezone.now()
    visitor = make_person("visitor")
    window = {"starts_at": now, "ends_at": now + timedelta(hours=2), "purpose": "meeting"}
    theirs = VisitorPass.objects.create(
        visitor=visitor, sponsor=people["manager"], created_by=people["manager"], **window
    )
    others = VisitorPass.objects.create(
        visitor=visitor, sponsor=people["employee"], created_by=people["guard"], **window
    )
    client.force_login(people["manager"])
    assert _listed(client, "visitorpass") == {theirs.pk}
    client.force_login(people["admin"])
    assert _listed(client, "visitorpass") == {theirs.pk, others.pk}


def test_manager_cannot_read_alerts_in_the_admin(client, people, two_departments):
    event = two_departments["events"]["other"]
    alert = Alert.objects.create(
        kind="spoof_suspected",
        access_point=event.access_point,
        first_event=event,
        last_event=event,
        message="x",
    )
    client.force_login(people["manager"])
    assert client.get(reverse("admin:access_control_alert_changelist")).status_code == 403
    url = reverse("admin:access_control_alert_change", args=[alert.pk])
    assert client.get(url).status_code == 403


def test_manager_sees_only_their_departments_people(client, people, make_person, two_departments):
    stranger = make_person("employee", department=two_departments["other"])
    client.force_login(people["manager"])
    response = client.get(reverse("admin:accounts_user_changelist"))
    listed = {p.pk for p in response.context["cl"].queryset}
    assert stranger.pk not in listed and people["employee"].pk in listed
    url = reverse("admin:accounts_user_change", args=[stranger.pk])
    assert client.get(url).status_code == 302  # "does not exist" redirect: out of scope
