"""Cost of a process's 1:N gallery rebuild (biometrics.services._build_gallery) at N templates.

Fills a dedicated PostgreSQL database with N encrypted random templates (4 per person), then
times the real rebuild: the query, Fernet decryption of every template, the matrix. Each web
worker and Celery child pays this once per gallery version change (docs/scaling.md).

Usage: python benchmarks/gallery_build.py [--templates 10000] [--db faceauth_gallery]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--templates", type=int, nargs="+", default=[10_000])
    ap.add_argument("--db", default="faceauth_gallery")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    load.ensure_database(args.db, fresh=True)
    env = {**os.environ, "DATABASE_URL": f"{load.PG}/{args.db}"}
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=load.REPO, env=env, check=True,
    )  # fmt: skip
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "faceauth.settings"
    sys.path.insert(0, str(load.REPO))
    import django

    django.setup()
    import numpy as np

    from accounts.models import User
    from biometrics import engine, services
    from biometrics.models import FaceTemplate

    model_version = engine.default_calibration().model_version
    rng = np.random.default_rng(0)
    out = {}
    have = 0
    for n in sorted(args.templates):
        people = (n - have) // 4
        start = User.objects.count()
        users = User.objects.bulk_create(
            User(username=f"g{start + i}", display_name=f"G {start + i}", password="!")
            for i in range(people)
        )
        vectors = rng.standard_normal((people * 4, 128)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        t = time.perf_counter()
        batch = []
        for i, vector in enumerate(vectors):
            template = FaceTemplate(person=users[i // 4], model_version=model_version)
            template.embedding = vector
            batch.append(template)
        FaceTemplate.objects.bulk_create(batch, batch_size=2000)
        insert_s = time.perf_counter() - t
        have = FaceTemplate.objects.count()
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            gallery = services._build_gallery()
            times.append(time.perf_counter() - t)
        # Decryption alone, on the rows already fetched.
        rows = list(FaceTemplate.objects.values_list("embedding_ciphertext", flat=True)[:2000])
        t = time.perf_counter()
        for ciphertext in rows:
            _ = FaceTemplate(embedding_ciphertext=ciphertext).embedding
        decrypt_us = (time.perf_counter() - t) / len(rows) * 1e6
        out[str(have)] = {
            "rebuild_s_median": round(sorted(times)[len(times) // 2], 3),
            "rebuild_s_all": [round(x, 3) for x in times],
            "templates_in_gallery": len(gallery),
            "decrypt_us_per_template": round(decrypt_us, 1),
            "insert_s": round(insert_s, 1),
        }
        print(f"{have:>8} templates: rebuild {out[str(have)]['rebuild_s_median']} s "
              f"(decrypt {decrypt_us:.0f} us/template)", flush=True)  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
