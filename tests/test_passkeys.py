"""Passkeys (identity/passkeys.py): a person registers their own, signs in with one instead of
the password, and an OpenID client learns it from ``amr``. A software authenticator
(tests/passkey_helpers.py) makes real keys, attestations and signatures; py_webauthn verifies
them for real."""

import base64
import hashlib
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client
from django.urls import reverse

from accounts import sessions
from accounts.models import AuditEntry
from identity import assurance
from identity.models import Passkey

from .biometrics_helpers import enrol_now, photo, photos, upload
from .passkey_helpers import (
    SoftAuthenticator,
    csrf_client,
    post_json,
    register,
    sign_in,
    sign_in_answer,
)

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_person
SIGN_IN = "/api/identity/passkeys/sign-in/"


def password_client(person) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": person.username, "password": PASSWORD})
    assert response.status_code == 302, response
    return client


@pytest.fixture
def person(make_person):
    return make_person("employee")


@pytest.fixture
def key(person) -> SoftAuthenticator:
    """A passkey of ``person``, registered through the API after a password sign-in."""
    authenticator = SoftAuthenticator()
    assert register(password_client(person), authenticator).status_code == 201
    return authenticator


def factors_of(client: Client) -> dict:
    return client.session.get(sessions.SESSION_KEY) or {}


# ----------------------------------------------------------------- registration


def test_a_person_registers_a_passkey_after_signing_in_with_the_password(person):
    client = password_client(person)
    authenticator = SoftAuthenticator(backed_up=True)
    response = register(client, authenticator, name="Work laptop")

    assert response.status_code == 201 and response.json()["name"] == "Work laptop"
    passkey = Passkey.objects.get(person=person)
    assert passkey.credential_id == authenticator.id and passkey.backed_up
    assert passkey.transports == ["internal", "hybrid"] and passkey.sign_count == 0
    entry = AuditEntry.objects.get(action="passkey.register", outcome="done")
    assert entry.target_id == str(person.pk) and entry.details["name"] == "Work laptop"
    assert "public_key" not in entry.details and "challenge" not in str(entry.details)
    page = client.get(reverse("identity:passkeys"))
    assert page.status_code == 200 and b"Work laptop" in page.content
    # The same authenticator again: the options exclude it, and the server refuses it.
    options = post_json(client, "/api/identity/passkeys/register/options/").json()
    assert [d["id"] for d in options["excludeCredentials"]] == [authenticator.id]
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    again = register(client, authenticator, name="Twice")
    assert again.status_code == 409 and again.json()["code"] == "passkey_exists"


def test_adding_a_passkey_needs_a_recent_password(person, _fixed_clock):
    client = password_client(person)
    _fixed_clock.shift(timedelta(minutes=11))  # FACEAUTH_PASSKEY_REAUTH_SECONDS: 10 minutes
    refused = post_json(client, "/api/identity/passkeys/register/options/")
    assert refused.status_code == 403 and refused.json()["code"] == "password_required"
    assert b"confirm your password" in client.get(reverse("identity:passkeys")).content

    wrong = client.post(reverse("identity:passkey-confirm"), {"password": "not-it"})
    assert wrong.status_code == 302
    assert post_json(client, "/api/identity/passkeys/register/options/").status_code == 403
    confirmed = client.post(reverse("identity:passkey-confirm"), {"password": PASSWORD})
    assert confirmed.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)
    assert register(client, SoftAuthenticator()).status_code == 201
    assert AuditEntry.objects.filter(action="auth.password", outcome="failure").count() == 1

    _fixed_clock.shift(timedelta(minutes=11))
    late = post_json(client, "/api/identity/passkeys/register/options/")
    assert late.status_code == 403 and late.json()["code"] == "password_required"


def test_a_passkey_sign_in_does_not_count_as_a_password_for_adding_another(person, key):
    client = csrf_client()
    assert sign_in(client, key).status_code == 200
    refused = post_json(client, "/api/identity/passkeys/register/options/")
    assert refused.status_code == 403 and refused.json()["code"] == "password_required"


def test_registration_from_another_origin_or_without_user_verification_is_refused(person):
    client = password_client(person)
    phished = register(client, SoftAuthenticator(), origin="https://faceauth.example.net")
    assert phished.status_code == 400 and phished.json()["code"] == "passkey_invalid"
    unverified = register(client, SoftAuthenticator(), verified=False)
    assert unverified.status_code == 400
    assert not Passkey.objects.exists()
    assert AuditEntry.objects.filter(action="passkey.register", outcome="refused").count() == 2


def test_a_registration_challenge_serves_its_own_person_only(person, make_person):
    other = password_client(make_person("employee"))
    options = post_json(password_client(person), "/api/identity/passkeys/register/options/")
    credential = SoftAuthenticator().create(options.json())
    stolen = post_json(
        other, "/api/identity/passkeys/register/", {"name": "x", "credential": credential}
    )
    assert stolen.status_code == 400 and stolen.json()["code"] == "challenge_unknown"


# ----------------------------------------------------------------- sign-in


def test_sign_in_with_a_passkey_instead_of_the_password(person, key):
    client = csrf_client()
    response = sign_in(client, key, next_url="/identity/apps/")

    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "next": "/identity/apps/"}
    assert client.session["_auth_user_id"] == str(person.pk)
    held = factors_of(client)
    assert sessions.PASSKEY in held and sessions.PASSWORD not in held
    passkey = Passkey.objects.get(person=person)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    entry = AuditEntry.objects.get(action="auth.passkey", outcome="success")
    assert entry.actor_id == person.pk and entry.details["passkey"] == passkey.pk
    # The key fixture's password sign-in is the only password one: the passkey is not a "pwd".
    assert AuditEntry.objects.filter(action="auth.password", actor=person).count() == 1
    assert client.get(reverse("home")).status_code == 200
    # An off-site "next" is not followed.
    assert sign_in(csrf_client(), key, next_url="https://evil.example/").json()["next"] == "/"


def test_a_sign_in_without_the_csrf_token_is_refused(key):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    options = post_json(client, "/api/identity/passkeys/sign-in/options/", HTTP_X_CSRFTOKEN="x")
    assert options.status_code == 403


def test_an_answer_made_for_another_origin_is_refused(person, key):
    client = csrf_client()
    response = sign_in(client, key, origin="https://faceauth.example.net")
    assert response.status_code == 403 and response.json()["code"] == "passkey_refused"
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="auth.passkey", outcome="refused")
    assert entry.details["reason"] == "origin" and entry.target_id == str(person.pk)


def test_an_answer_without_user_verification_is_refused(key):
    response = sign_in(csrf_client(), key, verified=False)
    assert response.status_code == 403
    entry = AuditEntry.objects.get(action="auth.passkey", outcome="refused")
    assert entry.details["reason"] == "invalid_assertion"


def test_a_replayed_answer_is_refused(person, key):
    client = csrf_client()
    credential = sign_in_answer(client, key)
    first = post_json(client, SIGN_IN, {"credential": credential})
    assert first.status_code == 200
    thief = csrf_client()
    replayed = post_json(thief, SIGN_IN, {"credential": credential})
    assert replayed.status_code == 400 and replayed.json()["code"] == "challenge_unknown"
    assert "_auth_user_id" not in thief.session
    assert AuditEntry.objects.filter(
        action="auth.passkey", outcome="refused", details__reason="challenge_unknown"
    ).exists()


def test_an_expired_challenge_is_refused(key, settings):
    settings.WEBAUTHN_CHALLENGE_SECONDS = 1
    client = csrf_client()
    credential = sign_in_answer(client, key)
    time.sleep(1.2)  # real time: Redis expires keys by its own clock, not the test's
    late = post_json(client, SIGN_IN, {"credential": credential})
    assert late.status_code == 400 and late.json()["code"] == "challenge_unknown"


def test_a_sign_count_that_goes_back_is_refused_and_audited_as_a_clone(person, key):
    assert sign_in(csrf_client(), key).status_code == 200
    assert sign_in(csrf_client(), key).status_code == 200  # the count is now 2
    clone = sign_in(csrf_client(), key, sign_count=2)
    assert clone.status_code == 403 and clone.json()["code"] == "passkey_refused"
    entry = AuditEntry.objects.get(action="auth.passkey", outcome="refused")
    assert entry.details["reason"] == "sign_count_regressed"
    assert Passkey.objects.get(person=person).sign_count == 2


def test_a_passkey_of_another_person_cannot_claim_this_persons_handle(person, key, make_person):
    # An answer whose user handle names someone else is refused (discoverable credentials name
    # their person twice: the credential id and the user handle must agree).
    other = make_person("employee")
    other_key = SoftAuthenticator()
    assert register(password_client(other), other_key).status_code == 201
    other_key.user_handle = key.user_handle
    response = sign_in(csrf_client(), other_key)
    assert response.status_code == 403
    assert AuditEntry.objects.filter(details__reason="user_handle_mismatch").exists()


def test_an_unknown_or_malformed_passkey_is_refused_with_a_clear_4xx(key):
    stranger = SoftAuthenticator()
    stranger.user_handle = key.user_handle
    assert sign_in(csrf_client(), stranger).status_code == 403
    client = csrf_client()
    for body in ({}, {"credential": "x"}, {"credential": {"id": "%%%"}}, {"credential": []}):
        response = post_json(client, SIGN_IN, body)
        assert response.status_code == 400, (body, response.content)


def test_an_offboarded_person_cannot_sign_in_with_a_passkey(person, key, people):
    from accounts import services

    services.offboard_person(person=person, actor=people["admin"])
    assert not Passkey.objects.filter(person=person).exists()
    removed = AuditEntry.objects.get(action="passkey.remove")
    assert removed.details["reason"] == "offboarded" and removed.actor_id == people["admin"].pk
    response = sign_in(csrf_client(), key)
    assert response.status_code == 403 and response.json()["code"] == "passkey_refused"


def test_a_deactivated_or_expired_person_cannot_sign_in_with_a_passkey(person, key):
    person.is_active = False
    person.save(update_fields=["is_active"])
    response = sign_in(csrf_client(), key)
    assert response.status_code == 403
    assert AuditEntry.objects.filter(details__reason="may_not_authenticate").exists()


def test_a_locked_account_refuses_the_passkey_too(person, key, settings):
    # Wrong passwords from many addresses put the account into its wait (the per-account limit);
    # the passkey does not open it meanwhile.
    settings.FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES = 3
    for i in range(3):
        Client().post(
            reverse("login"),
            {"username": person.username, "password": f"guess-{i}"},
            REMOTE_ADDR=f"198.51.100.{i + 1}",
        )
    response = sign_in(csrf_client(), key)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert AuditEntry.objects.filter(action="auth.passkey", outcome="limited").exists()


def test_an_axes_lock_out_refuses_the_passkey_at_that_address(person, key):
    guesser = Client()
    for i in range(5):
        guesser.post(reverse("login"), {"username": person.username, "password": f"guess-{i}"})
    assert sign_in(csrf_client(), key).status_code == 429
    assert sign_in(csrf_client(), key, remote_addr="198.51.100.9").status_code == 200


def test_failed_passkey_answers_are_limited_per_address(key, settings):
    settings.FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES = 3
    client = csrf_client()
    codes = [sign_in(client, key, origin="https://evil.example").status_code for _ in range(4)]
    assert codes[:2] == [403, 403] and codes[-1] == 429
    assert sign_in(client, key).status_code == 429  # even the right answer waits
    assert sign_in(csrf_client(), key, remote_addr="198.51.100.20").status_code == 429  # account


# ----------------------------------------------------------------- removal


def test_a_person_removes_their_own_passkey_and_nobody_elses(person, key, make_person):
    passkey = Passkey.objects.get(person=person)
    other = password_client(make_person("employee"))
    url = reverse("identity:passkey-remove", args=[passkey.pk])
    assert other.post(url).status_code == 404
    assert Passkey.objects.filter(pk=passkey.pk).exists()

    owner = password_client(person)
    assert owner.post(url).status_code == 302
    assert not Passkey.objects.filter(pk=passkey.pk).exists()
    entry = AuditEntry.objects.get(action="passkey.remove")
    assert entry.details["reason"] == "self" and entry.actor_id == person.pk
    assert sign_in(csrf_client(), key).status_code == 403


def test_an_admin_removes_a_persons_passkey_in_the_admin_audited(person, key, people):
    passkey = Passkey.objects.get(person=person)
    admin = Client()
    admin.force_login(people["admin"])
    url = reverse("admin:identity_passkey_delete", args=[passkey.pk])
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not Passkey.objects.exists()
    entry = AuditEntry.objects.get(action="passkey.remove")
    assert entry.details["reason"] == "admin" and entry.actor_id == people["admin"].pk
    # Managers see people in the admin but not their passkeys.
    manager = Client()
    manager.force_login(people["manager"])
    assert manager.get(reverse("admin:identity_passkey_changelist")).status_code == 403


# ----------------------------------------------------------------- assurance


def test_a_passkey_is_a_first_factor_of_its_own():
    now = 1_000.0
    assert assurance.achieved({"pop": now}) == (assurance.ACR_PASSKEY, ["pop"], now)
    assert assurance.achieved({"pop": now, "face": now + 5}) == (
        assurance.ACR_PASSKEY_FACE,
        ["pop", "face"],
        now + 5,
    )
    assert assurance.achieved({"pwd": now, "face": now})[0] == assurance.ACR_FACE
    assert assurance.achieved({"face": now}) is None  # the face never alone
    face = assurance.FACE_LEVEL
    for value in (assurance.ACR_FACE, assurance.ACR_PASSKEY_FACE):
        assert (
            assurance.required_level(policy_acr=assurance.ACR_PASSWORD, acr_values=[value], role="")
            == face
        )
    assert assurance.missing(face, {"pop": now}, floors={}) == [sessions.FACE]
    assert assurance.missing(face, {"pwd": now, "face": now}, floors={"face": now + 1}) == ["face"]
    assert assurance.missing(assurance.ONE_FACTOR, {"pop": now}, floors={"first": now + 1}) == [
        "first"
    ]


# ----------------------------------------------------------------- OpenID Connect


def _client_application(required_acr: str):
    from oauth2_provider.models import get_application_model

    from identity.models import ClientPolicy

    secret = secrets.token_urlsafe(24)
    application = get_application_model().objects.create(
        name=f"Payroll {required_acr}",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris="https://rp.example/cb",
        client_secret=secret,
        algorithm="RS256",
    )
    ClientPolicy.objects.create(application=application, required_acr=required_acr)
    return application, secret


def _authorize(client: Client, application) -> tuple[str, str]:
    """(the authorization URL, its PKCE verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    return "/o/authorize/?" + urlencode(query), verifier


def _id_token(application, secret: str, location: str, verifier: str) -> dict:
    from authlib.jose import JsonWebKey, jwt

    code = parse_qs(urlparse(location).query)["code"][0]
    rp = Client()
    token = rp.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://rp.example/cb",
            "code_verifier": verifier,
            "client_id": application.client_id,
            "client_secret": secret,
        },
    )
    assert token.status_code == 200, token.content
    keys = JsonWebKey.import_key_set(rp.get("/o/.well-known/jwks.json").json())
    claims = jwt.decode(token.json()["id_token"], keys)
    claims.validate(leeway=5)
    assert claims["aud"] == application.client_id and claims["nonce"] == "n1"
    return dict(claims)


def test_the_id_token_says_passkey_and_face_in_amr_and_acr(
    person, key, settings, django_capture_on_commit_callbacks
):
    from identity import services

    settings.FACEAUTH_LIVENESS_ENABLED = False  # one photo for the 1:1 check
    enrol_now(person, photos("deepface_02", [1, 2, 3]), django_capture_on_commit_callbacks)
    one, one_secret = _client_application(assurance.ACR_PASSWORD)
    face, face_secret = _client_application(assurance.ACR_FACE)
    for application in (one, face):  # consent given earlier: no consent screen in between
        services.grant_consent(person=person, application=application, scopes=["openid"])

    browser = csrf_client()
    url, verifier = _authorize(browser, one)
    assert browser.get(url)["Location"].startswith("/accounts/login/")
    signed_in = sign_in(browser, key, next_url=url)
    assert signed_in.status_code == 200 and signed_in.json()["next"] == url
    claims = _id_token(one, one_secret, browser.get(url)["Location"], verifier)
    assert claims["amr"] == ["pop"] and claims["acr"] == assurance.ACR_PASSKEY

    # The face client: the passkey stands, the face step follows, then the code.
    url, verifier = _authorize(browser, face)
    step = browser.get(url)
    assert step.status_code == 302 and step["Location"].startswith("/identity/face/")
    checked = browser.post(
        "/api/identity/face/",
        {"image": upload("p.jpg", photo("deepface_02/4.jpg"))},
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert checked.status_code == 200, checked.content
    claims = _id_token(face, face_secret, browser.get(url)["Location"], verifier)
    assert claims["amr"] == ["pop", "face"] and claims["acr"] == assurance.ACR_PASSKEY_FACE
    issued = AuditEntry.objects.filter(action="oidc.token", actor=person).order_by("at", "pk")
    assert [entry.details["amr"] for entry in issued] == [["pop"], ["pop", "face"]]


def test_discovery_lists_the_passkey_acr_values(db):
    discovery = Client().get("/o/.well-known/openid-configuration").json()
    assert set(discovery["acr_values_supported"]) == set(assurance.ACR_VALUES)
