"""FaceAuth face-recognition engine (plain Python: no Django imports in this package).

Pipeline: decode_image -> detect_faces (dlib HOG) -> 5-point landmarks -> assess_quality ->
aligned 150x150 chips -> dlib's ResNet 128-d descriptor (run in NumPy, resnet.py), averaged
over 6 views (3 crop scales, each mirrored) -> L2-normalised embedding. Scores: higher = more
alike, and a comparison matches when ``score >= threshold`` (thresholds from
calibration.json). ``verify`` against one template returns an AS-normalised cosine
(cohort.py), otherwise scores are cosine similarities.
"""

from .detection import FaceBox, detect_faces, landmarks5, landmarks68
from .errors import (
    BurstTooLarge,
    CorruptImage,
    EngineError,
    FrameTooLarge,
    ImageTooLarge,
    MultipleFaces,
    NoFace,
    PoorQuality,
)
from .imaging import MAX_BYTES, MAX_PIXELS, decode_burst, decode_image
from .matching import Calibration, Decision, Gallery, default_calibration, verify
from .pipeline import Probe, embed, extract, face_chip
from .quality import FrameAnalysis, Quality, analyse_frame, assess_quality
from .weights import PIPELINE_VERSION, model_versions

__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "PIPELINE_VERSION",
    "BurstTooLarge",
    "Calibration",
    "CorruptImage",
    "Decision",
    "EngineError",
    "FaceBox",
    "FrameTooLarge",
    "FrameAnalysis",
    "Gallery",
    "ImageTooLarge",
    "MultipleFaces",
    "NoFace",
    "PoorQuality",
    "Probe",
    "Quality",
    "analyse_frame",
    "assess_quality",
    "decode_burst",
    "decode_image",
    "default_calibration",
    "detect_faces",
    "embed",
    "extract",
    "face_chip",
    "landmarks5",
    "landmarks68",
    "model_versions",
    "verify",
]
