"""Streamed liveness: frames arrive in short chunks and the decision comes as soon as the
evidence suffices, instead of after a fixed burst.

Plain Python (no Django). ``LivenessStream`` holds what is kept of each frame (landmarks, eye
openness, yaw, a perceptual hash and a few descriptors: no pixels except the previous frame's
64x64 grey crop for the static check) and is small enough to live in a shared cache between
the chunks of one nonce. ``add(frames, times)`` analyses new frames and returns a
``LivenessResult`` once decided, else ``None``.

The rules are those of the burst check (``liveness.check_liveness``), applied as the frames
come, with the same floors:
- a refusal from passive evidence as soon as it is clear: a second face, a static picture
  (after ``MIN_FRAMES`` face frames), another person (any two descriptors that differ);
- an accept only when the asked action was seen **and** the stream holds at least
  ``MIN_FRAMES`` face frames over ``MIN_SPAN_S`` seconds, is not static, and the
  first frame, the action's frames and the last frame are one person. Passive evidence never
  accepts;
- no action within ``STREAM_MAX_S``: ``no_challenge_response``. ``prompt`` turns true after
  ``STREAM_PROMPT_S`` without the action (the page asks again, in big letters).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from . import replay
from .detection import FaceBox, detect_faces, landmarks5, shape_points
from .liveness import (
    BLINK_CLOSED,
    BLINK_WINDOW_S,
    COMPARABLE_FACE_RATIO,
    DEFAULT_BACKEND,
    JUMP_MAX,
    MAX_MULTI_FACE_FRAMES,
    MAX_NO_FACE_FRACTION,
    MIN_FRAMES,
    MIN_SPAN_S,
    STATIC_MAX_JITTER,
    STATIC_MAX_PIXEL_DIFF,
    STATIC_ROI,
    TURN_MIN_OFFSET,
    LivenessResult,
    _bounded,
    _eye_corners,
    detect_blink,
    detect_turn,
    eye_aspect_ratio,
    eye_openness_opencv,
    same_person_threshold,
    yaw_proxy,
)
from .quality import assess_quality

STREAM_FPS = 20.0  # the page's capture rate: a 1-frame blink of a 15 fps clip lasts 67 ms, and a
# page that is late by a few ms at 15 fps (67 ms apart) missed it in benchmarks/kiosk.py
# The page sends what it filmed every this often. Each chunk is a request (~20 ms of server CPU
# around the engine's work): 0.4 s instead of 0.25 s sends ~2 fewer per clock-in, for ~0.1 s
# more until the greeting on average (benchmarks/kiosk.py, docs/attendance.md).
STREAM_CHUNK_S = 0.4
STREAM_PROMPT_S = 1.5  # no action yet after this: the page shows "please blink now"
STREAM_MAX_S = 6.0  # no action after this: no_challenge_response
STREAM_MAX_FRAMES = 120  # 8 s at 15 fps: bounds the state and the CPU of one nonce
MAX_EMBEDDED = 4  # descriptors per stream: first, action candidates, jumps, last
# Between two full detections (HOG over the frame: ~5 ms of the ~8 ms a frame costs), the face
# is tracked: the 5 points are found in the previous frame's box. Every DETECT_EVERY-th frame,
# and any frame whose points moved or scaled too much, is detected in full (second faces, a face
# that left), so a second face is seen within DETECT_EVERY frames.
DETECT_EVERY = 6
TRACK_MAX_MOVE = 0.15  # eye-midpoint move to the previous frame, in eye distances
TRACK_MAX_SCALE = 0.1  # relative change of the eye distance to the previous frame


@dataclass
class StreamFrame:
    t: float
    faces: int
    box: tuple[int, int, int, int] | None = None
    points5: np.ndarray | None = None
    yaw: float | None = None
    openness: float | None = None
    signature: np.ndarray | None = None  # engine.replay frame hash
    detected: bool = True  # a full detection (False: tracked from the previous frame)
    centre: np.ndarray | None = None  # eye midpoint
    iod: float = 1.0  # eye distance (pixels)
    jitter: float | None = None  # largest landmark move from the previous face frame / iod


@dataclass
class IdentityProbe:
    """The first good frame's full embedding (all views), for 1:N / 1:1 while liveness runs."""

    embedding: np.ndarray
    quality: Any
    box: FaceBox
    frame: int


@dataclass
class LivenessStream:
    challenges: list[str]
    backend: str = DEFAULT_BACKEND
    frames: list[StreamFrame] = field(default_factory=list)
    roi: tuple[int, int, int, int] | None = None
    last_crop: np.ndarray | None = field(default=None, repr=False)
    pixel_diffs: list[float] = field(default_factory=list)
    embeddings: dict[int, np.ndarray] = field(default_factory=dict)
    identity: IdentityProbe | None = None
    result: LivenessResult | None = None
    _last_t: float | None = None
    cpu_ms: float = 0.0
    responses: dict[str, Any] = field(default_factory=dict)
    # Frames before the first face are not part of the evidence (the page may start filming
    # as the person steps up); only how long they lasted counts, against STREAM_MAX_S.
    waiting_since: float | None = None
    waiting_frames: int = 0

    # ------------------------------------------------------------ public

    @property
    def span(self) -> float:
        times = [f.t for f in self.frames]
        return times[-1] - times[0] if times else 0.0

    @property
    def waited(self) -> float:
        """Seconds from the first frame received (with or without a face) to the last."""
        if self._last_t is None or self.waiting_since is None:
            return 0.0
        return self._last_t - self.waiting_since

    @property
    def prompt(self) -> bool:
        """True when the page should ask for the action again (in big letters)."""
        return self.result is None and bool(self.frames) and self.span >= STREAM_PROMPT_S

    def add(self, frames: list[np.ndarray], times: list[float]) -> LivenessResult | None:
        """Analyse new frames (RGB, in order, times in seconds on the stream's clock) and decide
        if the evidence suffices. Malformed times raise ValueError."""
        if self.result is not None:
            return self.result
        if len(times) != len(frames):
            raise ValueError("timestamps and frames differ in length")
        last = self._last_t if self._last_t is not None else -np.inf
        for t in times:
            if not np.isfinite(t) or t < last:
                raise ValueError("timestamps must be finite and non-decreasing")
            last = t
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        # This chunk's pixels, for descriptors the decision may need; never kept in the state.
        self._pixels: dict[int, tuple[np.ndarray, Any]] = {}
        try:
            for rgb, t in zip(frames, times, strict=True):
                if len(self.frames) >= STREAM_MAX_FRAMES:
                    break
                self._add_frame(_bounded(rgb), float(t))
            self.result = self._decide()
        finally:
            del self._pixels
            self.cpu_ms += (time.process_time() - cpu0) * 1000
        if self.result is not None:
            self.result.ms = round((time.perf_counter() - t0) * 1000, 1)
            self.result.details["cpu_ms"] = round(self.cpu_ms, 1)
        return self.result

    def signature(self) -> np.ndarray | None:
        sigs = [f.signature for f in self.frames if f.signature is not None]
        return np.stack(sigs).astype(np.float32) if sigs else None

    # ------------------------------------------------------------ per frame

    def _detect(self, rgb: np.ndarray):
        """(faces found, comparable count, largest box, shape, points, detected) for a frame:
        tracked from the previous frame when it can be, else a full HOG pass."""
        prev = self.frames[-1] if self.frames else None
        since = next(
            (k for k, f in enumerate(reversed(self.frames)) if f.detected), len(self.frames)
        )
        if prev is not None and prev.box is not None and since < DETECT_EVERY - 1:
            box = FaceBox(*prev.box)
            shape = landmarks5(rgb, box)
            points = shape_points(shape)
            move, scale = _point_change(prev.points5, points)
            if move <= TRACK_MAX_MOVE and scale <= TRACK_MAX_SCALE:
                return 1, prev.faces, _follow(box, prev.points5, points), shape, points, False
        faces = detect_faces(rgb)
        if not faces:
            return 0, 0, None, None, None, True
        largest = faces[0]
        comparable = sum(f.width >= COMPARABLE_FACE_RATIO * largest.width for f in faces)
        shape = landmarks5(rgb, largest)
        return len(faces), comparable, largest, shape, shape_points(shape), True

    def _add_frame(self, rgb: np.ndarray, t: float) -> None:
        if self.waiting_since is None:
            self.waiting_since = t
        self._last_t = t
        found, comparable, largest, shape, points, detected = self._detect(rgb)
        if not found:
            if not self.frames:  # nobody yet: not evidence, only time
                self.waiting_frames += 1
                return
            self.frames.append(StreamFrame(t, 0, detected=True))
            return
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if self.backend == "dlib68":
            from .detection import landmarks68

            openness = eye_aspect_ratio(landmarks68(rgb, largest))
        else:
            openness = eye_openness_opencv(grey, points)
        frame = StreamFrame(
            t,
            comparable,
            (largest.left, largest.top, largest.right, largest.bottom),
            points,
            yaw_proxy(points),
            openness,
            _frame_hash(grey, points),
            detected,
            *_centre_iod(points),
        )
        previous = next((f for f in reversed(self.frames) if f.box is not None), None)
        if previous is not None:
            moved = np.linalg.norm(previous.points5 - points, axis=1).max()
            frame.jitter = float(moved) / previous.iod
        index = len(self.frames)
        self.frames.append(frame)
        self._pixels[index] = (rgb, shape)
        self._static_step(grey)
        if self.identity is None:
            self._identify(rgb, largest, shape, points, found, index)
        elif self._worth_embedding(index):
            self._embed(rgb, shape, index)

    def _static_step(self, grey: np.ndarray) -> None:
        box = self.frames[-1].box
        if self.roi is None:
            self.roi = box
        h, w = grey.shape
        x0, y0, x1, y1 = self.roi
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            x0, y0, x1, y1 = 0, 0, w, h
        crop = cv2.resize(
            grey[y0:y1, x0:x1], (STATIC_ROI, STATIC_ROI), interpolation=cv2.INTER_AREA
        ).astype(np.float32)
        if self.last_crop is not None and self.last_crop.shape == crop.shape:
            self.pixel_diffs.append(float(np.abs(crop - self.last_crop).mean()))
        self.last_crop = crop

    def _identify(self, rgb, box: FaceBox, shape, points, face_count: int, index: int) -> None:
        """The first frame of good quality: its full embedding (all views) identifies while the
        liveness evidence accumulates, and its plain view is the same-person reference."""
        from .pipeline import _descriptors, _normalise, _views, face_chips

        quality = assess_quality(rgb, box, points, face_count)
        if quality.issues():
            return
        # The plain chip and its mirror (one batch): the probe that verify/identify would
        # refine first; the plain view is also the same-person reference.
        descriptors = _descriptors(_views(face_chips(rgb, shape)[:1]))
        self.embeddings[index] = descriptors[0]
        self.identity = IdentityProbe(_normalise(descriptors.sum(axis=0)), quality, box, index)

    def _worth_embedding(self, index: int) -> bool:
        """An action candidate (eyes shut against the stream so far; a new yaw peak past the
        turn offset) or the far side of a jump: the frames the same-person check needs."""
        if len(self.embeddings) >= MAX_EMBEDDED - 1:  # keep one for the last frame
            return False
        faced = [f for f in self.frames if f.box is not None]
        f = self.frames[index]
        if len(faced) >= 2:
            a, b = faced[-2].box, faced[-1].box
            width = max(a[2] - a[0], 1)
            jump = np.hypot((b[0] + b[2] - a[0] - a[2]) / 2, (b[1] + b[3] - a[1] - a[3]) / 2)
            if jump / width > JUMP_MAX:
                return True
        if "blink" in self.challenges and len(faced) >= 3:
            # The first shut frame of a dip (the one detect_blink reports), not every one.
            median = statistics.median(x.openness for x in faced)
            shut = BLINK_CLOSED[self.backend] * median
            if f.openness < shut and faced[-2].openness >= shut:
                return True
        turns = [c for c in self.challenges if c.startswith("turn")]
        if turns and len(faced) >= 4:
            start = statistics.median(x.yaw for x in faced[:3])
            for c in turns:
                sign = 1.0 if c == "turn_left" else -1.0
                peak = max(sign * x.yaw for x in faced[:-1])
                if sign * f.yaw > peak and sign * (f.yaw - start) >= TURN_MIN_OFFSET:
                    return True
        return False

    def _embed(self, rgb: np.ndarray, shape, index: int) -> None:
        from .pipeline import _descriptor, face_chip

        self.embeddings[index] = _descriptor(face_chip(rgb, shape))

    # ------------------------------------------------------------ decision

    def _refuse(self, reason: str, details: dict) -> LivenessResult:
        return LivenessResult(False, reason, details, self.backend, 0.0, self.signature())

    def _decide(self) -> LivenessResult | None:
        n = len(self.frames)
        faced_idx = [i for i, f in enumerate(self.frames) if f.box is not None]
        faced = [self.frames[i] for i in faced_idx]
        multi = sum(f.faces > 1 for f in self.frames)
        no_face = n - len(faced)
        details: dict[str, Any] = {
            "challenges": list(self.challenges),
            "frames": n,
            "span_s": round(self.span, 3),
            "no_face_frames": no_face,
            "multi_face_frames": multi,
            "mode": "stream",
            "waiting_frames": self.waiting_frames,
        }
        if multi > MAX_MULTI_FACE_FRAMES:
            return self._refuse("multiple_faces", details)
        if n >= MIN_FRAMES and no_face > MAX_NO_FACE_FRACTION * n:
            return self._refuse("no_face", details)
        enough = len(faced) >= MIN_FRAMES and self.span >= MIN_SPAN_S
        if len(faced) >= MIN_FRAMES:
            static = self._static_metrics(faced)
            details["static"] = static
            if (
                static["pixel_diff_p90"] < STATIC_MAX_PIXEL_DIFF
                or static["landmark_jitter_p90"] < STATIC_MAX_JITTER
            ):
                return self._refuse("static_image", details)

        responses: dict[str, dict[str, Any]] = {}
        times = [f.t for f in faced]
        for c in dict.fromkeys(self.challenges):
            if c == "blink":
                responses[c] = detect_blink(
                    [f.openness for f in faced], times, self.backend, _motion(faced)
                )
            else:
                responses[c] = detect_turn([f.yaw for f in faced], c)
        details["responses"] = responses
        done = all(r.get("done") for r in responses.values())
        if done and enough and self.identity is not None:
            # The action's own frames and the last one must be among the compared descriptors.
            events = [faced_idx[r["frame"]] for r in responses.values() if "frame" in r]
            done = all(self._ensure_embedded(i, nearby=True) for i in events)
            done = done and self._ensure_embedded(faced_idx[-1], nearby=False)
        # Same person whenever two descriptors exist: a face swap refuses early too.
        same = self._same_person()
        details["same_person"] = same
        if same and same["min_cosine"] < same["threshold"]:
            return self._refuse("face_changed", details)
        if done and enough and self.identity is not None and same is not None:
            return LivenessResult(True, "ok", details, self.backend, 0.0, self.signature())
        if self.waited >= STREAM_MAX_S or n >= STREAM_MAX_FRAMES:
            if len(faced) < MIN_FRAMES:
                return self._refuse("no_face", details)
            return self._refuse("no_challenge_response", details)
        self.responses = responses
        return None

    def _static_metrics(self, faced: list[StreamFrame]) -> dict[str, float]:
        jitter = [f.jitter for f in faced[1:] if f.jitter is not None]
        pixel = self.pixel_diffs
        return {
            "pixel_diff_p90": round(float(np.percentile(pixel, 90)) if pixel else 0.0, 3),
            "landmark_jitter_p90": round(float(np.percentile(jitter, 90)) if jitter else 0.0, 4),
        }

    def _ensure_embedded(self, index: int, *, nearby: bool) -> bool:
        """A descriptor of frame ``index``: computed now if its pixels are in this chunk; an
        action frame of an earlier chunk may use a candidate embedded then within the blink
        window (the frames around a blink are the same moment)."""
        if index in self.embeddings:
            return True
        if index in self._pixels:
            rgb, shape = self._pixels[index]
            self._embed(rgb, shape, index)
            return True
        if nearby:
            t = self.frames[index].t
            return any(abs(self.frames[i].t - t) <= BLINK_WINDOW_S for i in self.embeddings)
        return False

    def _same_person(self) -> dict[str, Any] | None:
        """Every pair of the descriptors computed so far (first good frame, action candidates,
        both sides of a jump, the last frame) must match at the 1:1 threshold."""
        if len(self.embeddings) < 2:
            return None
        embs = np.stack(list(self.embeddings.values()))
        sims = embs @ embs.T
        return {
            "min_cosine": round(float(sims.min()), 4),
            "threshold": round(same_person_threshold(), 4),
            "embedded_frames": sorted(self.embeddings),
        }


def _frame_hash(grey: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``replay.frame_hash`` of the face's surroundings only: the hash blurs before it reduces,
    and blurring the whole frame cost more than the rest of the hash. The crop is the chip's
    own source region (its alignment inverted) plus the blur's support, so the hash is the same
    as from the whole frame."""
    m, _ = cv2.estimateAffinePartial2D(np.float32(points), replay.TEMPLATE_5 * replay.CHIP)
    if m is None:
        return replay.frame_hash(grey, points)
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    inverse = cv2.invertAffineTransform(m)
    corners = np.float32([[0, 0], [replay.CHIP, 0], [0, replay.CHIP], [replay.CHIP, replay.CHIP]])
    source = corners @ inverse[:, :2].T + inverse[:, 2]
    pad = int(np.ceil(4 * 0.5 / max(scale, 1e-3))) + 4  # the blur's kernel radius and then some
    h, w = grey.shape
    x0, y0 = (np.floor(source.min(axis=0)) - pad).astype(int)
    x1, y1 = (np.ceil(source.max(axis=0)) + pad).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return replay.frame_hash(grey, points)
    return replay.frame_hash(grey[y0:y1, x0:x1], points - np.float32([x0, y0]))


def _centre_iod(points: np.ndarray) -> tuple[np.ndarray, float]:
    (l0, l1), (r0, r1) = _eye_corners(points)
    left, right = (l0 + l1) / 2, (r0 + r1) / 2
    return (left + right) / 2, max(float(np.linalg.norm(right - left)), 1.0)


def _point_change(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Eye-midpoint move (eye distances) and relative eye-distance change from a to b."""
    ca, ia = _centre_iod(a)
    cb, ib = _centre_iod(b)
    return float(np.linalg.norm(cb - ca)) / ia, abs(ib / ia - 1.0)


def _follow(box: FaceBox, before: np.ndarray, after: np.ndarray) -> FaceBox:
    """The box moved with the points' centroid (the scale is checked to be nearly equal)."""
    dx, dy = (after.mean(axis=0) - before.mean(axis=0)).round().astype(int)
    return FaceBox(box.left + dx, box.top + dy, box.right + dx, box.bottom + dy, box.score)


def _motion(frames: list[StreamFrame]) -> list[float]:
    centres = [f.centre for f in frames]
    iods = [f.iod for f in frames]
    step = [float(np.linalg.norm(b - a)) for a, b in zip(centres, centres[1:], strict=False)]
    return [
        max(step[i - 1] if i > 0 else 0.0, step[i] if i < len(step) else 0.0) / iods[i]
        for i in range(len(frames))
    ]
