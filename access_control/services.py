"""State changes of access control: door checks, the access log, alerts and visitor passes.

Faces are reached only through biometrics.services; people are created through accounts.services.
"""

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import audit
from accounts import services as accounts_services
from accounts.models import Device, Role, User
from biometrics import services as biometrics
from biometrics.errors import BiometricError, InactivePerson, NoTemplates
from biometrics.liveness import ATTACK_REASONS

from . import conf
from .errors import AlertStateError, CredentialRequired, DoorNotConfigured, InvalidPass
from .models import (
    AccessEvent,
    AccessMode,
    AccessPoint,
    AccessRule,
    Alert,
    AlertKind,
    AlertState,
    Area,
    Badge,
    Decision,
    PassKind,
    SecurityLevel,
    VisitorPass,
)
from .reasons import GRANTED_REASONS, Reason
from .rules import AccessDecision, evaluate

log = logging.getLogger("faceauth.access")

# Face errors that mean "no usable face in this frame": a denied decision, not an API error.
FACE_QUALITY_CODES = frozenset({"no_face", "multiple_faces", "poor_quality"})
# Liveness refusals and nonce attacks (reuse, replayed frames, another door's challenge):
# logged as spoof_suspected denials, which raise the spoof alert. Other refusals of a capture
# (nonce missing, unknown or expired, liveness_required, too many frames) are 4xx, no event.
SPOOF_CODES = frozenset({"spoof_suspected"}) | ATTACK_REASONS
# Refusals of a recognised visitor or contractor that mean "outside their pass".
OUTSIDE_PASS_REASONS = frozenset(
    {
        Reason.PASS_EXPIRED,
        Reason.PASS_REVOKED,
        Reason.PASS_NOT_STARTED,
        Reason.NOT_ON_PASS,
        Reason.NO_RULE,
        Reason.OUTSIDE_SCHEDULE,
        Reason.DENIED_BY_RULE,
        Reason.PERSON_VALIDITY,
    }
)
UNKNOWN_FACE_REASONS = frozenset({Reason.NOT_RECOGNISED, Reason.NOT_AUTHORISED})
TIME_LIMITED = (Role.VISITOR, Role.CONTRACTOR)


# ---------------------------------------------------------------- door checks


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

    @property
    def is_burst(self) -> bool:
        return bool(self.frames)

    def face_args(self) -> dict:
        if self.is_burst:
            return {"frames": list(self.frames), "nonce": self.nonce}
        return {"image": self.image or b""}


def request_fingerprint(
    image: bytes, pin: str = "", badge: str = "", *, frames=(), nonce: str = ""
) -> str:
    digest = hashlib.sha256(image)
    for frame in frames:
        digest.update(hashlib.sha256(frame).digest())
    digest.update(b"\0" + nonce.encode())
    digest.update(b"\0" + pin.encode() + b"\0" + badge.encode())
    return digest.hexdigest()


def check_access(
    *,
    device: Device,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
    pin: str = "",
    badge: str = "",
    request_id: str = "",
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
        raise CredentialRequired("This door needs your PIN.", code="pin_required")
    if point.mode == AccessMode.FACE_BADGE and not badge:
        raise CredentialRequired("This door needs your badge number.", code="badge_required")
    capture = Capture(image=image, frames=tuple(frames or ()), nonce=(nonce or "").strip())
    fingerprint = request_fingerprint(
        capture.image or b"", pin, badge, frames=capture.frames, nonce=capture.nonce
    )

    first = _earlier_event(point, fingerprint, request_id, burst=capture.is_burst)
    if first is not None:
        return CheckResult(first, replayed=True)
    lock = f"access:check:{point.pk}:{request_id or fingerprint}"
    if not cache.add(lock, 1, timeout=conf.get("ACCESS_DEDUP_SECONDS")):
        # The same request is being decided right now (a quick retry): wait for its event.
        deadline = time.monotonic() + conf.get("ACCESS_DEDUP_SECONDS")
        while time.monotonic() < deadline:
            time.sleep(0.1)
            first = _earlier_event(point, fingerprint, request_id, burst=capture.is_burst)
            if first is not None:
                return CheckResult(first, replayed=True)
    try:
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
    finally:
        cache.delete(lock)
    return CheckResult(event)


def issue_door_challenge(*, device: Device):
    """A liveness challenge bound to this door's device: two actions at a door whose effective
    security level (door or area, the stricter) is high, one elsewhere."""
    point = access_point_for(device)
    count = 2 if point.effective_security_level >= SecurityLevel.HIGH else 1
    return biometrics.issue_challenge(device=device, count=count)


def capture_settings() -> dict:
    """What the door page records after a challenge (biometrics' numbers; the length can be
    set with ACCESS_CAPTURE_SECONDS)."""
    seconds = conf.get("ACCESS_CAPTURE_SECONDS")
    return {**biometrics.CAPTURE_SETTINGS, **({"seconds": seconds} if seconds else {})}


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
        return earlier.order_by("pk").first()
    if burst:
        return None  # single-use nonces decide: a re-sent burst is a replay
    return (
        AccessEvent.objects.filter(
            access_point=point,
            request_hash=fingerprint,
            created_at__gte=now - timedelta(seconds=conf.get("ACCESS_DEDUP_SECONDS")),
        )
        .order_by("pk")
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
            **capture.face_args(), device=point.device, where=f"door:{point.name}"
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
            person=person, **capture.face_args(), device=point.device, where=f"door:{point.name}"
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


# ---------------------------------------------------------------- the access log and alerts


@transaction.atomic
def record_event(
    *,
    access_point: AccessPoint,
    person: User | None,
    granted: bool,
    reason: str,
    rule: AccessRule | None = None,
    visitor_pass: VisitorPass | None = None,
    score: float | None = None,
    threshold: float | None = None,
    model_version: str = "",
    detail: str = "",
    liveness: dict | None = None,
    request_hash: str = "",
    client_request_id: str = "",
    at: datetime | None = None,
) -> AccessEvent:
    """Append one decision to the access log and raise the alerts it triggers.

    Also the entry point for other checks (e.g. liveness): ``reason=spoof_suspected`` raises
    the spoof alert."""
    reason = Reason(reason)
    if granted != (reason in GRANTED_REASONS):
        raise ValueError(f"reason {reason} does not fit a {'grant' if granted else 'denial'}")
    event = AccessEvent.objects.create(
        created_at=at or timezone.now(),
        access_point=access_point,
        area=access_point.area,
        person=person,
        decision=Decision.GRANTED if granted else Decision.DENIED,
        reason=reason,
        rule=rule,
        visitor_pass=visitor_pass,
        mode=access_point.mode,
        score=score,
        threshold=threshold,
        model_version=model_version,
        detail=detail,
        liveness=liveness,
        request_hash=request_hash,
        client_request_id=client_request_id,
    )
    log.info(
        "access decision",
        extra={
            "event": event.pk,
            "point": access_point.pk,
            "person": person.pk if person else None,
            "decision": event.decision,
            "reason": reason,
            "rule": rule.pk if rule else None,
        },
    )
    raise_alerts(event)
    return event


def raise_alerts(event: AccessEvent) -> list[Alert]:
    """The alert rules, run on every new event (see docs/access_control.md)."""
    if event.granted:
        return []
    point = event.access_point
    alerts = []
    window = timedelta(minutes=conf.get("ACCESS_ALERT_WINDOW_MINUTES"))
    if event.reason == Reason.SPOOF_SUSPECTED:
        alerts.append(
            _raise(AlertKind.SPOOF_SUSPECTED, event, f"At {point} ({point.area})", window)
        )
    if (
        event.reason in UNKNOWN_FACE_REASONS
        and point.effective_security_level >= SecurityLevel.HIGH
    ):
        alerts.append(
            _raise(
                AlertKind.UNKNOWN_FACE_HIGH_SECURITY,
                event,
                f"At {point} ({point.area})",
                window,
            )
        )
    person = event.person
    if person is not None and person.role in TIME_LIMITED and event.reason in OUTSIDE_PASS_REASONS:
        alerts.append(
            _raise(
                AlertKind.VISITOR_OUTSIDE_PASS,
                event,
                f"{person.get_role_display()} {person} refused at {point}: "
                f"{Reason(event.reason).label.lower()}",
                window,
                person=person,
            )
        )
    repeated = _repeated_denials(event, window)
    if repeated:
        alerts.append(repeated)
    return alerts


def _repeated_denials(event: AccessEvent, window: timedelta) -> Alert | None:
    point = event.access_point
    kind = AlertKind.REPEATED_DENIALS
    # Count only denials after the last alert of this kind here: an acknowledged burst needs
    # a fresh burst to alert again.
    previous = Alert.objects.filter(kind=kind, access_point=point).order_by("-pk").first()
    denials = AccessEvent.objects.filter(
        access_point=point,
        decision=Decision.DENIED,
        created_at__gt=event.created_at - window,
        pk__lte=event.pk,
    )
    if previous is not None and previous.state == AlertState.OPEN:
        if previous.last_event.created_at > event.created_at - window:
            return _bump(previous, event)
    if previous is not None:
        denials = denials.filter(pk__gt=previous.last_event_id)
    count = denials.count()
    if count < conf.get("ACCESS_ALERT_DENIALS"):
        return None
    minutes = conf.get("ACCESS_ALERT_WINDOW_MINUTES")
    alert = Alert.objects.create(
        kind=kind,
        access_point=point,
        first_event=denials.order_by("pk").first(),
        last_event=event,
        event_count=count,
        message=f"{count} denials at {point} within {minutes} minutes",
    )
    log.warning("access alert", extra={"alert": alert.pk, "kind": kind, "point": point.pk})
    return alert


def _raise(
    kind: str, event: AccessEvent, message: str, window: timedelta, person: User | None = None
) -> Alert:
    """A new alert, or the same open one bumped when it fired here within the window."""
    recent = (
        Alert.objects.filter(
            kind=kind,
            access_point=event.access_point,
            person=person,
            state=AlertState.OPEN,
            last_event__created_at__gt=event.created_at - window,
        )
        .order_by("-pk")
        .first()
    )
    if recent is not None:
        return _bump(recent, event)
    alert = Alert.objects.create(
        kind=kind,
        access_point=event.access_point,
        person=person,
        first_event=event,
        last_event=event,
        message=message[:300],
    )
    log.warning(
        "access alert", extra={"alert": alert.pk, "kind": kind, "point": event.access_point_id}
    )
    return alert


def _bump(alert: Alert, event: AccessEvent) -> Alert:
    alert.last_event = event
    alert.event_count += 1
    alert.save(update_fields=["last_event", "event_count", "updated_at"])
    return alert


@transaction.atomic
def acknowledge_alert(*, alert: Alert, user: User, note: str = "") -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.state != AlertState.OPEN:
        raise AlertStateError("Only an open alert can be acknowledged.")
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_by = user
    alert.acknowledged_at = timezone.now()
    alert.note = note.strip()
    alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at", "note", "updated_at"])
    audit.record("access.alert.acknowledge", actor=user, outcome="done", target=alert)
    return alert


@transaction.atomic
def close_alert(*, alert: Alert, user: User, note: str = "") -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.state == AlertState.CLOSED:
        raise AlertStateError("The alert is already closed.")
    now = timezone.now()
    if alert.state == AlertState.OPEN:
        # Closing straight away acknowledges too: the log keeps who saw it.
        alert.acknowledged_by, alert.acknowledged_at = user, now
    alert.state = AlertState.CLOSED
    alert.closed_by, alert.closed_at = user, now
    if note.strip():
        alert.note = f"{alert.note}\n{note.strip()}".strip()
    alert.save()
    audit.record("access.alert.close", actor=user, outcome="done", target=alert)
    return alert


# ---------------------------------------------------------------- visitor passes


def pass_kind_for(person: User) -> str:
    if person.role == Role.CONTRACTOR:
        return PassKind.CONTRACTOR
    if person.role == Role.VISITOR:
        return PassKind.VISITOR
    raise InvalidPass("Passes are for visitors and contractors only.", code="not_a_visitor")


def max_pass_length(kind: str) -> timedelta:
    if kind == PassKind.CONTRACTOR:
        return timedelta(days=conf.get("ACCESS_CONTRACTOR_PASS_MAX_DAYS"))
    return timedelta(hours=conf.get("ACCESS_VISITOR_PASS_MAX_HOURS"))


def areas_for_pass(kind: str):
    flag = "contractor_passes" if kind == PassKind.CONTRACTOR else "visitor_passes"
    return Area.objects.filter(**{flag: True}).select_related("parent")


def _check_pass(*, kind: str, areas, starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidPass("The pass must end after it starts.", code="pass_window")
    if ends_at - starts_at > max_pass_length(kind):
        hours = int(max_pass_length(kind).total_seconds() // 3600)
        human = f"{hours} hours" if hours <= 48 else f"{hours // 24} days"
        raise InvalidPass(
            f"A {PassKind(kind).label.lower()} pass lasts at most {human}.", code="pass_too_long"
        )
    if not areas:
        raise InvalidPass("Name at least one area.", code="pass_areas")
    allowed = set(areas_for_pass(kind).values_list("pk", flat=True))
    refused = [str(a) for a in areas if a.pk not in allowed]
    if refused:
        raise InvalidPass(
            f"{PassKind(kind).label} passes may not name: {', '.join(refused)}.",
            code="pass_areas",
        )


def _check_sponsor(sponsor: User) -> None:
    if sponsor.role in TIME_LIMITED or not sponsor.may_authenticate():
        raise InvalidPass("The sponsor must be an active employee.", code="sponsor")


def _cover_validity(person: User, starts_at: datetime, ends_at: datetime) -> None:
    # A visitor's own validity window always applies, so it must span their passes. Only
    # widened, never narrowed: other passes may still need it (revocation denies by itself).
    fields = []
    if person.valid_from is None or person.valid_from > starts_at:
        person.valid_from = starts_at
        fields.append("valid_from")
    if person.valid_until is None or person.valid_until < ends_at:
        person.valid_until = ends_at
        fields.append("valid_until")
    if fields:
        person.save(update_fields=fields)


@transaction.atomic
def create_pass(
    *,
    visitor: User,
    sponsor: User,
    created_by: User,
    areas: list[Area],
    starts_at: datetime,
    ends_at: datetime,
    purpose: str,
) -> VisitorPass:
    kind = pass_kind_for(visitor)
    if not visitor.is_active:
        raise InvalidPass("This person has been offboarded.", code="inactive")
    _check_sponsor(sponsor)
    _check_pass(kind=kind, areas=areas, starts_at=starts_at, ends_at=ends_at)
    visitor_pass = VisitorPass.objects.create(
        visitor=visitor,
        kind=kind,
        sponsor=sponsor,
        created_by=created_by,
        starts_at=starts_at,
        ends_at=ends_at,
        purpose=purpose.strip(),
    )
    visitor_pass.areas.set(areas)
    _cover_validity(visitor, starts_at, ends_at)
    audit.record(
        "access.pass.create",
        actor=created_by,
        outcome="done",
        target=visitor_pass,
        details={"visitor": visitor.pk, "sponsor": sponsor.pk, "areas": [a.pk for a in areas]},
    )
    log.info("visitor pass created", extra={"pass": visitor_pass.pk, "visitor": visitor.pk})
    return visitor_pass


@transaction.atomic
def register_visitor(
    *,
    display_name: str,
    role: str,
    sponsor: User,
    starts_at: datetime,
    ends_at: datetime,
    email: str = "",
    actor: User | None = None,
) -> User:
    """A new visitor or contractor at reception (no password: they only use doors)."""
    if role not in TIME_LIMITED:
        raise InvalidPass("Reception registers visitors and contractors only.", code="role")
    base = slugify(display_name)[:20] or role
    username = f"{base}-{secrets.token_hex(3)}"
    return accounts_services.onboard_person(
        username=username,
        role=role,
        display_name=display_name.strip(),
        email=email,
        valid_from=starts_at,
        valid_until=ends_at,
        sponsor=sponsor,
        actor=actor,
    )


@transaction.atomic
def extend_pass(*, visitor_pass: VisitorPass, ends_at: datetime, actor: User) -> VisitorPass:
    visitor_pass = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if visitor_pass.revoked_at is not None:
        raise InvalidPass("A revoked pass cannot be extended; issue a new one.", code="revoked")
    if ends_at <= visitor_pass.ends_at:
        raise InvalidPass("The new end must be later than the current end.", code="pass_window")
    _check_pass(
        kind=visitor_pass.kind,
        areas=list(visitor_pass.areas.all()),
        starts_at=visitor_pass.starts_at,
        ends_at=ends_at,
    )
    visitor_pass.ends_at = ends_at
    visitor_pass.save(update_fields=["ends_at"])
    _cover_validity(visitor_pass.visitor, visitor_pass.starts_at, ends_at)
    audit.record("access.pass.extend", actor=actor, outcome="done", target=visitor_pass)
    log.info("visitor pass extended", extra={"pass": visitor_pass.pk, "actor": actor.pk})
    return visitor_pass


@transaction.atomic
def revoke_pass(*, visitor_pass: VisitorPass, actor: User, reason: str = "") -> VisitorPass:
    """Effective at once: the next door check reads the pass fresh and refuses it."""
    visitor_pass = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if visitor_pass.revoked_at is not None:
        return visitor_pass
    visitor_pass.revoked_at = timezone.now()
    visitor_pass.revoked_by = actor
    visitor_pass.revoke_reason = reason.strip()[:200]
    visitor_pass.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record("access.pass.revoke", actor=actor, outcome="done", target=visitor_pass)
    log.info("visitor pass revoked", extra={"pass": visitor_pass.pk, "actor": actor.pk})
    return visitor_pass


@transaction.atomic
def enrol_visitor(
    *, visitor_pass: VisitorPass, images: list[bytes], actor: User, consent_signed: bool = False
):
    """Reception enrolment from uploaded photos (3-5): a biometrics enrolment job.

    Face capture needs the visitor's consent; at reception that is the signed paper release,
    which the guard records here."""
    from biometrics import privacy

    visitor = visitor_pass.visitor
    if consent_signed and not privacy.has_consent(visitor):
        privacy.give_consent(person=visitor, channel="paper", recorded_by=actor)
    return biometrics.start_enrolment(person=visitor, images=images, requested_by=actor)


def pseudonym_for(person_id: int) -> str:
    """A keyed hash: the same person gets the same pseudonym (patterns stay analysable), and
    without SECRET_KEY nobody can map it back."""
    import hmac

    from django.conf import settings

    digest = hmac.new(settings.SECRET_KEY.encode(), f"person:{person_id}".encode(), "sha256")
    return "p-" + digest.hexdigest()[:20]


def pseudonymise_expired(*, now: datetime | None = None) -> dict:
    """Retention: events older than ACCESS_EVENT_RETENTION_DAYS lose their person link and
    scores. Idempotent (pseudonymised rows have no person any more) and audited with counts."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.get("ACCESS_EVENT_RETENTION_DAYS"))
    expired = AccessEvent.objects.filter(created_at__lt=cutoff, person__isnull=False)
    people = list(expired.order_by().values_list("person_id", flat=True).distinct())
    events = 0
    with transaction.atomic():
        for person_id in people:
            events += expired.filter(person_id=person_id).pseudonymise(
                pseudonym=pseudonym_for(person_id)
            )
    counts = {"events": events, "people": len(people)}
    audit.record("retention.access_events", outcome="done", details=counts)
    return counts
