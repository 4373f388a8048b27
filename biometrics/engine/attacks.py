"""Synthetic presentation attacks for the liveness evaluation: a photo held up by hand.

Made from an enrolment-style still (``shared/video/person_0N_still.jpg``): the printed photo is
a plane in front of the camera that moves as a hand moves it - smooth rotation about all three
axes (tilt included, seen in perspective), shift and scale - under changing light (gain, a
moving glare gradient), with sensor noise and motion blur in proportion to the photo's speed,
over a blurred room-like background. Every frame is what a webcam would film; the liveness
decision must refuse all of them (the photo cannot blink or turn its head, and must not be
made to look as if it did by blur or light).

Plain numpy/OpenCV, deterministic for a seed.
"""

from __future__ import annotations

import cv2
import numpy as np

FRAME = (640, 480)  # width, height of the simulated camera
FOCAL = 600.0  # pixels: a typical webcam's ~56 degree horizontal field of view
# Ranges a hand covers (per attack, drawn from the seed): degrees, pixels, scale.
MAX_YAW, MAX_PITCH, MAX_ROLL = 18.0, 12.0, 8.0
MAX_SHIFT = 40.0
SCALE_RANGE = (0.8, 1.05)
MAX_GAIN_CHANGE = 0.25
NOISE_SIGMA = (1.5, 4.0)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _homography(photo_shape, yaw, pitch, roll, shift, scale) -> np.ndarray:
    """Photo pixels -> camera pixels for the photo plane rotated, shifted and at a distance."""
    h, w = photo_shape[:2]
    cx, cy = FRAME[0] / 2, FRAME[1] / 2
    k = np.array([[FOCAL, 0, cx], [0, FOCAL, cy], [0, 0, 1]])
    r = _rotation(yaw, pitch, roll)
    t = np.array([shift[0] / scale, shift[1] / scale, FOCAL / scale])
    centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    plane = np.column_stack([r[:, 0], r[:, 1], t])
    return k @ plane @ centre


def _smooth(rng: np.random.Generator, times: np.ndarray, amplitude: float) -> np.ndarray:
    """A hand's slow wander: two sines of random frequency (0.2-1.2 Hz) and phase."""
    out = np.zeros_like(times)
    for _ in range(2):
        f, phase = rng.uniform(0.2, 1.2), rng.uniform(0, 2 * np.pi)
        out += rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * f * times + phase)
    return amplitude * out / 1.4


def handheld_photo(
    still_rgb: np.ndarray, *, seed: int, seconds: float = 3.0, fps: float = 15.0
) -> tuple[list[np.ndarray], list[float]]:
    """RGB frames of ``still_rgb`` held up by hand, and their times in seconds."""
    rng = np.random.default_rng(seed)
    times = np.arange(round(seconds * fps)) / fps
    yaw = _smooth(rng, times, rng.uniform(0.3, 1.0) * MAX_YAW)
    pitch = _smooth(rng, times, rng.uniform(0.3, 1.0) * MAX_PITCH)
    roll = _smooth(rng, times, rng.uniform(0.2, 1.0) * MAX_ROLL)
    sx = _smooth(rng, times, rng.uniform(0.2, 1.0) * MAX_SHIFT)
    sy = _smooth(rng, times, rng.uniform(0.2, 1.0) * MAX_SHIFT)
    lo, hi = SCALE_RANGE
    scale = (lo + hi) / 2 + _smooth(rng, times, (hi - lo) / 2)
    gain = 1.0 + _smooth(rng, times, MAX_GAIN_CHANGE)
    glare_angle = rng.uniform(0, 2 * np.pi) + _smooth(rng, times, 1.0)
    noise = rng.uniform(*NOISE_SIGMA)
    background = cv2.GaussianBlur(
        rng.uniform(40, 200, (FRAME[1] // 8, FRAME[0] // 8, 3)).astype(np.float32), (0, 0), 2
    )
    background = cv2.resize(background, FRAME, interpolation=cv2.INTER_CUBIC)
    photo = still_rgb.astype(np.float32)
    ones = np.ones(photo.shape[:2], np.float32)
    yy, xx = np.mgrid[0 : FRAME[1], 0 : FRAME[0]].astype(np.float32)
    frames: list[np.ndarray] = []
    previous = None
    for i in range(len(times)):
        hmat = _homography(photo.shape, yaw[i], pitch[i], roll[i], (sx[i], sy[i]), scale[i])
        warped = cv2.warpPerspective(photo, hmat, FRAME, flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(ones, hmat, FRAME, flags=cv2.INTER_LINEAR)[..., None]
        # Light on the print: a gain and a glare gradient that turns with the hand.
        direction = np.cos(glare_angle[i]) * xx / FRAME[0] + np.sin(glare_angle[i]) * yy / FRAME[1]
        glare = 25.0 * (direction - direction.mean())
        lit = warped * gain[i] + glare[..., None]
        frame = lit * mask + background * (1 - mask)
        # Motion blur along the photo's centre movement since the previous frame.
        centre = hmat @ np.array([photo.shape[1] / 2, photo.shape[0] / 2, 1.0])
        centre = centre[:2] / centre[2]
        if previous is not None:
            step = centre - previous
            length = int(min(15, round(float(np.hypot(*step)))))
            if length >= 2:
                kernel = np.zeros((length * 2 + 1, length * 2 + 1), np.float32)
                d = step / max(float(np.hypot(*step)), 1e-6)
                for s in np.linspace(-length / 2, length / 2, length * 2):
                    kernel[int(round(length + s * d[1])), int(round(length + s * d[0]))] = 1
                frame = cv2.filter2D(frame, -1, kernel / kernel.sum())
        previous = centre
        frame = frame + rng.normal(0, noise, frame.shape)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames, [float(t) for t in times]
