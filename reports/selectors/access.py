"""Access datasets: entries by area, hour and weekday; decisions and denial reasons over time;
alerts and how fast guards acknowledged them; visitors and contractors; recognition quality.

Time buckets are taken in the display time zone inside the database (TruncDate, ExtractHour,
ExtractIsoWeekDay with tzinfo), so an hour of day is the local hour on both sides of a DST
change.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import Floor, TruncDate
from django.utils import timezone

from access_control.models import (
    AccessEvent,
    Alert,
    AlertKind,
    AlertState,
    Area,
    Decision,
    PassKind,
    VisitorPass,
)
from access_control.selectors import Reason, reason_label
from accounts.models import Role

from .scope import Scope
from .tables import LocalPart, SecondsBetween, Table

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Score histogram: cosine similarity in steps of 0.01; everything below the floor is one bin.
SCORE_STEP = 100
SCORE_FLOOR = 0.80
ACK_BUCKETS_MINUTES = (5, 15, 60)


def events(scope: Scope) -> QuerySet[AccessEvent]:
    queryset = AccessEvent.objects.filter(
        created_at__gte=scope.start_at, created_at__lt=scope.end_at
    )
    queryset = scope.areas(queryset)
    if scope.person_id is not None:
        queryset = queryset.filter(person_id=scope.person_id)
    return queryset.order_by()


def hourly(scope: Scope) -> Table:
    """Granted entries per area, local weekday and local hour."""
    rows = (
        events(scope)
        .filter(decision=Decision.GRANTED)
        .annotate(
            dow=LocalPart("created_at", "isodow", scope.zone),
            hour=LocalPart("created_at", "hour", scope.zone),
        )
        .values_list("area_id", "dow", "hour")
        .annotate(n=Count("pk"))
    )
    names = dict(Area.objects.values_list("pk", "name"))
    out = [
        (name, WEEKDAYS[dow - 1], hour, n)
        for name, dow, hour, n in sorted(
            (names.get(area, str(area)), int(dow), int(hour), n) for area, dow, hour, n in rows
        )
    ]
    return Table(["area", "weekday", "hour", "entries"], out)


def daily(scope: Scope) -> Table:
    """Per local day: granted, denied, recognition refusals, mean match score, visitors and
    contractors who came in."""
    granted = Q(decision=Decision.GRANTED)
    rows = (
        events(scope)
        .annotate(day=TruncDate("created_at", tzinfo=scope.zone))
        .values("day")
        .annotate(
            granted=Count("pk", filter=granted),
            denied=Count("pk", filter=Q(decision=Decision.DENIED)),
            unknown=Count("pk", filter=Q(reason=Reason.NOT_RECOGNISED)),
            spoof=Count("pk", filter=Q(reason=Reason.SPOOF_SUSPECTED)),
            low_quality=Count("pk", filter=Q(reason=Reason.LOW_QUALITY)),
            score=Avg("score", filter=granted & Q(score__isnull=False)),
        )
        .order_by("day")
    )
    # Visitors and contractors come in on a pass: a separate query over the few pass events
    # keeps the join to people out of the scan of every event.
    guests = (
        events(scope)
        .filter(granted, visitor_pass__isnull=False)
        .annotate(day=TruncDate("created_at", tzinfo=scope.zone))
        .values("day")
        .annotate(
            visitors=Count("person", distinct=True, filter=Q(person__role=Role.VISITOR)),
            contractors=Count("person", distinct=True, filter=Q(person__role=Role.CONTRACTOR)),
        )
        .order_by("day")
    )
    by_day = {r["day"]: r for r in rows}
    for r in guests:
        by_day.setdefault(
            r["day"],
            {"granted": 0, "denied": 0, "unknown": 0, "spoof": 0, "low_quality": 0, "score": None},
        ).update(r)
    out = []
    for day in scope.days():
        r = by_day.get(day)
        if r is None:
            out.append((day.isoformat(), 0, 0, 0, 0, 0, None, 0, 0))
            continue
        out.append(
            (
                day.isoformat(),
                r["granted"],
                r["denied"],
                r["unknown"],
                r["spoof"],
                r["low_quality"],
                round(r["score"], 4) if r["score"] is not None else None,
                r.get("visitors", 0),
                r.get("contractors", 0),
            )
        )
    return Table(
        [
            "date",
            "granted",
            "denied",
            "unknown_faces",
            "liveness_refusals",
            "low_quality",
            "mean_granted_score",
            "visitors",
            "contractors",
        ],
        out,
    )


def denial_reasons(scope: Scope) -> Table:
    rows = (
        events(scope)
        .filter(decision=Decision.DENIED)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )
    return Table(["reason", "label", "denials"], [(r, str(reason_label(r)), n) for r, n in rows])


def scores(scope: Scope) -> Table:
    """Match scores in bins of 0.01, granted and denied apart (unknown faces included)."""
    rows = (
        events(scope)
        .filter(score__isnull=False)
        .annotate(bin=Floor(F("score") * SCORE_STEP))
        .values_list("bin")
        .annotate(
            granted=Count("pk", filter=Q(decision=Decision.GRANTED)),
            denied=Count("pk", filter=Q(decision=Decision.DENIED)),
        )
        .order_by("bin")
    )
    merged: dict[float, list[int]] = {}
    floor = round(SCORE_FLOOR * SCORE_STEP)
    for bin_, granted, denied in rows:
        key = max(int(bin_), floor - 1)
        counts = merged.setdefault(key, [0, 0])
        counts[0] += granted
        counts[1] += denied
    out = [
        (
            f"<{SCORE_FLOOR:.2f}" if key < floor else f"{key / SCORE_STEP:.2f}",
            granted,
            denied,
        )
        for key, (granted, denied) in sorted(merged.items())
    ]
    return Table(["score_from", "granted", "denied"], out)


def alerts_queryset(scope: Scope) -> QuerySet[Alert]:
    queryset = Alert.objects.filter(created_at__gte=scope.start_at, created_at__lt=scope.end_at)
    if scope.area_ids is not None:
        queryset = queryset.filter(access_point__area_id__in=sorted(scope.area_ids))
    if scope.person_id is not None:
        queryset = queryset.filter(person_id=scope.person_id)
    return queryset.order_by()


def alerts(scope: Scope) -> Table:
    """Alerts by kind: how many, how many still open, and how fast they were acknowledged."""
    acked = Q(acknowledged_at__isnull=False)
    within = {
        f"within_{m}": Count(
            "pk", filter=acked & Q(acknowledged_at__lte=F("created_at") + timedelta(minutes=m))
        )
        for m in ACK_BUCKETS_MINUTES
    }
    rows = (
        alerts_queryset(scope)
        .values("kind")
        .annotate(
            total=Count("pk"),
            open=Count("pk", filter=Q(state=AlertState.OPEN)),
            acknowledged=Count("pk", filter=acked),
            ack_seconds=Avg(SecondsBetween("created_at", "acknowledged_at"), filter=acked),
            **within,
        )
        .order_by("-total", "kind")
    )
    labels = dict(AlertKind.choices)
    out = [
        (
            r["kind"],
            str(labels.get(r["kind"], r["kind"])),
            r["total"],
            r["open"],
            r["acknowledged"],
            round(r["ack_seconds"] / 60, 1) if r["ack_seconds"] is not None else None,
            *(r[f"within_{m}"] for m in ACK_BUCKETS_MINUTES),
        )
        for r in rows
    ]
    return Table(
        [
            "kind",
            "label",
            "alerts",
            "open",
            "acknowledged",
            "mean_minutes_to_ack",
            *(f"acked_within_{m}_min" for m in ACK_BUCKETS_MINUTES),
        ],
        out,
    )


def on_site(scope: Scope) -> Table:
    """Visitors and contractors whose pass is valid now (in the areas of the scope)."""
    now = timezone.now()
    passes = (
        VisitorPass.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=now))
        .filter(visitor__is_active=True)
    )
    if scope.area_ids is not None:
        passes = passes.filter(areas__in=sorted(scope.area_ids))
    rows = (
        passes.distinct()
        .order_by("kind", "visitor__display_name", "pk")
        .values_list("kind", "visitor__display_name", "sponsor__display_name", "purpose", "ends_at")
    )
    labels = dict(PassKind.choices)
    out = [
        (
            str(labels.get(kind, kind)),
            name,
            sponsor,
            purpose,
            ends.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M"),
        )
        for kind, name, sponsor, purpose, ends in rows
    ]
    return Table(["kind", "person", "sponsor", "purpose", "pass_ends"], out)


def access_events(scope: Scope) -> Table:
    """The raw access log in scope (CSV only; streamed, a million rows is fine)."""
    queryset = (
        events(scope)
        .order_by("created_at", "pk")
        .values_list(
            "created_at",
            "access_point__name",
            "area__name",
            "person__username",
            "decision",
            "reason",
            "mode",
            "score",
            "threshold",
        )
    )

    # The code for machines, the catalogue's words (access_control.reasons) for people.
    labels = {code: str(label) for code, label in Reason.choices}

    def rows():
        zone = scope.zone
        for at, door, area, username, decision, reason, *rest in queryset.iterator(chunk_size=5000):
            yield (
                at.astimezone(zone).isoformat(timespec="seconds"),
                door,
                area,
                username,
                decision,
                reason,
                labels.get(reason, reason),
                *rest,
            )

    return Table(
        [
            "time",
            "door",
            "area",
            "username",
            "decision",
            "reason",
            "reason_text",
            "mode",
            "score",
            "threshold",
        ],
        rows(),
        count=queryset.count,
    )
