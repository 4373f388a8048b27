"""Settings boot in each mode, run as a real process with a controlled environment."""

import json
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from . import db_template
from .conftest import REPO

# Each test starts its own process with its own environment: the backend of the test run
# itself changes nothing they see.
pytestmark = pytest.mark.backend_neutral


def _rsa_pem() -> str:
    from identity.conf import new_rsa_pem

    return new_rsa_pem()


PRODUCTION_SECRETS = {
    "SECRET_KEY": "x7Kq!vR2#pL9@mN4$wT6^yU8&zA1*bC3(dE5)fG0_hJ-iK+lM=nO[pQ]rS{tU}vW",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "faceauth.example.com",
    # The shared cache for lock-outs and rate limits (tests/security/test_shared_state.py).
    "REDIS_URL": "redis://redis.example.internal:6379/0",
    # The identity provider's signing key (docs/identity.md).
    "OIDC_RSA_PRIVATE_KEYS": _rsa_pem(),
}


def manage(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "faceauth.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_embedded_default_boots_on_sqlite_with_in_process_tasks():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG,"
        " s.CACHES['default']['BACKEND'])",
    )
    assert result.returncode == 0, result.stderr
    engine, eager, debug, cache = result.stdout.split()[-4:]
    assert engine == "django.db.backends.sqlite3"
    assert eager == "True"
    assert debug == "False"
    assert cache.endswith("LocMemCache")


def test_service_urls_switch_to_postgres_and_redis():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER,"
        " s.CACHES['default']['BACKEND'])",
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/faceauth",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
    )
    assert result.returncode == 0, result.stderr
    engine, broker, eager, cache = result.stdout.split()[-4:]
    assert engine == "django.db.backends.postgresql"
    assert broker == "redis://127.0.0.1:6379/0"
    assert eager == "False"
    assert cache.endswith("RedisCache")


def test_production_refuses_to_start_without_each_secret():
    for missing in PRODUCTION_SECRETS:
        env = {"DJANGO_ENV": "production", **PRODUCTION_SECRETS}
        del env[missing]
        result = manage("check", env=env)
        assert result.returncode != 0
        assert f"{missing} must be set" in result.stderr


def test_production_passes_check_deploy_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"DJANGO_ENV": "production", **PRODUCTION_SECRETS},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_display_time_zone_is_a_setting_and_storage_stays_utc(settings):
    from django.utils import timezone

    assert settings.TIME_ZONE == "UTC"
    assert settings.DISPLAY_TIME_ZONE
    assert timezone.get_default_timezone_name() == "UTC"


PROBE_OIDC = """
import json
from django.test import Client
c = Client(HTTP_HOST="faceauth.example.com")
d = c.get("/o/.well-known/openid-configuration", secure=True)
k = c.get("/o/.well-known/jwks.json", secure=True)
plain = c.get("/o/.well-known/openid-configuration")
print(json.dumps({"d": [d.status_code, d.json()], "k": [k.status_code, k.json()],
                  "plain": [plain.status_code, plain.get("Location", "")]}))
"""


def test_production_serves_discovery_and_the_configured_signing_key_over_https():
    """The identity provider as deployed: DJANGO_ENV=production, its key from the environment,
    HTTPS only; discovery names https endpoints and the JWKS publishes exactly that key."""
    from jwcrypto import jwk

    result = manage(
        "shell", "-c", PROBE_OIDC, env={"DJANGO_ENV": "production", **PRODUCTION_SECRETS}
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    status, discovery = answer["d"]
    assert status == 200, discovery
    assert discovery["issuer"] == "https://faceauth.example.com/o"
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert discovery[endpoint].startswith("https://faceauth.example.com/o/"), discovery
    assert "S256" in discovery["code_challenge_methods_supported"]
    status, jwks = answer["k"]
    expected = jwk.JWK.from_pem(PRODUCTION_SECRETS["OIDC_RSA_PRIVATE_KEYS"].encode())
    assert status == 200 and [key["n"] for key in jwks["keys"]] == [
        expected.export_public(as_dict=True)["n"]
    ]
    assert all("d" not in key for key in jwks["keys"])  # never the private part
    status, location = answer["plain"]
    assert status == 301 and location.startswith("https://")  # plain HTTP is sent to HTTPS


PROBE_CODE_FLOW = """
import base64, hashlib, json, secrets, time
from urllib.parse import parse_qs, urlencode, urlparse
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_application_model
from accounts.services import onboard_person
from identity.assurance import ACR_PASSWORD
from identity.models import ClientPolicy

HOST, PASSWORD = "faceauth.example.com", "prod-horse-battery-9"
onboard_person(username="prod-rp", role="employee", display_name="Prod RP",
               employee_number="P0001", password=PASSWORD)
secret = secrets.token_urlsafe(24)
app = get_application_model().objects.create(
    name="Payroll", client_type="confidential", authorization_grant_type="authorization-code",
    redirect_uris="https://rp.example/cb", client_secret=secret, algorithm="RS256",
    skip_authorization=True)
ClientPolicy.objects.create(application=app, required_acr=ACR_PASSWORD)
browser = Client(HTTP_HOST=HOST)
signed_in = browser.post(reverse("login"), {"username": "prod-rp", "password": PASSWORD},
                         secure=True)
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
query = {"client_id": app.client_id, "response_type": "code", "scope": "openid",
         "redirect_uri": "https://rp.example/cb", "state": "s1", "nonce": "n1",
         "code_challenge": challenge.rstrip("="), "code_challenge_method": "S256"}
authorized = browser.get("/o/authorize/?" + urlencode(query), secure=True)
code = parse_qs(urlparse(authorized.get("Location", "")).query).get("code", [""])[0]
rp = Client(HTTP_HOST=HOST)
answers = {
    "token": rp.post("/o/token/", {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": "https://rp.example/cb",
                                   "code_verifier": verifier, "client_id": app.client_id,
                                   "client_secret": secret}, secure=True),
    "discovery": rp.get("/o/.well-known/openid-configuration", secure=True),
    "jwks": rp.get("/o/.well-known/jwks.json", secure=True),
}
print(json.dumps({
    "signed_in": signed_in.status_code, "authorized": authorized.status_code,
    "client_id": app.client_id, "now": time.time(),
    **{name: [r.status_code, r.json(), dict(r.headers)] for name, r in answers.items()},
}))
"""
# What every answer of the identity provider carries in production (faceauth/settings.py).
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def test_production_runs_the_code_flow_and_every_endpoint_has_the_security_headers(tmp_path):
    """As deployed (DJANGO_ENV=production, HTTPS, a migrated database, the shared Redis): a
    password sign-in, the authorization code with PKCE, the token endpoint's ID token verified
    against the published JWKS; discovery, JWKS and token answers carry the same security
    headers as every page, and the token answer is never cached."""
    from authlib.jose import JsonWebKey, jwt

    # A copy of the run's migrated template (tests/db_template.py); the probe's migrate finds
    # nothing left to apply.
    database = db_template.copy_sqlite(tmp_path / "production.sqlite3")
    env = {
        "DJANGO_ENV": "production",
        **PRODUCTION_SECRETS,
        "DATABASE_URL": f"sqlite:///{database}",
        # A Redis db of its own (lock-outs and rate limits need the shared cache).
        "REDIS_URL": "redis://127.0.0.1:6379/14",
    }
    result = manage("shell", "-c", PROBE_CODE_FLOW, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["signed_in"] == 302 and answer["authorized"] == 302
    status, token, token_headers = answer["token"]
    assert status == 200, token
    assert "no-store" in token_headers.get("Cache-Control", "")
    status, jwks, _ = answer["jwks"]
    claims = jwt.decode(token["id_token"], JsonWebKey.import_key_set(jwks))
    claims.validate(now=answer["now"], leeway=5)  # the server's real clock, not this test's
    assert claims["iss"] == "https://faceauth.example.com/o"
    assert claims["aud"] == answer["client_id"] and claims["nonce"] == "n1"
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:faceauth:acr:pwd"
    for name in ("token", "discovery", "jwks"):
        headers = answer[name][2]
        for header, value in SECURITY_HEADERS.items():
            assert headers.get(header) == value, (name, header, headers)
        assert "Content-Security-Policy" in headers, (name, headers)
