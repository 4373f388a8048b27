"""Offline evaluation and calibration on a labelled folder (layout of shared/faces/README.md).

Every image goes through the production pipeline with the enrolment-grade detector; where an
image has several faces the one nearest the centre is used (LFW's convention)."""

from __future__ import annotations

import csv
import multiprocessing
import os
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cohort as co
from .detection import detect_faces, landmarks5, shape_points
from .errors import EngineError
from .imaging import decode_image
from .pipeline import _descriptors, _views, choose_face, face_chips
from .quality import assess_quality

QUALITY_FIELDS = ("face_px", "sharpness", "brightness", "contrast", "yaw")


@dataclass
class EmbeddingSet:
    paths: list[str]
    identities: list[str]
    ok: np.ndarray  # bool (n,)
    single: np.ndarray  # float32 (n, 128) descriptor of the plain chip (unit; zeros if not ok)
    mirror: np.ndarray  # float32 (n, 128) descriptor of the plain chip's mirror image
    rest: np.ndarray  # float32 (n, 128) sum of the other 4 views' unit descriptors
    quality: np.ndarray  # float32 (n, len(QUALITY_FIELDS))
    faces_found: np.ndarray  # int (n,)
    ms: np.ndarray  # float (n,) pipeline time per image (decode .. all six descriptors)

    def embeddings(self, views: int = 6) -> np.ndarray:
        """Unit embeddings of 1, 2 (chip + mirror) or 6 views (what production computes)."""
        e = self.single.copy()
        if views >= 2:
            e += self.mirror
        if views >= 6:
            e += self.rest
        n = np.linalg.norm(e, axis=1, keepdims=True)
        return (e / np.maximum(n, 1e-12)).astype(np.float32)


def _embed_file(path: str) -> tuple:
    t0 = time.perf_counter()
    try:
        rgb = decode_image(Path(path).read_bytes())
        faces = detect_faces(rgb, upsample=True)
        if not faces:
            return (False, None, None, None, None, 0, 0.0)
        face = choose_face(faces, rgb.shape, "central")
        shape = landmarks5(rgb, face)
        q = assess_quality(rgb, face, shape_points(shape), len(faces))
        d = _descriptors(_views(face_chips(rgb, shape)))
        single, mirror, rest = d[0], d[1], d[2:].sum(axis=0)
        qv = [getattr(q, f) for f in QUALITY_FIELDS]
        ms = (time.perf_counter() - t0) * 1000
        return (True, single, mirror, rest, qv, len(faces), ms)
    except EngineError:
        return (False, None, None, None, None, 0, 0.0)


def read_manifest(faces_dir: Path) -> list[dict[str, str]]:
    with open(faces_dir / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def compute_embeddings(
    faces_dir: Path, *, cache: Path | None = None, workers: int | None = None
) -> EmbeddingSet:
    """Embed every manifest image (both cores by default); optionally cached in an .npz."""
    faces_dir = Path(faces_dir)
    rows = read_manifest(faces_dir)
    paths = [r["path"] for r in rows]
    if cache and Path(cache).exists():
        z = np.load(cache, allow_pickle=False)
        if list(z["paths"]) == paths:
            return EmbeddingSet(
                paths, [r["identity"] for r in rows], z["ok"], z["single"], z["mirror"], z["rest"],
                z["quality"], z["faces_found"], z["ms"],
            )  # fmt: skip
    files = [str(faces_dir / p) for p in paths]
    workers = workers or min(2, os.cpu_count() or 1)
    if workers > 1:
        # Spawned, not forked: a fork of a Django process copies its open Redis/broker
        # connections, and kombu's after-fork cleanup blocks on them (evaluate_faces hung).
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_embed_file, files, chunksize=16))
    else:
        results = [_embed_file(f) for f in files]
    n = len(files)
    ok = np.array([r[0] for r in results], dtype=bool)
    single = np.zeros((n, 128), np.float32)
    mirror = np.zeros((n, 128), np.float32)
    rest = np.zeros((n, 128), np.float32)
    quality = np.zeros((n, len(QUALITY_FIELDS)), np.float32)
    for i, r in enumerate(results):
        if r[0]:
            single[i], mirror[i], rest[i], quality[i] = r[1], r[2], r[3], r[4]
    faces_found = np.array([r[5] for r in results], dtype=np.int32)
    ms = np.array([r[6] for r in results], dtype=np.float64)
    es = EmbeddingSet(
        paths, [r["identity"] for r in rows], ok, single, mirror, rest, quality, faces_found, ms
    )
    if cache:
        np.savez(
            cache, paths=np.array(paths), ok=ok, single=single, mirror=mirror, rest=rest,
            quality=quality, faces_found=faces_found, ms=ms,
        )  # fmt: skip
    return es


# LFW errata (shared/faces/README.md): one person under two names is merged; images that the
# errata say show somebody else are left out of the identity metrics.
ERRATA_MERGE = {"Wang_Nan": "Nan_Wang"}
ERRATA_EXCLUDE = {
    "Bart_Hendricks/1.jpg",  # duplicate of Ricky_Ray_0001
    "Emmy_Rossum/1.jpg",  # duplicate of Eva_Amurri_0001
    "Jim_OBrien/1.jpg",  # a different person from Jim_OBrien 2/3
    "Martha_Bowen/2.jpg",  # actually Gabrielle Rose
}
NON_IDENTITY = {"_no_face", "_multi_face"}


def identity_mask(es: EmbeddingSet) -> np.ndarray:
    return np.array(
        [
            i not in NON_IDENTITY and p not in ERRATA_EXCLUDE
            for p, i in zip(es.paths, es.identities, strict=True)
        ]
    )


def labels(es: EmbeddingSet) -> np.ndarray:
    return np.array([ERRATA_MERGE.get(i, i) for i in es.identities])


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> tuple[float, float]:
    """(FNMR, threshold) at the lowest threshold whose FMR <= fmr."""
    imp = np.sort(impostor)[::-1]
    k = int(np.floor(fmr * len(imp)))  # at most k impostors may reach the threshold
    thr = float(np.nextafter(imp[k], np.float32(2))) if k < len(imp) else float(imp[-1])
    return float(np.mean(genuine < thr)), thr


FAILED = -1e3  # score of a failed image against anything (below every threshold)


@dataclass
class Cohort:
    """The AS-norm cohort with the identity of each row, for leave-identity-out evaluation."""

    vectors: np.ndarray  # (C, 128) unit rows
    identities: list[str]
    top_k: int = co.COHORT_TOP_K

    def ids(self, lab: np.ndarray) -> np.ndarray:
        """Cohort row of each label's identity, -1 if the identity is not in the cohort."""
        index = {name: j for j, name in enumerate(self.identities)}
        return np.array([index.get(name, -1) for name in lab], dtype=np.int64)


def score_matrix(emb: np.ndarray, ok: np.ndarray, lab: np.ndarray, cohort: Cohort | None = None):
    """All-vs-all scores: cosine, or AS-normalised with the cohort members of both compared
    identities left out of both sides' statistics (no leakage when the cohort was drawn from
    the evaluated folder); a failed image scores ``FAILED`` against anything."""
    e = np.where(ok[:, None], emb, 0).astype(np.float32)
    s = e @ e.T
    if cohort is not None:
        cid = cohort.ids(lab)
        m, sd = co.LeaveOut(e @ cohort.vectors.T, cid, cohort.top_k).stats(cid)
        s = co.snorm(s, m, sd, m.T, sd.T).astype(np.float32)
    s[~ok, :] = FAILED
    s[:, ~ok] = FAILED
    return s


def pair_scores(
    emb: np.ndarray, ok: np.ndarray, lab: np.ndarray, cohort: Cohort | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All genuine and impostor image-pair scores (see ``score_matrix``)."""
    return split_pairs(score_matrix(emb, ok, lab, cohort), lab)


def split_pairs(s: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor scores of the upper triangle of an all-vs-all score matrix."""
    iu = np.triu_indices(len(s), 1)
    same = (lab[:, None] == lab[None, :])[iu]
    flat = s[iu]
    return flat[same], flat[~same]


def template_scores(
    emb: np.ndarray,
    ok: np.ndarray,
    lab: np.ndarray,
    n_templates: int = 3,
    min_images: int = 4,
    cohort: Cohort | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Enrol the first ``n_templates`` images of each identity with >= ``min_images``; probe with
    the rest (genuine) and with every image of the other identities (impostor). With a
    ``cohort`` the scores are AS-normalised (leave-identity-out, see ``score_matrix``)."""
    from .matching import person_template

    if cohort is not None:
        cid = cohort.ids(lab)
        probes = co.LeaveOut(emb @ cohort.vectors.T, cid, cohort.top_k)

    by_id: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(lab):
        by_id[name].append(i)
    e = np.where(ok[:, None], emb, 0).astype(np.float32)
    gen, imp = [], []
    for idx in by_id.values():
        if len(idx) < min_images:
            continue
        tmpl = [i for i in idx[:n_templates] if ok[i]]
        if not tmpl:
            continue
        t = person_template(e[tmpl])
        s = e @ t  # (n,) score of every image vs this person
        if cohort is not None:
            own = cid[idx[:1]]
            m_t, s_t = co.LeaveOut((t @ cohort.vectors.T)[None], own, cohort.top_k).stats(cid)
            m_p, s_p = probes.stats(own)
            s = co.snorm(s, m_p[:, 0], s_p[:, 0], m_t[0], s_t[0])
        s[~ok] = FAILED
        mine = np.zeros(len(e), bool)
        mine[idx] = True
        gen.append(s[idx[n_templates:]])
        imp.append(s[~mine])
    return np.concatenate(gen), np.concatenate(imp)


def identification_scores(
    emb: np.ndarray, ok: np.ndarray, lab: np.ndarray, calibration=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Open-set 1:N through ``Gallery`` (same normalisation as production). Gallery = first image
    of each identity with >= 2 images; known probes = their other images; unknown probes =
    identities with a single image.
    Returns (known top score, known top-is-correct, unknown top score, gallery size)."""
    from .matching import Gallery, top_scores

    by_id: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(lab):
        by_id[name].append(i)
    gallery = [idx[0] for idx in by_id.values() if len(idx) >= 2 and ok[idx[0]]]
    known = [i for idx in by_id.values() if len(idx) >= 2 for i in idx[1:]]
    unknown = [idx[0] for idx in by_id.values() if len(idx) == 1]
    g = Gallery(lab[gallery].tolist(), emb[gallery], calibration=calibration)
    owners = np.array(g.owners)

    def top(probes: list[int]) -> tuple[np.ndarray, np.ndarray]:
        best, score = top_scores(emb[probes] @ g.matrix.T, g._expected, g.normalised)
        score[~ok[probes]] = -1.0
        return score, owners[best]

    k_score, k_lab = top(known)
    u_score, _ = top(unknown)
    return k_score, k_lab == lab[known], u_score, len(gallery)


def tpir_at_fpir(k_score, k_correct, u_score, fpir: float) -> tuple[float, float]:
    tp = np.where(k_correct, k_score, -2.0)
    fnir, thr = fnmr_at_fmr(tp, u_score, fpir)
    return 1.0 - fnir, thr


class PairsFileError(ValueError):
    """A pairs file that cannot be used (ambiguous, malformed, or naming unknown images)."""


def find_pairs_file(faces_dir: Path) -> Path | None:
    """The folder's one ``pairs*.csv``, None when it has none; several are ambiguous."""
    found = sorted(Path(faces_dir).glob("pairs*.csv"))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise PairsFileError(f"{faces_dir} has several pairs files ({names}); name one")
    return found[0] if found else None


def read_pairs(path: Path) -> list[tuple[str, str, bool]]:
    """Labelled pairs (``path1,path2,same[,known_wrong_label]``, paths relative to the folder);
    pairs that LFW's errata call mislabelled are left out."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"path1", "path2", "same"} - set(reader.fieldnames or ())
        if missing:
            raise PairsFileError(f"{path}: missing columns {', '.join(sorted(missing))}")
        return [
            (r["path1"], r["path2"], r["same"] == "1")
            for r in reader
            if r.get("known_wrong_label", "0") != "1"
        ]


def evaluate(
    faces_dir: Path,
    *,
    calibration=None,
    cache: Path | None = None,
    plot: Path | None = None,
    views: int = 6,
    pairs_file: Path | None = None,
) -> dict:
    """All metrics of the brief, at the calibrated thresholds (see module docstring).

    Pairs come from ``pairs_file``, else the folder's ``pairs*.csv``; without one,
    ``pairs_accuracy`` is None and ``pairs_note`` says why."""
    from .matching import default_calibration

    cal = calibration or default_calibration()
    faces_dir = Path(faces_dir)
    es = compute_embeddings(faces_dir, cache=cache)
    emb = es.embeddings(views)
    idm = identity_mask(es)
    lab = labels(es)[idm]
    e, ok = emb[idm], es.ok[idm]
    coh = calibration_cohort(cal)
    full = score_matrix(emb, es.ok, labels(es), coh)  # the scale verify() decides on
    gen, imp = split_pairs(full[np.ix_(idm, idm)], lab)
    vt = cal.decision_threshold(1)  # image vs image
    tt = cal.decision_threshold(3)  # image vs mean template of 3 photos

    pos = {p: i for i, p in enumerate(es.paths)}
    pairs_file = Path(pairs_file) if pairs_file else find_pairs_file(faces_dir)
    pairs = read_pairs(pairs_file) if pairs_file else []
    stray = sorted({p for pair in pairs for p in pair[:2]} - pos.keys())
    if stray:
        raise PairsFileError(
            f"{pairs_file}: {len(stray)} paths not in the manifest, e.g. {stray[0]}"
        )
    correct = sum((float(full[pos[p1], pos[p2]]) >= vt) == same for p1, p2, same in pairs)
    if pairs:
        pairs_note = None
    elif pairs_file:
        pairs_note = f"{pairs_file.name} has no pairs"
    else:
        pairs_note = f"no pairs*.csv in {faces_dir}; pass one with --pairs"

    t_gen, t_imp = template_scores(e, ok, lab)  # mean templates: raw cosine (see verify)
    k_score, k_correct, u_score, n_gallery = identification_scores(e, ok, lab, cal)
    it = cal.identify_threshold(n_gallery)
    no_face = [i for i, x in enumerate(es.identities) if x == "_no_face"]
    multi = [i for i, x in enumerate(es.identities) if x == "_multi_face"]
    rows = {r["path"]: r for r in read_manifest(faces_dir)}
    det = {k: fnmr_at_fmr(gen, imp, 10.0**-k) for k in (3, 4)}
    out = {
        "images": len(es.paths),
        "ms_per_image": round(float(np.median(es.ms[es.ok])), 1),
        "failure_to_acquire": round(float(1 - ok.mean()), 5),
        "thresholds": {
            "score": (
                "verify: AS-normalised cosine (cohort.py); identify: cosine, cohort-normalised"
                " in the gallery; higher = more alike, match if score >= threshold"
                if coh is not None
                else "cosine similarity, higher = more alike, match if score >= threshold"
            ),
            "verify": round(vt, 4),
            "verify_3_templates": round(tt, 4),
            "identify": round(it, 4),
            "identify_gallery_size": n_gallery,
            "model_version": cal.model_version,
        },
        "pairs_accuracy": round(correct / len(pairs), 5) if pairs else None,
        "pairs": len(pairs),
        "pairs_file": str(pairs_file) if pairs_file else None,
        "pairs_note": pairs_note,
        "genuine_pairs": int(len(gen)),
        "impostor_pairs": int(len(imp)),
        "FMR": float(np.mean(imp >= vt)),
        "FNMR": round(float(np.mean(gen < vt)), 5),
        "FNMR_at_FMR_1e-3": round(det[3][0], 5),
        "FNMR_at_FMR_1e-4": round(det[4][0], 5),
        "template_FNMR_at_FMR_1e-4": round(fnmr_at_fmr(t_gen, t_imp, 1e-4)[0], 5),
        "template_FMR": float(np.mean(t_imp >= tt)),
        "template_FNMR": round(float(np.mean(t_gen < tt)), 5),
        "template_genuine": int(len(t_gen)),
        "template_impostor": int(len(t_imp)),
        "rank1_TPIR": round(float(np.mean(k_correct & (k_score >= it))), 5),
        "FPIR": round(float(np.mean(u_score >= it)), 5),
        "TPIR_at_FPIR_1e-2": round(tpir_at_fpir(k_score, k_correct, u_score, 1e-2)[0], 5),
        "TPIR_at_FPIR_1e-3": round(tpir_at_fpir(k_score, k_correct, u_score, 1e-3)[0], 5),
        "known_probes": int(len(k_score)),
        "unknown_probes": int(len(u_score)),
        "no_face_false_detections": int(es.faces_found[no_face].sum()),
        "multi_face": {
            es.paths[i]: {
                "found": int(es.faces_found[i]),
                "manifest": rows[es.paths[i]]["num_faces"],
            }
            for i in multi
        },
        "cohort": (
            {
                "size": len(coh.identities),
                "top_k": coh.top_k,
                "identities_in_folder_left_out": len(set(lab.tolist()) & set(coh.identities)),
            }
            if coh is not None
            else None
        ),
        "raw_cosine": _raw_metrics(e, ok, lab, cal) if coh is not None else None,
        "errata_applied": {"merged": ERRATA_MERGE, "excluded": sorted(ERRATA_EXCLUDE)},
    }
    if plot:
        plot_det(gen, imp, Path(plot), t_gen=t_gen, t_imp=t_imp, verify_threshold=vt)
    return out


def _raw_metrics(e: np.ndarray, ok: np.ndarray, lab: np.ndarray, cal) -> dict:
    """Single-photo verification metrics without AS-norm, for comparison."""
    gen, imp = pair_scores(e, ok, lab)
    vt = cal.verify_threshold(1)
    return {
        "verify_threshold": round(vt, 4),
        "FMR": float(np.mean(imp >= vt)),
        "FNMR": round(float(np.mean(gen < vt)), 5),
        "FNMR_at_FMR_1e-3": round(fnmr_at_fmr(gen, imp, 1e-3)[0], 5),
        "FNMR_at_FMR_1e-4": round(fnmr_at_fmr(gen, imp, 1e-4)[0], 5),
    }


def calibration_cohort(cal) -> Cohort | None:
    """The shipped cohort with its identities (from the calibration's provenance list)."""
    vectors = co.default_cohort()
    if not cal.normalised_verify or vectors is None:
        return None
    names = [_path_identity(p) for p in cal.cohort_paths]
    if len(names) != len(vectors):
        names = [f"?cohort-{i}" for i in range(len(vectors))]
    return Cohort(vectors, names, cal.cohort_top_k)


def _path_identity(path: str) -> str:
    name = path.split("/")[0]
    return ERRATA_MERGE.get(name, name)


def plot_det(gen, imp, path: Path, *, t_gen=None, t_imp=None, verify_threshold=None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    curves = [("single image", gen, imp)]
    if t_gen is not None:
        curves.append(("3 templates, mean template", t_gen, t_imp))
    for name, g, i in curves:
        thr = np.quantile(i, 1 - np.logspace(-6, -0.3, 200))
        fmr = np.array([np.mean(i >= t) for t in thr])
        fnmr = np.array([np.mean(g < t) for t in thr])
        ax.plot(np.maximum(fmr, 1e-7), np.maximum(fnmr, 1e-4), label=name)
    if verify_threshold is not None:
        ax.plot(
            [max(np.mean(imp >= verify_threshold), 1e-7)],
            [max(np.mean(gen < verify_threshold), 1e-4)], "ko", label="verify threshold",
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FMR (false match rate)")
    ax.set_ylabel("FNMR (false non-match rate)")
    ax.set_title("FaceAuth DET")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


VERIFY_TARGET_FMR = 1e-2
IDENTIFY_TARGET_FPIR = 1e-2


def calibrate(
    faces_dir: Path,
    *,
    cache: Path | None = None,
    verify_target_fmr: float = VERIFY_TARGET_FMR,
    identify_target_fpir: float = IDENTIFY_TARGET_FPIR,
    cohort_file: Path | None = co.COHORT_FILE,
) -> dict:
    """Thresholds from the impostor score distribution of a labelled folder (calibration.json).

    Stores the per-comparison FMR curve so a deployment computes the 1:N threshold for its own
    gallery size, plus an exponential tail fit to extrapolate below the measurable FMR.

    Also draws the AS-norm cohort (``select_cohort``), writes it to ``cohort_file`` (float16)
    and stores the impostor curves of the normalised scores, measured leave-identity-out."""
    from .weights import PIPELINE_VERSION

    es = compute_embeddings(Path(faces_dir), cache=cache)
    idm = identity_mask(es) & es.ok
    lab = labels(es)[idm]
    e = es.embeddings()[idm]
    ones = np.ones(len(e), bool)
    curves, by_fmr = {}, {}
    for kind, (gen, imp) in {
        "single": pair_scores(e, ones, lab),
        "template": template_scores(e, ones, lab),
    }.items():
        curves[kind] = _score_curve(imp)
        by_fmr[kind] = {
            f"{f:.0e}": round(fnmr_at_fmr(gen, imp, f)[1], 4) for f in (1e-2, 1e-3, 1e-4)
        }
    # Refine bands: how far a 1-view and a 2-view score can sit from the all-views one.
    partial = [es.embeddings(1)[idm], es.embeddings(2)[idm]]
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(e), (2, 200_000))
    full = np.sum(e[i] * e[j], 1)
    bands = [np.quantile(np.abs(np.sum(p[i] * e[j], 1) - full), 0.999) for p in partial]
    by_size, fits = _size_thresholds(e, lab, curves)
    snorm = _calibrate_snorm(e, partial, lab, es, idm, cohort_file)
    return {
        "model_version": PIPELINE_VERSION,
        "score": (
            "cosine similarity of L2-normalised embeddings; match if score >= threshold;"
            " verify against 1 template uses the AS-norm scale of 'snorm' instead"
        ),
        "source": {"images": int(len(e)), "people": int(len(set(lab)))},
        "verify": {"target_fmr": verify_target_fmr},
        "identify": {
            "target_fpir": identify_target_fpir,
            "by_gallery_size": by_size,
            "size_fit": fits,
        },
        "curves": curves,
        "empirical_thresholds": by_fmr,  # for reading only; the code uses the curves
        "refine_band": round(float(bands[0]), 4),
        "refine_band_2": round(float(bands[1]), 4),
        "snorm": snorm,
    }


COHORT_SEED = 0


def select_cohort(es: EmbeddingSet, idm: np.ndarray, size: int = co.COHORT_SIZE) -> np.ndarray:
    """Image indices of the cohort: ``size`` identities with a single photo (so no cohort person
    has genuine comparisons in the pairs, template or gallery metrics), seeded random choice."""
    lab = labels(es)
    count: dict[str, int] = defaultdict(int)
    for name in lab[idm]:
        count[name] += 1
    singles = [i for i in np.flatnonzero(idm) if count[lab[i]] == 1]
    rng = np.random.default_rng(COHORT_SEED)
    return np.sort(rng.choice(singles, min(size, len(singles)), replace=False))


def _calibrate_snorm(e, partial, lab, es, idm, cohort_file) -> dict:
    chosen = select_cohort(es, idm)
    vectors = es.embeddings()[chosen].astype(np.float16)  # the shipped precision
    if cohort_file:
        np.save(cohort_file, vectors)
        co.default_cohort.cache_clear()
    cv = vectors.astype(np.float32)
    cv /= np.linalg.norm(cv, axis=1, keepdims=True)
    paths = [es.paths[i] for i in chosen]
    coh = Cohort(cv, [_path_identity(p) for p in paths])
    ones = np.ones(len(e), bool)
    # Single-photo enrolments only: mean templates stay on raw cosine (see matching.verify).
    curves = {"single": _score_curve(pair_scores(e, ones, lab, coh)[1], grid=SNORM_GRID)}
    # Refine bands on this scale: 1-view and 2-view vs all-views normalised scores.
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(e), (2, 200_000))
    m_j, s_j = co.stats(e[j], cv)
    scores = []
    for probe in (*(p[i] for p in partial), e[i]):
        m_i, s_i = co.stats(probe, cv)
        scores.append(co.snorm(np.sum(probe * e[j], 1), m_i, s_i, m_j, s_j))
    bands = [float(np.quantile(np.abs(s - scores[-1]), 0.999)) for s in scores[:2]]
    return {
        "score": "AS-norm: ((s - mean_p)/std_p + (s - mean_t)/std_t) / 2 over the top_k cohort",
        "top_k": co.COHORT_TOP_K,
        "cohort_file": co.COHORT_FILE.name,
        "cohort_paths": paths,
        "curves": curves,
        "refine_band": round(bands[0], 4),
        "refine_band_2": round(bands[1], 4),
    }


SNORM_GRID = (-2.0, 16.0, 0.05)


def _score_curve(impostor: np.ndarray, grid: tuple = (0.80, 1.0, 0.0025)) -> dict:
    imp = np.sort(impostor)
    n = len(imp)
    ts = np.round(np.arange(*grid), 4)
    counts = n - np.searchsorted(imp, ts, side="left")
    keep = counts >= 5  # below ~5 impostors the empirical FMR is noise: extrapolate instead
    ts, fmr = ts[keep], counts[keep] / n
    fit = (fmr <= 1e-3) & (fmr >= 10 / n)
    b, a = np.polyfit(ts[fit], np.log10(fmr[fit]), 1)
    return {
        "impostors": int(n),
        "thresholds": ts.tolist(),
        "fmr": [float(f"{f:.4g}") for f in fmr],
        "tail": [round(float(a), 4), round(float(b), 4)],
    }


GALLERY_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
SIZE_FPIRS = (1e-2, 1e-3)


def _size_thresholds(e: np.ndarray, lab: np.ndarray, curves: dict) -> tuple[dict, dict]:
    """Simulated open-set searches: a random gallery of n people (one photo each), probed with
    every photo of people outside it; the threshold is the (1 - FPIR) quantile of the pooled
    normalised top scores. Linear fit in log10(n) over n >= 64 for larger galleries."""
    from .matching import Calibration, top_scores

    tmp = Calibration("tmp", 0.0, 0.0, {k: _curve_obj(v) for k, v in curves.items()}, 0.0)
    by_id: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(lab):
        by_id[name].append(i)
    people = list(by_id)
    rng = np.random.default_rng(0)
    table: dict[str, list] = {f"{f:g}": [] for f in SIZE_FPIRS}
    for n in GALLERY_SIZES:
        pooled = []
        for _ in range(max(4, 20_000 // (len(people) - n))):
            chosen = rng.choice(len(people), n, replace=False)
            mask = np.zeros(len(people), bool)
            mask[chosen] = True
            g = e[[by_id[people[c]][0] for c in chosen]]
            probes = [i for p, m in zip(people, mask, strict=True) if not m for i in by_id[p]]
            _, s = top_scores(e[probes] @ g.T, tmp.cohort_expectation(n))
            pooled.append(s)
        pooled = np.concatenate(pooled)
        for f in SIZE_FPIRS:
            t = float(np.quantile(pooled, 1 - f))
            if table[f"{f:g}"]:  # sampling noise must not make a larger gallery looser
                t = max(t, table[f"{f:g}"][-1][1])
            table[f"{f:g}"].append([n, round(t, 4)])
    fits = {}
    for f, rows in table.items():
        arr = np.array([r for r in rows if r[0] >= 64])
        b, a = np.polyfit(np.log10(arr[:, 0]), arr[:, 1], 1)
        fits[f] = [round(float(a), 4), round(float(b), 4)]
    return table, fits


def _curve_obj(d: dict):
    from .matching import ScoreCurve

    return ScoreCurve.from_dict(d)
