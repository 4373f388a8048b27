"""AS-norm cohort: shipped file, normalised single-photo verify, leakage-free evaluation maths."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from biometrics.engine import cohort as co
from biometrics.engine import default_calibration, extract, verify
from biometrics.engine.matching import CALIBRATION_FILE, Calibration

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"


def _probe(rel: str, purpose: str = "verify"):
    return extract((FACES / rel).read_bytes(), purpose=purpose, check_quality=False)


def test_cohort_file_is_small_unit_float16():
    assert co.COHORT_FILE.stat().st_size < 1_000_000
    raw = np.load(co.COHORT_FILE)
    assert raw.dtype == np.float16 and raw.shape == (co.COHORT_SIZE, 128)
    c = co.default_cohort()
    assert np.allclose(np.linalg.norm(c, axis=1), 1, atol=1e-5)
    cal = Calibration.load(CALIBRATION_FILE)
    assert len(cal.cohort_paths) == len(c) and cal.normalised_verify
    # one photo per cohort identity, and none of them a test person of the engine tests
    people = [p.split("/")[0] for p in cal.cohort_paths]
    assert len(set(people)) == len(people)
    assert not any(p.startswith("deepface_") for p in people)


def test_single_photo_verify_is_normalised():
    cal = default_calibration()
    enrol = _probe("deepface_01/1.jpg", "enrol").embedding[None]
    same = verify(_probe("deepface_01/3.jpg"), enrol)
    other = verify(_probe("deepface_02/3.jpg"), enrol)
    assert same.threshold == cal.verify_norm_threshold() == cal.decision_threshold(1)
    assert same.match and same.score >= same.threshold
    assert not other.match and other.score < other.threshold
    # the normalised scale is not a cosine: the threshold sits far below the raw one
    assert cal.verify_norm_threshold() < 0.9 * cal.verify_threshold(1)
    assert cal.verify_norm_threshold(fmr=1e-4) > cal.verify_norm_threshold(fmr=1e-2)


def test_mean_templates_stay_on_cosine_and_fallback_without_cohort():
    cal = default_calibration()
    assert cal.decision_threshold(3) == cal.verify_threshold(3)
    plain = replace(cal, norm_curves={})
    enrol = _probe("deepface_01/1.jpg", "enrol").embedding[None]
    d = verify(_probe("deepface_01/3.jpg"), enrol, calibration=plain)
    assert d.match and d.threshold == cal.verify_threshold(1) and -1 <= d.score <= 1


@pytest.mark.parametrize("seed", [0, 1])
def test_leave_out_stats_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(6, 50)).astype(np.float32)
    row_ids = np.array([3, -1, 7, 3, -1, 49])
    col_ids = np.array([-1, 3, 7, 10, 0])
    k = 5
    mean, std = co.LeaveOut(scores, row_ids, k).stats(col_ids)
    for r in range(6):
        for c in range(5):
            keep = np.ones(50, bool)
            for j in (row_ids[r], col_ids[c]):
                if j >= 0:
                    keep[j] = False
            top = np.sort(scores[r, keep])[::-1][:k]
            assert mean[r, c] == pytest.approx(top.mean(), abs=1e-5)
            assert std[r, c] == pytest.approx(top.std(), abs=1e-4)
