"""Streamed liveness captures made of the live clips of ../shared/video, for the benchmarks.

A capture is what a kiosk page sends for one clock-in: frames at the stream's rate
(``STREAM_FPS``), downscaled to the page's width and JPEG-encoded at its quality, in chunks of
``STREAM_CHUNK_S`` seconds, each frame with its time on the page's clock. The clips are 15 fps;
a frame at time t is the clip's frame at t (as Chromium plays the real-time copy).

The load test needs more captures than three clips hold. Each clip gives *windows* that start
``WINDOW_STEP_S`` apart, plain and mirrored: measured on the clips, two windows that far apart
are never near-duplicates of each other (burst distance >= 0.13 against the threshold 0.115), and
a mirrored window is far from every plain one (>= 0.5). Identification is unaffected by the
mirror (the probe sums a face's plain and mirrored descriptors).

The clips blink when they do, not when asked. A window whose first blink (the shared
manifest's blink times, measured independently of this engine) comes no later than the page's
"please blink now" prompt (``STREAM_PROMPT_S``) stands for the cooperating person of the kiosk's
goal, who blinks when the screen asks; the others for a person who needed the prompt. Every run
of benchmarks/kiosk.py starts its clip at 0, where each clip blinks within 1.4 s: all cooperating.

No Django: the stream's parameters come from the Django-free engine, as the pages get them
(biometrics.services.STREAM_SETTINGS).
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from biometrics.engine.liveness import CAPTURE_JPEG_QUALITY as QUALITY  # noqa: E402
from biometrics.engine.liveness import CAPTURE_WIDTH as WIDTH  # noqa: E402
from biometrics.engine.stream import STREAM_CHUNK_S, STREAM_FPS, STREAM_PROMPT_S  # noqa: E402

VIDEO = REPO.parent / "shared" / "video"
CLIPS = ("person_01", "person_02", "person_03")
CLIP_FPS = 15.0
WINDOW_S = 3.0  # frames prepared per window; a blink challenge decides after ~1.25 s
WINDOW_STEP_S = 1.2


@dataclass(frozen=True)
class Window:
    clip: str
    start: float
    mirrored: bool
    frames: tuple[bytes, ...]  # JPEG, one per 1 / STREAM_FPS seconds
    first_blink_s: float | None = None  # from the window's start (the manifest's blink times)

    @property
    def name(self) -> str:
        return f"{self.clip}@{self.start:.1f}{'m' if self.mirrored else ''}"

    @property
    def cooperating(self) -> bool:
        """The person blinks before the page has to prompt (see the module's docstring)."""
        return self.first_blink_s is not None and self.first_blink_s <= STREAM_PROMPT_S

    def chunks(self) -> list[tuple[list[bytes], list[int]]]:
        """(frames, their times in ms) per chunk, as the page sends them."""
        per = round(STREAM_FPS * STREAM_CHUNK_S)
        out = []
        for i in range(0, len(self.frames), per):
            times = [round((i + k) * 1000 / STREAM_FPS) for k in range(per)]
            out.append((list(self.frames[i : i + per]), times[: len(self.frames[i : i + per])]))
        return out


def blink_starts(clip: str) -> list[float]:
    """When the live clip's blinks begin (s), from ../shared/video/manifest.csv."""
    with (VIDEO / "manifest.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["file"] == f"{clip}_live.mp4":
                spans = [s for s in row["blink_times_s"].split(";") if s]
                return sorted(float(s.split("-")[0]) for s in spans)
    raise SystemExit(f"{clip}_live.mp4 is not in {VIDEO / 'manifest.csv'}")


def first_blink(blinks: list[float], start: float, duration: float) -> float | None:
    """Seconds from ``start`` to the next blink, the clip looping (as Chromium loops it)."""
    later = [b - start for b in blinks if b >= start] + [b + duration - start for b in blinks]
    return round(min(later), 2) if later else None


def clip_frames(clip: str) -> list:
    """The clip's frames (BGR), at the page's width."""
    import cv2

    video = cv2.VideoCapture(str(VIDEO / f"{clip}_live.mp4"))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        if w > WIDTH:
            frame = cv2.resize(frame, (WIDTH, round(h * WIDTH / w)), interpolation=cv2.INTER_AREA)
        frames.append(frame)
    if not frames:
        raise SystemExit(f"cannot read {VIDEO / f'{clip}_live.mp4'}")
    return frames


def windows(clips: tuple[str, ...] = CLIPS) -> list[Window]:
    """Every clip's windows, plain and mirrored."""
    import cv2

    out = []
    for clip in clips:
        frames = clip_frames(clip)
        duration = len(frames) / CLIP_FPS
        blinks = blink_starts(clip)
        start = 0.0
        while start + 1.3 <= duration:
            for mirrored in (False, True):
                encoded = []
                for k in range(round(WINDOW_S * STREAM_FPS)):
                    frame = frames[int((start + k / STREAM_FPS) * CLIP_FPS) % len(frames)]
                    if mirrored:
                        frame = cv2.flip(frame, 1)
                    encoded.append(
                        cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[
                            1
                        ].tobytes()
                    )
                out.append(
                    Window(clip, round(start, 2), mirrored, tuple(encoded),
                           first_blink(blinks, start, duration))
                )  # fmt: skip
            start += WINDOW_STEP_S
    return out


def enrolment_images(clip: str) -> list[bytes]:
    """The person's still and three frames spread over the clip (as kiosk.py enrols)."""
    import cv2

    images = [(VIDEO / f"{clip}_still.jpg").read_bytes()]
    video = cv2.VideoCapture(str(VIDEO / f"{clip}_live.mp4"))
    total = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    for i in range(3):
        video.set(cv2.CAP_PROP_POS_FRAMES, int((i + 0.5) * total / 3))
        ok, frame = video.read()
        if ok:
            images.append(cv2.imencode(".jpg", frame)[1].tobytes())
    return images


def tagged(frame: bytes, tag: bytes | None = None) -> bytes:
    """The same JPEG with a comment segment after its start marker: other bytes, the same
    pixels. Each use of a window is a separate capture; its bytes must differ as a new
    camera's would, or the server rightly refuses it as an exact copy."""
    tag = tag or os.urandom(8).hex().encode()
    return frame[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + frame[2:]


def empty_scene_mjpeg(out: Path, seconds: float, then: str | None = None) -> Path:
    """A 30 fps MJPEG (as Chromium plays raw MJPEG) of a room with nobody in it: a lit wall, a
    gradient, each frame with its own sensor noise of a few grey levels; optionally followed by
    a shared clip's frames (``then``: a file of ../shared/video, already 30 fps)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(3)
    wall = np.add.outer(np.linspace(60, 180, 480), np.linspace(0, 40, 640))
    frames = []
    for _ in range(round(seconds * 30)):
        grey = np.clip(wall + rng.normal(0, 2.5, wall.shape), 0, 255).astype(np.uint8)
        frames.append(cv2.imencode(".jpg", cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))[1].tobytes())
    out.write_bytes(b"".join(frames) + ((VIDEO / then).read_bytes() if then else b""))
    return out


def engine_reference_ms() -> float:
    """This machine's speed on the liveness work: the median CPU (ms) that the engine, in this
    process, spends deciding each cooperating plain window (decoding excluded). The VMs of the
    sessions differ by 2-2.5x on it (docs/scaling.md), so CPU figures from different VMs are
    compared through it. Run in a process of its own, one thread: ``reference_in_subprocess``."""
    import statistics

    from biometrics.engine import decode_burst
    from biometrics.engine.stream import LivenessStream

    def decide(window: Window) -> float | None:
        stream = LivenessStream(["blink"])
        for frames, times in window.chunks():  # decoded as the server decodes a chunk
            if stream.add(decode_burst(frames), [t / 1000 for t in times]) is not None:
                return stream.cpu_ms
        return None

    chosen = [w for w in windows() if w.cooperating and not w.mirrored]
    decide(chosen[0])  # the models load on first use
    spent = [ms for ms in map(decide, chosen) if ms is not None]
    return round(statistics.median(spent), 1)


def reference_in_subprocess() -> float | None:
    """``engine_reference_ms`` in a fresh process with one BLAS and one OpenCV thread, as the
    server's workers run (faceauth/__init__.py); None if it could not run."""
    import subprocess

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1"}
    done = subprocess.run(
        [sys.executable, __file__, "--reference"], env=env, capture_output=True, text=True
    )
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def per_reference(cpu_ms: float | None, *references: float | None) -> float | None:
    """A server CPU figure in units of this VM's reference (the mean of the readings taken: the
    VM's speed moves within an hour), comparable between VMs: None without both."""
    readings = [r for r in references if r]
    if cpu_ms is None or not readings:
        return None
    return round(cpu_ms / (sum(readings) / len(readings)), 2)


if __name__ == "__main__" and sys.argv[1:] == ["--reference"]:
    print(engine_reference_ms())
