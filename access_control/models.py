"""Areas, doors, rules, visitor passes, the append-only access log and its alerts."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.append_only import CLEAR, SET_ONCE, AppendOnlyModel
from accounts.models import Department, DeviceKind, Role


class SecurityLevel(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")


class Area(models.Model):
    """A zone. Areas nest (Building A > Lab 2): a rule or pass on a parent covers its children."""

    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="areas",
        help_text="Managers of this department see the events of this area and its children.",
    )
    security_level = models.IntegerField(
        choices=SecurityLevel.choices, default=SecurityLevel.NORMAL
    )
    visitor_passes = models.BooleanField(
        default=True, help_text="Visitor passes may name this area."
    )
    contractor_passes = models.BooleanField(
        default=False, help_text="Contractor passes may name this area (a limited set)."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="area_unique_name_in_parent")
        ]

    def __str__(self) -> str:
        return " › ".join(a.name for a in reversed(self.lineage()))

    def allows_pass(self, kind: str) -> bool:
        """Whether passes of this kind may name or reach this area (see access_control.rules)."""
        return self.contractor_passes if kind == PassKind.CONTRACTOR else self.visitor_passes

    def lineage(self) -> list["Area"]:
        """This area, then its parent, up to the root."""
        chain, seen, node = [], set(), self
        while node is not None and node.pk not in seen:
            chain.append(node)
            seen.add(node.pk)
            node = node.parent
        return chain

    def clean(self) -> None:
        if self.pk and self.parent_id:
            node = self.parent
            while node is not None:
                if node.pk == self.pk:
                    raise ValidationError({"parent": "An area cannot be inside itself."})
                node = node.parent


class AccessMode(models.TextChoices):
    FACE = "face", _("Face (1:N)")
    FACE_PIN = "face_pin", _("Face + PIN")
    FACE_BADGE = "face_badge", _("Badge + face (1:1)")


class AccessPoint(models.Model):
    """A door or turnstile. Its door terminal (an accounts.Device) authenticates its checks."""

    name = models.CharField(max_length=120, unique=True)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="access_points")
    device = models.OneToOneField(
        "accounts.Device",
        on_delete=models.PROTECT,
        related_name="access_point",
        limit_choices_to={"kind": DeviceKind.DOOR},
    )
    mode = models.CharField(max_length=12, choices=AccessMode.choices, default=AccessMode.FACE)
    security_level = models.IntegerField(
        choices=SecurityLevel.choices, default=SecurityLevel.NORMAL
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.device_id and self.device.kind != DeviceKind.DOOR:
            raise ValidationError({"device": "Only a door terminal can serve an access point."})

    @property
    def effective_security_level(self) -> int:
        # The stricter of the door and its area: a low door into a high lab is still high.
        return max(self.security_level, self.area.security_level)


class Badge(models.Model):
    """A badge number for face + badge doors. Kept here so accounts never depends on us."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges"
    )
    number = models.CharField(max_length=40, unique=True)
    is_active = models.BooleanField(default=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} ({self.person})"


class AccessGroup(models.Model):
    """A named set of people for rules (e.g. "Lab 2 cleaning crew"), apart from role groups."""

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="access_groups"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Effect(models.TextChoices):
    ALLOW = "allow", _("Allow")
    DENY = "deny", _("Deny")


class AccessRule(models.Model):
    """Who may (or may not) enter which areas, and when.

    Every subject field that is set must match (AND); at least one must be set. No time windows
    means at any time; validity dates are local dates, both inclusive.
    """

    name = models.CharField(max_length=120, unique=True)
    effect = models.CharField(max_length=5, choices=Effect.choices, default=Effect.ALLOW)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="access_rules"
    )
    group = models.ForeignKey(
        AccessGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="rules"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_rules",
    )
    areas = models.ManyToManyField(Area, related_name="rules")
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.get_effect_display()}: {self.name}"

    def clean(self) -> None:
        if not (self.role or self.department_id or self.group_id or self.person_id):
            raise ValidationError("Name who the rule is for: a role, department, group or person.")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "The rule must end on or after its start."})

    def subject_label(self) -> str:
        parts = []
        if self.role:
            parts.append(f"role {self.get_role_display()}")
        if self.department_id:
            parts.append(f"department {self.department}")
        if self.group_id:
            parts.append(f"group {self.group}")
        if self.person_id:
            parts.append(f"person {self.person}")
        return " and ".join(parts)


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TimeWindow(models.Model):
    """A weekly window in the site's local time. ``end <= start`` crosses midnight into the next
    day; the weekdays are the days the window starts on."""

    rule = models.ForeignKey(AccessRule, on_delete=models.CASCADE, related_name="windows")
    weekdays = models.CharField(
        max_length=13,
        default="0,1,2,3,4",
        help_text="Days the window starts on, 0=Monday … 6=Sunday, comma-separated.",
    )
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["rule", "start"]

    def __str__(self) -> str:
        days = ",".join(WEEKDAY_NAMES[d] for d in self.weekday_set())
        return f"{days} {self.start:%H:%M}–{self.end:%H:%M}"

    def weekday_set(self) -> list[int]:
        return sorted({int(d) for d in self.weekdays.split(",") if d.strip() != ""})

    def clean(self) -> None:
        try:
            days = self.weekday_set()
        except ValueError as exc:
            raise ValidationError({"weekdays": "Use numbers 0 (Monday) to 6 (Sunday)."}) from exc
        if not days or any(d < 0 or d > 6 for d in days):
            raise ValidationError({"weekdays": "Use numbers 0 (Monday) to 6 (Sunday)."})
        self.weekdays = ",".join(str(d) for d in days)

    def covers(self, local: datetime) -> bool:
        """Whether a wall-clock time in the site's zone falls in this window."""
        days = self.weekday_set()
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return local.weekday() in days and self.start <= now < self.end
        # Crosses midnight (or 24 h when start == end): the evening of a listed day, or the
        # early morning after one.
        if local.weekday() in days and now >= self.start:
            return True
        return (local.weekday() - 1) % 7 in days and now < self.end


class PassKind(models.TextChoices):
    VISITOR = "visitor", _("Visitor")
    CONTRACTOR = "contractor", _("Contractor")


class VisitorPass(models.Model):
    """Time-limited access for a visitor or contractor to named areas (and their children)."""

    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visitor_passes"
    )
    kind = models.CharField(max_length=12, choices=PassKind.choices, default=PassKind.VISITOR)
    sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sponsored_passes"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_passes"
    )
    areas = models.ManyToManyField(Area, related_name="passes")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    purpose = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="revoked_passes",
    )
    revoke_reason = models.CharField(max_length=200, blank=True)
    # A pass into a high-security area by an employee or manager opens no door until a guard
    # or admin approves it (access_control.sponsoring).
    needs_approval = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_passes",
    )

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["visitor", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} pass for {self.visitor} ({self.purpose})"

    def is_revoked(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is not None and self.revoked_at <= at

    def is_pending(self) -> bool:
        return self.needs_approval and self.approved_at is None

    def is_valid(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.starts_at <= at < self.ends_at
            and not self.is_revoked(at)
            and not self.is_pending()
        )

    def status(self, at: datetime | None = None) -> str:
        at = at or timezone.now()
        if self.is_revoked(at):
            return "revoked"
        if self.is_pending() and at < self.ends_at:
            return "pending"
        if at < self.starts_at:
            return "upcoming"
        if at >= self.ends_at:
            return "expired"
        return "valid"


class Decision(models.TextChoices):
    GRANTED = "granted", _("Granted")
    DENIED = "denied", _("Denied")


class AccessEvent(AppendOnlyModel):
    """One decision at one door. Append-only (ORM, admin and database triggers)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    access_point = models.ForeignKey(AccessPoint, on_delete=models.PROTECT, related_name="events")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="events")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_events",
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.CharField(max_length=32)
    rule = models.ForeignKey(
        AccessRule, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    visitor_pass = models.ForeignKey(
        VisitorPass, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    mode = models.CharField(max_length=12, choices=AccessMode.choices)
    score = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    # SHA-256 of the image and credentials: spots a retried request, never holds the face.
    request_hash = models.CharField(max_length=64, blank=True, db_index=True)
    client_request_id = models.CharField(max_length=64, blank=True, db_index=True)
    # The liveness summary of the check: {"checked": True, "passed", "reason", "backend",
    # "challenges", "ms"}, or {"checked": False, "reason": "disabled_for_device" | ...} when the
    # door took a single image. Null when no face was looked at (door off, unknown badge).
    liveness = models.JSONField(null=True, blank=True)
    # Set by retention instead of the person: a keyed hash, stable per person, not reversible.
    pseudonym = models.CharField(max_length=24, blank=True)

    # Retention's pseudonymisation (services.pseudonymise_expired) is the one permitted change.
    redactable = {
        "person": CLEAR,
        "pseudonym": SET_ONCE,
        "score": CLEAR,
        "threshold": CLEAR,
        "client_request_id": CLEAR,
    }

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["access_point", "created_at"]),
            models.Index(fields=["person", "created_at"]),
            # Managers' dashboards filter by their areas over a date range.
            models.Index(fields=["area", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.access_point_id} {self.decision}"

    @property
    def granted(self) -> bool:
        return self.decision == Decision.GRANTED

    @property
    def reason_label(self) -> str:
        from .reasons import reason_label

        return str(reason_label(self.reason))

    @property
    def liveness_label(self) -> str:
        from .reasons import liveness_label

        return liveness_label(self.liveness)


class AlertKind(models.TextChoices):
    REPEATED_DENIALS = "repeated_denials", _("Repeated denials at one door")
    UNKNOWN_FACE_HIGH_SECURITY = "unknown_face_high", _("Unknown face at a high-security door")
    VISITOR_OUTSIDE_PASS = "visitor_outside_pass", _("Visitor outside their pass")
    SPOOF_SUSPECTED = "spoof_suspected", _("Spoof suspected")


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")


class Alert(models.Model):
    """Something a guard must look at. It names where it happened: a door (``access_point``,
    with the access events behind it), a device without a door (a kiosk: spoofs there leave
    no access event), or only the person (a spoof on their personal clock or sign-in)."""

    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    state = models.CharField(max_length=12, choices=AlertState.choices, default=AlertState.OPEN)
    access_point = models.ForeignKey(
        AccessPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    device = models.ForeignKey(
        "accounts.Device",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_alerts",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_alerts",
    )
    first_event = models.ForeignKey(
        AccessEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_event = models.ForeignKey(
        AccessEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event_count = models.PositiveIntegerField(default=1)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When it last happened (the last event's time, or the last spoof at a device): the window
    # within which a repeat bumps this alert instead of raising another.
    last_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="acknowledged_alerts",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closed_alerts",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "kind", "access_point"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(access_point__isnull=False)
                | models.Q(device__isnull=False)
                | models.Q(person__isnull=False),
                name="alert_names_a_place",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.where} ({self.get_state_display()})"

    @property
    def where(self) -> str:
        """The door, else the device, else the person the alert is about."""
        return str(self.access_point or self.device or self.person)
