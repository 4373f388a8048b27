"""Face detection (dlib HOG) and 5-point landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from . import weights

# HOG finds faces >= ~80 px. Measured on 640x480 frames: 31 ms at full size, 7 ms at 320 px
# (faces >= ~160 px in the frame, i.e. a kiosk user at arm's length). Bigger frames are
# downscaled to this size for the fast path; the enrolment pass looks at full resolution.
DETECT_MAX_SIDE = 320
UPSAMPLE_MAX_SIDE = 1600  # full-res second pass; upsample only small images (LFW is 250 px)
# Last resort at enrolment: the CNN detector finds the turned/occluded faces HOG misses
# (all 16 HOG misses among the 3,500 development photos, and nothing in _no_face/).
CNN_MAX_SIDE = 500
CNN_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class FaceBox:
    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)

    def to_dlib(self) -> dlib.rectangle:
        return dlib.rectangle(self.left, self.top, self.right, self.bottom)

    def as_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


def _run_hog(rgb: np.ndarray, scale: float, upsample: int) -> list[FaceBox]:
    # On grey: dlib's HOG takes each pixel's strongest gradient over the colour channels, so
    # colour triples the feature work. On the 121 webcam frames of the pipeline benchmark grey
    # finds the same faces (120 identical boxes, one off by 14 px at 320 px), 30% faster.
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        h, w = rgb.shape[:2]
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    with weights.hog_lock:  # dlib's object_detector loads the image pyramid into itself
        rects, scores, _ = weights.detector().run(img, upsample, 0.0)
    inv = 1.0 / scale
    return [
        FaceBox(
            round(r.left() * inv),
            round(r.top() * inv),
            round(r.right() * inv),
            round(r.bottom() * inv),
            float(s),
        )
        for r, s in zip(rects, scores, strict=True)
    ]


def _run_cnn(rgb: np.ndarray) -> list[FaceBox]:
    h, w = rgb.shape[:2]
    scale = min(1.0, CNN_MAX_SIDE / max(h, w))
    img = rgb
    if scale != 1.0:
        img = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    upsample = 1 if max(img.shape[:2]) <= CNN_MAX_SIDE // 2 + 10 else 0  # MMOD floor ~80 px
    inv = 1.0 / scale
    out = []
    with weights.cnn_lock:
        found = weights.cnn_detector()(img, upsample)
    for d in found:
        if d.confidence < CNN_MIN_CONFIDENCE:
            continue
        r = d.rect
        out.append(
            FaceBox(
                max(0, round(r.left() * inv)),
                max(0, round(r.top() * inv)),
                min(w, round(r.right() * inv)),
                min(h, round(r.bottom() * inv)),
                float(d.confidence),
            )
        )
    return out


def detect_faces(rgb: np.ndarray, *, upsample: bool = False) -> list[FaceBox]:
    """Faces, largest first. Fast pass on a downscaled copy; ``upsample`` adds a thorough pass
    (full resolution, 2x for small images, then the CNN detector) only when the fast pass
    found nothing."""
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    faces = _run_hog(rgb, scale, 0)
    if not faces and upsample:
        if scale < 1.0:
            faces = _run_hog(rgb, min(1.0, UPSAMPLE_MAX_SIDE / max(h, w)), 0)
        if not faces and max(h, w) <= UPSAMPLE_MAX_SIDE // 2:
            faces = _run_hog(rgb, 1.0, 1)
        if not faces:
            faces = _run_cnn(rgb)
    h_w = [(f, f.width * f.height) for f in faces]
    return [f for f, _ in sorted(h_w, key=lambda t: -t[1])]


def landmarks5(rgb: np.ndarray, box: FaceBox) -> dlib.full_object_detection:
    return weights.shape_predictor_5()(rgb, box.to_dlib())


def landmarks68(rgb: np.ndarray, box: FaceBox) -> np.ndarray:
    """68 points (x, y) for liveness cues; loads the 68-point model on first use."""
    shape = weights.shape_predictor_68()(rgb, box.to_dlib())
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def shape_points(shape: dlib.full_object_detection) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
