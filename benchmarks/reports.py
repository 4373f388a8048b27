"""Report endpoints on a year of demo data: median latency per data endpoint, and the memory of
a one-million-row CSV export.

Usage (PostgreSQL, the numbers in docs/reports.md):

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE faceauth_bench"
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/faceauth_bench
    python manage.py migrate
    python manage.py seed_demo --people 1000 --days 365     # ~0.5M clock, ~1M access events
    python benchmarks/reports.py [--repeats 15] [--json OUT]

Endpoints are called in-process through Django's test client (no network, no server), as an
admin, the seeded Operations manager and a guard, for the default range (the last 30 days) and
for the whole year.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceauth.settings")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-export", action="store_true")
    args = ap.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from access_control.models import AccessEvent
    from accounts.models import Role, User
    from attendance.models import ClockEvent

    setup_test_environment()
    print(
        f"database: {connection.vendor}; clock events {ClockEvent.objects.count():,}, "
        f"access events {AccessEvent.objects.count():,}"
    )
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).first()
    manager = User.objects.filter(username="seed-0001").first()
    guard = User.objects.filter(role=Role.GUARD, username__startswith="seed-").first()
    today = timezone.localdate()
    year = {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat()}
    cases = [
        ("admin", admin, "attendance", {}),
        ("admin", admin, "access", {}),
        ("admin", admin, "security", {}),
        ("manager", manager, "attendance", {}),
        ("manager", manager, "access", {}),
        ("guard", guard, "access", {}),
        ("admin", admin, "attendance", year),
        ("admin", admin, "access", year),
        ("admin", admin, "security", year),
        ("manager", manager, "attendance", year),
    ]
    results = []
    client = Client()
    for who, user, report, params in cases:
        client.force_login(user)
        url = f"/reports/{report}/data/"
        client.get(url, params)  # warm-up: connection, caches, query plans
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.content[:300]
        label = "year" if params else "30 days"
        median = statistics.median(times)
        results.append({"who": who, "report": report, "range": label, "median_ms": median})
        print(
            f"{report:>10} data  {who:<8} {label:<8} median {median:7.1f} ms"
            f"  (min {min(times):.1f})"
        )

    if not args.skip_export:
        client.force_login(admin)
        base = rss_mb()
        tracemalloc.start()
        t = time.perf_counter()
        response = client.get("/reports/access/export/events.csv", year)
        size, peak_rss = 0, base
        for i, chunk in enumerate(response.streaming_content):
            size += len(chunk)
            if i % 50 == 0:
                peak_rss = max(peak_rss, rss_mb())
        seconds = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        export = {
            "rows": int(response["X-Report-Rows"]),
            "bytes": size,
            "seconds": round(seconds, 1),
            "tracemalloc_peak_mb": round(peak / 2**20, 1),
            "rss_growth_mb": round(peak_rss - base, 1),
        }
        results.append({"export": export})
        print(
            f"export access events: {export['rows']:,} rows, {size / 2**20:.0f} MiB in "
            f"{seconds:.1f} s; tracemalloc peak {export['tracemalloc_peak_mb']} MiB, "
            f"RSS growth {export['rss_growth_mb']} MiB"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
