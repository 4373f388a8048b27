"""Finding 12: the kiosk's PIN answer must not tell whether an employee number exists. An
unknown number, a person without a PIN and a wrong PIN all run the same password hasher once
(counted, not timed: timing tests are flaky on shared machines)."""

import uuid

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

CLOCK = "/api/attendance/clock/"


@pytest.fixture
def hasher_calls(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = MD5PasswordHasher.verify

    def verify(self, password, encoded):
        calls.append(encoded)
        return real(self, password, encoded)

    monkeypatch.setattr(MD5PasswordHasher, "verify", verify)
    return calls


def post_pin(client, kiosk, number: str, pin: str):
    return client.post(
        CLOCK,
        {"employee_number": number, "pin": pin, "capture_id": str(uuid.uuid4())},
        HTTP_AUTHORIZATION=f"Device {kiosk.token}",
    )


def test_unknown_number_no_pin_and_wrong_pin_each_cost_one_hash(
    client, kiosk, make_person, hasher_calls
):
    worker = make_person("employee", pin="4321")
    no_pin = make_person("employee")
    answers = []
    for number in ("NO-SUCH-NUMBER", no_pin.employee_number, worker.employee_number):
        before = len(hasher_calls)
        response = post_pin(client, kiosk, number, "0000")
        answers.append((response.status_code, response.json()))
        assert len(hasher_calls) - before == 1, number
    # The same answer, word for word, whichever path was taken.
    assert len({str(a) for a in answers}) == 1 and answers[0][0] == 403
