"""Attempt limits: the one rule for PIN failures, face lock-outs and request rates.

A subject (a key such as an employee number, a person, a device) may fail ``threshold - 1``
times freely; the ``threshold``-th failure starts a wait of ``base``, each further one multiplies
it by ``factor`` up to ``max_wait`` (NIST SP 800-63B 5.2.2). A success clears the count.

Attempts are counted *before* they are judged (``AttemptLimit.begin``), and the wait that a
failure would start is taken at once with an atomic add: concurrent attempts can never get past
the threshold together, the way a read-then-write counter let 40 parallel wrong PINs through
(security finding 4). When failures race, the one that takes the wait may be counted after
the threshold-th, so that first wait may be a step longer; never shorter, never more callers
through. ``Attempt.succeeded`` clears the subject, ``Attempt.refund`` gives the
attempt back when it turned out not to be one (no face in the frame, a refused request).

The counters live in a ``Store``: ``CacheStore`` (``cache.add`` + ``cache.incr``, atomic on
Redis and within one process on the local-memory cache; production requires Redis, see
settings) or a store over a table row lock where the state must be durable and visible
(``biometrics.lockouts``).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.core.cache import cache
from django.utils import timezone


@dataclass(frozen=True)
class Policy:
    threshold: int
    base: timedelta
    factor: float = 2.0
    max_wait: timedelta = timedelta(hours=1)
    # The cache store forgets the count this long after its first failure (a fixed window).
    window: timedelta = timedelta(hours=1)

    def wait_after(self, failures: int) -> timedelta | None:
        over = failures - self.threshold
        if over < 0:
            return None
        seconds = self.base.total_seconds() * self.factor ** min(over, 32)
        return min(timedelta(seconds=seconds), self.max_wait)


class Limited(Exception):
    """The subject waits; ``retry_after`` whole seconds (for the Retry-After header)."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"retry after {retry_after} s")


def seconds_until(until: datetime | None, now: datetime | None = None) -> int:
    if until is None:
        return 0
    return max(0, math.ceil((until - (now or timezone.now())).total_seconds()))


class Store(Protocol):
    def locked_until(self, key: str) -> datetime | None: ...

    def increment(self, key: str, *, window: timedelta) -> int: ...

    def decrement(self, key: str) -> None: ...

    def lock(self, key: str, *, until: datetime) -> bool:
        """Take the wait if no wait is running; False if one is."""

    def unlock(self, key: str) -> None: ...

    def clear(self, key: str) -> None: ...


class CacheStore:
    """Counters in the Django cache: one counter key and one wait key per subject."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def _keys(self, key: str) -> tuple[str, str]:
        return f"limit:{self.prefix}:{key}:n", f"limit:{self.prefix}:{key}:until"

    def locked_until(self, key: str) -> datetime | None:
        stamp = cache.get(self._keys(key)[1])
        return datetime.fromtimestamp(stamp, tz=UTC) if stamp else None

    def increment(self, key: str, *, window: timedelta) -> int:
        count_key = self._keys(key)[0]
        timeout = max(1, math.ceil(window.total_seconds()))
        for _ in range(3):
            cache.add(count_key, 0, timeout=timeout)
            try:
                value = cache.incr(count_key)
            except ValueError:  # expired between add and incr
                continue
            return value
        raise RuntimeError(f"could not count an attempt on {count_key}")

    def decrement(self, key: str) -> None:
        try:
            cache.decr(self._keys(key)[0])
        except ValueError:
            pass

    def lock(self, key: str, *, until: datetime) -> bool:
        timeout = max(1, seconds_until(until))
        return cache.add(self._keys(key)[1], until.timestamp(), timeout=timeout)

    def unlock(self, key: str) -> None:
        cache.delete(self._keys(key)[1])

    def clear(self, key: str) -> None:
        cache.delete_many(self._keys(key))


@dataclass
class Attempt:
    limit: "AttemptLimit"
    key: str
    failures: int  # this attempt's number if it fails
    wait: timedelta | None  # the wait it started (taken already, undone by success or refund)
    done: bool = field(default=False)

    @property
    def starts_lockout(self) -> bool:
        """This failure is the one that first makes the subject wait (audit it)."""
        return self.failures == self.limit.policy.threshold

    def succeeded(self) -> None:
        self.done = True
        self.limit.store.clear(self.key)

    def failed(self) -> None:
        self.done = True

    def refund(self) -> None:
        """Not an attempt after all: the count and any wait it took are given back."""
        if self.done:
            return
        self.done = True
        self.limit.store.decrement(self.key)
        if self.wait is not None:
            self.limit.store.unlock(self.key)


class AttemptLimit:
    def __init__(
        self, name: str, policy: Policy | Callable[[], Policy], store: Store | None = None
    ):
        self.name = name
        self._policy = policy
        self.store = store if store is not None else CacheStore(name)

    @property
    def policy(self) -> Policy:
        # A callable reads settings at call time, so a deployment or a test may change them.
        return self._policy() if callable(self._policy) else self._policy

    def retry_after(self, key: str) -> int:
        return seconds_until(self.store.locked_until(key))

    def check(self, key: str) -> None:
        wait = self.retry_after(key)
        if wait:
            raise Limited(wait)

    def begin(self, key: str) -> Attempt:
        """Count an attempt on ``key``, or raise ``Limited`` if the subject must wait."""
        self.check(key)
        policy = self.policy
        failures = self.store.increment(key, window=policy.window)
        wait = policy.wait_after(failures)
        if wait is not None and not self.store.lock(key, until=timezone.now() + wait):
            # A concurrent attempt took the wait first: this one is refused, not counted.
            self.store.decrement(key)
            raise Limited(max(1, self.retry_after(key)))
        return Attempt(limit=self, key=key, failures=failures, wait=wait)

    def hit(self, key: str) -> None:
        """A rate limit: every call counts, nothing clears it but the window."""
        self.begin(key).failed()

    def reset(self, key: str) -> None:
        self.store.clear(key)
