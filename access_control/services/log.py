"""The access log and the alerts it raises (repeated denials, spoofing, unknown faces)."""

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts import audit
from accounts.models import Device, Role, User
from biometrics import services as biometrics

from .. import conf
from ..errors import AlertStateError
from ..models import (
    AccessEvent,
    AccessPoint,
    AccessRule,
    Alert,
    AlertKind,
    AlertState,
    Decision,
    SecurityLevel,
    VisitorPass,
)
from ..reasons import GRANTED_REASONS, Reason
from .passes import TIME_LIMITED

log = logging.getLogger("faceauth.access")


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


class EventFields(TypedDict, total=False):
    """What a decision may carry beyond where, who and the outcome (the AccessEvent columns)."""

    rule: AccessRule | None
    visitor_pass: VisitorPass | None
    score: float | None
    threshold: float | None
    model_version: str
    detail: str
    liveness: dict | None
    request_hash: str
    client_request_id: str


def _new_event(
    *,
    access_point: AccessPoint,
    person: User | None,
    granted: bool,
    reason: str,
    at: datetime | None = None,
    **fields: Unpack[EventFields],
) -> AccessEvent:
    reason = Reason(reason)
    if granted != (reason in GRANTED_REASONS):
        raise ValueError(f"reason {reason} does not fit a {'grant' if granted else 'denial'}")
    return AccessEvent(
        created_at=at or timezone.now(),
        access_point=access_point,
        area=access_point.area,
        person=person,
        decision=Decision.GRANTED if granted else Decision.DENIED,
        reason=reason,
        mode=access_point.mode,
        **fields,
    )


@transaction.atomic
def record_event(
    *,
    access_point: AccessPoint,
    person: User | None,
    granted: bool,
    reason: str,
    at: datetime | None = None,
    **fields: Unpack[EventFields],
) -> AccessEvent:
    """Append one decision to the access log and raise the alerts it triggers.

    Also the entry point for other checks (e.g. liveness): ``reason=spoof_suspected`` raises
    the spoof alert."""
    event = _new_event(
        access_point=access_point, person=person, granted=granted, reason=reason, at=at, **fields
    )
    event.save()
    log.info(
        "access decision",
        extra={
            "event": event.pk,
            "point": event.access_point_id,
            "person": event.person_id,
            "decision": event.decision,
            "reason": event.reason,
            "rule": event.rule_id,
        },
    )
    raise_alerts(event)
    return event


@transaction.atomic
def record_past_events(*, decisions: Sequence[Mapping[str, Any]]) -> list[AccessEvent]:
    """Append decisions taken earlier (an import from another door system, the demo), each
    with the keywords of ``record_event`` including its ``at``, in time order; the alerts they
    trigger are raised as if live. One insert for all of them."""
    now = timezone.now()
    events = []
    for decision in decisions:
        at = decision.get("at")
        if at is None or at > now:
            raise ValueError("a past decision needs its time, and not one in the future")
        if events and at < events[-1].created_at:
            raise ValueError("past decisions are appended in time order")
        events.append(_new_event(**decision))
    created = AccessEvent.objects.bulk_create(events)
    for event in created:
        raise_alerts(event)
    log.info("access decisions recorded", extra={"events": len(created)})
    return created


def _take_turns(*, access_point=None, device=None, person=None) -> None:
    """The alert rules read, then write (is one open here? how many denials since the last?):
    two concurrent first events would each raise an alert of their own. A row lock on what the
    alert is about makes them take turns. FOR NO KEY UPDATE, because the events being written
    hold key-share locks on that row (their foreign key): a plain FOR UPDATE would deadlock.
    On SQLite the transaction's write lock already serialises them."""
    for model, row in ((AccessPoint, access_point), (Device, device), (User, person)):
        if row is not None:
            list(model.objects.select_for_update(no_key=True).filter(pk=row.pk).values("pk"))
            return


def raise_alerts(event: AccessEvent) -> list[Alert]:
    """The alert rules, run on every new event (see docs/access_control.md)."""
    if event.granted:
        return []
    point = event.access_point
    _take_turns(access_point=point)
    alerts = []
    window = timedelta(minutes=conf.get("ACCESS_ALERT_WINDOW_MINUTES"))
    if event.reason == Reason.SPOOF_SUSPECTED:
        # A refused stream was counted on the door's alert when it was decided (the page may
        # never have sent its final request): its event joins that alert, not counted again.
        alerts.append(
            _door_spoof_alert(
                point,
                at=event.created_at,
                window=window,
                event=event,
                counted=biometrics.announced_at_stream(event.liveness),
            )
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
                f"{audit.source_text(Role(person.role).label)} {person} refused at {point}: "
                f"{audit.source_text(Reason(event.reason).label).lower()}",
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
        if previous.last_at > event.created_at - window:
            return _bump(previous, at=event.created_at, event=event)
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
        created_at=event.created_at,
        last_at=event.created_at,
    )
    log.warning("access alert", extra={"alert": alert.pk, "kind": kind, "point": point.pk})
    return alert


def _raise(
    kind: str, event: AccessEvent, message: str, window: timedelta, person: User | None = None
) -> Alert:
    """A new alert, or the same open one bumped when it fired here within the window."""
    return _raise_or_bump(
        kind=kind,
        at=event.created_at,
        message=message,
        window=window,
        access_point=event.access_point,
        person=person,
        event=event,
    )


def _raise_or_bump(
    *,
    kind: str,
    at: datetime,
    message: str,
    window: timedelta,
    access_point: AccessPoint | None = None,
    device: Device | None = None,
    person: User | None = None,
    event: AccessEvent | None = None,
    counted: bool = False,
) -> Alert:
    """A new alert, or the open one of the same kind and subject within the window: bumped, or
    (``counted``: this occurrence was counted on it already) only naming ``event``."""
    recent = (
        Alert.objects.filter(
            kind=kind,
            access_point=access_point,
            device=device,
            person=person,
            state=AlertState.OPEN,
            last_at__gt=at - window,
        )
        .order_by("-pk")
        .first()
    )
    if recent is not None:
        return _attach(recent, event) if counted else _bump(recent, at=at, event=event)
    alert = Alert.objects.create(
        kind=kind,
        access_point=access_point,
        device=device,
        person=person,
        first_event=event,
        last_event=event,
        message=message[:300],
        # Raised when it happened (the same instant, unless the event is history).
        created_at=at,
        last_at=at,
    )
    log.warning(
        "access alert",
        extra={
            "alert": alert.pk,
            "kind": kind,
            "point": alert.access_point_id,
            "device": alert.device_id,
        },
    )
    return alert


def _bump(alert: Alert, *, at: datetime, event: AccessEvent | None = None) -> Alert:
    """One more occurrence on an open alert; the count rises in the database, so a burst of
    concurrent spoofs loses none."""
    changes = {
        "event_count": F("event_count") + 1,
        "last_at": Greatest("last_at", Value(at)),
        "updated_at": timezone.now(),
    }
    if event is not None:
        changes["last_event"] = event
    Alert.objects.filter(pk=alert.pk).update(**changes)
    alert.refresh_from_db(fields=["event_count", "last_at", "last_event", "updated_at"])
    return alert


def _attach(alert: Alert, event: AccessEvent | None) -> Alert:
    """The event of an occurrence the open alert counted already (a door stream's claim)."""
    if event is None:
        return alert
    changes: dict[str, Any] = {"last_event": event, "updated_at": timezone.now()}
    if alert.first_event_id is None:
        changes["first_event"] = event
    Alert.objects.filter(pk=alert.pk).update(**changes)
    alert.refresh_from_db(fields=["first_event", "last_event", "updated_at"])
    return alert


def _door_spoof_alert(
    point: AccessPoint,
    *,
    at: datetime,
    window: timedelta,
    event: AccessEvent | None = None,
    counted: bool = False,
) -> Alert:
    """A door's spoof alert, one per access point and window: from its access events and from
    its refused streams alike."""
    return _raise_or_bump(
        kind=AlertKind.SPOOF_SUSPECTED,
        at=at,
        message=f"At {point} ({point.area})",
        window=window,
        access_point=point,
        event=event,
        counted=counted,
    )


@transaction.atomic
def raise_spoof_alert(
    *, device: Device | None, person: User | None, where: str, at: datetime | None = None
) -> Alert:
    """A spoof caught outside a door's check (a kiosk, the personal clock, the face sign-in, a
    door's stream when it is decided): the guards' alert, one per device (or per person without
    a device) and window, bumped by every repeat. Door checks log their spoofs as access events,
    whose alert ``raise_alerts`` raises (or, for a stream's, joins)."""
    if device is None and person is None:
        raise ValueError("a spoof alert names a device or a person")
    at = at or timezone.now()
    window = timedelta(minutes=conf.get("ACCESS_ALERT_WINDOW_MINUTES"))
    point = (
        AccessPoint.objects.select_related("area").filter(device=device).first()
        if device is not None
        else None
    )
    if point is not None:  # a door's stream
        _take_turns(access_point=point)
        return _door_spoof_alert(point, at=at, window=window)
    if device is not None:
        place = f"{device}, {device.location}" if device.location else str(device)
        claim = f" (claiming to be {person})" if person is not None else ""
        message = f"At {place}{claim}"
        person = None  # a claim made at a device proves nothing about the person
    else:
        message = f"Face check of {person} ({where})" if where else f"Face check of {person}"
    _take_turns(device=device, person=person)
    return _raise_or_bump(
        kind=AlertKind.SPOOF_SUSPECTED,
        at=at,
        message=message,
        window=window,
        device=device,
        person=person,
    )


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
