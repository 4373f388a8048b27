"""Fuzz every API operation with schemathesis against the OpenAPI schema: no input may give a 5xx.

Starts gunicorn (deploy/gunicorn.conf.py) on 127.0.0.1 against a dedicated PostgreSQL database
(dropped and re-created each run) and a dedicated Redis db number, creates an admin (session
cookie + CSRF token) and a kiosk and a door device (``Authorization: Device <token>``), writes
the schema with ``manage.py spectacular`` and runs ``st run`` once per identity with the
``not_a_server_error`` check. Throttles are raised for the fuzzing server so that the inputs
reach the views instead of a 429.

Usage:
  python benchmarks/fuzz.py                   # ~10,000+ cases
  python benchmarks/fuzz.py --examples 20     # CI: a few hundred cases
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (benchmarks/load.py: the stack helpers)

REPO = load.REPO


def identities() -> dict[str, list[str]]:
    """Headers for each identity the fuzzer uses (made through Django in this process)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from accounts.services import onboard_person, register_device

    admin = User.objects.filter(username="fuzz-admin").first() or onboard_person(
        username="fuzz-admin", role="admin", display_name="Fuzz Admin",
        password=secrets.token_urlsafe(16),
    )  # fmt: skip
    session = SessionStore()
    session[SESSION_KEY] = str(admin.pk)
    # The last backend signs people in; the first (axes) only refuses locked-out sign-ins.
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
    session.create()
    csrf = secrets.token_hex(16)  # a 32-character secret: cookie and header must agree
    _, kiosk = register_device(name=f"Fuzz kiosk {secrets.token_hex(3)}", kind="kiosk")
    _, door = register_device(name=f"Fuzz door {secrets.token_hex(3)}", kind="door")
    return {
        "admin-session": [
            f"Cookie: sessionid={session.session_key}; csrftoken={csrf}",
            f"X-CSRFToken: {csrf}",
        ],
        "kiosk-device": [f"Authorization: Device {kiosk}"],
        "door-device": [f"Authorization: Device {door}"],
    }


SUMMARY = re.compile(r"(\d+) generated")


def run_schemathesis(schema: Path, base: str, headers: list[str], examples: int,
                     report: Path, seed: int, workers: int) -> dict:  # fmt: skip
    cmd = [
        str(load.BIN / "st"), "run", str(schema), "--url", base,
        "--checks", "not_a_server_error", "--max-examples", str(examples),
        "--seed", str(seed), "--workers", str(workers), "--no-color",
        "--report", "ndjson", "--report-ndjson-path", str(report),
        "--request-timeout", "30", "--suppress-health-check", "all",
        "--generation-database", "none",
    ]  # fmt: skip
    for h in headers:
        cmd += ["-H", h]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return {
        "exit_code": proc.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "output": proc.stdout[-6000:] + proc.stderr[-2000:],
        **count_cases(report),
    }


def count_cases(report: Path) -> dict:
    """Test cases per run, the HTTP statuses and every 5xx, from schemathesis' ndjson events."""
    cases, server_errors, per_status, errors = 0, [], {}, []
    if not report.exists():
        return {"cases": 0, "server_errors": [], "statuses": {}, "engine_errors": []}
    for line in report.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if "NonFatalError" in event:
            value = event["NonFatalError"].get("value", {})
            errors.append(f"{event['NonFatalError'].get('label')}: {value.get('type')}")
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder", {})
        cases += len(recorder.get("cases", {}))
        for interaction in recorder.get("interactions", {}).values():
            response = interaction.get("response")
            code = response.get("status_code") if isinstance(response, dict) else None
            per_status[str(code)] = per_status.get(str(code), 0) + 1
            if isinstance(code, int) and code >= 500:
                request = interaction.get("request", {})
                server_errors.append(
                    {
                        "method": request.get("method"),
                        "uri": request.get("uri"),
                        "status": code,
                        "body": str(request.get("body"))[:500],
                        "response": str(response.get("body"))[:500],
                    }
                )
    return {
        "cases": cases,
        "server_errors": server_errors,
        "statuses": per_status,
        "engine_errors": errors,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--examples", type=int, default=250, help="max examples per operation")
    ap.add_argument("--db", default="faceauth_fuzz")
    ap.add_argument("--redis-db", type=int, default=7)
    ap.add_argument("--port", type=int, default=18710)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="faceauth-fuzz-"))
    stack = load.Stack(args.db, args.redis_db, args.port, workdir, visibility_timeout=3600)
    env_extra = {
        "FACEAUTH_THROTTLE_DEVICE": "100000/min",
        "FACEAUTH_THROTTLE_GUIDANCE": "100000/min",
        "FACEAUTH_THROTTLE_IP": "100000/min",
    }
    base_env = stack.env
    stack.env = lambda: {**base_env(), **env_extra}  # type: ignore[method-assign]
    load.log(f"logs in {workdir}")
    report: dict = {"examples_per_operation": args.examples, "runs": {}}
    try:
        load.ensure_database(args.db, fresh=True)
        load.redis_cmd("-n", str(args.redis_db), "flushdb")
        env = stack.env()
        schema = workdir / "schema.yaml"
        # The schema needs no database: it is written while the migrations run.
        spectacular = subprocess.Popen(
            [sys.executable, "manage.py", "spectacular", "--file", str(schema)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO, env=env, check=True,
        )  # fmt: skip
        _, errors = spectacular.communicate()
        if spectacular.returncode:
            raise SystemExit(f"manage.py spectacular failed:\n{errors.decode()[-3000:]}")
        load.setup_django(stack)
        os.environ.update(env_extra)
        headers = identities()
        stack.start_web()
        load.log(f"gunicorn ready in {load.wait_ready(stack.base, 120):.1f} s")
        for name, hdrs in headers.items():
            load.log(f"schemathesis as {name}")
            run = run_schemathesis(
                schema, stack.base, hdrs, args.examples, workdir / f"{name}.ndjson",
                args.seed, args.workers,
            )  # fmt: skip
            report["runs"][name] = run
            load.log(
                f"{name}: {run['cases']} cases, {len(run['server_errors'])} 5xx, "
                f"exit {run['exit_code']}, {run['seconds']} s, statuses {run['statuses']}"
            )
    finally:
        stack.stop()
        load.redis_cmd("-n", str(args.redis_db), "flushdb")
    runs = report["runs"].values()
    report["total_cases"] = sum(r["cases"] for r in runs)
    report["total_server_errors"] = sum(len(r["server_errors"]) for r in runs)
    web_log = (workdir / "web.log").read_text(errors="replace")
    report["tracebacks_in_log"] = web_log.count('"exc": "Traceback')
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    for name, run in report["runs"].items():
        if run["server_errors"] or run["engine_errors"]:
            print(f"---- {name}\n{run['output']}")
    load.log(
        f"total: {report['total_cases']} cases, {report['total_server_errors']} server errors, "
        f"{report['tracebacks_in_log']} tracebacks in {workdir / 'web.log'}"
    )
    # A non-zero exit of st without a 5xx is schemathesis's own trouble (engine_errors): a
    # phase that died tested nothing, so it fails the run, except on Python 3.11, where a
    # CPython bug kills the coverage phase ("SystemError: AST constructor recursion depth
    # mismatch", seen on 3.11.7; CI fuzzes on the newest Python).
    engine_failed = sys.version_info >= (3, 12) and any(r["engine_errors"] for r in runs)
    if engine_failed:
        load.log("schemathesis itself failed (its output is above): a phase did not run")
    failed = report["total_server_errors"] or not report["total_cases"] or engine_failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
