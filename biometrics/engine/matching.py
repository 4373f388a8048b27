"""1:1 verification and 1:N identification with calibrated thresholds.

Score convention everywhere: cosine similarity of L2-normalised embeddings, in [-1, 1],
higher = more alike, and a comparison matches when ``score >= threshold``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .pipeline import Probe

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Decision:
    match: bool
    score: float
    threshold: float
    model: str
    owner: int | str | None = None  # Gallery.search: best candidate that passed the threshold
    descriptor_calls: int = 0  # probe descriptor computations (2 if it was refined)


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

    @classmethod
    def load(cls, path: Path | str = CALIBRATION_FILE) -> Calibration:
        d = json.loads(Path(path).read_text())
        return cls(
            model_version=d["model_version"],
            verify_target_fmr=d["verify"]["target_fmr"],
            identify_target_fpir=d["identify"]["target_fpir"],
            curves={k: ScoreCurve.from_dict(v) for k, v in d["curves"].items()},
            refine_band=d["refine_band"],
        )

    def curve(self, templates_per_person: int = 1) -> ScoreCurve:
        return self.curves["template" if templates_per_person > 1 else "single"]

    def verify_threshold(self, n_templates: int = 1, fmr: float | None = None) -> float:
        """1:1 threshold at the target FMR for a person enrolled with ``n_templates`` photos."""
        fmr = self.verify_target_fmr if fmr is None else fmr
        return self.curve(n_templates).threshold_for_fmr(fmr)

    def identify_threshold(
        self, n_people: int, templates_per_person: int = 1, fpir: float | None = None
    ) -> float:
        """Threshold keeping the false positive identification rate at ``fpir`` for an unknown
        probe searched against ``n_people`` (one fused score each): FPIR ~= 1 - (1 - FMR)^N,
        so a larger gallery needs a stricter threshold. Never looser than 1:1 verification."""
        fpir = self.identify_target_fpir if fpir is None else fpir
        n = max(1, int(n_people))
        fmr = -math.expm1(math.log1p(-fpir) / n)
        return max(
            self.verify_threshold(templates_per_person),
            self.curve(templates_per_person).threshold_for_fmr(fmr),
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


def _needs_refine(probe: Probe | np.ndarray, score: float, threshold: float, band: float) -> bool:
    return isinstance(probe, Probe) and not probe.mirrored and abs(score - threshold) < band


def _calls(probe: Probe | np.ndarray) -> int:
    return probe.descriptor_calls if isinstance(probe, Probe) else 0


def verify(
    probe: Probe | np.ndarray,
    templates: np.ndarray,
    *,
    calibration: Calibration | None = None,
) -> Decision:
    """1:1: does the probe belong to the person who owns ``templates`` (k, 128)?

    A single-descriptor Probe is refined with its mirror descriptor only when its score falls
    within ``refine_band`` of the threshold, where the extra call could flip the decision."""
    cal = calibration or default_calibration()
    templates = normalise_rows(templates)
    threshold = cal.verify_threshold(len(templates))
    person = person_template(templates)
    score = float(person @ _as_embedding(probe))
    if _needs_refine(probe, score, threshold, cal.refine_band):
        score = float(person @ probe.refine().embedding)
    return Decision(
        score >= threshold, score, threshold, cal.model_version, descriptor_calls=_calls(probe)
    )


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
        per_person = round(len(ids) / max(1, len(self.owners)))
        self.threshold = self.calibration.identify_threshold(len(self.owners), per_person)

    @property
    def n_people(self) -> int:
        return len(self.owners)

    def __len__(self) -> int:
        return self.n_templates

    def scores(self, probe: Probe | np.ndarray) -> np.ndarray:
        """Score of the probe against every owner (same order as ``owners``)."""
        return self.matrix @ _as_embedding(probe)

    def search(self, probe: Probe | np.ndarray) -> Decision:
        """Best owner if their score passes the gallery-size threshold, else owner None."""
        model = self.calibration.model_version
        if not self.owners:
            return Decision(False, -1.0, self.threshold, model, None, _calls(probe))
        scores = self.scores(probe)
        best = int(np.argmax(scores))
        score = float(scores[best])
        if _needs_refine(probe, score, self.threshold, self.calibration.refine_band):
            scores = self.scores(probe.refine())
            best = int(np.argmax(scores))
            score = float(scores[best])
        match = score >= self.threshold
        owner = self.owners[best] if match else None
        return Decision(match, score, self.threshold, model, owner, _calls(probe))
