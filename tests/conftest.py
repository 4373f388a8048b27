"""Shared fixtures: a fixed clock, people of every role, devices, the path to the shared data.

Every test runs on a fixed clock (time-machine, ticking), never on the machine's date:
``FACEAUTH_TEST_CLOCK=2026-03-29T03:30`` (ISO; without an offset: Europe/Berlin local time)
moves it. Tests whose outcome could depend on the date, weekday or DST carry
``@pytest.mark.calendar``; ``FACEAUTH_TEST_CLOCKS=calendar`` (or a comma-separated list of
instants) runs each of them once per instant of ``CALENDAR_CLOCKS``, as CI does. A Celery
worker process and Chromium keep the real clock.
"""

import copy
import hashlib
import os
import pickle
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
USES_SERVICES = bool(os.environ.get("REDIS_URL"))

# Local Europe/Berlin times (the default DISPLAY_TIME_ZONE), all before any real run date, so
# that a worker process on the real clock only ever sees the test's timestamps in its past.
DEFAULT_CLOCK = "2026-06-10T10:30"  # a Wednesday in summer time
CALENDAR_CLOCKS = {
    "mon": "2026-06-08T10:30",
    "tue": "2026-06-09T10:30",
    "wed": "2026-06-10T10:30",
    "thu": "2026-06-11T10:30",
    "fri": "2026-06-12T10:30",
    "sat": "2026-06-13T10:30",
    "sun": "2026-06-14T10:30",
    # The Sundays the clocks change (02:00 CET -> 03:00 CEST; 03:00 CEST -> 02:00 CET): an
    # hour after the change, so "an hour ago" and "yesterday" reach across it.
    "dst-spring": "2026-03-29T04:00",
    "dst-autumn": "2026-10-25T03:00",
}
CLOCK_ZONE = ZoneInfo("Europe/Berlin")


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=CLOCK_ZONE)


def pytest_generate_tests(metafunc):
    wanted = os.environ.get("FACEAUTH_TEST_CLOCKS")
    if not wanted or not metafunc.definition.get_closest_marker("calendar"):
        return
    clocks = CALENDAR_CLOCKS if wanted == "calendar" else {c: c for c in wanted.split(",")}
    metafunc.parametrize(
        "_fixed_clock", list(clocks.values()), ids=list(clocks), indirect=True, scope="function"
    )


def pytest_collection_modifyitems(items):
    # The engine is Django-free: no database or cache can change what its tests see.
    for item in items:
        if item.path.parent.name == "engine":
            item.add_marker(pytest.mark.backend_neutral)
    _long_tests_first(items)


def _db_order(item) -> int:
    """pytest-django's (and Django's) order: database tests, then transactional tests (they
    empty the tables, rows of data migrations included), then tests without the database."""
    from pytest_django.fixtures import validate_django_db

    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", [])
    transactional = bool(marker) and any(validate_django_db(marker)[:2])
    transactional = transactional or "transactional_db" in fixtures or "live_server" in fixtures
    if transactional:
        return 1
    return 0 if marker or "db" in fixtures else 2


def _long_tests_first(items) -> None:
    """Give each xdist worker its share of the long tests (Chromium journeys, real models on
    many images) early in its chunk. worksteal hands out contiguous chunks in collection order
    and steals from their ends; in file order the long browser tests came last, and a 40 s
    test that starts last ends the run 40 s later. Within a chunk pytest-django's order still
    holds (a database test never runs after a transactional one on the same worker). Every
    worker computes the same order."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)  # set in each worker
    if workers < 2:
        return

    def is_long(item) -> bool:
        return bool(item.get_closest_marker("browser") or item.get_closest_marker("slow"))

    long = [i for i in items if is_long(i)]
    short = [i for i in items if not is_long(i)]
    chunks: list[list] = [[] for _ in range(workers)]
    for k, item in enumerate(long):
        chunks[k % workers].append(item)
    # The short tests in contiguous runs (a module's tests stay together where they can).
    size = -(-len(items) // workers)
    for item in short:
        target = next((w for w in range(workers) if len(chunks[w]) < size), workers - 1)
        chunks[target].append(item)
    for chunk in chunks:
        chunk.sort(key=lambda i: (_db_order(i), not is_long(i)))
    items[:] = [item for chunk in chunks for item in chunk]


@pytest.fixture(autouse=True)
def _fixed_clock(request):
    text = getattr(request, "param", None) or os.environ.get("FACEAUTH_TEST_CLOCK", DEFAULT_CLOCK)
    # tick: time moves on from the instant, so TTLs, lockouts and liveness timing still work.
    with time_machine.travel(_instant(text), tick=True) as traveller:
        yield traveller


_ENROL_PROBES: dict[bytes, object] = {}


class _SharedProbes:
    """The xdist workers of one run share what they computed (a folder named after the run, so
    nothing outlives it): each enrolment photo is embedded once per run, not once per worker."""

    def __init__(self) -> None:
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        self.folder = Path(tempfile.gettempdir()) / f"faceauth-probes-{run}" if run else None

    def get(self, key: bytes):
        if self.folder is None:
            return None
        try:
            return pickle.loads((self.folder / key.hex()).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError):
            return None

    def put(self, key: bytes, probe) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(exist_ok=True)
        partial = self.folder / f"{key.hex()}.{os.getpid()}"
        partial.write_bytes(pickle.dumps(probe))
        os.replace(partial, self.folder / key.hex())  # readers never see half a file


_SHARED_PROBES = _SharedProbes()


@pytest.fixture(autouse=True)
def _enrolment_probes_once_per_session(request, monkeypatch):
    """The real pipeline embeds each enrolment photo once per session; later tests reuse it.

    Enrolment (``purpose="enrol"``) is deterministic, and tests enrol the same few photos again
    and again: the DB side (samples, encrypted templates, jobs) still runs per test. A Celery
    worker process embeds for itself. Engine tests (tests/engine/) always compute.
    """
    from biometrics import engine

    if request.node.path.parent.name == "engine":
        return
    real = engine.extract

    def extract(image, *, purpose="verify", **kwargs):
        if purpose != "enrol" or kwargs or not isinstance(image, bytes | bytearray):
            return real(image, purpose=purpose, **kwargs)
        key = hashlib.sha256(image).digest()
        if key not in _ENROL_PROBES:
            _ENROL_PROBES[key] = _SHARED_PROBES.get(key)
        if _ENROL_PROBES[key] is None:
            try:
                _ENROL_PROBES[key] = real(image, purpose=purpose)
                _SHARED_PROBES.put(key, _ENROL_PROBES[key])
            except engine.EngineError as exc:
                _ENROL_PROBES[key] = exc
        found = _ENROL_PROBES[key]
        if isinstance(found, engine.EngineError):
            raise found.with_traceback(None)
        return copy.deepcopy(found)

    monkeypatch.setattr(engine, "extract", extract)


@pytest.fixture(autouse=True)
def _rows_of_data_migrations(request):
    """A database test sees the rows the data migrations made (role groups, default policies)
    whatever ran before it on its worker: a transactional test ends by emptying every table, and
    a test that xdist steals may run after one. Put back (inside the test's rolled-back
    transaction) from the copy Django serialised when it made the test database."""
    if _db_order(request.node) != 0:
        return
    request.getfixturevalue("db")
    from django.contrib.auth.models import Group
    from django.db import connection

    saved = getattr(connection, "_test_serialized_contents", None)
    if saved and not Group.objects.exists():
        connection.creation.deserialize_db_from_string(saved)


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


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, django_db_blocker):
    """Every test database starts as a copy of one migrated per run (tests/db_template.py)."""
    from . import db_template

    with django_db_blocker.unblock():
        db_template.use_for_test_databases()


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):  # the process that owns the run
        from pytest_django.plugin import blocking_manager_key

        from . import db_template

        with session.config.stash[blocking_manager_key].unblock():
            db_template.remove_templates(os.getpid())


@pytest.fixture(scope="session", autouse=True)
def _live_server_one_request_at_a_time():
    """On the in-memory SQLite test database, the live server answers one request at a time.

    Django's live server hands every request thread the one shared in-memory connection, and
    concurrent queries on it can come back wrong (Django's LiveServerTestCase docs). Seen in CI:
    a kiosk page's guidance frame read its device as missing while the page's clock request ran,
    so the browser was unpaired (401, then the pairing page). PostgreSQL gives each thread a
    connection of its own: threads stay there."""
    from django.core.servers.basehttp import WSGIServer
    from django.db import connection
    from django.test.testcases import LiveServerThread

    if connection.vendor != "sqlite":
        yield
        return

    # The test's own thread uses that connection too (a test reads the database while its page
    # still sends requests: "database table is locked" in CI). A query of the test's thread
    # waits for the request being answered; the server's thread takes the lock again freely.
    busy = threading.RLock()

    class SerialWSGIServer(WSGIServer):
        # Requests are handled in the server's own thread, which LiveServerThread.run points
        # at the shared connection; without threads Django closes each connection after its
        # answer (no keep-alive to hold the others up).
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

        def process_request(self, request, client_address):
            with busy:
                super().process_request(request, client_address)

    def one_at_a_time(execute, sql, params, many, context):
        with busy:
            return execute(sql, params, many, context)

    threaded = LiveServerThread.server_class
    LiveServerThread.server_class = SerialWSGIServer
    connection.execute_wrappers.append(one_at_a_time)
    yield
    connection.execute_wrappers.remove(one_at_a_time)
    LiveServerThread.server_class = threaded


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real `celery -A faceauth worker` process on Redis, using the test database.

    Only with REDIS_URL (the CI's second pass): the embedded default runs tasks in-process.
    """
    import signal
    import subprocess
    import sys
    import time

    from django.conf import settings

    if not USES_SERVICES:
        pytest.skip("needs REDIS_URL: on the embedded default tasks run in-process")
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a worker process cannot share an SQLite test database")
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "faceauth", "worker", "--pool=solo", "-l", "info"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    from faceauth.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"celery worker exited: {worker.stdout.read()}")
        if app.control.ping(timeout=1):
            break
    else:
        worker.kill()
        pytest.fail("celery worker did not answer within 60 s")
    yield worker
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def chromium(monkeypatch):
    """Factory: a headless Debian Chromium (Playwright) with a clip from ../shared as webcam.

    ``chromium(video="person_03_live_30fps.mjpeg")`` returns a fresh browser context; every
    browser opened here is closed after the test. Screenshots go to test-artifacts/.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test are
    # still plain synchronous calls, so Django's async guard does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    playwright = sync_playwright().start()
    browsers = []

    def launch(video: str | Path | None = None, *, deny_camera: bool = False):
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--use-fake-device-for-media-stream",
        ]
        if not deny_camera:
            args.append("--use-fake-ui-for-media-stream")
        if video is not None:
            path = Path(video) if Path(video).is_absolute() else SHARED / "video" / video
            args.append(f"--use-file-for-fake-video-capture={path}")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        browsers.append(browser)
        return browser.new_context(viewport={"width": 1280, "height": 800})

    yield launch
    for browser in browsers:
        browser.close()
    playwright.stop()
