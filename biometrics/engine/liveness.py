"""Server-side liveness: does a short burst of webcam frames show a live person answering a
random challenge ("blink", "turn_left", "turn_right")?

Plain Python (no Django). The caller (HTTP view) owns nonces, devices and the choice of the
challenge; this module is the pure decision ``check_liveness(frames, challenges)``.

Checks, in order (the first failure is the reason):
  too_few_frames -> no_face / multiple_faces -> static_image -> face_changed
  -> no_challenge_response -> ok

Every threshold on a facial measure is relative to the burst's own baseline (its median), so it
does not depend on the person's eye shape, glasses or the camera. See docs/liveness.md for the
measurements behind the numbers.

Directions: frames must be the camera's own (un-mirrored) image, as ``canvas.drawImage(video)``
gives even when the preview is mirrored with CSS. "turn_left" means the user's own left, so
the nose moves towards the image's right.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import replay, weights
from .detection import FaceBox, detect_faces, landmarks5, landmarks68, shape_points
from .weights import SHAPE_5, SHAPE_68

CHALLENGES = ("blink", "turn_left", "turn_right")
BACKENDS = ("opencv", "dlib68")
# "opencv" uses only commercially usable models (see model_info); a setting may pick "dlib68".
DEFAULT_BACKEND = "opencv"

# --- burst shape ---
MIN_FRAMES = 8  # below this a 1-2 frame blink cannot have an "open before and after"
MIN_SPAN_S = 1.0  # with timestamps: a burst shorter than this cannot hold a challenge
MAX_FRAMES = 60  # 4 s at 15 fps; more are subsampled evenly: bounds a request's CPU cost
MAX_SIDE = 640  # larger frames are downscaled first (HOG runs at 320 px anyway)

# --- face presence ---
MAX_NO_FACE_FRACTION = 0.25  # HOG can lose a face in a blurred or strongly turned frame
COMPARABLE_FACE_RATIO = 0.6  # a 2nd face this wide (vs the largest) is a 2nd person, not noise
MAX_MULTI_FACE_FRAMES = 1  # one spurious HOG hit is tolerated, a second person is not

# --- blink: openness (EAR or the gradient ratio) relative to the burst's median ---
BLINK_CLOSED = {"dlib68": 0.75, "opencv": 0.70}  # a frame below this x median is "shut"
BLINK_DEPTH = 0.25  # ... and <= (1 - this) x the most open frame on each side (local level)
BLINK_WINDOW_S = 0.5  # open frames this close on both sides: shut for < ~0.9 s
BLINK_MAX_MOTION = 0.5  # eye-centre move to a neighbour frame, eye-distance units (blur)

# --- turn: yaw (nose offset from the eye midpoint in eye-distance units, + = image right) ---
TURN_MIN_OFFSET = 0.20  # from the burst's starting pose: about 20 degrees of head rotation
TURN_MIN_ABS = 0.12  # and clearly off-frontal, so "turned at start, back to frontal" fails
TURN_BASELINE_FRAMES = 3

# --- static: the frames are one still (an injected image or a frozen stream) ---
STATIC_ROI = 64  # face region compared at a fixed scale
STATIC_MAX_PIXEL_DIFF = 0.6  # 90th pct of consecutive mean |diff| (grey levels) below this ...
STATIC_MAX_JITTER = 0.004  # ... or 90th pct landmark motion (eye-distance units) below this

# --- same person ---
# Two frames are the same person when they would match in 1:1 verification: the engine's
# calibrated threshold (1% FMR, ~0.91 cosine). Measured: one person within a 3 s burst >= 0.96,
# different dev-set people 0.78-0.87. The constant is only a fallback if calibration is missing.
SAME_PERSON_MIN_COS = 0.91
EMBED_FRAMES = 3  # first, event (or middle), last; plus both sides of the largest jump
JUMP_MAX = 0.35  # face-centre move between consecutive frames, in face widths: a cut?

# --- opencv eye patch (geometry from the 5-point eye corners) ---
EYE_PATCH = (48, 32)  # width, height of the aligned eye patch
EYE_PATCH_SPAN = 1.6  # patch width in eye-corner distances
EYE_CORE = (slice(6, 26), slice(6, 42))  # rows, cols measured (the eye, not brows/cheek)


@dataclass
class LivenessResult:
    passed: bool
    reason: str  # "ok" or the failing check's code
    details: dict[str, Any] = field(default_factory=dict)
    backend: str = DEFAULT_BACKEND
    ms: float = 0.0
    # One perceptual hash per frame with a face (engine.replay), once faces were found (also
    # on a failure: a replay is a replay first), for the caller's near-duplicate memory. Not
    # part of as_dict (not a log or API value).
    signature: np.ndarray | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "details": self.details,
            "backend": self.backend,
            "ms": self.ms,
        }


@dataclass
class _Frame:
    rgb: np.ndarray
    faces: int
    box: FaceBox | None = None
    points5: np.ndarray | None = None
    yaw: float | None = None
    openness: float | None = None


def model_info() -> dict[str, dict[str, Any]]:
    """Models used by each backend and their licences (for the deployment's licence review)."""
    common = [
        {
            "name": "dlib HOG frontal face detector",
            "licence": "part of dlib (Boost Software License 1.0)",
        },
        {
            "name": SHAPE_5,
            "licence": "public domain (dlib-models README); trained on Davis King's own "
            "annotations of public images",
        },
        {
            "name": "dlib_face_recognition_resnet_model_v1.dat (same-person check)",
            "licence": "public domain (dlib-models README); training data FaceScrub, VGG and "
            "web images: include in the deployment's legal review",
        },
        {"name": "OpenCV (Sobel, resize, warp; no model file)", "licence": "Apache-2.0"},
    ]
    return {
        "opencv": {
            "models": [*common],
            "measures": "eye openness = horizontal/vertical gradient ratio of the eye patch "
            "located by the 5-point eye corners (OpenCV Sobel); yaw from the 5 points",
            "commercial_use": True,
        },
        "dlib68": {
            "models": [
                *common,
                {
                    "name": SHAPE_68,
                    "licence": "trained on iBUG 300-W, whose licence excludes commercial use",
                },
            ],
            "measures": "eye aspect ratio (Soukupova & Cech) from the 68 points; yaw from "
            "the 5 points",
            "commercial_use": False,
        },
    }


def warm_up(backend: str | None = None) -> None:
    """Load the backend's models now (process start, worker boot) instead of in the first
    request: the 68-point model alone takes seconds to read."""
    weights.detector()
    weights.shape_predictor_5()
    weights.face_descriptor()
    if (backend or DEFAULT_BACKEND) == "dlib68":
        weights.shape_predictor_68()


# ---------------------------------------------------------------- per-frame measures


def _eye_corners(points5: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Both eyes as (left corner, right corner) in image coordinates, left eye first."""
    eyes = [points5[0:2], points5[2:4]]
    eyes.sort(key=lambda e: float(e[:, 0].mean()))
    return tuple((e[np.argmin(e[:, 0])], e[np.argmax(e[:, 0])]) for e in eyes)


def yaw_proxy(points5: np.ndarray) -> float:
    """Nose offset from the eye midpoint along the eye line, in eye-distance units.
    0 = frontal, + = nose towards the image's right (the user turned to their own left)."""
    (l0, l1), (r0, r1) = _eye_corners(points5)
    left, right = (l0 + l1) / 2, (r0 + r1) / 2
    axis = right - left
    iod = float(np.linalg.norm(axis))
    if iod < 1e-6:
        return 0.0
    return float((points5[4] - (left + right) / 2) @ axis / iod**2)


def _eye_patch(grey: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """The eye between corners c0 (left) and c1 (right), rotated level, at a fixed size."""
    pw, ph = EYE_PATCH
    d = c1 - c0
    length = max(float(np.linalg.norm(d)), 1.0)
    centre = (c0 + c1) / 2
    m = cv2.getRotationMatrix2D(
        (float(centre[0]), float(centre[1])),
        float(np.degrees(np.arctan2(d[1], d[0]))),
        pw / (length * EYE_PATCH_SPAN),
    )
    m[0, 2] += pw / 2 - centre[0]
    m[1, 2] += ph / 2 - centre[1]
    return cv2.warpAffine(
        grey, m, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def eye_openness_opencv(grey: np.ndarray, points5: np.ndarray) -> float:
    """Mean over both eyes of sum|d/dx| / sum|d/dy| on the eye patch.

    An open eye shows the iris and sclera, whose edges are mostly vertical (high d/dx); a shut
    eye is one horizontal lid line (high d/dy). Measured on the dev clips: ~0.6-0.9 open and
    ~0.2-0.4 shut, glasses included; only its ratio to the burst's median is used."""
    values = []
    for c0, c1 in _eye_corners(points5):
        core = _eye_patch(grey, c0, c1).astype(np.float32)[EYE_CORE]
        gx = float(np.abs(cv2.Sobel(core, cv2.CV_32F, 1, 0))[2:-2, 2:-2].sum())
        gy = float(np.abs(cv2.Sobel(core, cv2.CV_32F, 0, 1))[2:-2, 2:-2].sum())
        values.append(gx / (gy + 1e-3))
    return float(np.mean(values))


def eye_aspect_ratio(points68: np.ndarray) -> float:
    """Soukupova & Cech EAR over points 36-41 and 42-47, mean of both eyes."""

    def ear(p: np.ndarray) -> float:
        vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
        return float(vertical / (2 * max(float(np.linalg.norm(p[0] - p[3])), 1e-6)))

    return (ear(points68[36:42]) + ear(points68[42:48])) / 2


def _analyse(rgb: np.ndarray, backend: str) -> _Frame:
    faces = detect_faces(rgb)
    if not faces:
        return _Frame(rgb, 0)
    largest = faces[0]
    comparable = sum(f.width >= COMPARABLE_FACE_RATIO * largest.width for f in faces)
    points5 = shape_points(landmarks5(rgb, largest))
    if backend == "dlib68":
        openness = eye_aspect_ratio(landmarks68(rgb, largest))
    else:
        openness = eye_openness_opencv(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), points5)
    return _Frame(rgb, comparable, largest, points5, yaw_proxy(points5), openness)


# ---------------------------------------------------------------- burst-level checks


def _static_metrics(frames: list[_Frame]) -> dict[str, float]:
    """Consecutive-frame change on a fixed face region and of the landmarks (90th pct: a camera
    that repeats frames in low light must not look static, so no mean/min)."""
    boxes = np.array([[f.box.left, f.box.top, f.box.right, f.box.bottom] for f in frames])
    x0, y0, x1, y1 = np.median(boxes, axis=0).astype(int)
    h, w = frames[0].rgb.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 8 or y1 - y0 < 8:  # degenerate box at the border: compare whole frames
        x0, y0, x1, y1 = 0, 0, w, h
    crops = [
        cv2.resize(
            cv2.cvtColor(f.rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY),
            (STATIC_ROI, STATIC_ROI),
            interpolation=cv2.INTER_AREA,
        ).astype(np.float32)
        for f in frames
        if f.rgb.shape[:2] == (h, w)
    ]
    pixel = [float(np.abs(a - b).mean()) for a, b in zip(crops, crops[1:], strict=False)]
    jitter = []
    for a, b in zip(frames, frames[1:], strict=False):
        (l0, l1), (r0, r1) = _eye_corners(a.points5)
        iod = max(float(np.linalg.norm((r0 + r1) / 2 - (l0 + l1) / 2)), 1.0)
        jitter.append(float(np.linalg.norm(a.points5 - b.points5, axis=1).max()) / iod)
    return {
        "pixel_diff_p90": round(float(np.percentile(pixel, 90)) if pixel else 0.0, 3),
        "landmark_jitter_p90": round(float(np.percentile(jitter, 90)) if jitter else 0.0, 4),
    }


def detect_blink(
    openness: Sequence[float | None],
    times: Sequence[float],
    backend: str,
    motion: Sequence[float | None] | None = None,
) -> dict[str, Any]:
    """A shut frame (openness < CLOSED x the burst median) with clearly more open frames both
    before and after it within BLINK_WINDOW_S: it is at least BLINK_DEPTH below the lower of
    the two sides' most open frames. The local sides, not the median, decide "open again":
    gaze, head pose and lighting drift the measure within a burst (person_03: +20% in 3 s)."""
    valid = [(i, v) for i, v in enumerate(openness) if v is not None]
    if len(valid) < 3:
        return {"done": False}
    baseline = statistics.median(v for _, v in valid)
    closed = BLINK_CLOSED[backend] * baseline
    info: dict[str, Any] = {
        "done": False,
        "baseline": round(baseline, 4),
        "min_ratio": round(min(v for _, v in valid) / baseline, 3),
        "depth": 0.0,
    }
    for k, (i, v) in enumerate(valid):
        if v >= closed:
            continue
        if motion is not None and (motion[i] or 0.0) > BLINK_MAX_MOTION:
            continue  # motion blur also erases the iris edges: not evidence of a blink
        t = times[i]
        pre = [u for j, u in valid[:k] if t - times[j] <= BLINK_WINDOW_S]
        post = [u for j, u in valid[k + 1 :] if times[j] - t <= BLINK_WINDOW_S]
        if not pre or not post:
            continue  # a dip at either end of the burst may be half a blink
        depth = 1.0 - v / max(min(max(pre), max(post)), 1e-9)
        if depth >= BLINK_DEPTH:  # the first blink: its frame goes to the same-person check
            info.update(done=True, depth=round(depth, 3), frame=i, t=round(t - times[0], 3))
            return info
        info["depth"] = round(max(info["depth"], depth), 3)  # deepest miss, for diagnosis
    return info


def detect_turn(yaws: Sequence[float | None], direction: str) -> dict[str, Any]:
    """Yaw reaches TURN_MIN_OFFSET past the starting pose, in the asked direction, and ends up
    clearly off-frontal on that side (a head already turned that comes back does not count)."""
    valid = [(i, y) for i, y in enumerate(yaws) if y is not None]
    if len(valid) < TURN_BASELINE_FRAMES + 1:
        return {"done": False}
    sign = 1.0 if direction == "turn_left" else -1.0  # user's left = nose to image right
    start = statistics.median(y for _, y in valid[:TURN_BASELINE_FRAMES])
    peak_i, peak = max(valid, key=lambda iy: sign * iy[1])
    offset = sign * (peak - start)
    return {
        "done": bool(offset >= TURN_MIN_OFFSET and sign * peak >= TURN_MIN_ABS),
        "start_yaw": round(start, 3),
        "peak_yaw": round(peak, 3),
        "offset": round(offset, 3),
        "frame": peak_i,
    }


def _eye_motion(frames: list[_Frame]) -> list[float]:
    """Per frame: the larger eye-centre displacement to its neighbours, in eye distances."""
    centres, iods = [], []
    for f in frames:
        (l0, l1), (r0, r1) = _eye_corners(f.points5)
        left, right = (l0 + l1) / 2, (r0 + r1) / 2
        centres.append((left + right) / 2)
        iods.append(max(float(np.linalg.norm(right - left)), 1.0))
    step = [float(np.linalg.norm(b - a)) for a, b in zip(centres, centres[1:], strict=False)]
    return [
        max(step[i - 1] if i > 0 else 0.0, step[i] if i < len(step) else 0.0) / iods[i]
        for i in range(len(frames))
    ]


def same_person_threshold() -> float:
    try:
        from .matching import default_calibration

        return float(default_calibration().verify_threshold())
    except Exception:  # no/old calibration file: the measured fallback still separates people
        return SAME_PERSON_MIN_COS


def _embed_frame(f: _Frame) -> np.ndarray:
    from .pipeline import embed, face_chip  # local: keeps module import light for the CLI

    chip = face_chip(f.rgb, landmarks5(f.rgb, f.box))
    return embed(chip, full=False)[0]


def _same_person(frames: list[_Frame], event_frames: list[int]) -> dict[str, Any]:
    """Embed a few frames and compare all pairs. Besides first/last and the challenge's own
    frame(s), the two frames around the biggest face jump (a cut in a spliced burst)."""
    n = len(frames)
    picks = {0, n - 1, *event_frames}
    if len(picks) < EMBED_FRAMES:
        picks.add(n // 2)
    jumps = [
        np.hypot(b.box.center[0] - a.box.center[0], b.box.center[1] - a.box.center[1])
        / max(a.box.width, 1)
        for a, b in zip(frames, frames[1:], strict=False)
    ]
    if jumps and max(jumps) > JUMP_MAX:
        j = int(np.argmax(jumps))
        picks |= {j, j + 1}
    picks_sorted = sorted(picks)
    embs = np.stack([_embed_frame(frames[i]) for i in picks_sorted])
    sims = embs @ embs.T
    return {
        "min_cosine": round(float(sims.min()), 4),
        "threshold": round(same_person_threshold(), 4),
        "embedded_frames": picks_sorted,
        "max_jump": round(float(max(jumps)) if jumps else 0.0, 3),
    }


# ---------------------------------------------------------------- the decision


def check_liveness(
    frames: Sequence[np.ndarray],
    challenges: Sequence[str],
    *,
    backend: str | None = None,
    timestamps: Sequence[float] | None = None,
) -> LivenessResult:
    """Decide whether ``frames`` (RGB uint8, in capture order) show one live person doing every
    action in ``challenges`` (any order). ``timestamps`` are seconds (any origin); without
    them the frames are taken as evenly spaced at 10 fps (only durations depend on it).
    Malformed arguments (unknown backend/challenge, bad timestamps) raise ValueError: client
    data among them should be answered with a 400 by the caller."""
    t0 = time.perf_counter()
    backend = backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"unknown liveness backend {backend!r}; choose from {BACKENDS}")
    if not challenges or any(c not in CHALLENGES for c in challenges):
        raise ValueError(f"challenges must be a non-empty subset of {CHALLENGES}")
    if timestamps is not None and len(timestamps) != len(frames):
        raise ValueError("timestamps and frames differ in length")
    if timestamps is None:
        times = [i / 10.0 for i in range(len(frames))]
    else:
        times = [float(t) for t in timestamps]
        if any(b < a for a, b in zip(times, times[1:], strict=False)) or not all(
            np.isfinite(times)
        ):
            raise ValueError("timestamps must be finite and non-decreasing")
    details: dict[str, Any] = {"challenges": list(challenges), "frames": len(frames)}

    signature: np.ndarray | None = None

    def result(reason: str) -> LivenessResult:
        ms = round((time.perf_counter() - t0) * 1000, 1)
        return LivenessResult(reason == "ok", reason, details, backend, ms, signature)

    span = times[-1] - times[0] if times else 0.0
    details["span_s"] = round(span, 3)
    if len(frames) < MIN_FRAMES or (timestamps is not None and span < MIN_SPAN_S):
        return result("too_few_frames")
    if len(frames) > MAX_FRAMES:  # evenly subsample: keeps the request cost bounded
        keep = np.linspace(0, len(frames) - 1, MAX_FRAMES).round().astype(int)
        frames, times = [frames[i] for i in keep], [times[i] for i in keep]

    analysed = [_analyse(_bounded(f), backend) for f in frames]
    no_face = sum(f.faces == 0 for f in analysed)
    multi = sum(f.faces > 1 for f in analysed)
    details.update(no_face_frames=no_face, multi_face_frames=multi)
    if multi > MAX_MULTI_FACE_FRAMES:
        return result("multiple_faces")
    if no_face > MAX_NO_FACE_FRACTION * len(analysed):
        return result("no_face")

    with_face = [f for f in analysed if f.box is not None]
    signature = burst_signature(with_face)
    face_times = [times[i] for i, f in enumerate(analysed) if f.box is not None]
    static = _static_metrics(with_face)
    details["static"] = static
    if (
        static["pixel_diff_p90"] < STATIC_MAX_PIXEL_DIFF
        or static["landmark_jitter_p90"] < STATIC_MAX_JITTER
    ):
        return result("static_image")

    # Challenge measures come first (cheap) so the embedding can include the event frames.
    responses: dict[str, dict[str, Any]] = {}
    for c in dict.fromkeys(challenges):
        if c == "blink":
            responses[c] = detect_blink(
                [f.openness for f in with_face], face_times, backend, _eye_motion(with_face)
            )
        else:
            responses[c] = detect_turn([f.yaw for f in with_face], c)
    details["responses"] = responses
    events = [r["frame"] for r in responses.values() if r.get("done") and "frame" in r]

    same = _same_person(with_face, events)
    details["same_person"] = same
    if same["min_cosine"] < same["threshold"]:
        return result("face_changed")
    if not all(r["done"] for r in responses.values()):
        return result("no_challenge_response")
    return result("ok")


def burst_signature(frames: list[_Frame]) -> np.ndarray:
    """The burst's perceptual signature from the landmarks already found (a few ms)."""
    return replay.signature(
        [replay.frame_hash(cv2.cvtColor(f.rgb, cv2.COLOR_RGB2GRAY), f.points5) for f in frames]
    )


def _bounded(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB, at most MAX_SIDE: grey or RGBA input is converted rather than rejected."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    elif rgb.shape[2] == 4:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGBA2RGB)
    h, w = rgb.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return rgb
    s = MAX_SIDE / max(h, w)
    return cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------- evaluation on clips

# What a page sends: CAPTURE_SECONDS at CAPTURE_FPS on the clip's real timeline, downscaled to
# CAPTURE_WIDTH and JPEG-encoded at CAPTURE_JPEG_QUALITY (canvas.toBlob(..., 0.8)).
CAPTURE_SECONDS = 3.0
CAPTURE_FPS = 10.0
CAPTURE_WIDTH = 480
CAPTURE_JPEG_QUALITY = 80


def browser_frame(rgb: np.ndarray, width: int = CAPTURE_WIDTH, quality: int = CAPTURE_JPEG_QUALITY):
    """Downscale and JPEG round-trip a frame as the capture page would."""
    h, w = rgb.shape[:2]
    if w > width:
        rgb = cv2.resize(rgb, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _mjpeg_frames(path: Path) -> list[bytes]:
    """Split a raw MJPEG stream at its JPEG start markers (FFD8FF cannot occur inside
    entropy-coded data: 0xFF bytes there are stuffed)."""
    data = path.read_bytes()
    starts = []
    i = data.find(b"\xff\xd8\xff")
    while i >= 0:
        starts.append(i)
        i = data.find(b"\xff\xd8\xff", i + 3)
    return [data[a:b] for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def read_clip(
    path: Path | str,
    start_s: float = 0.0,
    seconds: float = CAPTURE_SECONDS,
    fps: float = CAPTURE_FPS,
    clip_fps: float | None = None,
) -> tuple[list[np.ndarray], list[float]]:
    """RGB frames nearest to ``start_s + k / fps`` for the capture window, and their times (from
    the window start). mp4 timing comes from the container; a raw .mjpeg has none, so its
    ``clip_fps`` (manifest) is required. Only the frames needed are decoded."""
    path = Path(path)
    targets = [start_s + k / fps for k in range(round(seconds * fps))]
    if path.suffix == ".mjpeg":
        if not clip_fps:
            raise ValueError("a raw MJPEG stream needs clip_fps")
        jpegs = _mjpeg_frames(path)
        idx = [min(round(t * clip_fps), len(jpegs) - 1) for t in targets]
        decoded = {i: cv2.imdecode(np.frombuffer(jpegs[i], np.uint8), 1) for i in set(idx)}
        frames = [cv2.cvtColor(decoded[i], cv2.COLOR_BGR2RGB) for i in idx]
        return frames, [i / clip_fps - start_s for i in idx]
    cap = cv2.VideoCapture(str(path))
    try:
        rate = clip_fps or cap.get(cv2.CAP_PROP_FPS) or 30.0
        idx = [round(t * rate) for t in targets]
        wanted, got, i = set(idx), {}, 0
        while i <= max(idx):
            if not cap.grab():
                break
            if i in wanted:
                ok, bgr = cap.retrieve()
                if ok:
                    got[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            i += 1
    finally:
        cap.release()
    keep = [i for i in idx if i in got]
    return [got[i] for i in keep], [i / rate - start_s for i in keep]


def _stream_decision(frames: list[np.ndarray], times: list[float], challenge: str, backend: str):
    """The streamed decision as a page gets it: chunks of STREAM_CHUNK_S."""
    from .stream import STREAM_CHUNK_S, STREAM_FPS, LivenessStream

    stream = LivenessStream([challenge], backend=backend)
    step = max(1, round(STREAM_CHUNK_S * STREAM_FPS))
    result = None
    for k in range(0, len(frames), step):
        result = stream.add(frames[k : k + step], times[k : k + step])
        if result is not None:
            break
    if result is None:  # the clip ended before the stream's limit: what it would have said
        result = LivenessResult(False, "no_challenge_response", {"mode": "stream"}, backend)
    result.details["decided_after_s"] = round(stream.waited, 3)
    result.details["cpu_ms"] = round(stream.cpu_ms, 1)
    return result


def evaluate_dir(
    directory: Path | str,
    backend: str | None = None,
    *,
    challenge: str = "blink",
    seconds: float = CAPTURE_SECONDS,
    fps: float = CAPTURE_FPS,
    width: int = CAPTURE_WIDTH,
    photo_attacks: int = 4,
    modes: Sequence[str] = ("burst", "stream"),
) -> dict[str, Any]:
    """APCER/BPCER of ``challenge`` on every live/attack clip of a manifest.csv folder, in the
    burst mode (``seconds`` at ``fps``) and the streamed mode (engine.stream, as the pages
    send), plus ``photo_attacks`` hand-held photo attacks (engine.attacks) made from each
    ``still`` of the manifest. An attack accepted in either mode counts against APCER."""
    from .attacks import handheld_photo
    from .stream import STREAM_FPS, STREAM_MAX_S

    directory = Path(directory)
    backend = backend or DEFAULT_BACKEND
    with open(directory / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    warm_up(backend)  # time the decisions, not the one-off model loading
    presentations = []  # (name, role, burst frames/times, stream frames/times)
    for row in rows:
        if row["role"] not in ("live", "attack"):
            continue
        clip_fps = float(row["fps"]) if row.get("fps") else None
        path = directory / row["file"]
        burst = read_clip(path, 0.0, seconds, fps, clip_fps)
        streamed = read_clip(path, 0.0, STREAM_MAX_S + 0.5, STREAM_FPS, clip_fps)
        presentations.append((row["file"], row["role"], burst, streamed))
    for row in rows:
        if row["role"] != "still" or photo_attacks <= 0:
            continue
        still = cv2.cvtColor(cv2.imread(str(directory / row["file"])), cv2.COLOR_BGR2RGB)
        for seed in range(photo_attacks):
            frames, times = handheld_photo(still, seed=seed, seconds=STREAM_MAX_S + 0.5)
            # The same hand (the trajectory depends on the seed only) at the burst's rate.
            burst = handheld_photo(still, seed=seed, seconds=seconds, fps=fps)
            name = f"handheld:{row['file']}:seed{seed}"
            presentations.append((name, "attack", burst, (frames, times)))
    per_clip, cpu_ms = [], {m: [] for m in modes}
    for name, role, burst, streamed in presentations:
        for mode in modes:
            frames, times = burst if mode == "burst" else streamed
            frames = [browser_frame(f, width) for f in frames]
            cpu0 = time.process_time()
            if mode == "burst":
                res = check_liveness(frames, [challenge], backend=backend, timestamps=times)
            else:
                res = _stream_decision(frames, times, challenge, backend)
            cpu_ms[mode].append((time.process_time() - cpu0) * 1000)
            per_clip.append(
                {
                    "file": name,
                    "role": role,
                    "mode": mode,
                    "decision": "accept" if res.passed else "reject",
                    "reason": res.reason,
                    "ms": res.ms,
                    "details": res.details,
                }
            )

    def rate(role: str, wrong: str, mode: str | None = None) -> float | None:
        chosen = [c for c in per_clip if c["role"] == role and mode in (None, c["mode"])]
        return sum(c["decision"] == wrong for c in chosen) / len(chosen) if chosen else None

    lives = {c["file"] for c in per_clip if c["role"] == "live"}
    attacks = {c["file"] for c in per_clip if c["role"] == "attack"}
    return {
        "backend": backend,
        "challenge": challenge,
        "capture": {
            "seconds": seconds,
            "fps": fps,
            "width": width,
            "jpeg_quality": CAPTURE_JPEG_QUALITY,
            "stream_fps": STREAM_FPS,
        },
        "APCER": rate("attack", "accept"),
        "BPCER": rate("live", "reject"),
        "by_mode": {
            m: {
                "APCER": rate("attack", "accept", m),
                "BPCER": rate("live", "reject", m),
                "cpu_ms_per_decision": round(float(np.mean(cpu_ms[m])), 1) if cpu_ms[m] else None,
            }
            for m in modes
        },
        "attack_clips": len(attacks),
        "photo_attacks": sum(a.startswith("handheld:") for a in attacks),
        "live_clips": len(lives),
        "ms_per_decision": round(float(np.mean([c["ms"] for c in per_clip])), 1)
        if per_clip
        else None,
        "cpu_ms_per_decision": round(float(np.mean(cpu_ms[modes[0]])), 1)
        if cpu_ms.get(modes[0])
        else None,
        "per_clip": per_clip,
        "models": model_info()[backend],
    }
