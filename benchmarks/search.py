"""1:N search latency over random unit templates (Gallery.search, median ms).

Usage: python benchmarks/search.py [--json OUT] [--sizes 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

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
