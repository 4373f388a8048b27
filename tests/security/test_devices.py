"""Findings 6 and 7: what a device may ask of /api/biometrics/verify/, whose lock-out a spoof
costs, and browsers paired with a device token that was rotated or revoked.

Through the real views, database and face pipeline (real photos and clips from ../shared)."""

import pytest
from django.urls import reverse

from biometrics.models import FaceLockout

from ..biometrics_helpers import VIDEO, burst, enrol_now, photo, photos, upload

VERIFY = "/api/biometrics/verify/"
CHALLENGE = "/api/biometrics/challenge/"


@pytest.fixture(autouse=True)
def _fresh_gallery(monkeypatch):
    from biometrics import services

    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


def device_auth(device) -> dict:
    return {"HTTP_AUTHORIZATION": f"Device {device.token}"}


# ---------------------------------------------------------------- finding 6: verify


def test_a_door_may_not_verify_claims(client, door_device, make_person):
    person = make_person("employee")
    response = client.post(
        VERIFY,
        {"person": person.pk, "image": upload("x.jpg", photo("deepface_02/4.jpg"))},
        **device_auth(door_device),
    )
    assert response.status_code == 403


def test_a_kiosk_cannot_tell_unknown_inactive_unenrolled_and_non_matching_people_apart(
    client, kiosk, make_person, settings, django_capture_on_commit_callbacks
):
    from accounts import services as accounts_services
    from accounts.models import Device

    settings.FACEAUTH_LIVENESS_ENABLED = False
    Device.objects.filter(pk=kiosk.pk).update(liveness_required=False)
    enrolled = make_person("employee")
    job = enrol_now(enrolled, photos("deepface_02", [1, 2, 3]), django_capture_on_commit_callbacks)
    assert job.accepted == 3, job.error
    inactive = make_person("employee")
    enrol_now(inactive, photos("deepface_05", [1, 2, 3]), django_capture_on_commit_callbacks)
    accounts_services.offboard_person(person=inactive)
    unenrolled = make_person("employee")
    stranger = photo("deepface_05/4.jpg")  # nobody's face among the claims below

    answers = {}
    for label, claim in (
        ("unknown", 999_999),
        ("not a number", "x"),
        ("inactive", inactive.pk),
        ("not enrolled", unenrolled.pk),
        ("enrolled, other face", enrolled.pk),
    ):
        response = client.post(
            VERIFY, {"person": claim, "image": upload("x.jpg", stranger)}, **device_auth(kiosk)
        )
        answers[label] = (response.status_code, response.json())
    assert len({repr(a) for a in answers.values()}) == 1, answers
    assert answers["unknown"] == (
        200,
        {"match": False, "score": None, "threshold": None, "model": None},
    )
    # The rightful face still verifies, with its numbers.
    same = client.post(
        VERIFY,
        {"person": enrolled.pk, "image": upload("x.jpg", photo("deepface_02/4.jpg"))},
        **device_auth(kiosk),
    )
    assert same.status_code == 200 and same.json()["match"] is True, same.content


def test_photo_attacks_at_a_kiosk_never_lock_the_claimed_persons_face_login(
    client, kiosk, make_person, settings, django_capture_on_commit_callbacks
):
    from biometrics import lockouts

    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    victim = make_person("employee", display_name="Katie Second")
    still = (VIDEO / "person_02_still.jpg").read_bytes()
    assert enrol_now(victim, [still] * 3, django_capture_on_commit_callbacks).accepted == 3
    codes = []
    for n in range(6):
        attack = burst("attack_person_02_photo.mp4", start_s=0.4 * n)  # new bytes each time
        nonce = client.post(CHALLENGE, **device_auth(kiosk)).json().get("nonce", "")
        response = client.post(
            VERIFY,
            {
                "person": victim.pk,
                "nonce": nonce,
                "frames": [upload(f"{i}.jpg", f) for i, f in enumerate(attack)],
            },
            **device_auth(kiosk),
        )
        codes.append(response.json().get("code"))
    assert codes[:5] == ["spoof_suspected"] * 5, codes
    assert codes[5] in ("spoof_suspected", "locked_out"), codes  # the kiosk backs off
    # The victim's own face login is untouched: no failures counted against them.
    assert not FaceLockout.objects.filter(subject_type="person", subject_id=victim.pk).filter(
        consecutive_failures__gt=0
    )
    lockouts.begin(person=victim).refund()  # not locked
    assert FaceLockout.objects.get(subject_type="device", subject_id=kiosk.pk).total_failures >= 5


# ---------------------------------------------------------------- finding 7: paired browsers


def pair(client, device) -> None:
    response = client.post(reverse("pair-device"), {"token": device.token, "next": "/"})
    assert response.status_code == 302


def acts_as_device(client) -> bool:
    me = client.get("/api/accounts/me/")
    return me.status_code == 200 and me.json().get("role", "").startswith("device:")


def kiosk_page_opens(client) -> bool:
    return client.get(reverse("attendance:kiosk")).status_code == 200


def test_rotating_a_device_token_unpairs_the_browsers_paired_with_the_old_one(client, kiosk):
    from accounts import services

    pair(client, kiosk)
    assert acts_as_device(client) and kiosk_page_opens(client)
    new_token = services.rotate_device_token(device=kiosk)
    assert not acts_as_device(client)
    assert not kiosk_page_opens(client)  # sent to the pairing page
    kiosk.token = new_token
    pair(client, kiosk)
    assert acts_as_device(client) and kiosk_page_opens(client)


def test_revoking_then_reissuing_a_device_token_unpairs_old_browsers(client, kiosk):
    from accounts import services

    pair(client, kiosk)
    services.revoke_device(device=kiosk)
    assert not acts_as_device(client) and not kiosk_page_opens(client)
    services.rotate_device_token(device=kiosk)  # re-activates the device with a new token
    assert not acts_as_device(client) and not kiosk_page_opens(client)
