"""SCIM 2.0 provisioning (docs/identity.md, "Provisioning"): someone else's conformance suite
(scim2-tester) against the server, offboarding through a SCIM deactivate on real faces, and a
provisioning token that reaches nothing but /scim/v2/."""

import random

import pytest
from django.core.handlers.wsgi import WSGIHandler
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from accounts.models import AuditEntry, User
from biometrics.models import FaceTemplate
from identity import services as identity_services

from .biometrics_helpers import enrol_now, photo, photos, upload

BASE = "http://testserver/scim/v2"
SCIM_JSON = "application/scim+json"


@pytest.fixture
def scim_token(db):
    _, token = identity_services.register_provisioning_client(name="HR")
    return token


@pytest.fixture
def scim(client, scim_token):
    """Django's test client with the provisioning token: (method, path, json) -> response."""

    def call(method: str, path: str, body=None, **extra):
        import json

        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {scim_token}", **extra}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type=SCIM_JSON)
        return getattr(client, method.lower())(f"/scim/v2{path}", **kwargs)

    return call


@pytest.fixture
def tester_fills_datetimes(monkeypatch):
    """scim2-tester fills a dateTime attribute with a UUID (its filler knows no dates), which
    its own client then refuses to send. Give it dates: a validity window that starts in the
    past and ends in the future, as FaceAuth's visitors and contractors need. And an employee
    number fits FaceAuth's 32 characters (a UUID has 36; the server refuses it with a 400).
    Roles: the filler sets the required role alone on the Users it makes for group members,
    and a visitor or contractor without a window is refused (FaceAuth's rule, which a schema
    cannot express), so it picks the roles without one; test_create_filter_... covers those."""
    from datetime import UTC, datetime

    from scim2_tester import filling

    original = filling.generate_random_value

    def generate(context, path, mutability=None, required=None):
        value = original(context, path, mutability=mutability, required=required)
        binding = path.resolve()
        if binding is not None and binding.target_type is datetime and value is not None:
            year = 2027 if str(path).endswith("validUntil") else 2026
            return datetime(year, random.randint(1, 12), random.randint(1, 28), 8, tzinfo=UTC)
        if str(path).endswith(":role") and value in ("visitor", "contractor"):
            return random.choice(["employee", "manager", "guard"])
        if str(path).endswith("employeeNumber") and isinstance(value, str):
            return value[:32]
        return value

    from scim2_tester.checkers import patch_add, patch_replace

    for module in (filling, patch_add, patch_replace):
        monkeypatch.setattr(module, "generate_random_value", generate)


@pytest.fixture
def connections_kept_open():
    """A bare WSGIHandler ends each request by closing the database connection (the test client
    turns that off): on PostgreSQL that closes the test's transaction under it."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_scim2_tester_passes_every_check_of_the_supported_features(
    scim_token, capsys, tester_fills_datetimes, connections_kept_open
):
    client = WSGISCIMClient(
        WSGIHandler(), base_url=BASE, headers={"Authorization": f"Bearer {scim_token}"}
    )
    results = check_server(client)
    by_status = {s: [r for r in results if r.status == s] for s in Status}
    failed = [
        (r.resource_type, r.title, str(r.reason))
        for r in results
        if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    summary = ", ".join(f"{s.name.lower()} {len(v)}" for s, v in by_status.items() if v)
    with capsys.disabled():
        print(f"\nscim2-tester: {len(results)} checks: {summary}")
    assert not failed, "\n".join(f"{t} {title}: {reason[:300]}" for t, title, reason in failed)
    assert len(by_status[Status.SUCCESS]) >= 30


def test_create_filter_paginate_and_map_the_enterprise_attributes(scim):
    created = scim(
        "POST",
        "/Users",
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:faceauth:params:scim:schemas:extension:2.0:User",
            ],
            "userName": "c.contractor",
            "externalId": "HR-4711",
            "displayName": "Cora Contractor",
            "emails": [{"value": "cora@example.com", "primary": True}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "E-4711",
                "department": "Maintenance",
            },
            "urn:faceauth:params:scim:schemas:extension:2.0:User": {
                "role": "contractor",
                "validFrom": "2026-12-01T07:00:00Z",
                "validUntil": "2027-03-01T18:00:00Z",
            },
        },
    )
    assert created.status_code == 201, created.content
    person = User.objects.get(username="c.contractor")
    assert (person.role, person.employee_number, person.department.name) == (
        "contractor",
        "E-4711",
        "Maintenance",
    )
    assert person.valid_until.year == 2027
    scim_id = created.json()["id"]
    assert str(person.pk) != scim_id
    for query in (
        'userName eq "C.Contractor"',
        'externalId eq "HR-4711"',
        'emails.value eq "cora@example.com"',
    ):
        found = scim("GET", f"/Users?filter={query}")
        assert found.status_code == 200
        assert [r["id"] for r in found.json()["Resources"]] == [scim_id], query
    # A contractor without a window is refused, as FaceAuth's own form refuses it.
    bad = scim(
        "POST",
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "v.nowindow",
            "urn:faceauth:params:scim:schemas:extension:2.0:User": {"role": "visitor"},
        },
    )
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidValue", bad.content
    for n in range(5):
        scim("POST", "/Users", {"userName": f"page{n}", "displayName": f"Page {n}"})
    page = scim("GET", "/Users?startIndex=2&count=2").json()
    assert (page["startIndex"], page["itemsPerPage"], len(page["Resources"])) == (2, 2, 2)
    assert page["totalResults"] == 6


def test_bad_requests_are_scim_errors_never_500(scim, make_person):
    admin = make_person("admin")
    cases = [
        ("POST", "/Users", None, 400),
        ("GET", "/Users/not-a-uuid", None, 404),
        ("GET", "/Users?filter=userName%20zz%20%22x%22", None, 400),
        (
            "POST",
            "/Users",
            {
                "userName": "x",
                "urn:faceauth:params:scim:schemas:extension:2.0:User": {"role": "admin"},
            },
            400,
        ),
        ("GET", "/Nope", None, 404),
    ]
    for method, path, body, status in cases:
        answer = scim(method, path, body if body is not None else {} if method == "POST" else None)
        assert answer.status_code == status, (path, answer.content)
        assert "urn:ietf:params:scim:api:messages:2.0:Error" in answer.json()["schemas"]
    # An admin is managed in FaceAuth: provisioning cannot change or deactivate them.
    admin_id = scim("GET", f'/Users?filter=userName eq "{admin.username}"').json()["Resources"][0][
        "id"
    ]
    refused = scim(
        "PATCH",
        f"/Users/{admin_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert refused.status_code == 403, refused.content
    admin.refresh_from_db()
    assert admin.is_active


def test_a_scim_deactivate_offboards_the_face_is_no_longer_identified(
    scim, client, kiosk, settings, django_capture_on_commit_callbacks
):
    settings.FACEAUTH_LIVENESS_ENABLED = False
    created = scim("POST", "/Users", {"userName": "dee", "displayName": "deepface_01"}).json()
    person = User.objects.get(username="dee")
    enrol_now(person, photos("deepface_01", [1, 2, 3]), django_capture_on_commit_callbacks)
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}

    def identify():
        probe = {"image": upload("p.jpg", photo("deepface_01/4.jpg"))}
        return client.post("/api/biometrics/identify/", probe, **auth).json()

    assert identify()["person"]["id"] == person.pk
    answer = scim(
        "PATCH",
        f"/Users/{created['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
    )
    assert answer.status_code == 200 and answer.json()["active"] is False, answer.content
    person.refresh_from_db()
    assert not person.is_active and person.offboarded_at
    assert not FaceTemplate.objects.filter(person=person).exists()
    assert identify()["person"] is None
    actions = set(
        AuditEntry.objects.filter(target_id=str(person.pk)).values_list("action", flat=True)
    )
    assert {"person.offboard", "scim.replace", "scim.create", "oidc.tokens_ended"} <= actions
    # DELETE: anonymised and gone from SCIM; the row stays for the retained records.
    assert scim("DELETE", f"/Users/{created['id']}").status_code == 204
    assert scim("GET", f"/Users/{created['id']}").status_code == 404
    person.refresh_from_db()
    assert (person.display_name, person.email, person.employee_number) == (
        "Deleted person",
        "",
        None,
    )


def test_the_provisioning_token_reaches_nothing_else(client, scim_token, scim):
    assert scim("GET", "/ServiceProviderConfig").status_code == 200
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {scim_token}"}
    for url in (
        "/api/accounts/me/",
        "/api/accounts/people/",
        "/api/biometrics/identify/",
        "/api/access/events/",
        "/o/userinfo/",
        "/metrics",
    ):
        assert client.get(url, **bearer).status_code in (401, 403), url
    for url in ("/", "/people/", "/admin/", "/devices/"):
        answer = client.get(url, **bearer)
        assert answer.status_code in (302, 401, 403), url
        if answer.status_code == 302:
            assert "login" in answer["Location"], url
    # And nothing reaches SCIM without it: no token, a wrong one, an OpenID-style one.
    for header in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer scim_wrong"},
        {"HTTP_AUTHORIZATION": "Bearer x"},
    ):
        assert client.get("/scim/v2/Users", **header).status_code == 401
