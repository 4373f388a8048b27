"""1:1 verification and 1:N identification with calibrated thresholds.

Score convention everywhere: higher = more alike, and a comparison matches when
``score >= threshold``. ``verify`` against ONE template scores an AS-normalised cosine (see
``cohort.py``; no fixed range, threshold ~0.3 at FMR 1e-2) when the shipped cohort and its
calibration are present; against a mean template of 2+ photos it scores the plain cosine
(AS-norm made template FNMR at FMR 1e-4 worse, 5.1% -> 11.9%). ``Gallery.search`` scores are
cosine similarities, cohort-normalised within the gallery from 8 people up."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from . import cohort as _cohort
from .pipeline import Probe

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")

# Open-set 1:N score normalisation: top score - ALPHA * (mean of the next K scores - their
# expected value for this gallery size). Probes that look like many people ("hubs") have a
# crowded neighbourhood and are pushed down; a genuine top match stands out and is not.
# Measured on identity-disjoint halves of the development set: TPIR at FPIR 1e-2 +4..+14
# points in 6 of 6 splits (K=3, ALPHA=0.5; larger K or ALPHA=1 hurt).
COHORT_K = 3
COHORT_ALPHA = 0.5
COHORT_MIN_PEOPLE = 8
# Bound the bonus for an unusually empty neighbourhood (0.1th percentile on the development
# set is -0.036): a gallery of non-face or odd vectors must not lift every score.
COHORT_MIN_DEVIATION = -0.03


@dataclass(frozen=True)
class Decision:
    match: bool
    score: float
    threshold: float
    model: str
    owner: int | str | None = None  # Gallery.search: best candidate that passed the threshold
    descriptor_calls: int = 0  # probe descriptor computations (1, 2 or 6: see Probe.refine)


@dataclass(frozen=True)
class ScoreCurve:
    """Impostor score distribution: fmr[i] = share of impostor comparisons >= thresholds[i]."""

    thresholds: tuple[float, ...]
    fmr: tuple[float, ...]
    tail: tuple[float, float]  # log10(FMR) = a + b * score, extrapolates past the measured end

    @classmethod
    def from_dict(cls, d: dict) -> ScoreCurve:
        return cls(tuple(d["thresholds"]), tuple(d["fmr"]), tuple(d["tail"]))

    def fmr_at(self, threshold: float) -> float:
        ts, fmr = np.array(self.thresholds), np.array(self.fmr)
        if threshold <= ts[-1]:
            return float(10 ** np.interp(threshold, ts, np.log10(fmr)))
        a, b = self.tail
        return float(min(fmr[-1], 10 ** (a + b * threshold)))

    def threshold_for_fmr(self, target: float) -> float:
        ts, fmr = np.array(self.thresholds), np.array(self.fmr)
        if target >= fmr[-1]:
            # FMR falls as the threshold rises; np.interp wants increasing x.
            return float(np.interp(math.log10(target), np.log10(fmr[::-1]), ts[::-1]))
        a, b = self.tail
        return float(min(1.0, max(ts[-1], (math.log10(target) - a) / b)))


@dataclass(frozen=True)
class Calibration:
    """Thresholds derived from measured impostor score curves (calibration.json).

    Two curves: ``single`` (probe vs one photo) and ``template`` (probe vs the mean template of
    3 photos, whose impostor scores run higher). Thresholds are computed for the requested
    FMR/FPIR and, for 1:N, for the gallery size."""

    model_version: str
    verify_target_fmr: float
    identify_target_fpir: float
    curves: dict[str, ScoreCurve]
    refine_band: float  # |score - threshold| below which a single-descriptor probe is refined
    # ... and below which a probe of 2 views (the chip and its mirror) gets the other 4; 0 =
    # not calibrated (an older file): then ``refine_band`` applies to both steps.
    refine_band_2: float = 0.0
    # 1:N with cohort normalisation: thresholds measured by simulated open-set searches,
    # size_thresholds[fpir] = ((gallery size, threshold), ...) plus a log10(size) line fit.
    size_thresholds: dict[float, tuple[tuple[int, float], ...]] = field(default_factory=dict)
    size_fits: dict[float, tuple[float, float]] = field(default_factory=dict)
    # 1:1 with AS-norm against the shipped cohort: impostor curves of the normalised score.
    norm_curves: dict[str, ScoreCurve] = field(default_factory=dict)
    norm_refine_band: float = 0.0
    norm_refine_band_2: float = 0.0
    cohort_top_k: int = _cohort.COHORT_TOP_K
    cohort_paths: tuple[str, ...] = ()  # provenance of cohort.npy rows (development photos)

    @classmethod
    def load(cls, path: Path | str = CALIBRATION_FILE) -> Calibration:
        d = json.loads(Path(path).read_text())
        return cls(
            model_version=d["model_version"],
            verify_target_fmr=d["verify"]["target_fmr"],
            identify_target_fpir=d["identify"]["target_fpir"],
            curves={k: ScoreCurve.from_dict(v) for k, v in d["curves"].items()},
            refine_band=d["refine_band"],
            refine_band_2=d.get("refine_band_2", 0.0),
            size_thresholds={
                float(f): tuple((int(n), float(t)) for n, t in rows)
                for f, rows in d["identify"].get("by_gallery_size", {}).items()
            },
            size_fits={float(f): tuple(v) for f, v in d["identify"].get("size_fit", {}).items()},
            norm_curves={
                k: ScoreCurve.from_dict(v) for k, v in d.get("snorm", {}).get("curves", {}).items()
            },
            norm_refine_band=d.get("snorm", {}).get("refine_band", 0.0),
            norm_refine_band_2=d.get("snorm", {}).get("refine_band_2", 0.0),
            cohort_top_k=d.get("snorm", {}).get("top_k", _cohort.COHORT_TOP_K),
            cohort_paths=tuple(d.get("snorm", {}).get("cohort_paths", ())),
        )

    def curve(self, templates_per_person: int = 1) -> ScoreCurve:
        return self.curves["template" if templates_per_person > 1 else "single"]

    def verify_threshold(self, n_templates: int = 1, fmr: float | None = None) -> float:
        """Raw-cosine 1:1 threshold at the target FMR for a person enrolled with
        ``n_templates`` photos (liveness same-person checks, identify floor)."""
        fmr = self.verify_target_fmr if fmr is None else fmr
        return self.curve(n_templates).threshold_for_fmr(fmr)

    @property
    def normalised_verify(self) -> bool:
        return "single" in self.norm_curves and _cohort.default_cohort() is not None

    def verify_norm_threshold(self, fmr: float | None = None) -> float:
        """AS-normalised 1:1 threshold for a single-photo enrolment (needs the cohort)."""
        fmr = self.verify_target_fmr if fmr is None else fmr
        return self.norm_curves["single"].threshold_for_fmr(fmr)

    def normalises(self, n_templates: int) -> bool:
        """Whether ``verify`` AS-normalises for a person with ``n_templates`` photos."""
        return n_templates <= 1 and self.normalised_verify

    def decision_threshold(self, n_templates: int = 1, fmr: float | None = None) -> float:
        """The threshold ``verify`` compares its score with."""
        if self.normalises(n_templates):
            return self.verify_norm_threshold(fmr)
        return self.verify_threshold(n_templates, fmr)

    def identify_threshold(
        self, n_people: int, templates_per_person: int = 1, fpir: float | None = None
    ) -> float:
        """Threshold for the (cohort-normalised) top score of a search over ``n_people`` that
        keeps the false positive identification rate at ``fpir``; stricter for larger galleries.

        Small galleries (no cohort) use the impostor curve, FPIR ~= 1 - (1 - FMR)^N. Larger ones
        use thresholds measured by simulated open-set searches at several gallery sizes,
        interpolated in log(size) and extrapolated past the largest measured size."""
        fpir = self.identify_target_fpir if fpir is None else fpir
        n = max(1, int(n_people))
        curve = self.curve(templates_per_person)
        floor = self.verify_threshold(templates_per_person)
        if n < COHORT_MIN_PEOPLE or fpir not in self.size_thresholds:
            fmr = -math.expm1(math.log1p(-fpir) / n)
            return max(floor, curve.threshold_for_fmr(fmr))
        sizes, thr = np.array(self.size_thresholds[fpir]).T
        if n <= sizes[-1]:
            t = float(np.interp(math.log10(n), np.log10(sizes), thr))
        else:
            a, b = self.size_fits[fpir]
            t = max(float(thr[-1]), a + b * math.log10(n))
        if templates_per_person > 1:
            # Measured with one photo per person; mean templates score impostors higher, so
            # shift by the gap between the two impostor curves at the matching FMR.
            fmr = fpir / n
            t += curve.threshold_for_fmr(fmr) - self.curve(1).threshold_for_fmr(fmr)
        return max(floor, min(1.0, t))

    def cohort_expectation(self, n_people: int, templates_per_person: int = 1) -> float:
        """Expected mean of ranks 2..K+1 of an unknown probe's scores in a gallery of n."""
        curve = self.curve(templates_per_person)
        n = max(1, int(n_people))
        return float(
            np.mean([curve.threshold_for_fmr(k / (n + 1)) for k in range(2, COHORT_K + 2)])
        )


@cache
def default_calibration() -> Calibration:
    return Calibration.load()


def _as_embedding(probe: Probe | np.ndarray) -> np.ndarray:
    v = probe.embedding if isinstance(probe, Probe) else np.asarray(probe, np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float32).reshape(-1, 128)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def person_template(templates: np.ndarray) -> np.ndarray:
    """One unit vector per person: the normalised mean of their templates.

    Measured on the development set (identities with >= 4 photos, 3 enrolled): the mean
    template halves FNMR at FMR 1e-4 compared with max or mean-of-scores fusion (5.2% vs 12.7%
    and 14.3%), because averaging cancels pose/lighting noise of the individual photos."""
    t = normalise_rows(templates)
    return normalise_rows(t.mean(axis=0))[0]


def _needs_refine(
    probe: Probe | np.ndarray, score: float, threshold: float, bands: tuple[float, float]
) -> bool:
    """Whether the probe's next views could still flip the decision: ``bands`` are the largest
    score changes (99.9th percentile) from 1 view and from 2 views to all of them."""
    if not isinstance(probe, Probe) or probe.refined:
        return False
    band = bands[0] if probe.views < 2 else (bands[1] or bands[0])
    return abs(score - threshold) < band


def _calls(probe: Probe | np.ndarray) -> int:
    return probe.descriptor_calls if isinstance(probe, Probe) else 0


def verify(
    probe: Probe | np.ndarray,
    templates: np.ndarray,
    *,
    calibration: Calibration | None = None,
) -> Decision:
    """1:1: does the probe belong to the person who owns ``templates`` (k, 128)?

    A single-descriptor Probe is refined (its mirror, then the other views) only while its
    score falls within the refine band of the threshold, where more views could flip the
    decision.

    With one template the score is AS-normalised against the shipped cohort (two 1000x128
    mat-vecs); with 2+ it is the cosine to the mean template (see the module docstring)."""
    cal = calibration or default_calibration()
    templates = normalise_rows(templates)
    threshold = cal.decision_threshold(len(templates))
    person = person_template(templates)
    if cal.normalises(len(templates)):
        cohort, k = _cohort.default_cohort(), cal.cohort_top_k
        mean_t, std_t = _cohort.stats(person, cohort, k)

        def score_of(v: np.ndarray) -> float:
            mean_p, std_p = _cohort.stats(v, cohort, k)
            return float(_cohort.snorm(float(person @ v), mean_p, std_p, mean_t, std_t)[0])

        bands = (cal.norm_refine_band, cal.norm_refine_band_2)
    else:

        def score_of(v: np.ndarray) -> float:
            return float(person @ v)

        bands = (cal.refine_band, cal.refine_band_2)
    score = score_of(_as_embedding(probe))
    while _needs_refine(probe, score, threshold, bands):
        score = score_of(probe.refine().embedding)
    return Decision(
        score >= threshold, score, threshold, cal.model_version, descriptor_calls=_calls(probe)
    )


def top_scores(
    scores: np.ndarray, expected: float, normalise: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(m, n) probe-vs-owner scores -> best owner index and its (normalised) score per probe."""
    if not normalise or scores.shape[1] <= COHORT_K:
        best = scores.argmax(axis=1)
        return best, scores[np.arange(len(scores)), best]
    # Only the K+1 best owners matter: argpartition is O(n), no full sort.
    part = np.argpartition(-scores, COHORT_K, axis=1)[:, : COHORT_K + 1]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    deviation = np.maximum(vals[:, 1:].mean(axis=1) - expected, COHORT_MIN_DEVIATION)
    return part[:, 0], vals[:, 0] - COHORT_ALPHA * deviation


class Gallery:
    """In-memory 1:N index over unit templates with parallel owner ids.

    Templates are fused per owner at construction (mean template, as in ``verify``), so a
    search is one float32 matrix-vector product over distinct people plus an argmax."""

    def __init__(
        self,
        ids: Sequence[int | str],
        matrix: np.ndarray,
        *,
        calibration: Calibration | None = None,
    ) -> None:
        m = normalise_rows(matrix)
        ids = list(ids)
        if len(ids) != len(m):
            raise ValueError("ids and matrix rows differ in length")
        index: dict[int | str, int] = {}
        inverse = np.fromiter((index.setdefault(i, len(index)) for i in ids), np.int64, len(ids))
        self.owners: list[int | str] = list(index)
        order = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[order], np.arange(len(self.owners)))
        sums = np.add.reduceat(m[order], starts, axis=0) if len(m) else m
        self.matrix = np.ascontiguousarray(normalise_rows(sums)) if len(m) else m
        self.n_templates = len(ids)
        self.calibration = calibration or default_calibration()
        # One comparison per distinct person: FPIR ~= 1 - (1 - FMR)^people.
        per_person = max(1, round(len(ids) / max(1, len(self.owners))))
        self.threshold = self.calibration.identify_threshold(len(self.owners), per_person)
        self.normalised = len(self.owners) >= COHORT_MIN_PEOPLE
        self._expected = (
            self.calibration.cohort_expectation(len(self.owners), per_person)
            if self.normalised
            else 0.0
        )

    @property
    def n_people(self) -> int:
        return len(self.owners)

    def __len__(self) -> int:
        return self.n_templates

    def scores(self, probe: Probe | np.ndarray) -> np.ndarray:
        """Score of the probe against every owner (same order as ``owners``)."""
        return self.matrix @ _as_embedding(probe)

    def top(self, probe: Probe | np.ndarray) -> tuple[int, float]:
        """(owner index, score) of the best owner; the score is cohort-normalised when the
        gallery is large enough (see COHORT_K), else the raw cosine similarity."""
        best, score = top_scores(self.scores(probe)[None, :], self._expected, self.normalised)
        return int(best[0]), float(score[0])

    def search(self, probe: Probe | np.ndarray) -> Decision:
        """Best owner if their score passes the gallery-size threshold, else owner None."""
        model = self.calibration.model_version
        if not self.owners:
            return Decision(False, -1.0, self.threshold, model, None, _calls(probe))
        best, score = self.top(probe)
        bands = (self.calibration.refine_band, self.calibration.refine_band_2)
        while _needs_refine(probe, score, self.threshold, bands):
            best, score = self.top(probe.refine())
        match = score >= self.threshold
        owner = self.owners[best] if match else None
        return Decision(match, score, self.threshold, model, owner, _calls(probe))
