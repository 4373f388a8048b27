"""Clocking in and out, work-session derivation, corrections. Views and the admin call these.

Faces are recognised only through biometrics.services (identify_face, verify_person).
"""

import hashlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import audit
from accounts.models import Device, DeviceKind, Role, User
from accounts.permissions import role_of
from biometrics import liveness
from biometrics import services as biometrics

from . import conf, selectors
from .errors import (
    AlreadyDecided,
    CaptureIdReused,
    FaceMismatch,
    InvalidCaptureId,
    InvalidCorrection,
    InvalidDirection,
    MissingCaptureId,
    MissingCredentials,
    NotAllowed,
    NotRecognised,
    PersonInactive,
    PinLocked,
    WrongPin,
)
from .models import (
    Capture,
    ClockEvent,
    Correction,
    CorrectionKind,
    CorrectionStatus,
    Direction,
    Method,
    SessionStatus,
    WorkSession,
)

log = logging.getLogger("faceauth.attendance")


@dataclass(frozen=True)
class ClockResult:
    event: ClockEvent
    created: bool  # False: a debounced capture, or a replay of an earlier request
    replayed: bool = False

    @property
    def message(self) -> str:
        when = local_time(self.event.timestamp)
        verb = "in" if self.event.direction == Direction.IN else "out"
        if self.created or self.replayed:
            return f"Clocked {verb.upper()} at {when:%H:%M}"
        return f"Already clocked {verb} at {when:%H:%M}"


def display_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def local_time(value: datetime) -> datetime:
    return value.astimezone(display_zone())


# ---------------------------------------------------------------- clocking


def parse_capture_id(raw: object) -> uuid.UUID:
    if raw in (None, ""):
        raise MissingCaptureId()
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise InvalidCaptureId() from exc


def _payload_hash(*parts: object) -> str:
    # Keyed: the hash of an employee number + a 4-digit PIN must not be brute-forceable.
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\x00")
    return salted_hmac("attendance.capture", digest.hexdigest()).hexdigest()


def clock(
    *,
    capture_id: object,
    device: Device | None = None,
    actor: User | None = None,
    image: bytes | None = None,
    frames: list[bytes] | None = None,
    nonce: str = "",
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
    has_face = bool(image or frames)
    use_pin = not has_face and (pin not in (None, ""))
    if not has_face and not use_pin:
        raise MissingCredentials()

    who = f"device:{device.pk}" if device else f"user:{actor.pk}"
    if use_pin:
        payload = _payload_hash(who, "pin", employee_number or "", pin, direction or "")
    elif frames:
        # The whole burst and its nonce: the same capture id with other frames is a conflict.
        payload = _payload_hash(who, "frames", nonce, len(frames), *frames, direction or "")
    else:
        payload = _payload_hash(who, "image", image, direction or "")
    return _retry_if_sqlite_locked(
        lambda: _identify_and_record(
            capture=capture,
            payload=payload,
            use_pin=use_pin,
            device=device,
            actor=actor,
            image=None if frames else image,
            frames=frames or None,
            nonce=nonce,
            employee_number=employee_number,
            pin=pin,
            direction=direction,
        )
    )


def _identify_and_record(
    *,
    capture: uuid.UUID,
    payload: str,
    use_pin: bool,
    device: Device | None,
    actor: User | None,
    image: bytes | None,
    frames: list[bytes] | None,
    nonce: str,
    employee_number: str | None,
    pin: str | None,
    direction: str | None,
) -> ClockResult:
    replay = _replay(capture, payload)
    if replay is not None:
        return replay

    match = None
    if use_pin:
        person = _check_pin(actor=actor, employee_number=employee_number, pin=pin)
        method = Method.PIN
    elif device is not None:
        # With the device: a kiosk that requires liveness refuses a single image, and its
        # challenges are bound to it.
        match = biometrics.identify_face(
            image=image, frames=frames, nonce=nonce, device=device, where=str(device)
        )
        if not match.match or match.person is None:
            raise NotRecognised()
        person, method = match.person, Method.FACE_1N
    else:
        if not frames and liveness.liveness_required(None):
            # Personal mode has no device to turn liveness off for: a burst is required.
            raise liveness.refuse("liveness_required")
        match = biometrics.verify_person(
            person=actor, image=image, frames=frames, nonce=nonce, where=f"clock:{actor.pk}"
        )
        if not match.match:
            raise FaceMismatch()
        person, method = actor, Method.FACE_1V1

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
    if stored is None:
        return None
    if stored.payload_hash != payload:
        raise CaptureIdReused()
    return ClockResult(event=stored.event, created=stored.created, replayed=True)


def _pin_key(employee_number: str) -> str:
    return "attendance:pin-fail:" + hashlib.sha256(employee_number.encode()).hexdigest()[:32]


def _check_pin(*, actor: User | None, employee_number: str | None, pin: str) -> User:
    if actor is not None:
        person, key = actor, _pin_key(f"user:{actor.pk}")
    else:
        number = (employee_number or "").strip()
        if not number:
            raise WrongPin()
        key = _pin_key(number)
        person = User.objects.filter(employee_number=number).first()
    failures = cache.get(key, 0)
    if failures >= conf.get("ATTENDANCE_PIN_MAX_FAILURES"):
        raise PinLocked()
    if person is None or not person.check_pin(str(pin)):
        cache.set(key, failures + 1, timeout=conf.get("ATTENDANCE_PIN_LOCKOUT_MINUTES") * 60)
        log.info("wrong pin", extra={"person": person.pk if person else None})
        raise WrongPin()
    cache.delete(key)
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
                    Correction.objects.create(
                        person=person,
                        kind=CorrectionKind.REVIEW,
                        event=event,
                        reason="Clocked with employee number and PIN instead of the face.",
                    )
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


# ---------------------------------------------------------------- work sessions


def rebuild_sessions(*, person: User, since: datetime | None = None) -> list[WorkSession]:
    """Re-derive the person's sessions from their counted events, from ``since`` on.

    Pairing restarts at the session that holds ``since`` (every earlier session is final
    because a later one began), so a live clock only redoes the last session.
    """
    # Orphan OUTs have no start: a session is keyed by its start, else its end.
    sessions = WorkSession.objects.filter(person=person).annotate(
        key=Coalesce("started_at", "ended_at")
    )
    anchor = None
    if since is not None:
        anchor = (
            sessions.filter(key__lte=since).order_by("-key").values_list("key", flat=True).first()
        )
    stale = sessions.filter(key__gte=anchor) if anchor is not None else sessions
    WorkSession.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()
    events = selectors.counted_events(person=person).order_by("timestamp", "id")
    if anchor is not None:
        events = events.filter(timestamp__gte=anchor)
    built = pair_events(person=person, events=list(events))
    return WorkSession.objects.bulk_create(built)


def pair_events(*, person: User, events: list[ClockEvent]) -> list[WorkSession]:
    """IN/OUT pairs in time order. An IN after an IN leaves the first without an OUT; an OUT
    with no IN, or more than the maximum shift after it, stands alone (both flagged)."""
    zone, limit = display_zone(), conf.max_shift()
    out: list[WorkSession] = []
    open_in: ClockEvent | None = None

    def session(start: ClockEvent | None, end: ClockEvent | None, status: str) -> WorkSession:
        key = (start or end).timestamp
        return WorkSession(
            person=person,
            start_event=start,
            end_event=end,
            started_at=start.timestamp if start else None,
            ended_at=end.timestamp if end else None,
            work_date=key.astimezone(zone).date(),
            status=status,
        )

    for event in events:
        if event.direction == Direction.IN:
            if open_in is not None:
                out.append(session(open_in, None, SessionStatus.MISSING_OUT))
            open_in = event
            continue
        if open_in is not None and event.timestamp - open_in.timestamp <= limit:
            out.append(session(open_in, event, SessionStatus.CLOSED))
        else:
            if open_in is not None:
                out.append(session(open_in, None, SessionStatus.MISSING_OUT))
            out.append(session(None, event, SessionStatus.MISSING_IN))
        open_in = None
    if open_in is not None:
        out.append(session(open_in, None, SessionStatus.OPEN))
    return out


# ---------------------------------------------------------------- corrections


def _history(actor: User, obj, message: str, flag: int = CHANGE) -> None:
    """Also record it in the admin history (who, when, what)."""
    if actor is None or not actor.pk:
        return
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[obj],
        action_flag=flag,
        change_message=message,
        single_object=True,
    )


@transaction.atomic
def request_correction(
    *, person: User, requested_by: User, direction: str, timestamp: datetime, reason: str
) -> Correction:
    """An employee asks for a missing event (usually a forgotten clock-out) to be added."""
    if direction not in Direction.values:
        raise InvalidDirection()
    if timezone.is_naive(timestamp):
        timestamp = timezone.make_aware(timestamp, display_zone())
    if timestamp > timezone.now():
        raise InvalidCorrection("The time of a correction cannot be in the future.")
    if not reason.strip():
        raise InvalidCorrection("Please give a reason.")
    if requested_by.pk != person.pk and role_of(requested_by) != Role.ADMIN:
        raise NotAllowed("You may request corrections only for yourself.")
    correction = Correction.objects.create(
        person=person,
        kind=CorrectionKind.MISSING_EVENT,
        proposed_direction=direction,
        proposed_timestamp=timestamp,
        reason=reason.strip(),
        requested_by=requested_by,
    )
    _history(requested_by, correction, "Requested", ADDITION)
    return correction


def may_decide(*, reviewer: User, person: User) -> bool:
    """Admins decide for anybody, managers for their department; nobody for themselves."""
    if reviewer.pk == person.pk:
        return False
    role = role_of(reviewer)
    if role == Role.ADMIN:
        return True
    return (
        role == Role.MANAGER
        and reviewer.department_id is not None
        and reviewer.department_id == person.department_id
    )


@transaction.atomic
def decide_correction(
    *, correction: Correction, approve: bool, reviewer: User, note: str = ""
) -> Correction:
    """Approve or reject once. Approving a missing event adds it; rejecting a flagged event
    takes it out of the sessions. Either way the sessions are re-derived."""
    # Lock only the correction row: PostgreSQL refuses FOR UPDATE across the nullable event join.
    correction = (
        Correction.objects.select_for_update(of=("self",))
        .select_related("person", "event")
        .get(pk=correction.pk)
    )
    if correction.status != CorrectionStatus.PENDING:
        raise AlreadyDecided()
    if not may_decide(reviewer=reviewer, person=correction.person):
        raise NotAllowed("You may not decide corrections for this person.")
    correction.status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
    correction.decided_by = reviewer
    correction.decided_at = timezone.now()
    correction.decision_note = note[:300]
    since = correction.event.timestamp if correction.event else correction.proposed_timestamp
    if approve and correction.kind == CorrectionKind.MISSING_EVENT:
        correction.created_event = ClockEvent.objects.create(
            person=correction.person,
            direction=correction.proposed_direction,
            timestamp=correction.proposed_timestamp,
            method=Method.CORRECTION,
            manual_override=True,
            created_by=reviewer,
        )
    correction.save()
    rebuild_sessions(person=correction.person, since=since)
    _history(reviewer, correction, correction.get_status_display())
    return correction


# ---------------------------------------------------------------- privacy

# The biometric columns of an event: what links it to a face template. The two redactions
# below are the only changes ever made to stored events, as queryset updates of these columns
# (ClockEvent.save() still refuses any change of a loaded event).
BIOMETRIC_COLUMNS = {"score": None, "threshold": None, "model_version": "", "liveness": None}


def redact_biometrics(*, person: User, reason: str = "face_data_erased") -> int:
    """Blank the scores of a person's clock events after their face data was erased.

    The events stay (they are payroll data: who worked when), but without the match scores,
    thresholds, model versions and liveness results that were computed from the templates.
    """
    now = timezone.now()
    count = (
        ClockEvent.objects.filter(person=person)
        .filter(
            Q(score__isnull=False)
            | Q(threshold__isnull=False)
            | ~Q(model_version="")
            | Q(liveness__isnull=False)
        )
        .update(**BIOMETRIC_COLUMNS, redacted_at=now)
    )
    log.info(
        "clock events redacted", extra={"person": person.pk, "events": count, "reason": reason}
    )
    return count


def on_face_data_erased(sender, person: User, **kwargs) -> None:
    """biometrics.privacy.face_data_erased receiver (connected in AttendanceConfig.ready)."""
    count = redact_biometrics(person=person)
    audit.record(
        "attendance.redact_scores",
        outcome="done",
        target=person,
        details={"events": count, "reason": "face_data_erased"},
    )


def pseudonym_of(person_id: int) -> str:
    """Stable keyed pseudonym: the events of one person stay countable together, but the link
    back to the person needs the server's SECRET_KEY (pseudonymisation, not anonymisation)."""
    return salted_hmac("attendance.pseudonym", str(person_id)).hexdigest()[:32]


def retention_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=conf.get("ATTENDANCE_EVENT_RETENTION_DAYS"))


def pseudonymise_expired(*, now: datetime | None = None) -> dict:
    """Daily retention for attendance: events (and corrections) older than
    ATTENDANCE_EVENT_RETENTION_DAYS lose their link to the person.

    The person is replaced by a stable pseudonym, the biometric columns are blanked, the
    derived work sessions of that period are deleted (they are rebuilt from events, and the
    pseudonymised events no longer belong to anybody), and a correction's free-text reason is
    cleared. Idempotent: a second run finds nothing left to do.
    """
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    counts = {"events": 0, "corrections": 0, "sessions": 0, "people": 0}
    with transaction.atomic():
        expired = ClockEvent.objects.filter(person__isnull=False, timestamp__lt=cutoff)
        people = set(expired.values_list("person_id", flat=True))
        counts["people"] = len(people)
        for person_id in people:
            pseudonym = pseudonym_of(person_id)
            counts["sessions"] += WorkSession.objects.filter(
                person_id=person_id, work_date__lt=timezone.localdate(cutoff, display_zone())
            ).delete()[0]
            counts["events"] += expired.filter(person_id=person_id).update(
                person=None, pseudonym=pseudonym, **BIOMETRIC_COLUMNS, redacted_at=now
            )
        old_corrections = Correction.objects.filter(person__isnull=False).filter(
            Q(requested_at__lt=cutoff)
            & (Q(proposed_timestamp__isnull=True) | Q(proposed_timestamp__lt=cutoff))
            & (Q(event__isnull=True) | Q(event__timestamp__lt=cutoff))
        )
        for person_id in set(old_corrections.values_list("person_id", flat=True)):
            mine = old_corrections.filter(person_id=person_id)
            mine.filter(requested_by_id=person_id).update(requested_by=None)
            counts["corrections"] += mine.update(
                person=None, pseudonym=pseudonym_of(person_id), reason="[pseudonymised]"
            )
        audit.record(
            "retention.attendance",
            outcome="done",
            details={**counts, "cutoff": cutoff.isoformat()},
        )
    log.info("attendance retention", extra=counts)
    return counts


SUBJECT_ACCESS_NOTES = {
    "face_templates": (
        "Not included: face templates are encrypted biometric data that are never exported. "
        "You can delete them at any time (Delete my face data, or withdraw your consent)."
    ),
    "access_events": (
        "Not included here: door access events are kept by the access control module; ask "
        "your administrator for that part."
    ),
    "pseudonymised": (
        "Clock events older than the retention period are pseudonymised (no longer linked to "
        "you) and are therefore not part of this export."
    ),
}


def _event_row(event: ClockEvent) -> dict:
    return {
        "id": event.pk,
        "direction": event.direction,
        "timestamp": event.timestamp.isoformat(),
        "local_time": local_time(event.timestamp).isoformat(),
        "device": event.device.name if event.device else None,
        "method": event.method,
        "score": event.score,
        "threshold": event.threshold,
        "model_version": event.model_version,
        "liveness": event.liveness,
        "needs_review": event.needs_review,
        "pin_fallback": event.pin_fallback,
        "manual_override": event.manual_override,
        "redacted_at": event.redacted_at.isoformat() if event.redacted_at else None,
        "created_at": event.created_at.isoformat(),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def subject_access_export(*, person: User, actor: User | None = None) -> dict:
    """Everything attendance holds about a person (GDPR art. 15), for a JSON download.

    Face templates are never exported; access events live in access_control, which attendance
    may not read (dependency direction). The export is audited.
    """
    from biometrics import selectors as biometric_selectors

    profile = {
        "id": person.pk,
        "username": person.username,
        "display_name": person.display_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "role": person.role,
        "employee_number": person.employee_number,
        "department": person.department.name if person.department_id else None,
        "job_title": person.job_title,
        "is_active": person.is_active,
        "valid_from": _iso(person.valid_from),
        "valid_until": _iso(person.valid_until),
        "sponsor": str(person.sponsor) if person.sponsor_id else None,
        "date_joined": _iso(person.date_joined),
        "last_login": _iso(person.last_login),
        "offboarded_at": _iso(person.offboarded_at),
        "has_pin": bool(person.pin_hash),
    }
    events = ClockEvent.objects.filter(person=person).select_related("device").order_by("timestamp")
    sessions = WorkSession.objects.filter(person=person).order_by("work_date", "started_at")
    corrections = (
        Correction.objects.filter(person=person)
        .select_related("decided_by", "requested_by")
        .order_by("requested_at")
    )
    data = {
        "format": "faceauth.subject_access.v1",
        "generated_at": timezone.now().isoformat(),
        "time_zone": settings.DISPLAY_TIME_ZONE,
        "profile": profile,
        "consents": biometric_selectors.consent_history(person=person),
        "face_templates": {
            "included": False,
            "count": biometric_selectors.template_summary(person=person)["count"],
            "why": SUBJECT_ACCESS_NOTES["face_templates"],
        },
        "clock_events": [_event_row(e) for e in events],
        "work_sessions": [
            {
                "id": s.pk,
                "work_date": s.work_date.isoformat(),
                "started_at": _iso(s.started_at),
                "ended_at": _iso(s.ended_at),
                "status": s.status,
                "duration_seconds": int(s.duration.total_seconds()) if s.duration else None,
            }
            for s in sessions
        ],
        "corrections": [
            {
                "id": c.pk,
                "kind": c.kind,
                "event": c.event_id,
                "proposed_direction": c.proposed_direction,
                "proposed_timestamp": _iso(c.proposed_timestamp),
                "reason": c.reason,
                "requested_by": str(c.requested_by) if c.requested_by_id else None,
                "requested_at": _iso(c.requested_at),
                "status": c.status,
                "decided_by": str(c.decided_by) if c.decided_by_id else None,
                "decided_at": _iso(c.decided_at),
                "decision_note": c.decision_note,
                "created_event": c.created_event_id,
            }
            for c in corrections
        ],
        "not_included": {
            "face_templates": SUBJECT_ACCESS_NOTES["face_templates"],
            "access_events": SUBJECT_ACCESS_NOTES["access_events"],
            "pseudonymised_events": SUBJECT_ACCESS_NOTES["pseudonymised"],
        },
    }
    audit.record(
        "export.subject_access",
        actor=actor or person,
        outcome="done",
        target=person,
        details={
            "events": len(data["clock_events"]),
            "sessions": len(data["work_sessions"]),
            "corrections": len(data["corrections"]),
            "consents": len(data["consents"]),
        },
    )
    return data
