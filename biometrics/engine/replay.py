"""Near-duplicate bursts: a perceptual hash of each frame's aligned face, and a burst distance.

A burst that was captured once (a genuine, live capture) and is sent again after re-encoding,
resizing or a brightness change has different bytes but the same faces in the same order. Each
frame's face is aligned on its 5 landmarks to a small grey chip (so crop, scale and position
do not matter) and described by its lowest DCT frequencies without the DC term, L2-normalised
(a real-valued pHash: brightness moves only the DC term, a contrast change only the norm, JPEG
noise and resampling live in the high frequencies). Two bursts are compared frame by frame at
their best offset (a replay keeps the frame order; a trimmed replay shifts it).

Plain Python, no Django: the caller keeps the recent bursts (biometrics.liveness) and refuses
a burst closer than NEAR_DUPLICATE_DISTANCE to one of them. Numbers: docs/liveness.md and
benchmarks/replay.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

CHIP = 32  # aligned grey face chip, pixels a side
# Where dlib's 5 points (right eye outer/inner, left eye outer/inner, nose) land in the chip,
# in chip widths: their mean position over the dev clips, made symmetric. A least-squares fit
# on all five points jitters less than the eye centres alone (replay distances -15 %).
TEMPLATE_5 = np.float32([[0.78, 0.36], [0.62, 0.36], [0.22, 0.36], [0.38, 0.36], [0.50, 0.645]])
DCT_BLOCK = 8  # the lowest 8x8 frequencies, DC dropped: 63 values per frame
DIMS = DCT_BLOCK * DCT_BLOCK - 1
MIN_OVERLAP = 0.5  # offsets must pair at least half of the shorter burst's frames
# Mean distance of aligned frames below which two bursts are the same capture. Measured on the
# dev clips (benchmarks/replay.py): every re-encoded/resized/brightness-shifted copy <= 0.081,
# any two live bursts of one clip that share no moment >= 0.164. Between them, geometrically.
NEAR_DUPLICATE_DISTANCE = 0.115

Signature = np.ndarray  # (frames, 63) float32, one unit vector per frame


def face_chip_grey(grey: np.ndarray, points5: np.ndarray) -> np.ndarray:
    """The face aligned by its 5 points (similarity transform) on a CHIP x CHIP grey chip."""
    m, _ = cv2.estimateAffinePartial2D(np.float32(points5), TEMPLATE_5 * CHIP)
    if m is None:  # degenerate points: cannot align
        m = np.float64([[1, 0, 0], [0, 1, 0]])
    # A large reduction: blur first so the chip does not alias (the frame's scale must not
    # change the chip).
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    if scale < 0.5:
        grey = cv2.GaussianBlur(grey, (0, 0), sigmaX=0.5 / scale)
    return cv2.warpAffine(
        grey, m, (CHIP, CHIP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def frame_hash(grey: np.ndarray, points5: np.ndarray) -> np.ndarray:
    """One frame's 63 low DCT frequencies of the aligned face, as a unit vector."""
    chip = face_chip_grey(grey, points5).astype(np.float32)
    low = cv2.dct(chip)[:DCT_BLOCK, :DCT_BLOCK].flatten()[1:]
    return low / max(float(np.linalg.norm(low)), 1e-6)


def signature(hashes: Sequence[np.ndarray]) -> Signature:
    return np.asarray(hashes, dtype=np.float32).reshape(len(hashes), DIMS)


def burst_distance(a: Signature, b: Signature) -> float:
    """Mean distance of aligned frames at the best offset of ``a`` against ``b``: small for
    the same frames in the same order whatever was done to their pixels, larger for another
    capture of the same person (other moments, another blink). 2.0 when nothing overlaps."""
    if len(a) == 0 or len(b) == 0:
        return 2.0
    m, n = len(a), len(b)
    need = max(1, int(np.ceil(MIN_OVERLAP * min(m, n))))
    # All pairwise frame distances by one matrix product (|x-y|^2 = |x|^2 + |y|^2 - 2 x.y);
    # each offset is a diagonal of this matrix, summed for all offsets by one bincount. A
    # device's memory holds 50 bursts: 9 ms to compare against all of them, not 94 ms.
    # In float64: the expansion cancels for nearly equal frames (float32 would be 5e-4 off).
    a, b = a.astype(np.float64), b.astype(np.float64)
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    pair = np.sqrt(np.maximum(squared, 0.0))
    index, counts = _diagonals(m, n)
    sums = np.bincount(index, weights=pair.ravel(), minlength=m + n - 1)
    overlapping = counts >= need
    return float((sums[overlapping] / counts[overlapping]).min())


@lru_cache(maxsize=512)
def _diagonals(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For an m x n matrix: each cell's diagonal (offset j - i, shifted to start at 0) and
    each diagonal's length."""
    i, j = np.indices((m, n))
    index = (j - i + (m - 1)).ravel()
    return index, np.bincount(index, minlength=m + n - 1)


def is_near_duplicate(a: Signature, b: Signature) -> bool:
    return burst_distance(a, b) < NEAR_DUPLICATE_DISTANCE
