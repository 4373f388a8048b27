"""FaceAuth's own pages ask the face step of the roles in FACEAUTH_SITE_FACE_REQUIRED_ROLES:
after the password, nothing but the face step (and signing out) answers them until a live 1:1
face check on their own face passes. Through the real login, views and face pipeline."""

import pytest
from django.test import Client
from django.urls import reverse

from .biometrics_helpers import enrol_now, photo, photos, upload

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_person
FACE = reverse("identity:face")


@pytest.fixture
def admin_must_show_face(settings):
    settings.FACEAUTH_SITE_FACE_REQUIRED_ROLES = ["admin"]
    settings.FACEAUTH_LIVENESS_ENABLED = False  # one photo for the 1:1 check


@pytest.fixture
def enrolled_admin(make_person, django_capture_on_commit_callbacks):
    admin = make_person("admin")
    enrol_now(admin, photos("deepface_02", [1, 2, 3]), django_capture_on_commit_callbacks)
    return admin


def signed_in(person) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": person.username, "password": PASSWORD})
    assert response.status_code == 302, response
    return client


def test_after_the_password_only_the_face_step_answers(admin_must_show_face, enrolled_admin):
    client = signed_in(enrolled_admin)
    page = client.get(reverse("people:list"))
    assert page.status_code == 302
    assert page["Location"] == f"{FACE}?next=%2Fpeople%2F"
    api = client.get("/api/accounts/people/")
    assert api.status_code == 403 and api.json()["code"] == "face_step_required"
    assert client.get(FACE).status_code == 200
    assert client.get(reverse("privacy-notice")).status_code == 200


def test_a_strangers_face_keeps_the_pages_closed_and_the_own_face_opens_them(
    admin_must_show_face, enrolled_admin
):
    client = signed_in(enrolled_admin)
    stranger = client.post(
        "/api/identity/face/", {"image": upload("p.jpg", photo("deepface_03/1.jpg"))}
    )
    assert stranger.status_code == 403 and stranger.json()["code"] == "face_mismatch"
    assert client.get(reverse("people:list")).status_code == 302

    own = client.post(
        "/api/identity/face/",
        {"image": upload("p.jpg", photo("deepface_02/4.jpg")), "next": "/people/"},
    )
    assert own.status_code == 200 and own.json() == {"ok": True, "next": "/people/"}
    assert client.get(reverse("people:list")).status_code == 200
    assert client.get("/api/accounts/people/").status_code == 200


def test_other_roles_and_the_default_setting_need_no_face_step(
    settings, make_person, enrolled_admin
):
    assert settings.FACEAUTH_SITE_FACE_REQUIRED_ROLES == []
    assert signed_in(enrolled_admin).get(reverse("people:list")).status_code == 200
    settings.FACEAUTH_SITE_FACE_REQUIRED_ROLES = ["admin"]
    employee = make_person("employee")
    assert signed_in(employee).get(reverse("home")).status_code == 200
