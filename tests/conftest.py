"""Shared fixtures: people of every role, devices, and the path to the shared data."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
USES_SERVICES = bool(os.environ.get("REDIS_URL"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 at production strength costs ~0.3 s per person; tests make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    # Redis outlives a test; counters and gallery versions must not leak between tests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared data folder is missing: {SHARED}")
    return SHARED


@pytest.fixture
def department(db):
    from accounts.models import Department

    return Department.objects.create(name="Operations", code="ops")


@pytest.fixture
def make_person(db):
    from accounts import services

    counter = iter(range(1, 10_000))

    def make(role: str = "employee", **kwargs):
        n = next(counter)
        if role in ("visitor", "contractor"):
            now = timezone.now()
            kwargs.setdefault("valid_from", now - timedelta(hours=1))
            kwargs.setdefault("valid_until", now + timedelta(hours=8))
        kwargs.setdefault("username", f"{role}{n}")
        kwargs.setdefault("display_name", f"{role.title()} Person{n}")
        kwargs.setdefault("employee_number", f"{role[:1].upper()}{n:04d}")
        kwargs.setdefault("password", "correct-horse-battery")
        return services.onboard_person(role=role, **kwargs)

    return make


@pytest.fixture
def people(make_person, department) -> dict:
    return {
        role: make_person(role, department=department)
        for role in ("employee", "admin", "manager", "guard", "visitor", "contractor")
    }


@pytest.fixture
def kiosk(db):
    from accounts import services

    device, token = services.register_device(name="Kiosk 1", kind="kiosk")
    device.token = token
    return device


@pytest.fixture
def door_device(db):
    from accounts import services

    device, token = services.register_device(name="Door 1", kind="door")
    device.token = token
    return device
