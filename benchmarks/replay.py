"""Near-duplicate replay detection: burst distances of re-encoded, resized and brightness-shifted
copies of a burst (replays: must be refused) against other bursts of the same live clip at
other moments (live: must pass), on the ../shared/video clips.

A burst is what the capture page sends (biometrics.engine.liveness: 10 fps, 480 px, JPEG q80)
from a clip's timeline. Replays are those JPEG frames decoded and changed as an attacker who
recorded them would (JPEG q77/83/60, 0.75x/1.25x resize, brightness +/-20), then JPEG q80
again. Live pairs are bursts of the same clip that share no moment (windows apart by at least
their length), on a 0.1 s grid; both 2 s and 3 s bursts. Each frame is hashed exactly as the
server hashes it (biometrics.engine.replay.frame_hash on the liveness check's landmarks).

Usage: python benchmarks/replay.py [--video ../shared/video] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from biometrics.engine import liveness, replay  # noqa: E402
from biometrics.engine.detection import detect_faces, landmarks5, shape_points  # noqa: E402

CLIPS = ("person_01_live.mp4", "person_02_live.mp4", "person_03_live.mp4")
ATTACKS = {
    "jpeg_q77": lambda bgr: _jpeg(bgr, 77),
    "jpeg_q83": lambda bgr: _jpeg(bgr, 83),
    "jpeg_q60": lambda bgr: _jpeg(bgr, 60),
    "resize_0.75": lambda bgr: _jpeg(_resize(bgr, 0.75), 80),
    "resize_1.25": lambda bgr: _jpeg(_resize(bgr, 1.25), 80),
    "bright_+20": lambda bgr: _jpeg(_bright(bgr, 20), 80),
    "bright_-20": lambda bgr: _jpeg(_bright(bgr, -20), 80),
}


def _jpeg(bgr: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _resize(bgr: np.ndarray, f: float) -> np.ndarray:
    h, w = bgr.shape[:2]
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return cv2.resize(bgr, (round(w * f), round(h * f)), interpolation=interp)


def _bright(bgr: np.ndarray, delta: int) -> np.ndarray:
    return np.clip(bgr.astype(np.int16) + delta, 0, 255).astype(np.uint8)


def hashes(frames_bgr: list[np.ndarray]) -> np.ndarray:
    """What the server computes: the liveness check's landmarks, then the frame hash."""
    out = []
    for bgr in frames_bgr:
        rgb = liveness._bounded(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        faces = detect_faces(rgb)
        if not faces:
            continue
        points = shape_points(landmarks5(rgb, faces[0]))
        out.append(replay.frame_hash(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), points))
    return replay.signature(out)


def page_burst(video: Path, clip: str, start: float, seconds: float) -> list[np.ndarray]:
    frames, _ = liveness.read_clip(video / clip, start_s=start, seconds=seconds)
    out = []
    for rgb in frames:
        small = cv2.cvtColor(liveness.browser_frame(rgb), cv2.COLOR_RGB2BGR)
        out.append(_jpeg(small, liveness.CAPTURE_JPEG_QUALITY))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=ROOT.parent / "shared" / "video")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    liveness.warm_up()

    replays: dict[str, list[float]] = {name: [] for name in ATTACKS}
    live: dict[str, list[float]] = {"2s": [], "3s": []}
    other_people: list[float] = []
    cache: dict[tuple, np.ndarray] = {}

    def burst_hashes(clip: str, start: float, seconds: float) -> np.ndarray:
        key = (clip, round(start, 2), seconds)
        if key not in cache:
            cache[key] = hashes(page_burst(args.video, clip, start, seconds))
        return cache[key]

    for clip in CLIPS:
        for start in (0.0, 1.5, 3.0):
            original = page_burst(args.video, clip, start, 3.0)
            base = hashes(original)
            for name, change in ATTACKS.items():
                replays[name].append(
                    replay.burst_distance(hashes([change(f) for f in original]), base)
                )
            # A trimmed replay: the last two thirds of the burst, re-encoded.
            trimmed = hashes([_jpeg(f, 77) for f in original[10:]])
            replays.setdefault("trimmed_q77", []).append(replay.burst_distance(trimmed, base))
        for seconds in (2.0, 3.0):
            starts = [round(s, 1) for s in np.arange(0.0, 6.0 - seconds + 0.01, 0.1)]
            for s, t in itertools.combinations(starts, 2):
                if t - s >= seconds:
                    live[f"{int(seconds)}s"].append(
                        replay.burst_distance(
                            burst_hashes(clip, t, seconds), burst_hashes(clip, s, seconds)
                        )
                    )
    for a, b in itertools.combinations(CLIPS, 2):
        other_people.append(
            replay.burst_distance(burst_hashes(a, 0.0, 3.0), burst_hashes(b, 0.0, 3.0))
        )

    def stats(values: list[float]) -> dict:
        v = np.array(values)
        return {
            "n": len(v),
            "min": round(float(v.min()), 4),
            "p50": round(float(np.median(v)), 4),
            "max": round(float(v.max()), 4),
        }

    report = {
        "threshold": replay.NEAR_DUPLICATE_DISTANCE,
        "replays": {k: stats(v) for k, v in replays.items()},
        "replay_max": round(max(max(v) for v in replays.values()), 4),
        "live_other_moment": {k: stats(v) for k, v in live.items()},
        "live_min": round(min(min(v) for v in live.values()), 4),
        "other_people": stats(other_people),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
