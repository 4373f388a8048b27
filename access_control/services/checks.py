"""Door checks: a capture, PIN or badge at an access point becomes a logged decision.

Faces are reached only through biometrics.services.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import idempotency
from accounts.locks import cache_lock
from accounts.models import Device, User
from biometrics import services as biometrics
from biometrics.errors import BiometricError, InactivePerson, NoTemplates
from biometrics.selectors import ATTACK_REASONS

from .. import conf
from ..errors import CredentialRequired, DoorNotConfigured
from ..models import AccessEvent, AccessMode, AccessPoint, Badge, SecurityLevel
from ..reasons import Reason
from ..rules import AccessDecision, evaluate
from .log import record_event

# Face errors that mean "no usable face in this frame": a denied decision, not an API error.
FACE_QUALITY_CODES = frozenset({"no_face", "multiple_faces", "poor_quality"})


# Liveness refusals and nonce attacks (reuse, replayed frames, another door's challenge):
# logged as spoof_suspected denials, which raise the spoof alert. Other refusals of a capture
# (nonce missing, unknown or expired, liveness_required, too many frames) are 4xx, no event.
SPOOF_CODES = frozenset({"spoof_suspected"}) | ATTACK_REASONS

# The ``where`` a door check gives the face services: the spoof alert of a door comes from
# its access event, so the spoof signal of a door check raises none (receivers.py).
DOOR_CHECK = "door:"


def door_check_where(point: AccessPoint) -> str:
    return f"{DOOR_CHECK}{point.name}"


@dataclass(frozen=True)
class CheckResult:
    event: AccessEvent
    replayed: bool = False  # a retried request answered with the first event


@dataclass(frozen=True)
class _Outcome:
    """What the face and credential steps found, before or instead of the rules."""

    person: User | None
    decision: AccessDecision | None = None
    score: float | None = None
    threshold: float | None = None
    model: str = ""
    detail: str = ""
    liveness: dict | None = None


def access_point_for(device: Device) -> AccessPoint:
    point = AccessPoint.objects.select_related("area", "device").filter(device=device).first()
    if point is None:
        raise DoorNotConfigured()
    return point


@dataclass(frozen=True)
class Capture:
    """What the door sent: one image, or a liveness burst (frames + nonce)."""

    image: bytes | None = None
    frames: tuple[bytes, ...] = ()
    nonce: str = ""
    streamed: bool = False  # streamed to biometrics under the nonce: its decision is claimed

    @property
    def is_burst(self) -> bool:
        return bool(self.frames) or self.streamed

    def face_args(self) -> dict:
        if self.streamed:
            return {"nonce": self.nonce, "streamed": True}
        if self.is_burst:
            return {"frames": list(self.frames), "nonce": self.nonce}
        return {"image": self.image or b""}


def request_fingerprint(
    image: bytes, pin: str = "", badge: str = "", *, frames=(), nonce: str = ""
) -> str:
    return idempotency.fingerprint(image, pin, badge, nonce, *frames, purpose="access.check")


def check_access(
    *,
    device: Device,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
    pin: str = "",
    badge: str = "",
    request_id: str = "",
    streamed: bool = False,
) -> CheckResult:
    """A door check: face (plus PIN or badge as the door's mode needs), rules, event, alerts.

    The face is a single ``image`` or a liveness burst (``frames`` + ``nonce`` from
    :func:`issue_door_challenge`); the door's device is passed to biometrics, so a door whose
    device requires liveness refuses a single image (``liveness_required``, 400, no event).

    A retry of the same request (same door and image+credentials within ACCESS_DEDUP_SECONDS,
    or the same client ``request_id``) returns the first event instead of writing another. A
    burst is only ever answered again for its own ``request_id`` and the very same frames and
    nonce: sent again without them, it reaches the nonce check and is refused as an attack.
    """
    point = access_point_for(device)
    pin, badge, request_id = pin.strip(), badge.strip(), request_id.strip()[:64]
    if point.mode == AccessMode.FACE_PIN and not pin:
        raise CredentialRequired(_("This door needs your PIN."), code="pin_required")
    if point.mode == AccessMode.FACE_BADGE and not badge:
        raise CredentialRequired(_("This door needs your badge number."), code="badge_required")
    capture = Capture(
        image=image,
        frames=tuple(frames or ()),
        nonce=(nonce or "").strip(),
        streamed=bool(streamed and (nonce or "").strip() and not frames),
    )
    fingerprint = request_fingerprint(
        capture.image or b"", pin, badge, frames=capture.frames, nonce=capture.nonce
    )

    # Copies of one request take turns (a retry, quick or late): a later one answers from the
    # first one's event. A holder stuck past the window no longer blocks; what it holds is its
    # own lock, which nobody else releases.
    dedup = conf.get("ACCESS_DEDUP_SECONDS")
    with cache_lock(f"access:check:{point.pk}:{request_id or fingerprint}", hold=dedup, wait=dedup):
        first = _earlier_event(point, fingerprint, request_id, burst=capture.is_burst)
        if first is not None:
            return _answer_again(point, first, fingerprint, request_id)
        outcome = _decide(point, capture=capture, pin=pin, badge=badge)
        decision = outcome.decision
        event = record_event(
            access_point=point,
            person=outcome.person,
            granted=decision.granted,
            reason=decision.reason,
            rule=decision.rule,
            visitor_pass=decision.visitor_pass,
            score=outcome.score,
            threshold=outcome.threshold,
            model_version=outcome.model,
            detail=outcome.detail,
            liveness=outcome.liveness,
            request_hash=fingerprint,
            client_request_id=request_id,
        )
    return CheckResult(event)


def _answer_again(
    point: AccessPoint, earlier: AccessEvent, fingerprint: str, request_id: str
) -> CheckResult:
    """A retry gets the earlier answer, but a grant only while it still holds: once the door,
    the person, their pass or the rule's window closed, the retry is a new denial (the face is
    not checked again) instead of a stale "granted" (security finding 15)."""
    if not earlier.granted:
        return CheckResult(earlier, replayed=True)
    person = earlier.person
    if not point.is_active:
        decision = AccessDecision(False, Reason.DOOR_INACTIVE)
    elif person is None:
        decision = AccessDecision(False, Reason.NOT_RECOGNISED)
    else:
        person.refresh_from_db()
        decision = evaluate(person, point.area, timezone.now())
    if decision.granted:
        return CheckResult(earlier, replayed=True)
    event = record_event(
        access_point=point,
        person=person,
        granted=False,
        reason=decision.reason,
        rule=decision.rule,
        visitor_pass=decision.visitor_pass,
        score=earlier.score,
        threshold=earlier.threshold,
        model_version=earlier.model_version,
        detail="a retry after the grant stopped holding",
        liveness=earlier.liveness,
        request_hash=fingerprint,
        client_request_id=request_id,
    )
    return CheckResult(event)


def issue_door_challenge(*, device: Device):
    """A liveness challenge bound to this door's device (its actions: ``liveness_actions``)."""
    access_point_for(device)
    return biometrics.issue_challenge(device=device)


def liveness_actions(device: Device) -> int:
    """Actions a capture from this device must answer: two at a door whose effective security
    level (door or area, the stricter) is high, one elsewhere. Registered with biometrics
    (apps.py), which applies it to every challenge and every check of the device, whichever
    endpoint issued the challenge."""
    point = AccessPoint.objects.select_related("area").filter(device=device).first()
    high = point is not None and point.effective_security_level >= SecurityLevel.HIGH
    return 2 if high else 1


def capture_settings() -> dict:
    """What the door page records after a challenge (biometrics' numbers; the length can be
    set with ACCESS_CAPTURE_SECONDS)."""
    seconds = conf.get("ACCESS_CAPTURE_SECONDS")
    return {**biometrics.CAPTURE_SETTINGS, **({"seconds": seconds} if seconds else {})}


def stream_settings() -> dict:
    """What the door page streams after a challenge (biometrics' numbers)."""
    return dict(biometrics.STREAM_SETTINGS)


def _earlier_event(
    point: AccessPoint, fingerprint: str, request_id: str, *, burst: bool = False
) -> AccessEvent | None:
    now = timezone.now()
    if request_id:
        earlier = AccessEvent.objects.filter(
            access_point=point,
            client_request_id=request_id,
            created_at__gte=now - timedelta(seconds=conf.get("ACCESS_REQUEST_ID_SECONDS")),
        )
        if burst:
            # A network retry of a burst re-sends the same bytes: another burst under a known
            # request id must not borrow that attempt's answer.
            earlier = earlier.filter(request_hash=fingerprint)
        # The latest answer: a grant that stopped holding was followed by its denial.
        return earlier.order_by("-pk").first()
    if burst:
        return None  # single-use nonces decide: a re-sent burst is a replay
    return (
        AccessEvent.objects.filter(
            access_point=point,
            request_hash=fingerprint,
            created_at__gte=now - timedelta(seconds=conf.get("ACCESS_DEDUP_SECONDS")),
        )
        .order_by("-pk")
        .first()
    )


def _decide(point: AccessPoint, *, capture: Capture, pin: str, badge: str) -> _Outcome:
    if not point.is_active:
        return _Outcome(None, AccessDecision(False, Reason.DOOR_INACTIVE))
    if point.mode == AccessMode.FACE_BADGE:
        outcome = _badge_and_face(point, capture=capture, badge=badge)
    else:
        outcome = _face(point, capture=capture, pin=pin)
    if outcome.decision is not None:
        return outcome
    decision = evaluate(outcome.person, point.area, timezone.now())
    return _Outcome(
        outcome.person,
        decision,
        score=outcome.score,
        threshold=outcome.threshold,
        model=outcome.model,
        liveness=outcome.liveness,
    )


def _face_error(exc: BiometricError, person: User | None = None, note: str = "") -> _Outcome:
    detail = exc.code + (f": {exc.reason}" if getattr(exc, "reason", None) else "")
    if exc.code in FACE_QUALITY_CODES:
        return _Outcome(person, AccessDecision(False, Reason.LOW_QUALITY), detail=detail[:200])
    if exc.code not in SPOOF_CODES:
        raise exc
    # A failed liveness check or a nonce attack: nobody is identified (a badge only names
    # who the attacker claims to be, kept in the detail).
    liveness = getattr(exc, "liveness", None) or {
        "checked": True,
        "passed": False,
        "reason": exc.code,
    }
    detail = f"{detail}; {note}" if note else detail
    return _Outcome(
        None, AccessDecision(False, Reason.SPOOF_SUSPECTED), detail=detail[:200], liveness=liveness
    )


def _face(point: AccessPoint, *, capture: Capture, pin: str) -> _Outcome:
    try:
        result = biometrics.identify_face(
            **capture.face_args(), device=point.device, where=door_check_where(point)
        )
    except BiometricError as exc:
        return _face_error(exc)
    scores = {
        "score": result.score,
        "threshold": result.threshold,
        "model": result.model,
        "liveness": result.liveness,
    }
    if result.person is None:
        # Above the threshold but no person: biometrics withholds somebody who may not
        # authenticate now (inactive, or outside their validity window).
        reason = (
            Reason.NOT_AUTHORISED if result.score >= result.threshold else Reason.NOT_RECOGNISED
        )
        return _Outcome(None, AccessDecision(False, reason), **scores)
    person = result.person
    if point.mode == AccessMode.FACE_PIN and not person.check_pin(pin):
        return _Outcome(person, AccessDecision(False, Reason.WRONG_PIN), **scores)
    return _Outcome(person, **scores)


def _badge_and_face(point: AccessPoint, *, capture: Capture, badge: str) -> _Outcome:
    holder = Badge.objects.select_related("person").filter(number=badge, is_active=True).first()
    if holder is None:
        return _Outcome(None, AccessDecision(False, Reason.BADGE_UNKNOWN))
    person = holder.person
    if not person.is_active:
        return _Outcome(person, AccessDecision(False, Reason.INACTIVE))
    if not person.is_within_validity():
        return _Outcome(person, AccessDecision(False, Reason.PERSON_VALIDITY))
    try:
        result = biometrics.verify_person(
            person=person, **capture.face_args(), device=point.device, where=door_check_where(point)
        )
    except NoTemplates:
        return _Outcome(person, AccessDecision(False, Reason.NOT_ENROLLED))
    except InactivePerson:
        return _Outcome(person, AccessDecision(False, Reason.INACTIVE))
    except BiometricError as exc:
        return _face_error(exc, person, note=f"badge {badge}")
    scores = {
        "score": result.score,
        "threshold": result.threshold,
        "model": result.model,
        "liveness": result.liveness,
    }
    if not result.match:
        return _Outcome(person, AccessDecision(False, Reason.FACE_MISMATCH), **scores)
    return _Outcome(person, **scores)
