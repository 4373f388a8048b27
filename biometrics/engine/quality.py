"""Cheap per-face quality measures (no descriptor), used as gates and for live kiosk guidance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from .detection import FaceBox, detect_faces, landmarks5, shape_points

# Thresholds (see docs/engine.md for how they were chosen on the development photos).
MIN_FACE_PX = 80  # HOG's own floor; smaller faces give unreliable descriptors
MIN_SHARPNESS = 25.0  # variance of Laplacian at QUALITY_SIZE; LFW 0.5th percentile is 27
MIN_BRIGHTNESS = 40.0  # mean grey level of the face crop
MAX_BRIGHTNESS = 220.0
MIN_CONTRAST = 18.0  # std of grey levels of the face crop
MAX_ABS_YAW = 0.6  # nose offset from the eye midpoint in half eye-distances (0 = frontal);
# ~2% of the LFW news photos exceed it, a talking head turning its head reaches ~0.5
QUALITY_SIZE = 96  # blur is measured at a fixed scale so it does not depend on face size

ISSUE_MESSAGES = {
    "no_face": "No face found — look at the camera",
    "multiple_faces": "Only one person please",
    "too_small": "Move closer",
    "too_blurry": "Hold still",
    "too_dark": "Too dark",
    "too_bright": "Too bright",
    "low_contrast": "Improve the lighting",
    "not_frontal": "Look at the camera",
    "eyes_closed": "Keep your eyes open",
    "turn_left": "Turn your head a little more to your left",
    "turn_right": "Turn your head a little more to your right",
    "look_straight": "Look straight at the camera",
}

# Enrolment poses the page asks for, checked on the photo itself (analyse_frame(pose=...)).
# Yaw is the liveness yaw proxy from the 5 points (nose offset from the eye midpoint along the
# eye line, in eye distances; + = the user's own left in the un-mirrored camera image): the
# dev stills are within +-0.05, person_02's clear turn reaches 0.29, and liveness takes 0.12 as
# "clearly off-frontal". "Slightly" turned is 0.10 (~10 degrees) up to the not_frontal limit.
POSES = ("frontal", "left", "right")
ENROL_TURN_MIN = 0.10
ENROL_FRONTAL_MAX = 0.08
# Eye openness (liveness' gradient ratio of the eye patch): measured on every frame of the three
# dev clips against the reference EAR, shut eyes <= 0.39 and open eyes >= 0.38 at the 5th
# percentile (0.26 at the very least, mid-blink): below 0.40 the eyes are taken as shut. The
# page also compares each photo with the openness of its own session (attendance-enrol.js).
EYES_CLOSED_OPENNESS = 0.40


@dataclass(frozen=True)
class Quality:
    face_px: int
    sharpness: float
    brightness: float
    contrast: float
    yaw: float
    face_count: int

    def issues(self) -> list[str]:
        """Quality problems, most actionable first (reason codes of PoorQuality)."""
        out = []
        if self.face_px < MIN_FACE_PX:
            out.append("too_small")
        if self.brightness < MIN_BRIGHTNESS:
            out.append("too_dark")
        elif self.brightness > MAX_BRIGHTNESS:
            out.append("too_bright")
        elif self.contrast < MIN_CONTRAST:
            out.append("low_contrast")
        if abs(self.yaw) > MAX_ABS_YAW:
            out.append("not_frontal")
        if self.sharpness < MIN_SHARPNESS:
            out.append("too_blurry")
        return out

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def yaw_from_landmarks(points: np.ndarray) -> float:
    """Signed yaw proxy from the 5-point shape (eye corners 0-1 and 2-3, nose 4)."""
    eye_a, eye_b, nose = points[0:2].mean(0), points[2:4].mean(0), points[4]
    axis = eye_b - eye_a
    d2 = float(axis @ axis)
    if d2 < 1e-6:
        return 0.0
    # Position of the nose projected on the eye line: 0 at the midpoint, +-1 at an eye.
    return float(2.0 * ((nose - eye_a) @ axis) / d2 - 1.0)


def assess_quality(
    rgb: np.ndarray, box: FaceBox, points5: np.ndarray, face_count: int = 1
) -> Quality:
    h, w = rgb.shape[:2]
    x0, y0 = max(0, box.left), max(0, box.top)
    x1, y1 = min(w, box.right), min(h, box.bottom)
    crop = rgb[y0:y1, x0:x1]
    if crop.size == 0:
        return Quality(0, 0.0, 0.0, 0.0, 0.0, face_count)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (QUALITY_SIZE, QUALITY_SIZE), interpolation=cv2.INTER_AREA)
    return Quality(
        face_px=int(min(box.width, box.height)),
        sharpness=float(cv2.Laplacian(small, cv2.CV_64F).var()),
        brightness=float(grey.mean()),
        contrast=float(grey.std()),
        yaw=round(yaw_from_landmarks(points5), 3),
        face_count=face_count,
    )


@dataclass
class FrameAnalysis:
    faces: list[FaceBox]
    quality: Quality | None
    issues: list[dict[str, str]] = field(default_factory=list)
    ok: bool = False
    pose: dict[str, float | str] | None = None  # with analyse_frame(pose=...): yaw, eyes

    def as_dict(self) -> dict:
        out = {
            "ok": self.ok,
            "faces": [f.as_dict() for f in self.faces],
            "quality": self.quality.as_dict() if self.quality else None,
            "issues": self.issues,
        }
        if self.pose is not None:
            out["pose"] = self.pose
        return out


def analyse_frame(rgb: np.ndarray, pose: str | None = None) -> FrameAnalysis:
    """Live guidance for a kiosk frame: detection + quality, no embedding (a few ms). With an
    enrolment ``pose`` (POSES) the photo must also show it: the asked turn, eyes open."""
    from .errors import MultipleFaces
    from .pipeline import choose_face  # local import: pipeline imports this module

    if pose is not None and pose not in POSES:
        raise ValueError(f"pose must be one of {POSES}")
    faces = detect_faces(rgb)
    if not faces:
        return FrameAnalysis(faces, None, [_issue("no_face")], False)
    try:
        face = choose_face(faces, rgb.shape, "single")
    except MultipleFaces:
        return FrameAnalysis(faces, None, [_issue("multiple_faces")], False)
    points = shape_points(landmarks5(rgb, face))
    quality = assess_quality(rgb, face, points, len(faces))
    codes = quality.issues()
    measured = None
    if pose is not None:
        codes, measured = _pose_issues(rgb, points, pose, codes)
    issues = [_issue(code) for code in codes]
    return FrameAnalysis(faces, quality, issues, not issues, measured)


def _pose_issues(
    rgb: np.ndarray, points: np.ndarray, pose: str, codes: list[str]
) -> tuple[list[str], dict[str, float | str]]:
    from .liveness import eye_openness_opencv, yaw_proxy  # local: liveness is the bigger module

    yaw = yaw_proxy(points)
    eyes = eye_openness_opencv(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), points)
    extra = []
    if eyes < EYES_CLOSED_OPENNESS:
        extra.append("eyes_closed")
    if pose == "left" and yaw < ENROL_TURN_MIN:
        extra.append("turn_left")
    elif pose == "right" and yaw > -ENROL_TURN_MIN:
        extra.append("turn_right")
    elif pose == "frontal" and abs(yaw) > ENROL_FRONTAL_MAX:
        extra.append("look_straight")
    # A turn asked for is not "not frontal" (the pose code says what to do instead).
    codes = [c for c in codes if not (c == "not_frontal" and extra)]
    return extra + codes, {"pose": pose, "yaw": round(yaw, 3), "eyes": round(eyes, 3)}


def _issue(code: str) -> dict[str, str]:
    return {"code": code, "message": ISSUE_MESSAGES[code]}
