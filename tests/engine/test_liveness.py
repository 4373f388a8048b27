"""Liveness decision on real clips from shared/video with the real models (no database)."""

from pathlib import Path

import numpy as np
import pytest

from biometrics.engine import liveness
from biometrics.engine.imaging import decode_image
from biometrics.engine.liveness import (
    BACKENDS,
    browser_frame,
    check_liveness,
    detect_blink,
    detect_turn,
    model_info,
    read_clip,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VIDEO = SHARED / "video"

pytestmark = pytest.mark.skipif(not VIDEO.is_dir(), reason=f"no shared data at {VIDEO}")


def _burst(clip: str, start: float = 0.0, seconds: float = 3.0):
    """What a page would send: 10 fps on the clip's real timeline, 480 px wide JPEGs."""
    frames, times = read_clip(VIDEO / clip, start, seconds)
    return [browser_frame(f) for f in frames], times


@pytest.fixture(scope="module")
def p03():
    return _burst("person_03_live.mp4")


@pytest.fixture(scope="module")
def p01():
    return _burst("person_01_live.mp4", 2.5, 1.5)


@pytest.fixture(scope="module")
def p02_turn():
    return _burst("person_02_live.mp4", 0.0, 2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_live_blink_passes(p03, backend):
    frames, times = p03
    res = check_liveness(frames, ["blink"], backend=backend, timestamps=times)
    assert res.passed, res.details
    assert (res.reason, res.backend) == ("ok", backend)
    # person_03's first blink starts at 1.40 s
    assert 1.3 <= res.details["responses"]["blink"]["t"] <= 1.6
    assert res.details["same_person"]["min_cosine"] > res.details["same_person"]["threshold"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_blink_missing_when_window_has_none(p03, backend):
    # person_03's first 1.3 s hold no blink: the same live face must not pass a blink challenge
    frames, times = p03
    res = check_liveness(frames[:13], ["blink"], backend=backend, timestamps=times[:13])
    assert res.reason == "no_challenge_response", res.details


@pytest.mark.parametrize("backend", BACKENDS)
def test_photo_replay_is_static(backend):
    frames, times = _burst("attack_person_02_photo.mp4")
    res = check_liveness(frames, ["blink"], backend=backend, timestamps=times)
    assert not res.passed
    assert res.reason == "static_image", res.details


def test_photo_replay_mjpeg_exact_repeat_is_static():
    frames, times = read_clip(VIDEO / "attack_person_02_photo.mjpeg", clip_fps=15)
    res = check_liveness([browser_frame(f) for f in frames], ["blink"], timestamps=times)
    assert res.reason == "static_image"
    assert res.details["static"]["pixel_diff_p90"] == 0.0


def test_spoof_photo_smoke():
    rgb = decode_image((SHARED / "spoof" / "attack" / "01.jpg").read_bytes())  # EXIF applied
    frames = [browser_frame(rgb)] * 20
    res = check_liveness(frames, ["blink", "turn_left"])
    assert res.reason in ("static_image", "no_face"), res.details
    assert not res.passed


def test_different_people_fail_face_changed(p01, p03):
    frames = p01[0][:15] + p03[0][15:]
    times = [i / 10 for i in range(len(frames))]
    res = check_liveness(frames, ["blink"], timestamps=times)
    assert res.reason == "face_changed", res.details
    same = res.details["same_person"]
    assert same["min_cosine"] < same["threshold"]
    assert 0.85 <= same["threshold"] <= 0.97  # the calibrated 1:1 threshold, not a fallback


@pytest.mark.parametrize("backend", BACKENDS)
def test_turn_direction(p02_turn, backend):
    # person_02's nose moves to the image's left (yaw -0.29 near 0.6 s): the user turned to
    # their own right in the un-mirrored camera image.
    frames, times = p02_turn
    right = check_liveness(frames, ["turn_right"], backend=backend, timestamps=times)
    assert right.passed, right.details
    assert right.details["responses"]["turn_right"]["peak_yaw"] < -0.2
    left = check_liveness(frames, ["turn_left"], backend=backend, timestamps=times)
    assert left.reason == "no_challenge_response", left.details


def test_two_challenges_need_both(p02_turn):
    frames, times = p02_turn  # person_02 blinks at 0.13 s and turns right
    assert check_liveness(frames, ["blink", "turn_right"], timestamps=times).passed
    both = check_liveness(frames, ["blink", "turn_left"], timestamps=times)
    assert both.reason == "no_challenge_response"
    assert both.details["responses"]["blink"]["done"]


def test_too_few_frames(p03):
    frames, times = p03
    assert check_liveness(frames[:5], ["blink"]).reason == "too_few_frames"
    # enough frames but squeezed into 0.5 s of real time
    short = check_liveness(frames[:10], ["blink"], timestamps=[t / 6 for t in times[:10]])
    assert short.reason == "too_few_frames"


def test_two_people_side_by_side(p01, p03):
    frames = [
        np.ascontiguousarray(np.hstack([a[:, 120:360], b[:, 120:360]]))
        for a, b in zip(p01[0], p03[0][:15], strict=True)
    ]
    assert check_liveness(frames, ["blink"]).reason == "multiple_faces"


def test_no_face():
    grey = np.full((360, 480, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    frames = [np.clip(grey + rng.integers(-20, 20, grey.shape), 0, 255).astype(np.uint8)] * 12
    assert check_liveness(frames, ["blink"]).reason == "no_face"


def test_opencv_backend_never_touches_the_68_point_model(p03, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the opencv backend must not use the 68-point model")

    monkeypatch.setattr(liveness, "landmarks68", forbidden)
    frames, times = p03
    assert check_liveness(frames, ["blink"], backend="opencv", timestamps=times).passed
    info = model_info()
    assert info["opencv"]["commercial_use"] and not info["dlib68"]["commercial_use"]
    assert not any("68" in m["name"] for m in info["opencv"]["models"])


def test_bad_arguments(p03):
    frames, _ = p03
    with pytest.raises(ValueError):
        check_liveness(frames, ["smile"])
    with pytest.raises(ValueError):
        check_liveness(frames, [])
    with pytest.raises(ValueError):
        check_liveness(frames, ["blink"], backend="magic")
    with pytest.raises(ValueError):
        check_liveness(frames[:10], ["blink"], timestamps=[1.0, 0.0] * 5)


# ------------------------------------------------------------ pure series logic (no models)

T = [i / 10 for i in range(20)]


@pytest.mark.parametrize(
    ("series", "done"),
    [
        ([1.0] * 8 + [0.4, 0.5] + [1.0] * 10, True),  # a 2-frame blink
        ([1.0] * 9 + [0.4] + [1.0] * 10, True),  # a 1-frame blink (short, like person_01)
        ([1.0] * 18 + [0.4, 0.4], False),  # closing at the very end: not reopened
        ([1.0] * 5 + [0.4] * 10 + [1.0] * 5, False),  # eyes shut for 1 s: not a blink
        ([1.0] * 8 + [0.85, 0.8] + [1.0] * 10, False),  # too shallow
        ([1.0] * 10 + [0.6] * 10, False),  # a step (gaze/light change), no recovery
    ],
)
def test_detect_blink_series(series, done):
    assert detect_blink(series, T, "dlib68")["done"] is done


def test_detect_blink_ignores_frames_in_fast_motion():
    series = [1.0] * 9 + [0.4] + [1.0] * 10
    motion = [0.0] * 9 + [0.9] + [0.0] * 10
    assert not detect_blink(series, T, "opencv", motion)["done"]


def test_detect_turn_series():
    ramp = [0.0] * 5 + [0.1, 0.2, 0.3, 0.3, 0.2, 0.1] + [0.0] * 9
    assert detect_turn(ramp, "turn_left")["done"]
    assert not detect_turn(ramp, "turn_right")["done"]
    # already turned to the image left at the start, then back to frontal: not a left turn
    back = [-0.3] * 5 + [-0.2, -0.1] + [0.0] * 13
    assert not detect_turn(back, "turn_left")["done"]
