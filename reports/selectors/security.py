"""Security datasets for admins: failed attempts per device, lockouts, spoofing, enrolment
coverage. Failed face attempts come from two sources: the door log (AccessEvent denials) and
the audit trail's ``auth.face.*`` entries with outcome ``no_match`` or ``error`` (personal
clock pages, kiosks and enrolment checks write those)."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from access_control.models import Decision
from access_control.selectors import Reason
from accounts.models import AuditEntry, Role, User
from biometrics.models import FaceLockout, FaceTemplate

from . import access
from .scope import Scope
from .tables import Table

FACE_FAILURES = ("no_match", "error")
LOCKOUT_ACTIONS = ("face.lockout", "face.disabled")
# People expected to have a face template: everybody who authenticates at a door or kiosk.
ENROLLED_ROLES = (Role.EMPLOYEE, Role.MANAGER, Role.GUARD, Role.ADMIN, Role.CONTRACTOR)


def face_attempts(scope: Scope):
    return AuditEntry.objects.filter(
        action__startswith="auth.face.",
        outcome__in=FACE_FAILURES,
        at__gte=scope.start_at,
        at__lt=scope.end_at,
    ).order_by()


def devices(scope: Scope) -> Table:
    door = (
        access.events(scope)
        .filter(decision=Decision.DENIED)
        .values_list("access_point__device__name")
        .annotate(
            n=Count("pk"),
            spoof=Count("pk", filter=Q(reason=Reason.SPOOF_SUSPECTED)),
            unknown=Count("pk", filter=Q(reason=Reason.NOT_RECOGNISED)),
        )
    )
    face = (
        face_attempts(scope)
        .values_list("device__name")
        .annotate(
            no_match=Count("pk", filter=Q(outcome="no_match")),
            errors=Count("pk", filter=Q(outcome="error")),
        )
    )
    merged: dict[str, list[int]] = {}
    for name, n, spoof, unknown in door:
        merged.setdefault(name or "(no device)", [0] * 5)[0:3] = [n, unknown, spoof]
    for name, no_match, errors in face:
        merged.setdefault(name or "(personal page)", [0] * 5)[3:5] = [no_match, errors]
    out = sorted(
        ((name, *v, sum(v[0:1]) + sum(v[3:5])) for name, v in merged.items()),
        key=lambda r: (-r[-1], r[0]),
    )
    return Table(
        [
            "device",
            "door_denials",
            "unknown_faces",
            "spoof_at_door",
            "face_no_match",
            "face_errors",
            "failed_total",
        ],
        out,
    )


def daily(scope: Scope) -> Table:
    """Per local day: door denials, face no-match and errors, spoof suspicions, lockouts."""
    day = TruncDate("created_at", tzinfo=scope.zone)
    door = {
        r[0]: r[1:]
        for r in access.events(scope)
        .filter(decision=Decision.DENIED)
        .annotate(day=day)
        .values_list("day")
        .annotate(n=Count("pk"), spoof=Count("pk", filter=Q(reason=Reason.SPOOF_SUSPECTED)))
    }
    face = {
        r[0]: r[1:]
        for r in face_attempts(scope)
        .annotate(day=TruncDate("at", tzinfo=scope.zone))
        .values_list("day")
        .annotate(
            no_match=Count("pk", filter=Q(outcome="no_match")),
            errors=Count("pk", filter=Q(outcome="error")),
            spoof=Count("pk", filter=Q(details__code="spoof_suspected")),
        )
    }
    locks = dict(
        AuditEntry.objects.filter(
            action__in=LOCKOUT_ACTIONS, at__gte=scope.start_at, at__lt=scope.end_at
        )
        .annotate(day=TruncDate("at", tzinfo=scope.zone))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out = []
    for d in scope.days():
        denied, door_spoof = door.get(d, (0, 0))
        no_match, errors, face_spoof = face.get(d, (0, 0, 0))
        out.append(
            (d.isoformat(), denied, no_match, errors, door_spoof + face_spoof, locks.get(d, 0))
        )
    return Table(
        ["date", "door_denials", "face_no_match", "face_errors", "spoof_suspected", "lockouts"],
        out,
    )


def lockouts(scope: Scope) -> Table:
    """Current lock-out state: locked now, disabled, or with failures on record."""
    now = timezone.now()
    rows = (
        FaceLockout.objects.filter(
            Q(disabled=True) | Q(locked_until__gt=now) | Q(consecutive_failures__gt=0)
        )
        .order_by("-disabled", "-consecutive_failures", "-total_failures", "pk")
        .values_list(
            "subject_type",
            "subject_label",
            "consecutive_failures",
            "total_failures",
            "locked_until",
            "disabled",
            "updated_at",
        )
    )
    out = []
    for kind, label, consecutive, total, until, disabled, updated in rows:
        state = "disabled" if disabled else ("locked" if until and until > now else "failing")
        out.append(
            (
                kind,
                label,
                state,
                consecutive,
                total,
                until.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M") if until else "",
                updated.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M"),
            )
        )
    return Table(
        ["subject_type", "subject", "state", "consecutive", "total", "locked_until", "updated"],
        out,
    )


def _people(scope: Scope):
    people = User.objects.filter(is_active=True, role__in=ENROLLED_ROLES).annotate(
        enrolled=Exists(FaceTemplate.objects.filter(person=OuterRef("pk")))
    )
    return scope.people(people, prefix="")


def coverage(scope: Scope) -> Table:
    """Per department: active people, with and without a face template."""
    rows = (
        _people(scope)
        .values_list("department__name")
        .annotate(total=Count("pk"), enrolled=Count("pk", filter=Q(enrolled=True)))
        .order_by("department__name")
    )
    out = [
        (
            dept or "(no department)",
            total,
            enrolled,
            total - enrolled,
            round(100 * enrolled / total, 1) if total else 0.0,
        )
        for dept, total, enrolled in rows
    ]
    return Table(["department", "people", "enrolled", "not_enrolled", "coverage_percent"], out)


def unenrolled(scope: Scope) -> Table:
    queryset = (
        _people(scope)
        .filter(enrolled=False)
        .order_by("department__name", "display_name", "pk")
        .values_list("pk", "username", "display_name", "role", "department__name")
    )
    return Table(
        ["person_id", "username", "person", "role", "department"],
        ((pk, u, n, r, d or "") for pk, u, n, r, d in queryset.iterator(chunk_size=2000)),
        count=queryset.count,
    )
