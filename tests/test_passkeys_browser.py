"""One passkey round trip in Chromium with its virtual authenticator (DevTools WebAuthn
domain: a platform authenticator with resident keys and user verification): add a passkey on
the passkeys page after the password, sign out, sign in with the passkey alone. It proves
static/js/passkeys.js against a real browser's WebAuthn; tests/test_passkeys.py covers the
refusals."""

from urllib.parse import urlparse

import pytest

from accounts import sessions
from identity.models import Passkey

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct-horse-battery"  # tests/conftest.py make_person


def test_add_a_passkey_then_sign_in_with_it_alone(chromium, live_server, make_person):
    person = make_person("employee")
    context = chromium()
    page = context.new_page()
    # A WebAuthn virtual authenticator answers navigator.credentials in place of a device.
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    # live_server listens on localhost: a secure context, and a host name browsers accept as
    # the relying party id.
    base = live_server.url.replace("127.0.0.1", "localhost")
    page.goto(base + "/accounts/login/?next=/identity/passkeys/")
    page.fill("input[name=username]", person.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: urlparse(url).path == "/identity/passkeys/")
    page.fill("#passkey-name", "Chromium")
    page.click("#passkey-add-button")
    # Added: the page reloads with it in the list; refused: the page says why.
    page.wait_for_function(
        "() => (document.querySelector('td') || {}).textContent === 'Chromium'"
        " || (window.Passkeys && Passkeys.answers.some((a) => a !== 'ok'))",
        timeout=20_000,
    )
    assert page.evaluate("Passkeys.answers") == [], page.text_content("#passkey-status")
    assert Passkey.objects.get(person=person).name == "Chromium"

    page.click(".who button[type=submit]")  # sign out
    page.wait_for_url(lambda url: urlparse(url).path == "/accounts/login/")
    page.goto(base + "/accounts/login/?next=/identity/apps/")
    page.click("#passkey-button")
    page.wait_for_url(lambda url: urlparse(url).path == "/identity/apps/")
    passkey = Passkey.objects.get(person=person)
    assert passkey.last_used_at is not None and passkey.sign_count >= 1
    cookie = next(c for c in context.cookies() if c["name"] == "sessionid")
    from django.contrib.sessions.backends.db import SessionStore

    held = SessionStore(session_key=cookie["value"]).load()[sessions.SESSION_KEY]
    assert sessions.PASSKEY in held and sessions.PASSWORD not in held
