"""Challenge-response liveness around the engine: nonces, replay refusal, and the decision.

A page asks for a challenge (blink, turn left or right; two at a high-security door), gets a
single-use nonce bound to its device (or person) that expires within seconds, and sends a
short burst of frames with it. Only then is the face matched.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import status

from accounts.models import Device, User

from . import engine, metrics
from .engine import liveness as engine_liveness
from .errors import BiometricError, from_engine
from .models import LivenessChallenge

log = logging.getLogger("faceauth.decisions")

MAX_BURST_FRAMES = 60  # 4 s at 15 fps: more is not a capture, it is a load test
REPLAY_MEMORY = timedelta(days=1)


class LivenessError(BiometricError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "spoof_suspected"
    message = "We could not confirm a live person. Please try again and follow the instruction."


class NonceError(BiometricError):
    status_code = status.HTTP_400_BAD_REQUEST


REFUSALS = {
    "nonce_missing": (status.HTTP_400_BAD_REQUEST, "Ask for a challenge first."),
    "nonce_invalid": (status.HTTP_400_BAD_REQUEST, "Unknown challenge. Please try again."),
    "nonce_expired": (status.HTTP_400_BAD_REQUEST, "The challenge expired. Please try again."),
    "nonce_wrong_device": (status.HTTP_403_FORBIDDEN, "This challenge belongs to another device."),
    "nonce_reused": (status.HTTP_409_CONFLICT, "This challenge was already used."),
    "replay": (status.HTTP_409_CONFLICT, "These frames were already sent once."),
    "too_many_frames": (status.HTTP_400_BAD_REQUEST, "Too many frames in one capture."),
    "liveness_required": (
        status.HTTP_400_BAD_REQUEST,
        "A live capture (challenge and frames) is required here.",
    ),
}

# Reasons that mean an attack rather than a clumsy user: doors raise an alert for these.
ATTACK_REASONS = frozenset({"nonce_reused", "replay", "spoof_suspected", "nonce_wrong_device"})


def refuse(code: str) -> BiometricError:
    if code in ATTACK_REASONS:
        metrics.record_liveness_refusal(reason=code)
    status_code, message = REFUSALS[code]
    return NonceError(message, code=code, status_code=status_code)


@dataclass(frozen=True)
class LiveCapture:
    """A burst that passed liveness, with the frame chosen for matching."""

    frame: np.ndarray
    summary: dict


def liveness_required(device: Device | None) -> bool:
    if not settings.FACEAUTH_LIVENESS_ENABLED:
        return False
    return device.liveness_required if device is not None else True


def liveness_off_summary(device: Device | None) -> dict:
    why = "disabled_for_device" if settings.FACEAUTH_LIVENESS_ENABLED else "disabled_by_setting"
    return {"checked": False, "reason": why, "device": device.pk if device else None}


def issue_challenge(
    *, device: Device | None = None, person: User | None = None, count: int = 1
) -> LivenessChallenge:
    forced = settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE
    choices = [forced] if forced else list(engine_liveness.CHALLENGES)
    rng = secrets.SystemRandom()
    picked: list[str] = []
    for _ in range(max(1, count)):
        # Two challenges are two different actions where possible.
        options = [c for c in choices if c not in picked] or choices
        picked.append(rng.choice(options))
    return LivenessChallenge.objects.create(
        nonce=secrets.token_urlsafe(24),
        device=device,
        person=person if device is None else None,
        challenges=picked,
        expires_at=timezone.now() + timedelta(seconds=settings.FACEAUTH_CHALLENGE_TTL_SECONDS),
    )


def _consume(nonce: str, *, device: Device | None, person: User | None) -> LivenessChallenge:
    if not nonce:
        raise refuse("nonce_missing")
    challenge = LivenessChallenge.objects.filter(nonce=nonce).first()
    if challenge is None:
        raise refuse("nonce_invalid")
    owner_ok = (
        challenge.device_id == device.pk
        if device is not None
        else challenge.device_id is None and person is not None and challenge.person_id == person.pk
    )
    if not owner_ok:
        raise refuse("nonce_wrong_device")
    # Single use, even under concurrent requests: only one UPDATE can flip used_at.
    now = timezone.now()
    claimed = LivenessChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(
        used_at=now
    )
    if not claimed:
        raise refuse("nonce_reused")
    if challenge.expires_at < now:
        LivenessChallenge.objects.filter(pk=challenge.pk).update(outcome="nonce_expired")
        raise refuse("nonce_expired")
    return challenge


def _refuse_replayed_burst(frames: list[bytes]) -> None:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(hashlib.sha256(frame).digest())
    key = f"liveness:burst:{digest.hexdigest()}"
    if not cache.add(key, 1, timeout=int(REPLAY_MEMORY.total_seconds())):
        raise refuse("replay")


def check_burst(
    *, nonce: str, frames: list[bytes], device: Device | None = None, person: User | None = None
) -> LiveCapture:
    """Validate the nonce, refuse replays, run the liveness decision and pick a frame."""
    if len(frames) > MAX_BURST_FRAMES:
        raise refuse("too_many_frames")
    challenge = _consume(nonce, device=device, person=person)
    _refuse_replayed_burst(frames)
    try:
        rgb = engine.decode_burst(frames, max_bytes=settings.FACEAUTH_MAX_UPLOAD_BYTES)
    except engine.EngineError as exc:
        raise from_engine(exc) from exc
    # The page records at the announced rate; the blink window is in seconds, not frames.
    fps = engine_liveness.CAPTURE_FPS
    result = engine_liveness.check_liveness(
        rgb,
        challenge.challenges,
        backend=settings.FACEAUTH_LIVENESS_BACKEND,
        timestamps=[i / fps for i in range(len(rgb))],
    )
    LivenessChallenge.objects.filter(pk=challenge.pk).update(outcome=result.reason)
    summary = {
        "checked": True,
        "passed": result.passed,
        "reason": result.reason,
        "backend": result.backend,
        "challenges": challenge.challenges,
        "ms": round(result.ms, 1),
    }
    log.info(
        "liveness",
        extra={
            "device": device.pk if device else None,
            "person": person.pk if person else None,
            **{k: v for k, v in summary.items() if k != "checked"},
        },
    )
    if not result.passed:
        metrics.record_liveness_refusal(reason=result.reason)
        error = LivenessError()
        error.reason = result.reason
        error.liveness = summary
        raise error
    return LiveCapture(frame=_matching_frame(rgb), summary=summary)


def _matching_frame(frames: list[np.ndarray]) -> np.ndarray:
    # The middle of the burst: after the user settled, and usually with eyes open.
    order = sorted(range(len(frames)), key=lambda i: abs(i - len(frames) // 2))
    for i in order[:5]:
        if engine.detect_faces(frames[i]):
            return frames[i]
    return frames[len(frames) // 2]
