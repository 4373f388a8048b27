"""Image -> one L2-normalised 128-d embedding (the dlib ResNet on the 5-point aligned chip).

Test-time augmentation: the full embedding averages the descriptors of six views of the face,
the aligned chip cut at three scales and their mirror images. Enrolment always computes all
six; a verify/identify probe starts with the one plain chip and adds its mirror, then the
other four (``Probe.refine``), only while its score is close enough to the threshold to
matter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import dlib
import numpy as np

from . import weights
from .detection import FaceBox, detect_faces, landmarks5, shape_points
from .errors import MultipleFaces, NoFace, PoorQuality
from .imaging import to_rgb_array
from .quality import ISSUE_MESSAGES, Quality, assess_quality

Purpose = Literal["verify", "identify", "enrol"]
Choose = Literal["single", "central"]

CHIP_SIZE = 150  # what the ResNet was trained on
CHIP_PADDING = 0.25
# A second face at least this wide (relative to the largest) means "two people in front of
# the camera"; smaller ones are bystanders in the background and are ignored.
COMPARABLE_FACE_RATIO = 0.6
# The views: the chip's crop rectangle scaled about its centre (1 = dlib's own chip), each
# also mirrored. Measured on identity-disjoint halves of the development set against the chip
# and its mirror alone: TPIR at FPIR 1e-2 / 1e-3 +1.5 / +2.3 points (docs/engine.md). dlib's
# random jitters gained nothing on top of the mirror and are not used.
VIEW_SCALES = (1.0, 0.94, 1.06)
N_SCALES = len(VIEW_SCALES)


@dataclass
class Probe:
    embedding: np.ndarray  # float32 (128,), unit norm; score = cosine similarity
    quality: Quality
    box: FaceBox
    timings: dict[str, float] = field(default_factory=dict)  # ms per stage
    descriptor_calls: int = 1  # one per view averaged so far: 1, 2 (+ its mirror) or all
    view_sum: np.ndarray | None = field(default=None, repr=False)  # unit descriptors summed
    # Where the chips are cut from, kept to refine: the image and one chip_details per scale.
    source: tuple[np.ndarray, list] | None = field(default=None, repr=False)
    _chips: np.ndarray | None = field(default=None, repr=False)  # cut so far: the plain chip

    @property
    def chips(self) -> np.ndarray | None:
        """All the scaled chips (``face_chips``), cut on first use: a probe that is decided
        on the plain chip never pays for the others."""
        cut = 0 if self._chips is None else len(self._chips)
        if self.source is not None and cut < N_SCALES:
            rgb, details = self.source
            more = cut_chips(rgb, details[cut:])  # not again the plain chip, already cut
            self._chips = more if self._chips is None else np.concatenate([self._chips, more])
            self.source = None  # the image is not needed any more
        return self._chips

    @property
    def chip(self) -> np.ndarray | None:
        """The plain aligned chip (dlib's ``get_face_chip``)."""
        return None if self._chips is None else self._chips[0]

    @property
    def views(self) -> int:
        """Views averaged so far (each view is one descriptor call)."""
        return self.descriptor_calls

    @property
    def refined(self) -> bool:
        """True once the embedding averages all the views (as enrolment does)."""
        return self._chips is None or self.views >= 2 * N_SCALES

    def refine(self) -> Probe:
        """Average in the next views (in place): the plain chip's mirror first (one call), then
        the other scales and their mirrors (one batch). ``verify`` and ``Gallery.search`` stop
        as soon as the score is clear of the threshold."""
        if self.refined:
            return self
        chips = self._chips
        if self.views >= 2:  # the other scales are needed now
            t = time.perf_counter()
            chips = self.chips
            self.timings["chip"] = self.timings.get("chip", 0.0) + _ms(t)
        t = time.perf_counter()
        views = _views(chips)
        added = _descriptors(views[self.views : 2 if self.views < 2 else len(views)])
        total = self.embedding if self.view_sum is None else self.view_sum  # 1 view: unit
        self.view_sum = total + added.sum(axis=0)
        self.embedding = _normalise(self.view_sum)
        self.descriptor_calls += len(added)
        self.timings["descriptor"] = self.timings.get("descriptor", 0.0) + _ms(t)
        return self


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _descriptor(chip: np.ndarray) -> np.ndarray:
    return _descriptors(chip[None])[0]


def _descriptors(chips: np.ndarray) -> np.ndarray:
    """Unit descriptors of a batch of chips (N, 150, 150, 3)."""
    port = weights.face_descriptor()
    if port is not None:
        raw = port(chips)  # stateless NumPy: no lock, and a batch costs less than its parts
    else:
        # dlib's DNN keeps its activations inside the network object: one pass at a time.
        with weights.encoder_lock:
            enc = weights.face_encoder()
            raw = np.array([enc.compute_face_descriptor(np.ascontiguousarray(c)) for c in chips])
    raw = np.asarray(raw, dtype=np.float32)
    return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)


def face_chip(rgb: np.ndarray, shape: dlib.full_object_detection) -> np.ndarray:
    return dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING)


def chip_details(shape: dlib.full_object_detection) -> list:
    """One ``dlib.chip_details`` per VIEW_SCALES: dlib's chip rectangle scaled about its centre."""
    base = dlib.get_face_chip_details(shape, CHIP_SIZE, CHIP_PADDING)
    r = base.rect
    cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
    out = []
    for scale in VIEW_SCALES:
        if scale == 1.0:
            out.append(base)
            continue
        w, h = r.width() * scale / 2, r.height() * scale / 2
        rect = dlib.drectangle(cx - w, cy - h, cx + w, cy + h)
        out.append(dlib.chip_details(rect, dlib.chip_dims(CHIP_SIZE, CHIP_SIZE), base.angle))
    return out


def cut_chips(rgb: np.ndarray, details: list) -> np.ndarray:
    """(len(details), 150, 150, 3) chips. One ``extract_image_chip`` per chip: dlib's batch
    ``extract_image_chips`` resamples differently (pixels differ by up to 2 levels)."""
    return np.stack([dlib.extract_image_chip(rgb, d) for d in details])


def face_chips(rgb: np.ndarray, shape: dlib.full_object_detection) -> np.ndarray:
    """(len(VIEW_SCALES), 150, 150, 3): the aligned chip with its crop scaled about its centre."""
    return cut_chips(rgb, chip_details(shape))


def _views(chips: np.ndarray) -> np.ndarray:
    """Each chip followed by its mirror image: the plain chip first."""
    return np.stack([v for c in chips for v in (c, c[:, ::-1])])


def embed(chips: np.ndarray, *, full: bool = True) -> tuple[np.ndarray, int]:
    """Embedding of aligned chips (``face_chips``, or one chip) and its descriptor calls.

    ``full`` averages every view (the chips and their mirrors): the ResNet is neither mirror-
    nor scale-invariant, and averaging removes part of that noise. Otherwise the embedding is
    the plain chip's descriptor alone."""
    chips = chips[None] if chips.ndim == 3 else chips
    if not full:
        return _descriptor(chips[0]), 1
    d = _descriptors(_views(chips))
    return _normalise(d.sum(axis=0)), len(d)


def choose_face(faces: list[FaceBox], image_shape: tuple[int, ...], choose: Choose) -> FaceBox:
    if not faces:
        raise NoFace()
    if choose == "central":  # LFW convention: the labelled person is the central face
        cy, cx = image_shape[0] / 2, image_shape[1] / 2
        return min(faces, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)
    largest = max(faces, key=lambda f: f.width)
    if sum(f.width >= COMPARABLE_FACE_RATIO * largest.width for f in faces) > 1:
        raise MultipleFaces()
    return largest


def extract(
    image: bytes | np.ndarray,
    *,
    purpose: Purpose = "verify",
    choose: Choose = "single",
    check_quality: bool = True,
    full: bool | None = None,
) -> Probe:
    """Decode, detect, check quality and embed one face.

    ``full=None`` picks per purpose: enrolment always averages all the views; verify/identify
    compute one descriptor and let ``verify``/``Gallery.search`` call ``Probe.refine`` only while
    the score is close enough to the threshold to matter."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    rgb = to_rgb_array(image)
    timings["decode"] = _ms(t)

    t = time.perf_counter()
    faces = detect_faces(rgb, upsample=purpose == "enrol")
    face = choose_face(faces, rgb.shape, choose)
    timings["detect"] = _ms(t)

    t = time.perf_counter()
    shape = landmarks5(rgb, face)
    quality = assess_quality(rgb, face, shape_points(shape), len(faces))
    timings["quality"] = _ms(t)
    if check_quality and (issues := quality.issues()):
        raise PoorQuality(issues[0], ISSUE_MESSAGES[issues[0]])

    if full is None:
        full = purpose == "enrol"
    t = time.perf_counter()
    details = chip_details(shape)
    chips = cut_chips(rgb, details if full else details[:1])
    timings["chip"] = _ms(t)

    t = time.perf_counter()
    embedding, calls = embed(chips, full=full)
    timings["descriptor"] = _ms(t)
    timings["total"] = round(sum(timings.values()), 2)
    source = None if full else (rgb, details)
    return Probe(embedding, quality, face, timings, calls, source=source, _chips=chips)
