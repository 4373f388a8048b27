"""1:N search latency over random unit templates (Gallery.search, median ms).

Usage: python benchmarks/search.py [--json OUT] [--sizes 10000 100000 1000000]

BLAS runs single-threaded, as in a deployed web worker (set OPENBLAS_NUM_THREADS=1 there too):
a mat-vec is memory-bound, and on a busy 2-core machine OpenBLAS threads waiting for a core
made a 100k search ~8 ms instead of ~1 ms. Pass OPENBLAS_NUM_THREADS=N to override.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biometrics.engine.matching import Gallery  # noqa: E402

TEMPLATES_PER_PERSON = 4


def bench(n: int, repeats: int, rng: np.random.Generator, per_person: int) -> float:
    matrix = rng.standard_normal((n, 128), dtype=np.float32)
    ids = np.arange(n) // per_person
    gallery = Gallery(ids.tolist(), matrix)
    probes = rng.standard_normal((repeats + 3, 128), dtype=np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    times = []
    for i, p in enumerate(probes):
        t = time.perf_counter()
        gallery.search(p)
        if i >= 3:  # warm-up
            times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument(
        "--per-person", type=int, default=TEMPLATES_PER_PERSON,
        help="templates per owner (the gallery searches one mean template per owner)",
    )  # fmt: skip
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out = {}
    for n in args.sizes:
        out[str(n)] = round(
            bench(n, args.repeats if n < 1_000_000 else 15, rng, args.per_person), 3
        )
        people = n // args.per_person
        print(f"{n:>9} templates ({people} people): {out[str(n)]:.2f} ms median per search")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
