"""Descriptor fusion on the live clips: does averaging a stream's descriptors help 1:N?

A streamed capture (biometrics.engine.stream) computes the first good frame's descriptor (the
chip and its mirror: the identification probe) and, for the same-person check, one or two more
(the action's frame, the last frame). Fusing them (the mean of every view computed, each view
weighing one) costs nothing more. This measures, per window of each live clip
(benchmarks/streams.py, plain and mirrored), the cosine of the probe to the person's template
(their enrolment still, all views) and to the nearest impostor (the other clip people and
``--impostors`` people of ../shared/faces, one photo each), with and without fusion.

  python benchmarks/fusion.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import streams  # noqa: E402

from biometrics.engine import decode_burst, extract  # noqa: E402
from biometrics.engine.stream import LivenessStream  # noqa: E402

FACES = REPO.parent / "shared" / "faces"


def templates(impostors: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The clip people's templates (still, all views) and impostor templates (LFW)."""
    own = {
        clip: extract((streams.VIDEO / f"{clip}_still.jpg").read_bytes(), purpose="enrol").embedding
        for clip in streams.CLIPS
    }
    others = []
    for folder in sorted(p for p in FACES.iterdir() if p.is_dir() and not p.name.startswith("_")):
        photo = next(iter(sorted(folder.glob("*.jpg"))), None)
        if photo is None:
            continue
        try:
            others.append(extract(photo.read_bytes(), purpose="enrol", choose="central").embedding)
        except Exception:  # noqa: BLE001 - a photo the engine refuses is simply not an impostor
            continue
        if len(others) >= impostors:
            break
    return own, np.stack(others)


def probes(window: streams.Window) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(single, fused, descriptors fused) for one window's stream, None if it did not pass."""
    stream = LivenessStream(["blink"])
    result = None
    for frames, times in window.chunks():
        result = stream.add(decode_burst(frames), [t / 1000 for t in times])
        if result is not None:
            break
    if result is None or not result.passed or stream.identity is None:
        return None
    single = stream.identity.embedding
    others = [d for i, d in stream.embeddings.items() if i != stream.identity.frame]
    # The identity probe holds two views (its sum is normalised): weigh it as two.
    fused = 2 * single + sum(others, np.zeros_like(single))
    return single, fused / np.linalg.norm(fused), 1 + len(others)


def summary(values: list[float]) -> dict:
    return {
        "mean": round(statistics.fmean(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impostors", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    own, lfw = templates(args.impostors)
    rows = []
    for window in streams.windows():
        got = probes(window)
        if got is None:
            continue
        single, fused, n = got
        row = {"window": window.name, "descriptors": n}
        for name, probe in (("single", single), ("fused", fused)):
            genuine = float(own[window.clip] @ probe)
            impostor = max(
                float((lfw @ probe).max()),
                *(float(t @ probe) for c, t in own.items() if c != window.clip),
            )
            row[name] = {"genuine": genuine, "impostor_max": impostor, "margin": genuine - impostor}
        rows.append(row)
    report = {"windows": len(rows), "impostors": len(lfw) + len(own) - 1}
    for name in ("single", "fused"):
        report[name] = {
            k: summary([r[name][k] for r in rows]) for k in ("genuine", "impostor_max", "margin")
        }
    better = sum(r["fused"]["margin"] > r["single"]["margin"] for r in rows)
    report["fused_margin_larger_in"] = f"{better} of {len(rows)} windows"
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**report, "per_window": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
