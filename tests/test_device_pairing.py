"""A browser paired as a device acts as that device on the API, never as a person."""

from django.urls import reverse


def test_pairing_with_a_token_makes_the_session_a_device(client, kiosk):
    bad = client.post(reverse("pair-device"), {"token": "wrong", "next": "/"})
    assert bad.status_code == 200 and b"Unknown or revoked" in bad.content
    ok = client.post(reverse("pair-device"), {"token": kiosk.token, "next": "/api/accounts/me/"})
    assert ok.status_code == 302 and ok["Location"] == "/api/accounts/me/"
    assert client.get("/api/accounts/me/").json()["role"] == "device:kiosk"


def test_a_revoked_device_session_stops_working(client, kiosk):
    from accounts import services

    client.post(reverse("pair-device"), {"token": kiosk.token})
    services.revoke_device(device=kiosk)
    assert client.get("/api/accounts/me/").status_code == 401


def test_device_session_posts_need_csrf(kiosk):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("pair-device"))
    token = page.cookies["csrftoken"].value
    client.post(reverse("pair-device"), {"token": kiosk.token, "csrfmiddlewaretoken": token})
    assert client.post("/api/biometrics/analyse/", {}).status_code == 403
    assert client.post("/api/biometrics/analyse/", {}, HTTP_X_CSRFTOKEN=token).status_code == 400


def test_pairing_refuses_offsite_redirects(client, kiosk):
    ok = client.post(
        reverse("pair-device"), {"token": kiosk.token, "next": "https://evil.example/"}
    )
    assert ok["Location"] == reverse("devices:screen")
