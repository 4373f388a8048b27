"""The NumPy port of dlib's face ResNet gives dlib's descriptors, and is refused when it can't."""

import threading
from pathlib import Path

import numpy as np
import pytest

from biometrics.engine import extract, weights
from biometrics.engine.resnet import FaceResNet, ModelFormatError

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
PHOTOS = [
    "George_W_Bush/353.jpg",
    "deepface_01/1.jpg",
    "deepface_03/2.jpg",
    "Serena_Williams/17.jpg",
]


@pytest.fixture(scope="module")
def chips() -> np.ndarray:
    return np.stack(
        [
            extract((FACES / p).read_bytes(), purpose="enrol", check_quality=False).chip
            for p in PHOTOS
        ]
    )


def _dlib(chip: np.ndarray) -> np.ndarray:
    with weights.encoder_lock:
        return np.array(weights.face_encoder().compute_face_descriptor(chip, 0))


def test_port_reproduces_dlib_on_real_faces(chips):
    port = weights.face_descriptor()
    assert isinstance(port, FaceResNet)  # the engine really uses the port
    for chip in chips:
        reference = _dlib(np.ascontiguousarray(chip))
        assert np.abs(port(chip) - reference).max() < 1e-5
        mirror = np.ascontiguousarray(chip[:, ::-1])
        assert np.abs(port(mirror) - _dlib(mirror)).max() < 1e-5


def test_batch_equals_one_by_one(chips):
    port = weights.face_descriptor()
    batch = port(chips)
    assert batch.shape == (len(chips), 128)
    for chip, row in zip(chips, batch, strict=True):
        assert np.abs(port(chip) - row).max() < 1e-6


def test_port_is_thread_safe(chips):
    port = weights.face_descriptor()
    expected = port(chips)
    errors: list[float] = []

    def work(i: int) -> None:
        for _ in range(3):
            errors.append(float(np.abs(port(chips[i]) - expected[i]).max()))

    threads = [threading.Thread(target=work, args=(i % len(chips),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 24 and max(errors) < 1e-6


def test_other_network_files_are_refused(tmp_path):
    shape_model = weights.models_dir() / weights.SHAPE_5
    with pytest.raises(ModelFormatError):
        FaceResNet(shape_model)
    # The real file with its last layers cut off: the layer list no longer matches.
    data = (weights.models_dir() / weights.RESNET).read_bytes()
    cut = tmp_path / "cut.dat"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises((ModelFormatError, ValueError)):
        FaceResNet(cut)


def test_a_port_that_disagrees_with_dlib_falls_back(monkeypatch):
    class Skewed(FaceResNet):
        def __call__(self, chips):
            return super().__call__(chips) + 0.01

    monkeypatch.setattr(weights, "FaceResNet", Skewed)
    assert weights._load_descriptor() is None
