"""The dlib model weights: located without importing face_recognition_models, loaded once per
process."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from .resnet import FaceResNet, ModelFormatError

PIPELINE_VERSION = "faceauth-dlib-2"  # bump when anything changes the embedding or the scores

DETECTOR = "hog_frontal"
SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"

log = logging.getLogger(__name__)

_lock = threading.RLock()  # re-entrant: one loader may load another (descriptor -> dlib)
_loaded: dict[str, Any] = {}
# Not thread-safe in dlib: DNN forward passes (ResNet encoder, MMOD detector) keep activations
# in the network, and the HOG detector keeps its feature pyramid in itself (a crash with
# concurrent calls). The shape predictor is read-only and needs no lock.
encoder_lock = threading.Lock()
cnn_lock = threading.Lock()
hog_lock = threading.Lock()


@cache
def models_dir() -> Path:
    # Importing face_recognition_models breaks on new setuptools (pkg_resources); only find it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _get(name: str, factory) -> Any:
    obj = _loaded.get(name)
    if obj is None:
        with _lock:  # double-checked: several request threads may race on first use
            obj = _loaded.get(name)
            if obj is None:
                obj = factory()
                _loaded[name] = obj
    return obj


def detector() -> Any:
    return _get(DETECTOR, dlib.get_frontal_face_detector)


def cnn_detector() -> Any:
    """dlib's MMOD CNN detector: ~0.4 s per 250 px image, only the enrolment fallback."""
    return _get(
        CNN_DETECTOR, lambda: dlib.cnn_face_detection_model_v1(str(models_dir() / CNN_DETECTOR))
    )


def shape_predictor_5() -> Any:
    return _get(SHAPE_5, lambda: dlib.shape_predictor(str(models_dir() / SHAPE_5)))


def shape_predictor_68() -> Any:
    """68-point model, only for optional features (liveness); nothing essential uses it."""
    return _get(SHAPE_68, lambda: dlib.shape_predictor(str(models_dir() / SHAPE_68)))


def face_encoder() -> Any:
    """dlib's own ResNet: the reference the NumPy port is checked against (and its fallback)."""
    return _get(RESNET, lambda: dlib.face_recognition_model_v1(str(models_dir() / RESNET)))


# Largest descriptor difference accepted between the NumPy port and dlib (seen: ~5e-7; the
# descriptors' components are ~0.1 and decisions move in steps of 1e-4).
PORT_TOLERANCE = 1e-4


def _check_chip() -> np.ndarray:
    # A deterministic, face-independent test pattern: gradients with a checkerboard.
    y, x = np.mgrid[0:150, 0:150]
    return np.stack([x * 255 // 149, y * 255 // 149, ((x // 10 + y // 10) % 2) * 200 + 20], -1)


def _load_descriptor() -> Any:
    """The face descriptor: the NumPy port of dlib's ResNet when it reproduces dlib on a test
    chip at load, else dlib's own network (slower, same numbers)."""
    try:
        port = FaceResNet(models_dir() / RESNET)
        chip = np.ascontiguousarray(_check_chip(), dtype=np.uint8)
        with encoder_lock:
            reference = np.array(face_encoder().compute_face_descriptor(chip, 0))
        diff = float(np.abs(port(chip) - reference).max())
        if diff <= PORT_TOLERANCE:
            return port
        log.warning("NumPy ResNet differs from dlib by %.2g; using dlib", diff)
    except ModelFormatError as exc:
        log.warning("NumPy ResNet unavailable (%s); using dlib", exc)
    return None


def face_descriptor() -> FaceResNet | None:
    """The NumPy ResNet, or None when dlib's ``face_encoder`` must be used (see above)."""
    return _get("descriptor", lambda: _load_descriptor() or False) or None


@cache
def _file_info(name: str) -> dict[str, Any]:
    path = models_dir() / name
    data = path.read_bytes()
    return {"file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()[:12]}


def model_versions() -> dict[str, Any]:
    """Everything that determines an embedding; store it next to templates."""
    return {
        "pipeline": PIPELINE_VERSION,
        "dlib": dlib.__version__,
        "detector": DETECTOR,
        "fallback_detector": _file_info(CNN_DETECTOR),
        "landmarks": _file_info(SHAPE_5),
        "encoder": _file_info(RESNET),
        # Same weights and numbers either way; "numpy" unless the port failed its load check.
        "encoder_runtime": "numpy" if face_descriptor() is not None else "dlib",
    }
