"""Enrolment, verification, identification and revocation of face templates.

Attendance and access control call these functions; they never touch the engine directly.
Every decision is logged with who, where, score, threshold and model version, and never with
the image or the embedding.
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import audit
from accounts.models import User

from . import engine, enrolment_checks, liveness, lockouts, metrics, privacy
from .errors import (
    BiometricError,
    EmptyFile,
    InactivePerson,
    NoTemplates,
    UnknownPerson,
    WrongImageCount,
    from_engine,
    translated_issues,
)
from .models import EnrolmentJob, FaceSample, FaceTemplate, GalleryState
from .signals import spoof_suspected

log = logging.getLogger("faceauth.decisions")

MIN_ENROLMENT_IMAGES = 3
MAX_ENROLMENT_IMAGES = 5


@dataclass(frozen=True)
class MatchResult:
    """A verify or identify outcome: what the callers store and show."""

    match: bool
    score: float
    threshold: float
    model: str
    person: User | None
    quality: dict
    timings: dict
    liveness: dict | None = None

    def as_log(self) -> dict:
        return {
            "match": self.match,
            "person": self.person.pk if self.person else None,
            "score": round(self.score, 4),
            "threshold": round(self.threshold, 4),
            "model": self.model,
            "liveness": (self.liveness or {}).get("reason"),
        }


# ---------------------------------------------------------------- image intake


def _decode_upload(data: bytes) -> np.ndarray:
    """Decode an uploaded image within the upload limits, as an API error if it fails."""
    if not data:
        raise EmptyFile()
    try:
        return engine.decode_image(data, max_bytes=settings.FACEAUTH_MAX_UPLOAD_BYTES)
    except engine.EngineError as exc:
        raise from_engine(exc) from exc


def check_upload(data: bytes) -> bytes:
    """Refuse empty, oversized and undecodable files before anything is stored."""
    _decode_upload(data)
    return data


def analyse_frame(*, image: bytes, pose: str | None = None) -> dict:
    """Face boxes and quality guidance for a live camera frame (no embedding, no logging).
    ``pose`` (an enrolment prompt: frontal, left, right): the photo must show it, eyes open."""
    rgb = _decode_upload(image)
    try:
        analysis = engine.analyse_frame(rgb, pose=pose).as_dict()
    except engine.EngineError as exc:
        raise from_engine(exc) from exc
    analysis["issues"] = translated_issues(analysis.get("issues") or [])
    return analysis


def extract_probe(image: bytes | np.ndarray, *, purpose: str) -> engine.Probe:
    if isinstance(image, bytes | bytearray) and not image:
        raise EmptyFile()
    if isinstance(image, bytes | bytearray) and len(image) > settings.FACEAUTH_MAX_UPLOAD_BYTES:
        metrics.record_error(purpose=purpose, code=engine.ImageTooLarge.code)
        raise from_engine(engine.ImageTooLarge())
    try:
        probe = engine.extract(image, purpose=purpose)
    except engine.EngineError as exc:
        metrics.record_error(purpose=purpose, code=exc.code, reason=getattr(exc, "reason", None))
        raise from_engine(exc) from exc
    metrics.observe_timings(probe.timings, purpose=purpose)
    return probe


# ---------------------------------------------------------------- enrolment


@transaction.atomic
def start_enrolment(
    *, person: User, images: list[bytes], requested_by: User | None = None
) -> EnrolmentJob:
    """Queue an enrolment of 3-5 photos; the embeddings are computed by a Celery task.

    ``requested_by`` someone else than ``person`` is reception: a guard (visitors and
    contractors) or an admin (enrolment_checks.may_enrol)."""
    from .tasks import process_enrolment

    if not MIN_ENROLMENT_IMAGES <= len(images) <= MAX_ENROLMENT_IMAGES:
        raise WrongImageCount()
    enrolment_checks.require_may_enrol(actor=requested_by, person=person)
    if not person.is_active:
        raise InactivePerson()
    privacy.require_consent(person)
    for data in images:
        check_upload(data)
    job = EnrolmentJob.objects.create(person=person, requested_by=requested_by, total=len(images))
    for position, data in enumerate(images):
        sample = FaceSample(job=job, person=person, position=position, byte_size=len(data))
        # Held encrypted until the task has embedded it (and deleted after, by default).
        sample.set_image(data)
        sample.save()
    audit.record(
        "enrolment.start",
        actor=requested_by,
        outcome="queued",
        target=person,
        details={"job": str(job.pk), "images": len(images)},
    )
    log.info(
        "enrolment queued",
        extra={"job": str(job.pk), "person": person.pk, "images": len(images)},
    )
    transaction.on_commit(lambda: process_enrolment.delay(str(job.pk)))
    transaction.on_commit(lambda: metrics.ENROLMENT_JOBS.labels(state="queued").inc())
    return job


def run_enrolment(*, job_id: str) -> EnrolmentJob:
    """Embed every pending sample of a job, check the faces against the gallery, then attach
    them as templates, or hold the job for an admin's review (enrolment_checks.identity_hold).
    Idempotent: a retry skips finished samples."""
    job = EnrolmentJob.objects.select_related("person").get(pk=job_id)
    if job.status in (
        EnrolmentJob.Status.DONE,
        EnrolmentJob.Status.FAILED,
        EnrolmentJob.Status.HELD,
    ):
        return job
    EnrolmentJob.objects.filter(pk=job.pk).update(status=EnrolmentJob.Status.RUNNING)
    model_version = engine.default_calibration().model_version
    embedded = []
    for sample in job.samples.filter(status=FaceSample.Status.PENDING):
        probe = _embed_sample(sample)
        if probe is not None:
            embedded.append((sample, probe))
        EnrolmentJob.objects.filter(pk=job.pk).update(
            processed=job.samples.exclude(status=FaceSample.Status.PENDING).count() + len(embedded)
        )
    if embedded and job.review != EnrolmentJob.Review.APPROVED:
        hold = enrolment_checks.identity_hold(
            person=job.person,
            embeddings=np.vstack([probe.embedding for _, probe in embedded]),
            gallery=gallery_cache.get(),
        )
        if hold is not None:
            enrolment_checks.hold_job(job=job, samples=[s for s, _ in embedded], hold=hold)
            metrics.ENROLMENT_JOBS.labels(state=EnrolmentJob.Status.HELD).inc()
            return job
    for sample, probe in embedded:
        _attach(sample, probe, model_version=model_version)
    return _finish_job(job)


def _embed_sample(sample: FaceSample) -> engine.Probe | None:
    # One bad photo is recorded and skipped; it never takes the good ones down with it.
    try:
        probe = engine.extract(sample.get_image() or b"", purpose="enrol")
    except engine.EngineError as exc:
        metrics.record_error(purpose="enrol", code=exc.code, reason=getattr(exc, "reason", None))
        metrics.ENROLMENT_SAMPLES.labels(status="rejected", reason=exc.code).inc()
        sample.status = FaceSample.Status.REJECTED
        sample.reason = getattr(exc, "reason", None) or exc.code
        sample.message = exc.message
        if not settings.FACEAUTH_KEEP_ENROLMENT_IMAGES:
            sample.image = None
        sample.save(update_fields=["status", "reason", "message", "image"])
        return None
    metrics.observe_timings(probe.timings, purpose="enrol")
    return probe


def _attach(sample: FaceSample, probe: engine.Probe, *, model_version: str) -> None:
    metrics.ENROLMENT_SAMPLES.labels(status="accepted", reason="").inc()
    with transaction.atomic():
        template = FaceTemplate(
            person=sample.person,
            sample=sample,
            model_version=model_version,
            quality_score=_quality_score(probe.quality),
        )
        template.embedding = probe.embedding
        template.save()
        sample.status = FaceSample.Status.ACCEPTED
        sample.quality = probe.quality.as_dict()
        if not settings.FACEAUTH_KEEP_ENROLMENT_IMAGES:
            sample.image = None
        sample.save(update_fields=["status", "quality", "image"])
        bump_gallery_version()


def _finish_job(job: EnrolmentJob) -> EnrolmentJob:
    samples = job.samples.all()
    accepted = samples.filter(status=FaceSample.Status.ACCEPTED).count()
    job.processed = samples.exclude(status=FaceSample.Status.PENDING).count()
    job.accepted = accepted
    job.status = EnrolmentJob.Status.DONE if accepted else EnrolmentJob.Status.FAILED
    rejected = samples.filter(status=FaceSample.Status.REJECTED)
    job.error = "; ".join(f"photo {s.position + 1}: {s.message}" for s in rejected)[:300]
    job.save(update_fields=["processed", "accepted", "status", "error", "updated_at"])
    metrics.ENROLMENT_JOBS.labels(state=job.status).inc()
    audit.record(
        "templates.create",
        outcome=job.status,
        target=job.person,
        details={"job": str(job.pk), "accepted": accepted, "rejected": rejected.count()},
    )
    log.info(
        "enrolment finished",
        extra={"job": str(job.pk), "person": job.person_id, "accepted": accepted},
    )
    return job


def _quality_score(quality: engine.Quality) -> float:
    # A 0..1 summary for admins: sharpness and size saturate, yaw penalises.
    size = min(1.0, quality.face_px / 200)
    sharp = min(1.0, quality.sharpness / 200)
    frontal = max(0.0, 1.0 - abs(quality.yaw))
    return round((size + sharp + frontal) / 3, 3)


def mark_job_failed(*, job_id: str, error: str) -> None:
    updated = (
        EnrolmentJob.objects.filter(pk=job_id)
        .exclude(status=EnrolmentJob.Status.DONE)
        .update(status=EnrolmentJob.Status.FAILED, error=error[:300])
    )
    if updated:
        metrics.ENROLMENT_JOBS.labels(state=EnrolmentJob.Status.FAILED).inc()


# ---------------------------------------------------------------- revocation


@transaction.atomic
def revoke_templates(*, person: User, actor: User | None = None) -> int:
    """Delete a person's templates (and any kept images) and drop them from every gallery."""
    count, _ = FaceTemplate.objects.filter(person=person).delete()
    FaceSample.objects.filter(person=person).exclude(image=None).update(image=None)
    bump_gallery_version()
    log.info(
        "templates revoked",
        extra={"person": person.pk, "actor": actor.pk if actor else None, "count": count},
    )
    return count


def on_person_offboarded(sender, person: User, actor: User | None = None, **kwargs) -> None:
    revoke_templates(person=person, actor=actor)


# ---------------------------------------------------------------- the 1:N gallery


def bump_gallery_version() -> None:
    """Tell every process its gallery is stale; they see it once this transaction commits."""
    updated = GalleryState.objects.filter(pk=1).update(
        version=F("version") + 1, changed_at=timezone.now()
    )
    if not updated:
        GalleryState.objects.get_or_create(pk=1, defaults={"version": 1})


def gallery_version() -> tuple:
    """The counter with the time of its last change: if the row is ever recreated (a restore,
    a flushed test database) the counter restarts, but the pair still differs."""
    row = GalleryState.objects.filter(pk=1).values_list("version", "changed_at").first()
    return tuple(row) if row else (0, None)


class _GalleryCache:
    """This process's gallery, rebuilt only when the database version moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version: tuple | None = None
        self.gallery: engine.Gallery | None = None
        self.rebuilds = 0

    def get(self) -> engine.Gallery:
        version = gallery_version()
        if self.gallery is not None and self.version == version:
            return self.gallery
        with self._lock:
            if self.gallery is None or self.version != version:
                started = time.perf_counter()
                self.gallery = _build_gallery()
                self.version = version
                self.rebuilds += 1
                metrics.record_gallery(
                    templates=len(self.gallery),
                    people=self.gallery.n_people,
                    seconds=time.perf_counter() - started,
                )
            return self.gallery


def _build_gallery() -> engine.Gallery:
    model_version = engine.default_calibration().model_version
    rows = FaceTemplate.objects.filter(
        person__is_active=True, model_version=model_version
    ).values_list("person_id", "embedding_ciphertext")
    ids, vectors = [], []
    for person_id, ciphertext in rows.iterator(chunk_size=2000):
        template = FaceTemplate(embedding_ciphertext=ciphertext)
        ids.append(person_id)
        vectors.append(template.embedding)
    matrix = np.vstack(vectors) if vectors else np.zeros((0, 128), dtype=np.float32)
    return engine.Gallery(ids, matrix)


gallery_cache = _GalleryCache()


# ---------------------------------------------------------------- decisions


def _templates_of(person: User) -> np.ndarray:
    model_version = engine.default_calibration().model_version
    templates = [
        t.embedding for t in FaceTemplate.objects.filter(person=person, model_version=model_version)
    ]
    if not templates:
        raise NoTemplates()
    return np.vstack(templates)


# What the API's boolean ``streamed`` field reads as true (DRF's BooleanField, lower-cased).
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


def claims_stream(*, nonce: str, frames: list | None, flag: object) -> bool:
    """Whether a face request claims a streamed decision: ``streamed`` true, a nonce to claim
    it under and no burst (frames sent are checked as a burst). The one reading of the flag
    for the clock, the door check and the sign-in face step."""
    return bool(nonce) and not frames and str(flag).strip().lower() in _TRUE


def _probe_for(
    *,
    purpose: str,
    image: bytes | None,
    frames: list[bytes] | None,
    nonce: str,
    device,
    person: User | None,
    streamed: bool = False,
) -> tuple[engine.Probe, dict]:
    """The probe to match, after the liveness check where one is required. ``streamed``: the
    capture was streamed (``stream_liveness``); its decision and probe are claimed once."""
    if streamed:
        return liveness.claim_streamed(nonce=nonce, device=device, person=person)
    if frames:
        capture = liveness.check_burst(nonce=nonce, frames=frames, device=device, person=person)
        return extract_probe(capture.frame, purpose=purpose), capture.summary
    if device is not None and liveness.liveness_required(device):
        raise liveness.refuse("liveness_required")
    return extract_probe(image or b"", purpose=purpose), liveness.liveness_off_summary(device)


def _audit_attempt(kind: str, result: "MatchResult | None", *, device, claimed, error=None) -> None:
    details = {"where": str(device) if device else ""}
    if result is not None:
        details.update(
            score=round(result.score, 4), threshold=round(result.threshold, 4), model=result.model
        )
        details["liveness"] = (result.liveness or {}).get("reason", "")
    if error is not None:
        details.update(code=error.code, reason=getattr(error, "reason", None) or "")
    outcome = "error" if error else ("match" if result.match else "no_match")
    audit.record(
        f"auth.face.{kind}",
        actor=claimed,
        device=device,
        outcome=outcome,
        target=(result.person if result and result.person else claimed),
        details=details,
    )


# Retention counts in days: refreshing last use more often than this only adds writes to the
# hot path of every clock-in.
LAST_USE_RESOLUTION = timedelta(hours=1)


def _mark_used(person: User) -> None:
    now = timezone.now()
    FaceTemplate.objects.filter(person=person).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USE_RESOLUTION)
    ).update(last_used_at=now)


def _failed_probe(attempt, exc: BiometricError, *, device, person, where: str) -> None:
    """A spoof counts as a failed attempt and tells the guards; other probe errors (no face,
    poor quality, a nonce error) were no attempt at the face. A streamed refusal was counted
    (and, away from doors, announced) when the stream decided (``stream_liveness``)."""
    counted = getattr(exc, "counted", False)
    if attempt is None:
        pass
    elif exc.code == "spoof_suspected" and not counted:
        lockouts.failed(attempt)
    else:
        attempt.refund()
    if exc.code == "spoof_suspected" and not counted:
        spoof_suspected.send(sender=BiometricError, device=device, person=person, where=where)


def _announces(*, passed: bool, reason: str) -> bool:
    # A replayed stream is refused when it is claimed, as a replayed burst is: not here.
    return not passed and reason != "replay"


def announced_at_stream(liveness: dict | None) -> bool:
    """Whether a capture's refusal was counted and announced (``spoof_suspected``) when its
    stream was decided, before any final request claimed it: a door's access event for it
    then joins the guards' alert instead of raising a second one."""
    return bool(
        liveness
        and liveness.get("mode") == "stream"
        and _announces(passed=bool(liveness.get("passed")), reason=str(liveness.get("reason")))
    )


def _device_attempt(device):
    try:
        return lockouts.begin(device=device)
    except lockouts.LockedOut:
        return None  # already backing off


def check_capture(
    *,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
    streamed: bool = False,
    device=None,
    where: str = "",
) -> None:
    """A capture's checks (nonce, liveness, a usable face) without matching it: a claim that
    cannot be verified costs and answers like one that can. A spoof counts against the device."""
    try:
        _probe_for(
            purpose="verify",
            image=image,
            frames=frames,
            nonce=nonce,
            device=device,
            person=None,
            streamed=streamed,
        )
    except BiometricError as exc:
        if device is not None and exc.code == "spoof_suspected":
            _failed_probe(_device_attempt(device), exc, device=device, person=None, where=where)
        raise


def verify_person(
    *,
    person: User,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
    streamed: bool = False,
    device=None,
    where: str = "",
) -> MatchResult:
    """1:1: is this face this person? Calibrated to the verify target FMR.

    With ``frames`` and ``nonce`` the burst must pass the liveness challenge first; a device
    that requires liveness refuses a single image."""
    if not person.may_authenticate():
        raise InactivePerson()
    attempt = lockouts.begin(person=person)
    try:
        templates = _templates_of(person)
        probe, live = _probe_for(
            purpose="verify",
            image=image,
            frames=frames,
            nonce=nonce,
            device=device,
            person=person,
            streamed=streamed,
        )
    except BiometricError as exc:
        if device is not None and exc.code == "spoof_suspected":
            # A spoof proves nothing about the claimed person: the device that sent it pays,
            # or anyone could lock a victim out with photos (security finding 6).
            attempt.refund()
            attempt = _device_attempt(device)
        _failed_probe(attempt, exc, device=device, person=person, where=where)
        _audit_attempt("verify", None, device=device, claimed=person, error=exc)
        raise
    except BaseException:
        attempt.refund()
        raise
    decision = engine.verify(probe, templates)
    result = MatchResult(
        match=decision.match,
        score=decision.score,
        threshold=decision.threshold,
        model=decision.model,
        person=person,
        quality=probe.quality.as_dict(),
        timings=probe.timings,
        liveness=live,
    )
    if result.match:
        attempt.succeeded()
        _mark_used(person)
    else:
        lockouts.failed(attempt)
    metrics.record_decision(kind="verify", match=result.match)
    log.info("verify", extra={"where": where, **result.as_log()})
    _audit_attempt("verify", result, device=device, claimed=person)
    return result


def identify_face(
    *,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
    streamed: bool = False,
    device=None,
    where: str = "",
) -> MatchResult:
    """1:N: who is this, if anybody? Calibrated to the identify target FPIR for this gallery."""
    attempt = lockouts.begin(device=device) if device is not None else None
    try:
        probe, live = _probe_for(
            purpose="identify",
            image=image,
            frames=frames,
            nonce=nonce,
            device=device,
            person=None,
            streamed=streamed,
        )
        decision = gallery_cache.get().search(probe)
        if (frames or streamed) and decision.match:
            liveness.remember_identified(nonce=nonce, person_id=decision.owner)
    except BiometricError as exc:
        _failed_probe(attempt, exc, device=device, person=None, where=where)
        _audit_attempt("identify", None, device=device, claimed=None, error=exc)
        raise
    except BaseException:
        if attempt is not None:
            attempt.refund()
        raise
    person = None
    if decision.match:
        person = User.objects.filter(pk=decision.owner).first()
        if person is not None and not person.may_authenticate():
            # Still in an old gallery copy, or outside the validity window: nobody.
            person = None
    result = MatchResult(
        match=person is not None,
        score=decision.score,
        threshold=decision.threshold,
        model=decision.model,
        person=person,
        quality=probe.quality.as_dict(),
        timings=probe.timings,
        liveness=live,
    )
    if result.match:
        _mark_used(person)
    if attempt is not None:
        if result.match:
            attempt.succeeded()
        else:
            lockouts.failed(attempt)
    metrics.record_decision(
        kind="identify",
        match=result.match,
        # A gallery hit on somebody who may not authenticate (now) is a refusal, not a miss.
        reason="not_authorised" if decision.match and person is None else "threshold",
    )
    log.info("identify", extra={"where": where, **result.as_log()})
    _audit_attempt("identify", result, device=device, claimed=None)
    return result


# What a page should send after a challenge (the evaluation uses the same numbers).
CAPTURE_SETTINGS = {
    "seconds": liveness.engine_liveness.CAPTURE_SECONDS,
    "fps": liveness.engine_liveness.CAPTURE_FPS,
    "width": liveness.engine_liveness.CAPTURE_WIDTH,
    "quality": liveness.engine_liveness.CAPTURE_JPEG_QUALITY / 100,
}


STREAM_SETTINGS = {
    "fps": liveness.engine_stream.STREAM_FPS,
    "chunk_seconds": liveness.engine_stream.STREAM_CHUNK_S,
    "max_seconds": liveness.engine_stream.STREAM_MAX_S,
    "width": liveness.engine_liveness.CAPTURE_WIDTH,
    "quality": liveness.engine_liveness.CAPTURE_JPEG_QUALITY / 100,
}


def stream_liveness(
    *,
    nonce: str,
    seq: int,
    frames: list[bytes],
    times_ms: list[str] | None = None,
    device=None,
    person: User | None = None,
) -> "liveness.StreamAnswer":
    """One chunk of a streamed liveness capture (see ``biometrics.liveness``). Audit and events
    come with the page's final request, which claims the decision; but a refusal counts against
    the device's (or person's) lock-out and the guards hear of it as soon as the stream decides
    it, claimed or not: a stream is no free liveness oracle, and an attacker who walks away
    before the final request (a door's access event) is still reported."""
    if seq == 0:
        lockouts.check(device=device, person=None if device is not None else person)
    answer = liveness.stream_chunk(
        nonce=nonce, seq=seq, frames=frames, times_ms=times_ms, device=device, person=person
    )
    if answer.decided and answer.fresh and _announces(passed=answer.passed, reason=answer.reason):
        try:
            attempt = lockouts.begin(device=device, person=None if device is not None else person)
        except BiometricError:
            pass  # locked meanwhile: the next stream is refused at its first chunk anyway
        else:
            lockouts.failed(attempt)
        where = f"stream:{device}" if device is not None else f"stream:{person.pk}"
        spoof_suspected.send(sender=BiometricError, device=device, person=person, where=where)
    return answer


def issue_challenge(*, device=None, person: User | None = None):
    """A liveness challenge and its single-use nonce for the next capture; how many actions
    it asks is the device's requirement (``liveness.required_actions``)."""
    return liveness.issue_challenge(device=device, person=person)


def resolve_person(person_id) -> User:
    try:
        return User.objects.get(pk=int(person_id))
    except (TypeError, ValueError, User.DoesNotExist) as exc:
        raise UnknownPerson() from exc


# What other apps use of the liveness check and the consent records, and the signal they connect
# to (they import no other biometrics module).
refuse_liveness = liveness.refuse
register_liveness_policy = liveness.register_action_policy
give_consent = privacy.give_consent
# The face lock-outs as the API answers them (status, code): the back-off after a few failures,
# and face login disabled until an admin resets it (identity ends a sign-in's face step on both).
LOCK_OUT_ANSWERS = frozenset(
    (error.status_code, error.code) for error in (lockouts.LockedOut, lockouts.FaceLoginDisabled)
)
face_data_erased = privacy.face_data_erased
