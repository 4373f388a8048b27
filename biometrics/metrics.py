"""Prometheus metrics of face recognition: pipeline stage times, decisions, refusals, enrolment
jobs and the in-process 1:N gallery. faceauth/metrics.py exposes them on /metrics.

Labels are closed sets (stage, purpose, outcome, error code): never a person, a device or
anything else that grows with the data.
"""

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

# One descriptor takes ~13-17 ms on this hardware (NumPy ResNet; dlib's own ~75-95 ms);
# decode/detect on a 640x480 frame 10-150 ms.
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5)
STAGES = ("decode", "detect", "quality", "chip", "descriptor")

RECOGNITION_STAGE_SECONDS = Histogram(
    "faceauth_recognition_stage_seconds",
    "Time spent in one stage of the face pipeline (decode, detect, quality, chip, descriptor).",
    ["stage", "purpose"],
    buckets=STAGE_BUCKETS,
)
DECISIONS = Counter(
    "faceauth_decisions",
    "Verify and identify outcomes: match, no_match or error (reason = the error code).",
    ["kind", "outcome", "reason"],
)
RECOGNITION_ERRORS = Counter(
    "faceauth_recognition_errors",
    "Images the engine refused, by purpose, error code and quality reason.",
    ["purpose", "code", "reason"],
)
LIVENESS_REFUSALS = Counter(
    "faceauth_liveness_refusals",
    "Probes refused by the liveness check, by reason (e.g. no_blink, replay, timeout).",
    ["reason"],
)
ENROLMENT_JOBS = Counter(
    "faceauth_enrolment_jobs",
    "Enrolment jobs by the state they entered: queued, done, failed.",
    ["state"],
)
ENROLMENT_SAMPLES = Counter(
    "faceauth_enrolment_samples",
    "Enrolment photos embedded (accepted) or refused (rejected, reason = engine code).",
    ["status", "reason"],
)
GALLERY_SIZE = Gauge(
    "faceauth_gallery_templates",
    "Templates in this process's 1:N gallery at its last rebuild.",
    multiprocess_mode="livemax",
)
GALLERY_PEOPLE = Gauge(
    "faceauth_gallery_people",
    "Distinct people in this process's 1:N gallery at its last rebuild.",
    multiprocess_mode="livemax",
)
GALLERY_REBUILDS = Counter(
    "faceauth_gallery_rebuilds", "Rebuilds of the in-process 1:N gallery (one per version change)."
)
GALLERY_REBUILD_SECONDS = Histogram(
    "faceauth_gallery_rebuild_seconds",
    "Time to load and decrypt the templates of a gallery rebuild.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_timings(timings: Mapping[str, float], *, purpose: str) -> None:
    """Record a Probe's per-stage timings (milliseconds) in the stage histogram."""
    for stage in STAGES:
        ms = timings.get(stage)
        if ms is not None:
            RECOGNITION_STAGE_SECONDS.labels(stage=stage, purpose=purpose).observe(ms / 1000)


def record_decision(*, kind: str, match: bool, reason: str = "threshold") -> None:
    DECISIONS.labels(kind=kind, outcome="match" if match else "no_match", reason=reason).inc()


def record_error(*, purpose: str, code: str, reason: str | None = None) -> None:
    """An engine refusal (no face, poor quality, ...); verify/identify count it as a decision."""
    RECOGNITION_ERRORS.labels(purpose=purpose, code=code, reason=reason or "").inc()
    if purpose in ("verify", "identify"):
        DECISIONS.labels(kind=purpose, outcome="error", reason=code).inc()


LIVENESS_STAGE_SECONDS = Histogram(
    "faceauth_liveness_stage_seconds",
    "Streamed liveness per decision: server CPU (cpu) and the capture's length (capture).",
    ["stage"],
    buckets=(0.05, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 1, 2, 3, 5, 8),
)


def observe_liveness(*, cpu_ms: float, frames: int, span_s: float) -> None:
    LIVENESS_STAGE_SECONDS.labels(stage="cpu").observe(cpu_ms / 1000)
    LIVENESS_STAGE_SECONDS.labels(stage="capture").observe(span_s)


def record_liveness_refusal(*, reason: str) -> None:
    LIVENESS_REFUSALS.labels(reason=reason).inc()


def record_gallery(*, templates: int, people: int, seconds: float) -> None:
    GALLERY_SIZE.set(templates)
    GALLERY_PEOPLE.set(people)
    GALLERY_REBUILDS.inc()
    GALLERY_REBUILD_SECONDS.observe(seconds)
