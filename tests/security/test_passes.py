"""Issue 14, finding 2 and "Who may grant what": visitor passes follow the sponsoring rules.

Every attack variant goes through the real pass pages, the real door check API, the database
and the real face pipeline (photos from ../shared/faces)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access_control import services
from access_control.errors import InvalidPass, PassForbidden
from access_control.models import AccessPoint, AccessRule, Area, Effect, SecurityLevel, VisitorPass
from accounts.models import AuditEntry, Device, User
from biometrics import services as biometric_services
from biometrics.models import BiometricConsent, EnrolmentJob
from tests.biometrics_helpers import enrol_now, photo, photos, upload

CHECK_URL = "/api/access/check/"
NEW_PASS = "/access/passes/new/"


@pytest.fixture(autouse=True)
def _fresh_gallery(monkeypatch):
    monkeypatch.setattr(biometric_services, "gallery_cache", biometric_services._GalleryCache())


def door(name: str, area: Area) -> Device:
    from accounts import services as accounts_services

    device, token = accounts_services.register_device(name=name, kind="door")
    Device.objects.filter(pk=device.pk).update(liveness_required=False)
    AccessPoint.objects.create(name=name, area=area, device=device)
    device.token = token
    return device


@pytest.fixture
def site(db, people):
    hq = Area.objects.create(name="Headquarters", contractor_passes=True)
    lobby = Area.objects.create(name="Lobby", parent=hq, security_level=SecurityLevel.LOW)
    server = Area.objects.create(name="Server room", parent=hq, security_level=SecurityLevel.HIGH)
    vault = Area.objects.create(name="Vault", parent=hq, visitor_passes=False)
    staff = AccessRule.objects.create(name="Employees in HQ", role="employee")
    staff.areas.set([hq])
    barred = AccessRule.objects.create(
        name="Employees not in the server room", role="employee", effect=Effect.DENY
    )
    barred.areas.set([server])
    managers = AccessRule.objects.create(name="Managers everywhere", role="manager")
    managers.areas.set([hq])
    return {
        "hq": hq,
        "lobby": lobby,
        "server": server,
        "vault": vault,
        "server_door": door("Server room door", server),
        "lobby_door": door("Lobby door", lobby),
        "vault_door": door("Vault door", vault),
    }


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def pass_form(*, areas, hours: float = 4, **fields) -> dict:
    now = timezone.now()
    return {
        "new_role": "visitor",
        "areas": [a.pk for a in areas],
        "starts_at": local(now - timedelta(minutes=5)),
        "ends_at": local(now + timedelta(hours=hours)),
        "purpose": "Meeting",
        **fields,
    }


def check(client, device, image: bytes) -> dict:
    response = client.post(
        CHECK_URL,
        {"image": upload("probe.jpg", image)},
        HTTP_AUTHORIZATION=f"Device {device.token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def enrol_on_pass_page(client, visitor_pass, identity, numbers, capture, **fields):
    with capture(execute=False):
        response = client.post(
            reverse("access:pass-detail", args=[visitor_pass.pk]),
            {
                "action": "enrol",
                "photos": [upload(f"{n}.jpg", d) for n, d in enumerate(photos(identity, numbers))],
                **fields,
            },
        )
    job = EnrolmentJob.objects.filter(person=visitor_pass.visitor).first()
    if job is not None:
        biometric_services.run_enrolment(job_id=str(job.pk))
    return response


# ---------------------------------------------------------------- the reported attack


def test_an_employee_cannot_open_the_server_room_to_his_own_face(
    client, site, people, django_capture_on_commit_callbacks
):
    """Finding 2 as reported: bob passes a "visitor" into the server room, enrols his own
    photos for the visitor on the pass page, erases his own face data, and walks in."""
    capture = django_capture_on_commit_callbacks
    bob = people["employee"]
    enrol_now(bob, photos("deepface_01", [1, 2, 3]), capture)
    client.force_login(bob)
    visitors_before = User.objects.filter(role="visitor").count()

    refused = client.post(NEW_PASS, pass_form(areas=[site["server"]], new_name="Not Bob"))
    assert refused.status_code == 200
    assert "areas you may enter yourself" in refused.content.decode()
    assert not VisitorPass.objects.exists()
    assert User.objects.filter(role="visitor").count() == visitors_before  # nobody registered

    # A lobby pass is his to give; the face enrolment is not.
    created = client.post(NEW_PASS, pass_form(areas=[site["lobby"]], new_name="Not Bob"))
    assert created.status_code == 302, created.content.decode()[:2000]
    visitor_pass = VisitorPass.objects.get()
    page = client.get(created["Location"]).content.decode()
    assert "Enrol the face at reception" not in page
    response = enrol_on_pass_page(
        client,
        visitor_pass,
        "deepface_01",
        [4, 5, 6],
        capture,
        consent="on",
        consent_evidence="I promise",
    )
    assert response.status_code == 200
    assert "Only reception" in response.content.decode()
    assert not EnrolmentJob.objects.filter(person=visitor_pass.visitor).exists()
    assert not BiometricConsent.objects.filter(person=visitor_pass.visitor).exists()

    assert client.delete("/api/biometrics/me/face-data/").status_code == 200
    answer = check(client, site["server_door"], photo("deepface_01/7.jpg"))
    assert answer["decision"] == "denied" and answer["reason"] == "not_recognised", answer


def test_a_pass_into_a_high_security_area_waits_for_a_guard(
    client, site, people, django_capture_on_commit_callbacks
):
    """A manager who may enter the server room hosts a visitor there: the pass opens nothing
    until a guard approves it; reception enrols the face with the consent evidence."""
    manager, guard = people["manager"], people["guard"]
    client.force_login(manager)
    response = client.post(NEW_PASS, pass_form(areas=[site["server"]], new_name="Auditor"))
    assert response.status_code == 302, response.content.decode()[:2000]
    visitor_pass = VisitorPass.objects.get()
    assert visitor_pass.is_pending() and visitor_pass.status() == "pending"
    url = reverse("access:pass-detail", args=[visitor_pass.pk])
    client.post(url, {"action": "approve"})  # the sponsor may not approve their own pass
    visitor_pass.refresh_from_db()
    assert visitor_pass.is_pending()

    client.force_login(guard)
    enrol_on_pass_page(
        client,
        visitor_pass,
        "deepface_02",
        [1, 2, 3],
        django_capture_on_commit_callbacks,
        consent="on",
        consent_evidence="Form 2026-114, passport checked",
    )
    consent = BiometricConsent.objects.get(person=visitor_pass.visitor)
    assert consent.recorded_by == guard and consent.evidence.startswith("Form 2026-114")
    assert consent.channel == "paper" and consent.given_at
    pending = check(client, site["server_door"], photo("deepface_02/4.jpg"))
    assert (pending["decision"], pending["reason"]) == ("denied", "pass_pending"), pending

    assert client.post(url, {"action": "approve"}).status_code == 302
    visitor_pass.refresh_from_db()
    assert visitor_pass.approved_by == guard
    granted = check(client, site["server_door"], photo("deepface_02/5.jpg"))
    assert (granted["decision"], granted["reason"]) == ("granted", "pass_valid"), granted
    assert AuditEntry.objects.filter(action="access.pass.approve").exists()


# ---------------------------------------------------------------- the other variants


def test_an_employee_cannot_revive_someone_else_s_expired_visitor(client, site, people):
    now = timezone.now()
    visitor = people["visitor"]
    User.objects.filter(pk=visitor.pk).update(
        sponsor=people["manager"], valid_until=now - timedelta(days=1)
    )
    visitor.refresh_from_db()
    client.force_login(people["employee"])
    response = client.post(NEW_PASS, pass_form(areas=[site["lobby"]], visitor=visitor.pk))
    assert response.status_code == 200 and not VisitorPass.objects.exists()
    with pytest.raises(PassForbidden) as refused:
        services.create_pass(
            visitor=visitor,
            sponsor=people["employee"],
            created_by=people["employee"],
            areas=[site["lobby"]],
            starts_at=now,
            ends_at=now + timedelta(hours=2),
            purpose="Revival",
        )
    assert refused.value.code == "not_your_visitor"
    visitor.refresh_from_db()
    assert visitor.valid_until < now


def test_a_pass_never_silently_widens_a_contractor_s_account(client, site, people):
    now = timezone.now()
    contractor = people["contractor"]  # valid for 8 hours (fixture)
    until = contractor.valid_until
    client.force_login(people["employee"])
    form = pass_form(areas=[site["hq"]], hours=90 * 24, visitor=contractor.pk)
    assert client.post(NEW_PASS, form).status_code == 200
    common = {
        "visitor": contractor,
        "sponsor": people["employee"],
        "areas": [site["hq"]],
        "starts_at": now,
        "purpose": "Air conditioning",
    }
    with pytest.raises(PassForbidden):  # employees do not issue contractor passes
        services.create_pass(
            created_by=people["employee"], ends_at=now + timedelta(days=90), **common
        )
    with pytest.raises(InvalidPass) as too_long:  # a guard: two weeks at most
        services.create_pass(created_by=people["guard"], ends_at=now + timedelta(days=90), **common)
    assert too_long.value.code == "pass_too_long"
    with pytest.raises(PassForbidden) as outside:  # beyond the account's own window
        services.create_pass(created_by=people["guard"], ends_at=now + timedelta(days=10), **common)
    assert outside.value.code == "outside_validity"
    with pytest.raises(PassForbidden):  # an admin, but not explicitly
        services.create_pass(created_by=people["admin"], ends_at=now + timedelta(days=90), **common)
    contractor.refresh_from_db()
    assert contractor.valid_until == until
    assert not VisitorPass.objects.exists()

    services.create_pass(
        created_by=people["admin"],
        ends_at=now + timedelta(days=90),
        widen_validity=True,
        **common,
    )
    contractor.refresh_from_db()
    assert contractor.valid_until >= now + timedelta(days=90)
    assert AuditEntry.objects.filter(action="access.validity.widen").exists()


def test_a_parent_area_pass_never_opens_a_child_that_takes_no_visitor_passes(
    client, site, people, django_capture_on_commit_callbacks
):
    visitor = people["visitor"]
    enrol_now(visitor, photos("deepface_05", [1, 2, 3]), django_capture_on_commit_callbacks)
    now = timezone.now()
    services.create_pass(
        visitor=visitor,
        sponsor=people["employee"],
        created_by=people["guard"],
        areas=[site["hq"]],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        purpose="Tour",
    )
    lobby = check(client, site["lobby_door"], photo("deepface_05/4.jpg"))
    assert (lobby["decision"], lobby["reason"]) == ("granted", "pass_valid"), lobby
    vault = check(client, site["vault_door"], photo("deepface_05/5.jpg"))
    assert (vault["decision"], vault["reason"]) == ("denied", "not_on_pass"), vault


def test_employees_sponsor_visitors_for_a_working_day_into_their_own_areas(client, site, people):
    client.force_login(people["employee"])
    long = client.post(NEW_PASS, pass_form(areas=[site["lobby"]], hours=20, new_name="Long"))
    assert long.status_code == 200 and "at most 12 hours" in long.content.decode()
    # Headquarters contains the server room, which this employee may not enter.
    whole = client.post(NEW_PASS, pass_form(areas=[site["hq"]], new_name="Everywhere"))
    assert whole.status_code == 200 and "Server room" in whole.content.decode()
    contractor = client.post(
        NEW_PASS, pass_form(areas=[site["lobby"]], new_name="Fixer", new_role="contractor")
    )
    assert contractor.status_code == 200
    assert not VisitorPass.objects.exists()
    ok = client.post(NEW_PASS, pass_form(areas=[site["lobby"]], new_name="Guest"))
    assert ok.status_code == 302
    visitor_pass = VisitorPass.objects.get()
    assert not visitor_pass.is_pending() and visitor_pass.visitor.sponsor == people["employee"]
