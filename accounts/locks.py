"""Short locks in the shared cache, for work that must not run twice at once across workers."""

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


@contextmanager
def cache_lock(key: str, *, hold: int, wait: float) -> Iterator[bool]:
    """A short lock in the shared cache (``add`` is atomic on Redis), held at most ``hold``
    seconds so a crashed holder cannot block for long. Yields whether it was taken within
    ``wait`` seconds (one try at least); the caller decides what a busy lock means.

    The lock holds a token of its own: a holder that outlived ``hold`` releases nothing, so the
    lock a later holder took is left to it (get-then-delete leaves a window of one round trip,
    not the rest of the later holder's work)."""
    token = secrets.token_hex(8)
    deadline = time.monotonic() + wait
    taken = cache.add(key, token, timeout=hold)
    while not taken and time.monotonic() < deadline:
        time.sleep(0.01)
        taken = cache.add(key, token, timeout=hold)
    try:
        yield taken
    finally:
        if taken and cache.get(key) == token:
            cache.delete(key)
