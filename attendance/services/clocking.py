"""Clocking in and out: face, PIN or manual events, idempotent per capture id.

Faces are recognised only through biometrics.services (identify_face, verify_person).
"""

import hashlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as accounts
from accounts.errors import DomainError
from accounts.idempotency import fingerprint, refuse_again, remember_refusal, replay
from accounts.limits import AttemptLimit, Limited, Policy
from accounts.locks import cache_lock
from accounts.models import Device, DeviceKind, User
from accounts.site_time import local_time
from biometrics import selectors as biometric_selectors
from biometrics import services as biometrics

from .. import conf, selectors
from ..errors import (
    CaptureIdReused,
    FaceMismatch,
    InvalidCaptureId,
    InvalidDirection,
    MissingCaptureId,
    MissingCredentials,
    NotAllowed,
    NotRecognised,
    PersonInactive,
    PinLocked,
    WrongPin,
)
from ..models import Capture, ClockEvent, Direction, Method
from ..participation import require_participant
from .corrections import open_pin_review
from .sessions import rebuild_sessions

log = logging.getLogger("faceauth.attendance")
# Longer than a clock takes on a busy machine (a burst's liveness and 1:N: a few seconds).
CAPTURE_LOCK_SECONDS = 10


@dataclass(frozen=True)
class ClockResult:
    event: ClockEvent
    created: bool  # False: a debounced capture, or a replay of an earlier request
    replayed: bool = False

    @property
    def message(self) -> str:
        when = {"time": f"{local_time(self.event.timestamp):%H:%M}"}
        clocked_in = self.event.direction == Direction.IN
        if self.created or self.replayed:
            return (
                _("Clocked IN at %(time)s") if clocked_in else _("Clocked OUT at %(time)s")
            ) % when
        return (
            _("Already clocked in at %(time)s")
            if clocked_in
            else _("Already clocked out at %(time)s")
        ) % when


def parse_capture_id(raw: object) -> uuid.UUID:
    if raw in (None, ""):
        raise MissingCaptureId()
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise InvalidCaptureId() from exc


def clock(
    *,
    capture_id: object,
    device: Device | None = None,
    actor: User | None = None,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
    streamed: bool = False,
    employee_number: str | None = None,
    pin: str | None = None,
    direction: str | None = None,
) -> ClockResult:
    """Clock a person in or out, once per capture id.

    A kiosk ``device`` identifies the face 1:N (or checks employee number + PIN); a logged-in
    ``actor`` is verified 1:1 against their own templates (or their PIN). Without
    ``direction`` the person's state decides (IN unless a shift is open).

    The face is a liveness burst (``frames`` + the challenge's ``nonce``) or, only where
    liveness is off (a kiosk device with ``liveness_required`` unticked, or liveness disabled
    by setting), a single ``image``. A failed liveness check, a nonce error or a replayed
    burst raises before any event is recorded.
    """
    capture = parse_capture_id(capture_id)
    if direction in ("", None):
        direction = None
    elif direction not in Direction.values:
        raise InvalidDirection()
    if device is not None and device.kind != DeviceKind.KIOSK:
        raise NotAllowed("Only attendance kiosks may clock people.")
    if (device is None) == (actor is None):
        raise NotAllowed()
    frames = [f for f in (frames or []) if f]
    nonce = (nonce or "").strip()
    streamed = bool(streamed and nonce and not frames)
    has_face = bool(image or frames or streamed)
    use_pin = not has_face and (pin not in (None, ""))
    if not has_face and not use_pin:
        raise MissingCredentials()

    who = f"device:{device.pk}" if device else f"user:{actor.pk}"
    if use_pin:
        payload = fingerprint(who, "pin", employee_number, pin, direction, purpose="clock")
    elif streamed:
        payload = fingerprint(who, "streamed", nonce, direction, purpose="clock")
    elif frames:
        # The whole burst and its nonce: the same capture id with other frames is a conflict.
        payload = fingerprint(
            who, "frames", nonce, len(frames), *frames, direction, purpose="clock"
        )
    else:
        payload = fingerprint(who, "image", image, direction, purpose="clock")
    return _retry_if_sqlite_locked(
        lambda: _identify_and_record(
            capture=capture,
            payload=payload,
            use_pin=use_pin,
            device=device,
            actor=actor,
            image=None if frames or streamed else image,
            frames=frames or None,
            nonce=nonce,
            streamed=streamed,
            employee_number=employee_number,
            pin=pin,
            direction=direction,
        )
    )


def _identify_and_record(*, capture: uuid.UUID, payload: str, **request) -> ClockResult:
    """Once per capture id: the earlier answer (an event or a refusal) or a new one."""
    # A copy of this very request in flight (a proxy's retry racing the original) waits for the
    # original's answer, which the checks below then give, instead of meeting its spent nonce.
    # Past the wait (a holder that died) it goes on as if alone.
    with cache_lock(
        f"clock:capture:{capture}", hold=CAPTURE_LOCK_SECONDS, wait=CAPTURE_LOCK_SECONDS
    ):
        replay = _replay(capture, payload)
        if replay is not None:
            return replay
        refuse_again(str(capture), payload, purpose="clock")
        try:
            return _identify_and_record_new(capture=capture, payload=payload, **request)
        except DomainError as error:
            remember_refusal(str(capture), payload, error, purpose="clock")
            raise


def _identify_and_record_new(
    *,
    capture: uuid.UUID,
    payload: str,
    use_pin: bool,
    device: Device | None,
    actor: User | None,
    image: bytes | None,
    frames: list[bytes] | None,
    nonce: str,
    streamed: bool,
    employee_number: str | None,
    pin: str | None,
    direction: str | None,
) -> ClockResult:
    if actor is not None:
        require_participant(actor)  # before any face or PIN check

    match = None
    if use_pin:
        person = _check_pin(actor=actor, employee_number=employee_number, pin=pin)
        method = Method.PIN
    elif device is not None:
        # With the device: a kiosk that requires liveness refuses a single image, and its
        # challenges are bound to it.
        match = biometrics.identify_face(
            image=image,
            frames=frames,
            nonce=nonce,
            streamed=streamed,
            device=device,
            where=str(device),
        )
        if not match.match or match.person is None:
            raise NotRecognised()
        person, method = match.person, Method.FACE_1N
    else:
        if not (frames or streamed) and biometric_selectors.liveness_required(None):
            # Personal mode has no device to turn liveness off for: a burst is required.
            raise biometrics.refuse_liveness("liveness_required")
        match = biometrics.verify_person(
            person=actor,
            image=image,
            frames=frames,
            nonce=nonce,
            streamed=streamed,
            where=f"clock:{actor.pk}",
        )
        if not match.match:
            raise FaceMismatch()
        person, method = actor, Method.FACE_1V1

    require_participant(person)
    return _record(
        capture=capture,
        payload=payload,
        person=person,
        direction=direction,
        method=method,
        match=match,
        device=device,
        actor=actor,
    )


def _retry_if_sqlite_locked(call, attempts: int = 30):
    """SQLite (the embedded default) reports a colliding writer as "locked" instead of
    waiting when it shares one in-memory cache (the test database); PostgreSQL never does.
    Every step of a clock is idempotent by capture id, so running it again is safe."""
    for attempt in range(attempts):
        try:
            return call()
        except OperationalError as exc:
            locked = connection.vendor == "sqlite" and "locked" in str(exc)
            if not locked or connection.in_atomic_block or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
    raise AssertionError("unreachable")


def _replay(capture: uuid.UUID, payload: str) -> ClockResult | None:
    stored = Capture.objects.select_related("event", "event__person").filter(pk=capture).first()
    stored = replay(
        stored,
        stored=stored.payload_hash if stored else "",
        fingerprint=payload,
        conflict=CaptureIdReused,
    )
    if stored is None:
        return None
    return ClockResult(event=stored.event, created=stored.created, replayed=True)


def pin_policy() -> Policy:
    lockout = timedelta(minutes=conf.get("ATTENDANCE_PIN_LOCKOUT_MINUTES"))
    return Policy(
        threshold=conf.get("ATTENDANCE_PIN_MAX_FAILURES"),
        base=lockout,
        factor=1,
        max_wait=lockout,
        window=lockout,
    )


# Per employee number (kiosk) or per person (personal page); the number is hashed so that the
# cache does not list which numbers were tried.
PIN_LIMIT = AttemptLimit("attendance-pin", pin_policy)


def _pin_key(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()[:32]


def _check_pin(*, actor: User | None, employee_number: str | None, pin: str) -> User:
    if actor is not None:
        person, key = actor, _pin_key(f"user:{actor.pk}")
    else:
        number = (employee_number or "").strip()
        if not number:
            raise WrongPin()
        key = _pin_key(number)
        person = User.objects.filter(employee_number=number).first()
    try:
        attempt = PIN_LIMIT.begin(key)
    except Limited as exc:
        raise PinLocked(retry_after=exc.retry_after) from None
    if not accounts.check_pin(person=person, pin=pin):
        attempt.failed()
        log.info("wrong pin", extra={"person": person.pk if person else None})
        raise WrongPin()
    attempt.succeeded()
    if not person.may_authenticate():
        raise PersonInactive()
    return person


def _record(
    *,
    capture: uuid.UUID,
    payload: str,
    person: User,
    direction: str | None,
    method: str,
    match,
    device: Device | None,
    actor: User | None,
) -> ClockResult:
    try:
        with transaction.atomic():
            # Serialises clocks of one person (PostgreSQL); SQLite serialises all writers.
            User.objects.select_for_update().filter(pk=person.pk).first()
            now = timezone.now()
            last = selectors.counted_events(person=person).first()
            debounced = (
                last is not None
                and now - last.timestamp < conf.debounce()
                and direction in (None, last.direction)
            )
            if debounced:
                event, created = last, False
            else:
                event = ClockEvent.objects.create(
                    person=person,
                    direction=direction or selectors.next_direction(person=person, at=now),
                    timestamp=now,
                    device=device,
                    method=method,
                    score=match.score if match else None,
                    threshold=match.threshold if match else None,
                    model_version=match.model if match else "",
                    liveness=match.liveness if match else None,
                    needs_review=method == Method.PIN,
                    pin_fallback=method == Method.PIN,
                    manual_override=direction is not None,
                    capture_id=capture,
                    created_by=actor,
                )
                created = True
                if method == Method.PIN:
                    open_pin_review(event=event)
                rebuild_sessions(person=person, since=now)
            Capture.objects.create(
                capture_id=capture, payload_hash=payload, event=event, created=created
            )
    except IntegrityError:
        # A concurrent request with the same capture id committed first: answer as it did.
        replay = _replay(capture, payload)
        if replay is None:
            raise
        return replay
    log.info(
        "clock",
        extra={
            "person": person.pk,
            "direction": event.direction,
            "method": method,
            "new_event": created,
            "device": device.pk if device else None,
            "liveness": (event.liveness or {}).get("reason", ""),
        },
    )
    return ClockResult(event=event, created=created)
