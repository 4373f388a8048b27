"""Clock events (immutable), the work sessions derived from them, corrections and schedules.

Events are facts: nothing edits or deletes one. A correction is a new record that references
an event (or proposes a missing one); approving it adds an event, rejecting a flagged event
takes it out of the sessions. Sessions are derived data, rebuilt from events at any time.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.append_only import CLEAR, RESTAMP, SET_ONCE, AppendOnlyModel
from accounts.models import Department, Device

from . import conf


class Direction(models.TextChoices):
    IN = "in", _("IN")
    OUT = "out", _("OUT")


class Method(models.TextChoices):
    FACE_1N = "face_1n", _("Face (kiosk, 1:N)")
    FACE_1V1 = "face_1v1", _("Face (personal, 1:1)")
    PIN = "pin", _("Employee number + PIN")
    CORRECTION = "correction", _("Approved correction")


class ImmutableRecord(Exception):
    """Raised on any attempt to change a decided correction (clock events are append-only)."""


class ClockEvent(AppendOnlyModel):
    # NULL only after retention pseudonymisation (services.pseudonymise_expired).
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clock_events",
    )
    pseudonym = models.CharField(
        max_length=32,
        blank=True,
        db_index=True,
        editable=False,
        help_text="Stable keyed hash of the person, set when the retention period ended.",
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    # Server time, never the client's clock.
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="clock_events"
    )
    method = models.CharField(max_length=12, choices=Method.choices)
    score = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=80, blank=True)
    # The liveness summary of the capture ({"checked", "passed", "reason", ...}); for a device
    # with liveness turned off {"checked": false, "reason": "disabled_for_device"}; None for a
    # PIN or a correction.
    liveness = models.JSONField(null=True, blank=True)
    # Set when the biometric columns (score, threshold, model_version, liveness) were blanked:
    # the person's face data was erased, or the retention period ended.
    redacted_at = models.DateTimeField(null=True, blank=True, editable=False)
    needs_review = models.BooleanField(default=False)
    pin_fallback = models.BooleanField(default=False)
    manual_override = models.BooleanField(
        default=False, help_text="The direction was chosen by hand, not from the person's state."
    )
    # The capture that created it (idempotency); corrections have none.
    capture_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who recorded it: the person in personal mode, the approver of a correction.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # The two documented redactions (services.redact_biometrics, services.pseudonymise_expired)
    # are the only changes ever made to a stored event.
    redactable = {
        "person": CLEAR,
        "pseudonym": SET_ONCE,
        "score": CLEAR,
        "threshold": CLEAR,
        "model_version": CLEAR,
        "liveness": CLEAR,
        "redacted_at": RESTAMP,
    }

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["person", "timestamp"])]

    def __str__(self) -> str:
        local = timezone.localtime(self.timestamp)
        who = self.person if self.person_id else f"pseudonym {self.pseudonym}"
        return f"{who} {self.get_direction_display()} {local:%Y-%m-%d %H:%M}"


class Capture(models.Model):
    """One client capture id and what it produced: a retried request gets the same answer.

    The unique primary key is the idempotency guard: two racing requests with the same id
    cannot both insert, whatever the database.
    """

    capture_id = models.UUIDField(primary_key=True)
    payload_hash = models.CharField(max_length=64)
    event = models.ForeignKey(ClockEvent, on_delete=models.PROTECT, related_name="captures")
    created = models.BooleanField(help_text="False when a debounced capture returned an event.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.capture_id)


class SessionStatus(models.TextChoices):
    CLOSED = "closed", _("Closed")
    OPEN = "open", _("Open")
    MISSING_OUT = "missing_out", _("Missing clock-out")
    MISSING_IN = "missing_in", _("Missing clock-in")


class WorkSession(models.Model):
    """An IN/OUT pair, derived from events (services.rebuild_sessions); never edited by hand."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="work_sessions"
    )
    start_event = models.OneToOneField(
        ClockEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    end_event = models.OneToOneField(
        ClockEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The local (display time zone) date of the start: an overnight shift belongs to its start.
    work_date = models.DateField(db_index=True)
    status = models.CharField(max_length=12, choices=SessionStatus.choices)

    class Meta:
        ordering = ["-work_date", "-started_at"]
        indexes = [models.Index(fields=["person", "work_date"])]

    def __str__(self) -> str:
        return f"{self.person} {self.work_date} ({self.get_status_display()})"

    @property
    def duration(self) -> timedelta | None:
        if self.status == SessionStatus.CLOSED and self.started_at and self.ended_at:
            return self.ended_at - self.started_at
        return None

    @property
    def is_overdue(self) -> bool:
        """An open session older than the maximum shift: somebody forgot to clock out."""
        return (
            self.status == SessionStatus.OPEN
            and self.started_at is not None
            and timezone.now() - self.started_at > conf.max_shift()
        )

    @property
    def needs_attention(self) -> bool:
        flagged = (SessionStatus.MISSING_IN, SessionStatus.MISSING_OUT)
        return self.is_overdue or self.status in flagged


class CorrectionKind(models.TextChoices):
    MISSING_EVENT = "missing_event", _("Missing clock event (e.g. forgotten clock-out)")
    REVIEW = "review", _("Review of a flagged event (e.g. PIN fallback)")


class CorrectionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Correction(models.Model):
    """A request to correct attendance, decided once by a manager or admin.

    A decided correction is final: the decision (who, when, note) is written once and never
    changed; a second opinion is a new correction.
    """

    # NULL only after retention pseudonymisation, like ClockEvent.person.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    pseudonym = models.CharField(max_length=32, blank=True, editable=False)
    kind = models.CharField(max_length=16, choices=CorrectionKind.choices)
    event = models.ForeignKey(
        ClockEvent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        help_text="The event under review.",
    )
    proposed_direction = models.CharField(max_length=3, choices=Direction.choices, blank=True)
    proposed_timestamp = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=CorrectionStatus.choices, default=CorrectionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    created_event = models.OneToOneField(
        ClockEvent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="created_by_correction",
        help_text="The event an approved missing-event correction added.",
    )

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                name="correction_kind_fields",
                condition=(
                    Q(kind="review", event__isnull=False)
                    | Q(
                        kind="missing_event",
                        proposed_timestamp__isnull=False,
                        proposed_direction__in=["in", "out"],
                    )
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.person} ({self.get_status_display()})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            stored = Correction.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored and stored != CorrectionStatus.PENDING:
                raise ImmutableRecord("A decided correction is final; file a new one.")
        super().save(*args, **kwargs)


class WorkSchedule(models.Model):
    """When a person (or everybody in a department) is due to start; for late arrivals.

    A person's own schedule wins over their department's.
    """

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="work_schedule",
    )
    department = models.OneToOneField(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="work_schedule"
    )
    start_time = models.TimeField(help_text="Local time (display time zone).")
    grace_minutes = models.PositiveSmallIntegerField(default=5)
    weekdays = models.CharField(
        max_length=13,
        default="0,1,2,3,4",
        help_text="Working days, comma-separated: 0 = Monday ... 6 = Sunday.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="schedule_person_xor_department",
                condition=(
                    Q(person__isnull=False, department__isnull=True)
                    | Q(person__isnull=True, department__isnull=False)
                ),
            )
        ]

    def __str__(self) -> str:
        who = self.person or self.department
        return f"{who}: {self.start_time:%H:%M} (+{self.grace_minutes} min)"

    def clean(self) -> None:
        try:
            days = self.working_days
        except ValueError as exc:
            raise ValidationError({"weekdays": "Use digits 0-6 separated by commas."}) from exc
        if not days or not days <= set(range(7)):
            raise ValidationError({"weekdays": "Use digits 0-6 separated by commas."})

    @property
    def working_days(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip()}
