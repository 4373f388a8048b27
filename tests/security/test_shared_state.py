"""Finding 11: production keeps lock-outs, rate limits and the replay memory in a cache every
worker shares. Without REDIS_URL it refuses to start (settings raise ImproperlyConfigured, so
``manage.py check``, gunicorn and Celery all stop), instead of counting per process."""

import subprocess
import sys

from ..conftest import REPO
from ..test_settings import PRODUCTION_SECRETS, manage


def test_production_without_a_shared_cache_refuses_to_start():
    env = {"DJANGO_ENV": "production", **PRODUCTION_SECRETS}
    del env["REDIS_URL"]
    check = manage("check", "--deploy", env=env)
    # What gunicorn loads (faceauth.wsgi:application).
    wsgi = subprocess.run(
        [sys.executable, "-c", "import faceauth.wsgi; print('serving')"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    for result in (check, wsgi):
        assert result.returncode != 0
        assert "ImproperlyConfigured: REDIS_URL must be set" in result.stderr
        assert "serving" not in result.stdout


def test_production_with_redis_uses_it_for_the_counters():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'])",
        env={"DJANGO_ENV": "production", **PRODUCTION_SECRETS},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "faceauth.cache.SharedClientRedisCache"


def test_the_embedded_default_still_runs_without_redis():
    result = manage("check")
    assert result.returncode == 0, result.stderr


def test_the_redis_cache_builds_one_client_per_connection_pool():
    # Django's own client built a redis.Redis per cache operation (~0.7 ms of CPU each, ~60 per
    # streamed clock-in). Nothing connects here: pools connect on the first command.
    from faceauth.cache import SharedClientRedisCache

    backend = SharedClientRedisCache("redis://127.0.0.1:6379/0", {})
    first = backend._cache.get_client("a")
    assert backend._cache.get_client("b", write=True) is first
    assert first.connection_pool is backend._cache._get_connection_pool(write=False)


def test_a_cache_lock_that_outlived_its_hold_leaves_the_next_holders_lock_alone():
    from django.core.cache import cache

    from accounts.locks import cache_lock

    key = "test:lock:outlived"
    with cache_lock(key, hold=5, wait=0) as first:
        assert first
        with cache_lock(key, hold=5, wait=0) as busy:
            assert not busy  # held: nobody else gets it
        cache.delete(key)  # the first holder's hold runs out while it still works...
        assert cache.add(key, "the next holder", timeout=5)  # ...and the next one takes it
    # The first holder ends late: the next holder's lock stays.
    assert cache.get(key) == "the next holder"
    cache.delete(key)
