"""Finding 16: what the system tells those who should not know. Devices get no match scores,
/readyz names no backend, the API schema is for staff, a lock-out says when to retry, and
nothing personal may be kept by a cache (Cache-Control: no-store)."""

import pytest
from django.urls import reverse

from reports import selectors as report_selectors

from ..biometrics_helpers import enrol_now, photo, photos, upload


@pytest.fixture
def single_image(settings):
    settings.FACEAUTH_LIVENESS_ENABLED = False


def test_a_device_sees_no_score_for_a_stranger_nor_a_match(
    client, make_person, kiosk, single_image, django_capture_on_commit_callbacks
):
    person = make_person("employee")
    enrol_now(person, photos("deepface_02", [1, 2, 3]), django_capture_on_commit_callbacks)
    auth = {"HTTP_AUTHORIZATION": f"Device {kiosk.token}"}
    for probe, matched in (("deepface_03/1.jpg", False), ("deepface_02/4.jpg", True)):
        answer = client.post(
            "/api/biometrics/identify/", {"image": upload("p.jpg", photo(probe))}, **auth
        ).json()
        assert answer["match"] is matched, answer
        assert answer["score"] is None and answer["threshold"] is None, answer
        # A claim at the kiosk (1:1) answers the same way: whether, never how close.
        claimed = client.post(
            "/api/biometrics/verify/",
            {"image": upload("p.jpg", photo(probe)), "person": person.pk},
            **auth,
        ).json()
        assert claimed["match"] is matched, claimed
        assert claimed["score"] is None and claimed["threshold"] is None, claimed


def test_readyz_says_only_ok_or_fail_per_check(client, db):
    body = client.get("/readyz").json()
    assert set(body["checks"].values()) <= {"ok", "fail"}
    text = str(body).lower()
    for backend in ("sqlite", "postgres", "redis", "locmem", "in-process", "dlib"):
        assert backend not in text


@pytest.mark.parametrize(
    "principal, status",
    [("admin", 200), ("manager", 200), ("guard", 403), ("employee", 403), ("visitor", 403)],
)
def test_the_api_schema_is_for_staff(client, people, principal, status):
    client.force_login(people[principal])
    assert client.get("/api/schema/").status_code == status


@pytest.mark.parametrize("kind", ["kiosk", "door"])
def test_devices_cannot_read_the_api_schema(client, db, kind):
    from accounts import services

    _, token = services.register_device(name=f"{kind} 9", kind=kind)
    response = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Device {token}")
    assert response.status_code == 403


def test_a_face_lock_out_says_when_to_retry(client, people, settings):
    from biometrics import lockouts

    person = people["employee"]
    for _ in range(settings.FACEAUTH_LOCKOUT_THRESHOLD):
        lockouts.failed(lockouts.begin(person=person))
    client.force_login(person)
    response = client.post(
        "/api/biometrics/verify/", {"image": upload("p.jpg", photo("deepface_02/4.jpg"))}
    )
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert int(response["Retry-After"]) >= 1


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_personal_pages_reports_and_csv_are_not_cached(client, people):
    client.force_login(people["employee"])
    for url in ("/attendance/me/", "/attendance/me/export.json", "/api/attendance/events/"):
        response = client.get(url)
        assert response.status_code == 200 and _no_store(response), url
    client.force_login(people["admin"])
    name = next(iter(report_selectors.DATASETS["attendance"]))
    for url in (
        reverse("reports:attendance"),
        reverse("reports:data", args=["attendance"]),
        reverse("reports:export", args=["attendance", name]),
        "/admin/accounts/user/",
    ):
        response = client.get(url)
        assert response.status_code == 200 and _no_store(response), url


def test_device_answers_are_not_cached(client, kiosk):
    response = client.get("/api/accounts/me/", HTTP_AUTHORIZATION=f"Device {kiosk.token}")
    assert response.status_code == 200 and _no_store(response)


def test_public_pages_stay_cacheable(client, db):
    assert not _no_store(client.get("/privacy/"))
