"""extract / verify / Gallery with the real dlib models on a handful of real photos."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrics.engine import (
    Calibration,
    Gallery,
    MultipleFaces,
    NoFace,
    PoorQuality,
    analyse_frame,
    decode_image,
    default_calibration,
    detect_faces,
    extract,
    landmarks5,
    model_versions,
    verify,
)
from biometrics.engine.matching import CALIBRATION_FILE
from biometrics.engine.pipeline import VIEW_SCALES, face_chip

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
SPOOF = FACES.parent / "spoof"
VIDEO = FACES.parent / "video"


def _bytes(rel: str) -> bytes:
    return (FACES / rel).read_bytes()


@pytest.fixture(scope="module")
def enrolled() -> dict[str, np.ndarray]:
    """Templates of two deepface people, as enrolment would compute them."""
    return {
        p: np.stack([extract(_bytes(f"{p}/{n}.jpg"), purpose="enrol").embedding for n in (1, 2)])
        for p in ("deepface_01", "deepface_02")
    }


def test_probe_shape_and_timings():
    probe = extract(_bytes("deepface_01/3.jpg"), purpose="enrol", check_quality=False)
    assert probe.embedding.shape == (128,) and probe.embedding.dtype == np.float32
    assert abs(float(np.linalg.norm(probe.embedding)) - 1) < 1e-5
    assert probe.refined and probe.descriptor_calls == 2 * len(VIEW_SCALES)
    assert {"decode", "detect", "quality", "chip", "descriptor", "total"} <= set(probe.timings)


def test_views_and_refine_give_the_enrolment_embedding():
    """A probe starts with the plain chip; refine adds its mirror, then the other 4 views, and
    then equals the all-views (enrolment) embedding of the same photo."""
    data = _bytes("deepface_02/3.jpg")
    probe = extract(data, purpose="verify", check_quality=False)
    assert len(probe._chips) == 1 and probe.source is not None  # only the plain chip is cut
    assert probe.chips.shape == (len(VIEW_SCALES), 150, 150, 3)
    assert probe.source is None  # all cut: the image is let go
    assert not probe.refined and probe.descriptor_calls == 1
    rgb = decode_image(data)
    shape = landmarks5(rgb, probe.box)
    assert np.array_equal(probe.chip, face_chip(rgb, shape))  # the plain chip is dlib's own
    # the scaled crops really differ from the plain chip
    assert all(np.abs(c.astype(int) - probe.chip).mean() > 5 for c in probe.chips[1:])
    single = probe.embedding.copy()
    probe.refine()
    assert not probe.refined and probe.views == probe.descriptor_calls == 2
    two = probe.embedding.copy()
    probe.refine()
    assert probe.refined and probe.descriptor_calls == 2 * len(VIEW_SCALES)
    full = extract(data, purpose="enrol", check_quality=False).embedding
    assert float(probe.embedding @ full) > 0.99999
    assert float(two @ full) < float(probe.embedding @ full)
    assert float(single @ full) < 0.9999  # the views do change the embedding
    probe.refine()  # idempotent
    assert probe.descriptor_calls == 2 * len(VIEW_SCALES)


def test_same_person_verifies_other_person_does_not(enrolled):
    probe = extract(_bytes("deepface_01/3.jpg"), purpose="verify", check_quality=False)
    same = verify(probe, enrolled["deepface_01"])
    other = verify(probe, enrolled["deepface_02"])
    assert same.match and same.score >= same.threshold
    assert not other.match and other.score < other.threshold
    assert same.threshold == default_calibration().verify_threshold(2)
    assert same.model == default_calibration().model_version


def test_gallery_search(enrolled):
    ids = [p for p, t in enrolled.items() for _ in t]
    gallery = Gallery(ids, np.concatenate(list(enrolled.values())))
    hit = gallery.search(extract(_bytes("deepface_02/3.jpg"), purpose="identify",
                                 check_quality=False))  # fmt: skip
    assert hit.owner == "deepface_02" and hit.match
    stranger = gallery.search(extract(_bytes("deepface_05/1.jpg"), check_quality=False))
    assert stranger.owner is None and not stranger.match
    assert stranger.score < stranger.threshold


def test_gallery_search_with_cohort_normalisation():
    # >= COHORT_MIN_PEOPLE owners: the score is the cohort-normalised top score.
    people = [f"deepface_{i:02d}" for i in range(1, 11)]
    matrix = np.stack(
        [extract(_bytes(f"{p}/1.jpg"), check_quality=False, full=False).embedding for p in people]
    )
    gallery = Gallery(people, matrix)
    assert gallery.normalised and gallery.n_people == 10
    hit = gallery.search(extract(_bytes("deepface_04/2.jpg"), check_quality=False))
    assert hit.owner == "deepface_04" and hit.score >= hit.threshold
    stranger = gallery.search(extract(_bytes("deepface_12/1.jpg"), check_quality=False))
    assert stranger.owner is None and not stranger.match
    # Random vectors as other owners must not inflate a stranger's score into a match.
    rng = np.random.default_rng(0)
    decoys = rng.standard_normal((20, 128)).astype(np.float32)
    odd = Gallery(["deepface_04", *range(20)], np.vstack([matrix[3], decoys]))
    assert odd.search(extract(_bytes("deepface_12/1.jpg"), check_quality=False)).owner is None


def test_no_face():
    with pytest.raises(NoFace) as exc:
        extract(_bytes("_no_face/02.jpg"))
    assert exc.value.code == "no_face" and exc.value.message


def test_multiple_faces():
    with pytest.raises(MultipleFaces) as exc:
        extract(_bytes("_multi_face/05.jpg"))
    assert exc.value.code == "multiple_faces"


def test_exif_rotation_is_what_makes_the_face_findable():
    data = (SPOOF / "real" / "01.jpg").read_bytes()
    upright = decode_image(data)
    sideways = np.ascontiguousarray(np.rot90(upright, 1))  # the stored pixel orientation
    assert len(detect_faces(upright)) == 1
    assert detect_faces(sideways) == []
    assert extract(data, check_quality=False).box.width > 80


def test_poor_quality_reasons():
    rgb = decode_image((VIDEO / "person_01_still.jpg").read_bytes())
    with pytest.raises(PoorQuality) as exc:
        extract((rgb * 0.12).astype(np.uint8))
    assert exc.value.code == "poor_quality" and exc.value.reason == "too_dark"
    assert exc.value.message == "Too dark"


def test_analyse_frame_is_cheap_guidance():
    rgb = decode_image((VIDEO / "person_01_still.jpg").read_bytes())
    ok = analyse_frame(rgb)
    assert ok.ok and ok.issues == [] and len(ok.faces) == 1
    blurred = analyse_frame(cv2.GaussianBlur(rgb, (0, 0), 10))
    assert not blurred.ok and "too_blurry" in [i["code"] for i in blurred.issues]
    empty = analyse_frame(np.zeros((480, 640, 3), np.uint8))
    assert not empty.ok and empty.issues[0]["code"] == "no_face"


def test_identify_threshold_grows_with_gallery():
    cal = Calibration.load(CALIBRATION_FILE)
    t = [cal.identify_threshold(n) for n in (10, 1_000, 100_000)]
    assert t[0] < t[1] < t[2] <= 1.0
    assert cal.identify_threshold(1) >= cal.verify_threshold(1)
    assert cal.verify_threshold(1, fmr=1e-4) > cal.verify_threshold(1, fmr=1e-2)


def test_model_versions():
    v = model_versions()
    assert v["pipeline"] and v["dlib"]
    for key in ("landmarks", "encoder"):
        assert v[key]["file"].endswith(".dat") and len(v[key]["sha256"]) == 12
        assert v[key]["bytes"] > 1_000_000
    assert v["encoder_runtime"] == "numpy"


def test_concurrent_extract_matches_sequential():
    # dlib's HOG detector and DNNs are not thread-safe; the engine serialises them.
    from concurrent.futures import ThreadPoolExecutor

    data = [_bytes(f"deepface_0{i}/1.jpg") for i in (4, 5, 6)]
    expected = [extract(d, check_quality=False).embedding for d in data]
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda d: extract(d, check_quality=False).embedding, data * 2))
    for i, emb in enumerate(got):
        np.testing.assert_allclose(emb, expected[i % 3], atol=1e-6)
