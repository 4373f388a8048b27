"""Settings boot in each mode, run as a real process with a controlled environment."""

import json
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

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


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "faceauth.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
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
