"""The near-duplicate burst distance (biometrics/engine/replay.py): the vectorised computation
is the definition (mean frame distance at the best offset with enough overlap), and on a real
clip a re-encoded copy is a near-duplicate while a later moment of the same clip is not."""

from pathlib import Path

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from biometrics.engine import detect_faces, landmarks5, replay
from biometrics.engine.detection import shape_points

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def by_definition(a: np.ndarray, b: np.ndarray) -> float:
    """Every offset written out: the diagonal of the pairwise distances, its mean."""
    if len(a) == 0 or len(b) == 0:
        return 2.0
    need = max(1, int(np.ceil(replay.MIN_OVERLAP * min(len(a), len(b)))))
    best = 2.0
    for offset in range(-(len(a) - 1), len(b)):
        pairs = [
            float(np.linalg.norm(a[i] - b[i + offset]))
            for i in range(len(a))
            if 0 <= i + offset < len(b)
        ]
        if len(pairs) >= need:
            best = min(best, sum(pairs) / len(pairs))
    return best


def signatures(length: int):
    unit = arrays(np.float32, replay.DIMS, elements=st.floats(-1, 1, width=32)).filter(
        lambda v: np.linalg.norm(v) > 0.1
    )
    return st.lists(unit, min_size=0, max_size=length).map(
        lambda rows: np.asarray([r / np.linalg.norm(r) for r in rows], dtype=np.float32).reshape(
            len(rows), replay.DIMS
        )
    )


@settings(max_examples=60, deadline=None)
@given(signatures(12), signatures(12))
def test_the_distance_is_the_mean_frame_distance_at_the_best_offset(a, b):
    assert abs(replay.burst_distance(a, b) - by_definition(a, b)) < 1e-4


def clip_signature(start: int, count: int, quality: int = 95) -> np.ndarray:
    video = cv2.VideoCapture(str(SHARED / "video" / "person_03_live.mp4"))
    video.set(cv2.CAP_PROP_POS_FRAMES, start)
    hashes = []
    for _ in range(count):
        ok, bgr = video.read()
        assert ok
        encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        rgb = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        face = detect_faces(rgb)[0]
        points = shape_points(landmarks5(rgb, face))
        hashes.append(replay.frame_hash(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), points))
    return replay.signature(hashes)


def test_a_re_encoded_copy_is_a_near_duplicate_and_a_later_moment_is_not():
    live = clip_signature(0, 15)
    copy = clip_signature(0, 15, quality=40)  # the same frames, heavily re-encoded
    later = clip_signature(30, 15)  # two seconds on
    assert replay.is_near_duplicate(copy, live)
    assert not replay.is_near_duplicate(later, live)
    assert replay.burst_distance(copy, live) < replay.NEAR_DUPLICATE_DISTANCE / 2
