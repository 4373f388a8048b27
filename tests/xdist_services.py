"""Gives each pytest-xdist worker its own Redis database.

Loaded with ``-p`` (pyproject addopts), so it runs before pytest-django imports the settings.
A test's ``cache.clear()`` flushes its whole Redis database, the Celery queue included, and a
worker's Celery process must only take its own tests' tasks: workers cannot share one. The
PostgreSQL test database is per worker already (pytest-django adds the ``gwN`` suffix).
"""

import os
from urllib.parse import urlsplit, urlunsplit


def worker_redis_url(url: str, worker: str) -> str:
    """``redis://host:port/4`` for worker ``gw2`` becomes ``.../6`` (the given db + its index)."""
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    index = int(worker.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{base + index}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], _worker)
