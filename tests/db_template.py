"""One migrated database per test run, copied for every xdist worker and production subprocess.

Migrating from nothing costs ~18 s of CPU on this machine (77 migrations; Django re-renders the
model states for each, oauth2_provider's 0021 alone takes ~5 s), and every worker did it for its
own test database, as did each subprocess test that starts the app on a fresh database. Now the
first worker to need a database migrates one template (in a subprocess, under a file lock) and
every test database starts as a copy of it: SQLite's backup API into the worker's in-memory
database, PostgreSQL's ``CREATE DATABASE ... TEMPLATE``. Django's ``migrate`` still runs on the
copy and finds nothing to apply, so a migration missing from the template would still be applied
and its signals still fire. The template is named after the pytest process that owns the run
and removed when that run ends.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFIX = "faceauth_test_template_"
# Keeps each in-memory test database alive between the copy and Django's first connection.
_KEEP: list[sqlite3.Connection] = []


def run_owner() -> int:
    """The pid of the pytest process that owns this run: an xdist worker's parent, or itself."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def _var() -> Path:
    from django.conf import settings

    folder = Path(settings.VAR_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def _locked(name: str) -> Iterator[None]:
    with open(_var() / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode:
        raise RuntimeError(f"migrating the test template failed:\n{result.stderr[-3000:]}")


def sqlite_template() -> Path:
    """A migrated SQLite file for this run (made on first use)."""
    path = _var() / f"{PREFIX}{run_owner()}.sqlite3"
    with _locked(path.name):
        if not path.exists():
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            _migrate(f"sqlite:///{partial}")
            # One file, no WAL beside it: a copy of it is the whole database.
            with sqlite3.connect(partial) as db:
                db.execute("PRAGMA journal_mode=DELETE")
            os.replace(partial, path)
    return path


def copy_sqlite(target: Path) -> Path:
    """A migrated SQLite database at ``target`` (a subprocess test's fresh database)."""
    shutil.copyfile(sqlite_template(), target)
    return target


def _postgres_url(settings_dict: dict, name: str) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{settings_dict.get('PORT') or 5432}/{name}"


def use_for_test_databases() -> None:
    """Make the default connection's test database start as a copy of the template."""
    from django.db import connection

    if connection.vendor == "sqlite":
        template = sqlite_template()
        create = connection.creation._create_test_db

        def create_from_template(verbosity, autoclobber, keepdb=False):
            name = create(verbosity, autoclobber, keepdb)
            if connection.creation.is_in_memory_db(name) and not keepdb:
                memory = sqlite3.connect(name, uri=True, check_same_thread=False)
                with sqlite3.connect(template) as source:
                    source.backup(memory)
                _KEEP.append(memory)
            return name

        connection.creation._create_test_db = create_from_template
    elif connection.vendor == "postgresql":
        name = f"{PREFIX}{run_owner()}"
        with _locked(name):
            with connection._nodb_cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                exists = cursor.fetchone() is not None
                if not exists:
                    cursor.execute(f'CREATE DATABASE "{name}"')
            if not exists:
                try:
                    _migrate(_postgres_url(connection.settings_dict, name))
                except Exception:
                    with connection._nodb_cursor() as cursor:
                        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    raise
        connection.settings_dict["TEST"]["TEMPLATE"] = name
        # CREATE DATABASE ... TEMPLATE refuses while another copy is being made from it.
        create = connection.creation._create_test_db

        def create_locked(verbosity, autoclobber, keepdb=False):
            with _locked(name):
                return create(verbosity, autoclobber, keepdb)

        connection.creation._create_test_db = create_locked


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_templates(owner: int) -> None:
    """At the end of the run that owns them (the pytest process ``owner``), with those of runs
    that were killed before they could."""
    from django.conf import settings
    from django.db import connection

    def gone(name: str) -> bool:
        pid = name.removeprefix(PREFIX).split(".")[0]
        return pid.isdigit() and (int(pid) == owner or not _alive(int(pid)))

    for path in Path(settings.VAR_DIR).glob(f"{PREFIX}*"):
        if gone(path.name):
            path.unlink(missing_ok=True)
    if connection.vendor == "postgresql":
        try:
            with connection._nodb_cursor() as cursor:
                cursor.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{PREFIX}%"]
                )
                for (name,) in cursor.fetchall():
                    if gone(name):
                        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        except Exception as exc:  # noqa: BLE001 - a left-over template is no test failure
            print(f"could not drop a test template: {exc}", file=sys.stderr)
