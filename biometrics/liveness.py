"""Challenge-response liveness around the engine: nonces, replay refusal, and the decision.

A page asks for a challenge (blink, turn left or right; two at a high-security door), gets a
single-use nonce bound to its device (or person) that expires within seconds, and sends a
short burst of frames with it. Only then is the face matched.

How many actions a device must answer is the server's knowledge of that device (the policies
registered with ``register_action_policy``; access control registers the doors' security
levels), never the caller's: both the challenge and the check use ``required_actions``. Each
device (or person) holds one outstanding challenge, and its actions stay the same until a
burst is sent for it: drawing again only gives a new nonce for the same actions.

**Streamed** (``stream_chunk``, the pages' default): the page sends what it films in short
chunks with the nonce; the per-nonce state (``engine.stream.LivenessStream``: landmarks,
measures, a few descriptors, no frames) lives in the shared cache under a per-nonce lock, and
the answer is "pending" until the evidence suffices. The decision (pass or refusal) is then
kept for the page's final request (clock, door check, verify), which claims it once with
``streamed`` + the nonce (``claim_streamed``): lock-outs, audit and the access log stay where
they were. The identification probe was computed from the first good frame while the liveness
evidence accumulated, so the final request only searches the gallery.

A burst that passed is remembered for a day as a perceptual signature
(``engine.replay``) per device and per identified person: the same capture sent again,
re-encoded, resized or brightened, is refused as a ``replay``.
"""

import dataclasses
import hashlib
import logging
import pickle
import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts.locks import cache_lock
from accounts.models import Device, User

from . import engine, metrics
from .engine import liveness as engine_liveness
from .engine import replay as engine_replay
from .engine import stream as engine_stream
from .errors import BiometricError, from_engine
from .fields import crypter
from .models import LivenessChallenge

log = logging.getLogger("faceauth.decisions")

MAX_BURST_FRAMES = 60  # 4 s at 15 fps: more is not a capture, it is a load test
REPLAY_MEMORY = timedelta(days=1)
# Near-duplicate memory: the last bursts that passed, per device and per person. A kiosk sees a
# few hundred bursts a day; 50 covers the last hour or two of a busy one (~4 KB each).
RECENT_BURSTS = 50
PENDING_SIGNATURE = timedelta(minutes=2)  # from the liveness check to the identification


class LivenessError(BiometricError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "spoof_suspected"
    message = _("We could not confirm a live person. Please try again and follow the instruction.")


class NonceError(BiometricError):
    status_code = status.HTTP_400_BAD_REQUEST


@dataclass(frozen=True)
class StreamAnswer:
    """What a chunk's request learns: still pending (and whether to prompt), or decided."""

    decided: bool
    passed: bool = False
    reason: str = ""
    prompt: bool = False
    challenges: tuple[str, ...] = ()
    span_s: float = 0.0
    fresh: bool = True  # False: the same answer again, for a chunk sent twice


REFUSALS = {
    "nonce_missing": (status.HTTP_400_BAD_REQUEST, _("Ask for a challenge first.")),
    "nonce_invalid": (status.HTTP_400_BAD_REQUEST, _("Unknown challenge. Please try again.")),
    "nonce_expired": (status.HTTP_400_BAD_REQUEST, _("The challenge expired. Please try again.")),
    "nonce_wrong_device": (
        status.HTTP_403_FORBIDDEN,
        _("This challenge belongs to another device."),
    ),
    "nonce_reused": (status.HTTP_409_CONFLICT, _("This challenge was already used.")),
    "nonce_superseded": (
        status.HTTP_409_CONFLICT,
        _("A newer challenge replaced this one. Please try again."),
    ),
    "challenge_too_weak": (
        status.HTTP_403_FORBIDDEN,
        _("This challenge asks for fewer actions than this device requires."),
    ),
    "replay": (status.HTTP_409_CONFLICT, _("These frames were already sent once.")),
    "too_many_frames": (status.HTTP_400_BAD_REQUEST, _("Too many frames in one capture.")),
    "liveness_required": (
        status.HTTP_400_BAD_REQUEST,
        _("A live capture (challenge and frames) is required here."),
    ),
    "chunk_out_of_order": (
        status.HTTP_409_CONFLICT,
        _("This part of the capture came out of order. Please try again."),
    ),
    "stream_busy": (
        status.HTTP_409_CONFLICT,
        _("The previous part of this capture is still being checked."),
    ),
    "bad_timestamps": (
        status.HTTP_400_BAD_REQUEST,
        _("Frame times must be numbers in milliseconds, one per frame, not decreasing."),
    ),
    "stream_not_decided": (
        status.HTTP_409_CONFLICT,
        _("The live check of this capture has not decided yet."),
    ),
}

# Reasons that mean an attack rather than a clumsy user: doors raise an alert for these.
ATTACK_REASONS = frozenset(
    {"nonce_reused", "replay", "spoof_suspected", "nonce_wrong_device", "challenge_too_weak"}
)


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
    signature: np.ndarray | None = field(default=None, repr=False)


def liveness_required(device: Device | None) -> bool:
    if not settings.FACEAUTH_LIVENESS_ENABLED:
        return False
    return device.liveness_required if device is not None else True


def liveness_off_summary(device: Device | None) -> dict:
    why = "disabled_for_device" if settings.FACEAUTH_LIVENESS_ENABLED else "disabled_by_setting"
    return {"checked": False, "reason": why, "device": device.pk if device else None}


# ---------------------------------------------------------------- challenges

ActionPolicy = Callable[[Device], int]
_action_policies: list[ActionPolicy] = []


def register_action_policy(policy: ActionPolicy) -> None:
    """A higher app tells how many actions a device must answer (access control: two at a
    high-security door). Registered once, at app start."""
    if policy not in _action_policies:
        _action_policies.append(policy)


def required_actions(device: Device | None) -> int:
    """The number of actions a challenge for this device must ask (1 without a policy)."""
    if device is None:
        return 1
    return max([1, *(policy(device) for policy in _action_policies)])


def issue_challenge(*, device: Device | None = None, person: User | None = None):
    """A fresh nonce for ``device`` (or, without one, ``person``) that replaces any earlier
    unused one. The actions are drawn at random only once the previous challenge was used (or
    there was none): drawing again cannot pick a weaker or easier action."""
    owner = {"device": device} if device is not None else {"person": person}
    count = required_actions(device)
    forced = settings.FACEAUTH_LIVENESS_FORCE_CHALLENGE
    with transaction.atomic():
        # One issuer at a time per owner: concurrent draws cannot both find "no open challenge".
        model = Device if device is not None else User
        model.objects.select_for_update().filter(pk=(device or person).pk).exists()
        now = timezone.now()
        open_ = LivenessChallenge.objects.filter(**owner, used_at__isnull=True)
        previous = open_.order_by("-pk").first()
        open_.update(used_at=now, outcome="superseded")
        if previous is not None and len(previous.challenges) == count and not forced:
            picked = list(previous.challenges)
        else:
            picked = _draw(count, forced)
        return LivenessChallenge.objects.create(
            nonce=secrets.token_urlsafe(24),
            **owner,
            challenges=picked,
            expires_at=now + timedelta(seconds=settings.FACEAUTH_CHALLENGE_TTL_SECONDS),
        )


def _draw(count: int, forced: str) -> list[str]:
    choices = [forced] if forced else list(engine_liveness.CHALLENGES)
    rng = secrets.SystemRandom()
    picked: list[str] = []
    for _step in range(max(1, count)):
        # Two challenges are two different actions where possible.
        options = [c for c in choices if c not in picked] or choices
        picked.append(rng.choice(options))
    return picked


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
        raise refuse("nonce_superseded" if challenge.outcome == "superseded" else "nonce_reused")
    if len(challenge.challenges) < required_actions(device):
        # Issued before the device's requirement rose, or forged: never a downgrade.
        LivenessChallenge.objects.filter(pk=challenge.pk).update(outcome="challenge_too_weak")
        raise refuse("challenge_too_weak")
    if challenge.expires_at < now:
        LivenessChallenge.objects.filter(pk=challenge.pk).update(outcome="nonce_expired")
        raise refuse("nonce_expired")
    return challenge


def _seen_before(digest: str) -> bool:
    """Exact copies: the digest of every capture's frames is remembered for REPLAY_MEMORY
    (bursts and streams alike); True if this one was already seen."""
    return not cache.add(f"liveness:burst:{digest}", 1, timeout=_seconds(REPLAY_MEMORY))


def _refuse_replayed_burst(frames: list[bytes]) -> None:
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(hashlib.sha256(frame).digest())
    if _seen_before(digest.hexdigest()):
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
    try:
        # Before the verdict: a copy of a capture is a replay, whatever else it fails.
        _refuse_near_duplicate(
            result.signature,
            device=device,
            person_id=person.pk if person else None,
            remember=result.passed,
        )
    except NonceError:
        LivenessChallenge.objects.filter(pk=challenge.pk).update(outcome="replay")
        raise
    if result.passed:
        if person is None:  # identification: the person's memory is checked once known
            cache.set(
                _pending_key(challenge.nonce), _pack(result.signature), _seconds(PENDING_SIGNATURE)
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
    return LiveCapture(frame=_matching_frame(rgb), summary=summary, signature=result.signature)


# ---------------------------------------------------------------- near-duplicate bursts


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _pack(signature: np.ndarray) -> bytes:
    return signature.astype(np.float16).tobytes()


def _unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float16).astype(np.float32).reshape(-1, engine_replay.DIMS)


def _pending_key(nonce: str) -> str:
    return f"liveness:pending:{hashlib.sha256(nonce.encode()).hexdigest()}"


def _memory_keys(*, device: Device | None, person_id: int | None) -> list[str]:
    keys = [f"liveness:recent:device:{device.pk}"] if device is not None else []
    return keys + ([f"liveness:recent:person:{person_id}"] if person_id is not None else [])


def _refuse_near_duplicate(
    signature: np.ndarray | None,
    *,
    device: Device | None,
    person_id: int | None,
    remember: bool = True,
) -> None:
    """Refuse a burst that repeats one that passed recently at this device or for this
    person, then remember it (if it passed: only those are worth replaying). Check and store
    run under a short lock per memory, so two copies sent at once cannot both pass."""
    if signature is None or not len(signature):
        return
    keys = _memory_keys(device=device, person_id=person_id)
    deadline = time.monotonic() + 5
    with ExitStack() as locks:
        for key in keys:
            # Past the deadline, go on without it: a crashed holder's lock expires anyway.
            wait = max(0.0, deadline - time.monotonic())
            locks.enter_context(cache_lock(f"{key}:lock", hold=5, wait=wait))
        memories = cache.get_many(keys)
        for key in keys:
            for packed in memories.get(key, []):
                if engine_replay.is_near_duplicate(signature, _unpack(packed)):
                    raise refuse("replay")
        if not remember:
            return
        packed = _pack(signature)
        cache.set_many(
            {key: [*memories.get(key, [])[-(RECENT_BURSTS - 1) :], packed] for key in keys},
            _seconds(REPLAY_MEMORY),
        )


def remember_identified(*, nonce: str, person_id: int) -> None:
    """After a burst identified a person: refuse it if it repeats one of that person's recent
    bursts (sent at another device), else remember it for them."""
    packed = cache.get(_pending_key(nonce)) if nonce else None
    if packed is None:
        return
    cache.delete(_pending_key(nonce))
    _refuse_near_duplicate(_unpack(packed), device=None, person_id=person_id)


def _matching_frame(frames: list[np.ndarray]) -> np.ndarray:
    # The middle of the burst: after the user settled, and usually with eyes open.
    order = sorted(range(len(frames)), key=lambda i: abs(i - len(frames) // 2))
    for i in order[:5]:
        if engine.detect_faces(frames[i]):
            return frames[i]
    return frames[len(frames) // 2]


# ---------------------------------------------------------------- streamed capture

STREAM_CHUNK_MAX_FRAMES = 15  # 0.75 s at the page's rate: a chunk is 0.4 s (8 frames)
STREAM_STATE_TTL = timedelta(seconds=60)
STREAM_DECISION_TTL = timedelta(seconds=60)  # from the decision to the page's final request
STREAM_LOCK_SECONDS = 10
STREAM_CLOCK_SLACK_S = 1.0  # frame times may run ahead of the server's clock by this much


def _stream_key(nonce: str, part: str) -> str:
    return f"liveness:stream:{part}:{hashlib.sha256(nonce.encode()).hexdigest()}"


# The stream's state and verdict hold landmarks, descriptors and the identification probe: as
# templates are, they are encrypted (FIELD_ENCRYPTION_KEY) while in the shared cache, and a
# value that does not decrypt (tampered, another key) is treated as absent.
def _seal(value) -> bytes:
    return crypter().encrypt(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _unseal(token):
    if token is None:
        return None
    try:
        return pickle.loads(crypter().decrypt(token))  # noqa: S301 - our own sealed value
    except (InvalidToken, TypeError):
        return None


def _owner(device: Device | None, person: User | None) -> str:
    return f"device:{device.pk}" if device is not None else f"person:{person.pk if person else ''}"


def _parse_times(raw: list[str] | None, count: int, seq: int) -> list[float] | None:
    if not raw:
        return None
    try:
        times = [float(t) / 1000.0 for t in raw]
    except (TypeError, ValueError):
        raise refuse("bad_timestamps") from None
    if len(times) != count or not all(np.isfinite(times)):
        raise refuse("bad_timestamps")
    return times


def stream_chunk(
    *,
    nonce: str,
    seq: int,
    frames: list[bytes],
    times_ms: list[str] | None = None,
    device: Device | None = None,
    person: User | None = None,
) -> StreamAnswer:
    """Add one chunk of a streamed capture. ``seq`` counts from 0; the first chunk claims the
    nonce (single use, owner, expiry, strength: as a burst). ``times_ms`` are the frames'
    capture times in ms on the page's clock (without them: STREAM_FPS apart). A chunk sent
    again (a network retry) gets the same answer; any other order is refused."""
    if not frames or len(frames) > STREAM_CHUNK_MAX_FRAMES:
        raise refuse("too_many_frames")
    state_key = _stream_key(nonce, "state")
    with cache_lock(f"{state_key}:lock", hold=STREAM_LOCK_SECONDS, wait=3) as taken:
        if not taken:
            raise refuse("stream_busy")
        return _stream_chunk_locked(
            state_key, nonce=nonce, seq=seq, frames=frames, times_ms=times_ms,
            device=device, person=person,
        )  # fmt: skip


def _stream_chunk_locked(
    state_key: str, *, nonce, seq, frames, times_ms, device, person
) -> StreamAnswer:
    state = _unseal(cache.get(state_key))
    owner = _owner(device, person)
    if state is None:
        if seq != 0:
            raise refuse("nonce_invalid")
        challenge = _consume(nonce, device=device, person=person)
        state = {
            "owner": owner,
            "challenge": challenge.pk,
            "started": time.time(),
            "next_seq": 0,
            "digest": "",
            "stream": engine_stream.LivenessStream(
                list(challenge.challenges), backend=settings.FACEAUTH_LIVENESS_BACKEND
            ),
            "answer": None,
        }
    if state["owner"] != owner:
        raise refuse("nonce_wrong_device")
    if seq == state["next_seq"] - 1 and state["answer"] is not None:
        # The same chunk again (its answer was lost on the way): the same answer, not new.
        return dataclasses.replace(state["answer"], fresh=False)
    if seq != state["next_seq"] or state["answer"] is not None and state["answer"].decided:
        raise refuse("chunk_out_of_order")
    stream: engine_stream.LivenessStream = state["stream"]
    times = _parse_times(times_ms, len(frames), seq)
    if times is None:
        first = len(stream.frames)
        times = [(first + i) / engine_stream.STREAM_FPS for i in range(len(frames))]
    # The page's clock cannot run ahead of the server's: a stream claiming more seconds than
    # have passed since its first chunk is made up.
    first_t = stream.waiting_since if stream.waiting_since is not None else times[0]
    if times[-1] - first_t > (time.time() - state["started"] + STREAM_CLOCK_SLACK_S):
        raise refuse("bad_timestamps")
    try:
        rgb = engine.decode_burst(frames, max_bytes=settings.FACEAUTH_MAX_UPLOAD_BYTES)
    except engine.EngineError as exc:
        raise from_engine(exc) from exc
    for frame in frames:  # a running digest of every frame's bytes (exact-copy memory)
        state["digest"] = hashlib.sha256(
            (state["digest"] + hashlib.sha256(frame).hexdigest()).encode()
        ).hexdigest()
    try:
        result = stream.add(rgb, times)
    except ValueError:
        raise refuse("bad_timestamps") from None
    state["next_seq"] = seq + 1
    if result is None:
        answer = StreamAnswer(
            False,
            prompt=stream.prompt,
            challenges=tuple(stream.challenges),
            span_s=round(stream.span, 2),
        )
    else:
        answer = _stream_decided(nonce, state, result, device=device, person=person)
    state["answer"] = answer
    cache.set(state_key, _seal(state), _seconds(STREAM_STATE_TTL))
    return answer


def _stream_decided(nonce, state, result, *, device, person) -> StreamAnswer:
    """The decision: replay checks as for a burst, the challenge's outcome, the log, and the
    verdict kept for the page's final request."""
    challenge_pk = state["challenge"]
    stream: engine_stream.LivenessStream = state["stream"]
    reason = result.reason
    # Exact copy of an earlier capture (all its frames' bytes), then near-duplicates.
    if _seen_before(state["digest"]):
        reason = "replay"
    else:
        try:
            _refuse_near_duplicate(
                result.signature,
                device=device,
                person_id=person.pk if person else None,
                remember=result.passed,
            )
        except NonceError:
            reason = "replay"
    passed = result.passed and reason == "ok"
    LivenessChallenge.objects.filter(pk=challenge_pk).update(outcome=reason)
    summary = {
        "checked": True,
        "passed": passed,
        "reason": reason,
        "backend": result.backend,
        "challenges": list(stream.challenges),
        "ms": round(stream.cpu_ms, 1),
        "mode": "stream",
        "frames": len(stream.frames),
        "span_s": round(stream.span, 2),
    }
    log.info(
        "liveness",
        extra={
            "device": device.pk if device else None,
            "person": person.pk if person else None,
            **{k: v for k, v in summary.items() if k != "checked"},
        },
    )
    metrics.observe_liveness(cpu_ms=stream.cpu_ms, frames=len(stream.frames), span_s=stream.span)
    verdict = {"owner": state["owner"], "passed": passed, "reason": reason, "summary": summary}
    if passed:
        identity = stream.identity
        verdict["identity"] = identity
        if person is None and result.signature is not None:
            cache.set(_pending_key(nonce), _pack(result.signature), _seconds(PENDING_SIGNATURE))
    cache.set(_stream_key(nonce, "decision"), _seal(verdict), _seconds(STREAM_DECISION_TTL))
    return StreamAnswer(
        True, passed=passed, reason=reason, challenges=tuple(stream.challenges),
        span_s=round(stream.span, 2),
    )  # fmt: skip


def claim_streamed(
    *, nonce: str, device: Device | None = None, person: User | None = None
) -> tuple[engine.Probe, dict]:
    """The page's final request after a streamed capture: the decision, once. A pass gives the
    identification probe computed during the stream; a refusal raises as a burst's would."""
    if not nonce:
        raise refuse("nonce_missing")
    key = _stream_key(nonce, "decision")
    verdict = _unseal(cache.get(key))
    if verdict is None:
        state = _unseal(cache.get(_stream_key(nonce, "state")))
        if state is not None and not (state["answer"] and state["answer"].decided):
            raise refuse("stream_not_decided")
        raise refuse("nonce_invalid")
    if verdict["owner"] != _owner(device, person):
        raise refuse("nonce_wrong_device")
    if not cache.delete(key):  # two final requests at once: only one deletes it
        raise refuse("nonce_reused")
    if verdict["reason"] == "replay":
        raise refuse("replay")
    if not verdict["passed"]:
        metrics.record_liveness_refusal(reason=verdict["reason"])
        error = LivenessError()
        error.reason = verdict["reason"]
        error.liveness = verdict["summary"]
        error.counted = True  # the lock-out counted it when the stream decided
        raise error
    identity: engine_stream.IdentityProbe = verdict["identity"]
    probe = engine.Probe(
        embedding=identity.embedding,
        quality=identity.quality,
        box=identity.box,
        timings={},
        descriptor_calls=2,
    )
    return probe, verdict["summary"]


def forget_recent_bursts(*, device: Device | None = None, person: User | None = None) -> None:
    """Drop the near-duplicate memory of a device and/or person (a kiosk that was moved or a
    camera replaced; browser tests whose fake camera loops one clip between separate visits)."""
    cache.delete_many(_memory_keys(device=device, person_id=person.pk if person else None))
