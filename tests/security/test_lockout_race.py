"""Finding 4: lock-outs cannot be raced. Concurrent wrong PINs for one employee number lock it
after the limit, and the right PIN is then refused; the attempt limit underneath counts exactly
under real threads, on the cache (locmem or Redis) and on the face lock-out rows (SQLite or
PostgreSQL, whichever the run names)."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.limits import AttemptLimit, Limited, Policy
from accounts.models import Device
from attendance import conf
from attendance.models import ClockEvent

CLOCK = "/api/attendance/clock/"
PARALLEL = 40


class QuickPBKDF2(PBKDF2PasswordHasher):
    """The production hasher at fewer rounds: like it, it releases the GIL while it hashes, so
    concurrent requests really overlap (the race window the old read-then-write counter had)."""

    iterations = 20_000


def together(n: int, call) -> list:
    """Run ``call(i)`` in ``n`` threads released at the same instant; results or exceptions."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = call(i)
        except Exception as exc:  # noqa: BLE001 - the assertions show it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_wrong_pins_lock_the_number_and_the_right_pin_is_refused(
    settings, make_person, kiosk
):
    settings.PASSWORD_HASHERS = [f"{__name__}.QuickPBKDF2"]
    worker = make_person("employee", pin="4321")
    limit = conf.get("ATTENDANCE_PIN_MAX_FAILURES")
    # A kiosk in use was seen within the minute, so no request writes its last-seen. (The test
    # database is SQLite in shared-cache memory, where a reader of a table being written fails
    # at once instead of waiting: that would be this test's artefact, not the race under test.)
    Device.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now())

    def wrong_pin(i: int):
        client = Client(HTTP_AUTHORIZATION=f"Device {kiosk.token}")
        data = {"employee_number": worker.employee_number, "pin": f"9{i:03d}"}
        return client.post(CLOCK, {**data, "capture_id": str(uuid.uuid4())})

    responses = together(PARALLEL, wrong_pin)
    codes = [r.json()["code"] if hasattr(r, "json") else repr(r) for r in responses]
    assert set(codes) <= {"wrong_pin", "pin_locked"}, codes
    assert codes.count("wrong_pin") <= limit, codes
    assert all(r.status_code == 429 for r in responses if r.json()["code"] == "pin_locked")
    assert all(0 < int(r["Retry-After"]) <= 15 * 60 for r in responses if r.status_code == 429)

    right = Client(HTTP_AUTHORIZATION=f"Device {kiosk.token}").post(
        CLOCK,
        {"employee_number": worker.employee_number, "pin": "4321", "capture_id": str(uuid.uuid4())},
    )
    assert right.status_code == 429 and right.json()["code"] == "pin_locked"
    assert not ClockEvent.objects.exists()


def test_attempt_limit_lets_exactly_the_threshold_through_concurrent_callers(db):
    limit = AttemptLimit(
        "race-test", Policy(threshold=5, base=timedelta(minutes=1), window=timedelta(minutes=5))
    )

    def attempt(i: int):
        try:
            limit.begin("subject").failed()
        except Limited as exc:
            return exc
        return "judged"

    results = together(PARALLEL, attempt)
    assert results.count("judged") == 5, results
    refused = [r for r in results if r != "judged"]
    assert all(isinstance(r, Limited) for r in refused), refused
    # Which of the racing failures takes the wait decides its step: the 5th takes 60 s, but a
    # 6th counted before the 5th took it starts the next step (120 s). Either way every refused
    # caller reports the one wait that is running, and it is one the policy gives.
    running = limit.retry_after("subject")
    steps = [limit.policy.wait_after(n).total_seconds() for n in range(5, 5 + PARALLEL)]
    assert any(step - 5 <= running <= step for step in steps), running
    assert all(running <= r.retry_after <= running + 5 for r in refused), (running, refused)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_face_failures_for_one_person_are_counted_under_the_row_lock(make_person):
    from biometrics import lockouts
    from biometrics.models import FaceLockout

    if connection.vendor == "sqlite":
        pytest.skip("the in-memory test SQLite reports colliding writers instead of waiting")
    person = make_person("employee")

    def attempt(i: int):
        try:
            lockouts.failed(lockouts.begin(person=person))
        except lockouts.LockedOut as exc:
            return exc
        return "judged"

    results = together(PARALLEL, attempt)
    unexpected = [r for r in results if r != "judged" and not isinstance(r, lockouts.LockedOut)]
    assert not unexpected, unexpected
    assert results.count("judged") == 5, results
    state = FaceLockout.objects.get(subject_type="person", subject_id=person.pk)
    assert state.consecutive_failures == 5 and state.total_failures == 5
    with pytest.raises(lockouts.LockedOut):
        lockouts.begin(person=person)
