"""Sign in with FaceAuth: an Authlib relying party runs the OpenID Connect code flow (PKCE)
against the live server, the person signs in in headless Chromium with a clip as webcam:
password, then the live face check, then consent. The ID token is verified against the JWKS."""

import secrets
import statistics
import time
from pathlib import Path

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from axe_playwright_python import sync_playwright as axe_module

from biometrics.liveness import forget_recent_bursts
from identity.assurance import ACR_FACE

from .biometrics_helpers import clip_frames, enrol_now
from .conftest import ARTIFACTS, SHARED
from .test_ui_pages import AXE_RUN, BLOCKING

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct-Horse-battery-9"
SCOPES = "openid profile email employee department role"
NOT_LIVE = "We could not confirm a live person"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    from biometrics import services

    settings.FACEAUTH_LIVENESS_ENABLED = True
    settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE = "blink"
    monkeypatch.setattr(services, "gallery_cache", services._GalleryCache())


def _enrol(make_person, department, capture, *, still, clip=None, name, monkeypatch):
    from biometrics import tasks

    monkeypatch.setattr(tasks.process_enrolment, "delay", lambda *a, **k: None)
    person = make_person(
        "employee",
        department=department,
        display_name=name,
        email=f"{name.split()[0].lower()}@example.com",
        employee_number=f"E-{secrets.randbelow(10**6):06d}",
    )
    person.set_password(PASSWORD)
    person.save()
    images = [(SHARED / "video" / still).read_bytes()]
    images += clip_frames(clip, 3) if clip else images * 2
    job = enrol_now(person, images, capture)
    assert job.status == "done" and job.accepted >= 3, job.error
    return person


@pytest.fixture
def person_03(make_person, department, django_capture_on_commit_callbacks, monkeypatch):
    return _enrol(
        make_person,
        department,
        django_capture_on_commit_callbacks,
        still="person_03_still.jpg",
        clip="person_03_live.mp4",
        name="Oscar Third",
        monkeypatch=monkeypatch,
    )


class RelyingParty:
    """An Authlib OpenID client of the live server (confidential, PKCE S256)."""

    def __init__(self, live_server, *, required_acr: str):
        from oauth2_provider.models import get_application_model

        from identity.models import ClientPolicy

        self.base = live_server.url
        self.redirect_uri = f"{self.base}/rp/callback"
        secret = secrets.token_urlsafe(24)
        app = get_application_model().objects.create(
            name="Payroll",
            client_type="confidential",
            authorization_grant_type="authorization-code",
            redirect_uris=self.redirect_uri,
            client_secret=secret,
            algorithm="RS256",
        )
        ClientPolicy.objects.create(application=app, required_acr=required_acr)
        self.client_id = app.client_id
        self.meta = requests.get(f"{self.base}/o/.well-known/openid-configuration").json()
        self.session = OAuth2Session(
            self.client_id,
            secret,
            scope=SCOPES,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def authorization_url(self, **extra) -> str:
        self.verifier, self.nonce = generate_token(48), generate_token(16)
        url, self.state = self.session.create_authorization_url(
            self.meta["authorization_endpoint"],
            code_verifier=self.verifier,
            nonce=self.nonce,
            **extra,
        )
        return url

    def finish(self, callback_url: str) -> dict:
        return self.session.fetch_token(
            self.meta["token_endpoint"],
            authorization_response=callback_url,
            code_verifier=self.verifier,
            state=self.state,
        )

    def verify_id_token(self, id_token: str) -> dict:
        keys = JsonWebKey.import_key_set(requests.get(self.meta["jwks_uri"]).json())
        claims = jwt.decode(
            id_token,
            keys,
            claims_options={
                "iss": {"essential": True, "value": self.meta["issuer"]},
                "aud": {"essential": True, "value": self.client_id},
                "nonce": {"essential": True, "value": self.nonce},
            },
        )
        claims.validate(leeway=5)
        return dict(claims)


def serious_axe_violations(page) -> list[str]:
    result = page.evaluate(AXE_RUN)
    return [f"{v['impact']}: {v['id']}" for v in result["violations"] if v["impact"] in BLOCKING]


def _sign_in_with_password(page, person):
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", person.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _face_step(page, *, passes=True, attempts=3) -> float:
    """Wait for a usable face, press the button; returns the seconds from the last press to the
    answer (or to leaving the page). A live pass may meet Chromium's looping clip repeating an
    earlier capture byte for byte (refused as a replay, 409): press again."""
    page.wait_for_url("**/identity/face/**")
    deadline = time.monotonic() + 30
    while page.evaluate("document.getElementById('guide').textContent") != "Ready":
        assert time.monotonic() < deadline, "the camera never showed a usable face"
        time.sleep(0.1)
    for _ in range(attempts):
        answers = page.evaluate("Identity.answers.length")
        page.click("#face-button")
        clicked = time.monotonic()
        deadline = clicked + 60
        while "/identity/face/" in page.url and time.monotonic() < deadline:
            try:
                if page.evaluate("Identity.answers.length") > answers:
                    break
            except Exception:  # navigating away
                break
            time.sleep(0.05)
        took = time.monotonic() - clicked
        if not passes or "/identity/face/" not in page.url:
            return took
        try:
            last = page.evaluate("Identity.answers[Identity.answers.length - 1]")
        except Exception:
            return took
        if last == "ok":
            return took
        assert last.startswith("409:"), last
        time.sleep(1.5)
    return took


def _wait_result(page, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = page.evaluate(
            "(() => { const r = document.getElementById('result');"
            " return r && !r.hidden ? r.textContent : ''; })()"
        )
        if text in shown:
            return shown
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {text!r}")


def test_password_and_live_face_sign_in_to_an_authlib_client(chromium, live_server, person_03):
    from accounts import services as accounts_services
    from accounts.models import AuditEntry

    rp = RelyingParty(live_server, required_acr=ACR_FACE)
    assert ACR_FACE in rp.meta["acr_values_supported"]
    assert "S256" in rp.meta["code_challenge_methods_supported"]
    context = chromium("person_03_live_30fps.mjpeg")
    context.add_init_script(path=str(Path(axe_module.__file__).with_name("axe.min.js")))
    page = context.new_page()
    sent = []  # (path, multipart field names) of the face step's requests
    page.on(
        "request",
        lambda r: (
            sent.append((r.url.split("?")[0], r.post_data_buffer or b""))
            if "/api/identity/face/" in r.url or "/liveness/stream/" in r.url
            else None
        ),
    )

    page.goto(rp.authorization_url())
    assert not serious_axe_violations(page)  # the sign-in page of the flow
    started = time.monotonic()
    _sign_in_with_password(page, person_03)
    click_to_answer = _face_step(page)
    page.wait_for_url("**/o/authorize/**", timeout=60_000)
    signed_in = time.monotonic() - started  # password submitted -> consent screen
    # Streamed: chunks until the server decided, then the face step claims the decision
    # without frames of its own.
    chunks = [body for url, body in sent if url.endswith("/liveness/stream/")]
    claims = [body for url, body in sent if url.endswith("/api/identity/face/")]
    assert chunks and claims
    assert all(b'name="streamed"' in c and b'name="frames"' not in c for c in claims)
    page.screenshot(path=str(ARTIFACTS / "identity-consent.png"))
    assert not serious_axe_violations(
        page
    )  # the consent screen (the face step is in test_ui_pages)
    page.click("#allow")
    page.wait_for_url("**/rp/callback**")
    token = rp.finish(page.url)
    claims = rp.verify_id_token(token["id_token"])

    assert claims["amr"] == ["pwd", "face"] and claims["acr"] == ACR_FACE
    assert claims["sub"] != str(person_03.pk) and len(claims["sub"]) == 36
    assert claims["employee_number"] == person_03.employee_number
    assert claims["department"] == person_03.department.name and claims["role"] == "employee"
    assert abs(claims["auth_time"] - time.time()) < 120
    assert not {"score", "threshold"} & set(claims)
    info = rp.session.get(rp.meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["email"] == person_03.email
    issued = AuditEntry.objects.filter(action="oidc.token", actor=person_03)
    assert issued.count() == 1 and issued.get().details["amr"] == ["pwd", "face"]

    # max_age=0: a fresh face check before the next code; the consent is remembered. The fake
    # camera loops one clip, so the next burst may repeat these pictures (a near-duplicate
    # replay, refused 409): the second check stands for a later visit, so forget this one.
    forget_recent_bursts(person=person_03)
    page.goto(rp.authorization_url(max_age=0))
    _face_step(page)
    page.wait_for_url("**/rp/callback**", timeout=60_000)
    again = rp.verify_id_token(rp.finish(page.url)["id_token"])
    assert again["amr"] == ["pwd", "face"] and again["auth_time"] > claims["auth_time"]
    assert again["sub"] == claims["sub"]

    # A refresh token works, until the person is offboarded: then at once it does not.
    refreshed = rp.session.refresh_token(rp.meta["token_endpoint"])
    assert refreshed["access_token"]
    accounts_services.offboard_person(person=person_03)
    response = requests.post(
        rp.meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=(rp.client_id, rp.session.client_secret),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    userinfo = requests.get(
        rp.meta["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {refreshed['access_token']}"},
    )
    assert userinfo.status_code == 401
    report = (
        f"sign-in (password sent -> face -> consent screen) in Chromium: {signed_in:.1f} s; "
        f"face step, click -> answer: {click_to_answer:.2f} s"
    )
    print("\n" + report)
    (ARTIFACTS / "identity-sign-in-timing.txt").write_text(report + "\n")


def test_a_strangers_face_is_refused(chromium, live_server, person_03):
    rp = RelyingParty(live_server, required_acr=ACR_FACE)
    page = chromium("person_01_live.mjpeg").new_page()
    page.goto(rp.authorization_url())
    _sign_in_with_password(page, person_03)
    _face_step(page, passes=False)
    text = _wait_result(page, "does not match", timeout=60)
    assert "/identity/face/" in page.url and "does not" in text
    from accounts.models import AuditEntry

    assert AuditEntry.objects.filter(action="auth.face.verify", outcome="no_match").exists()


def test_a_photo_held_up_to_the_camera_is_refused(
    chromium, live_server, make_person, department, django_capture_on_commit_callbacks, monkeypatch
):
    person_02 = _enrol(
        make_person,
        department,
        django_capture_on_commit_callbacks,
        still="person_02_still.jpg",
        name="Katie Second",
        monkeypatch=monkeypatch,
    )
    rp = RelyingParty(live_server, required_acr=ACR_FACE)
    page = chromium("attack_person_02_photo.mjpeg").new_page()
    page.goto(rp.authorization_url())
    _sign_in_with_password(page, person_02)
    _face_step(page, passes=False)
    _wait_result(page, NOT_LIVE, timeout=90)
    assert "/identity/face/" in page.url
    timings = page.evaluate("Identity.timings")
    assert timings and statistics.median(timings) > 0


def test_a_face_lock_out_met_while_streaming_ends_the_sign_in(chromium, live_server, person_03):
    """The face step's stream meets the person's face lock-out before the face step's own
    request could: the server signs the session out (the page does nothing for it)."""
    from biometrics import lockouts

    # Five faces that were not theirs, elsewhere: a wait starts. Written before the browser
    # opens: the live server's thread shares the in-memory SQLite, and the face step page's own
    # requests (its challenge, its guidance frames) would meet a write from this thread.
    for _ in range(5):
        lockouts.failed(lockouts.begin(person=person_03))
    rp = RelyingParty(live_server, required_acr=ACR_FACE)
    page = chromium("person_03_live_30fps.mjpeg").new_page()
    page.goto(rp.authorization_url())
    _sign_in_with_password(page, person_03)  # a face lock-out does not stop the password
    page.wait_for_url("**/identity/face/**")
    page.click("#face-button")
    deadline = time.monotonic() + 30
    while page.evaluate("Identity.answers.length") == 0:
        assert time.monotonic() < deadline, "the face step never answered"
        time.sleep(0.1)
    assert page.evaluate("Identity.answers[0]") == "429:locked_out"
    assert page.is_disabled("#face-button")
    page.goto(live_server.url + "/identity/face/")
    page.wait_for_url("**/accounts/login/**")  # signed out: the password again first
