"""People, their roles, departments and the devices (kiosks, doors) that act for nobody."""

import hashlib
import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .append_only import CLEAR, AppendOnlyModel


class Role(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    GUARD = "guard", _("Guard")
    VISITOR = "visitor", _("Visitor")
    CONTRACTOR = "contractor", _("Contractor")


# Roles whose access is time-limited: they must carry a validity window.
TIME_LIMITED_ROLES = frozenset({Role.VISITOR, Role.CONTRACTOR})
# Roles that work in the Django admin.
STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


class Department(models.Model):
    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person known to FaceAuth. Login uses ``username``; people are listed by name."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.EMPLOYEE)
    employee_number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=150, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    job_title = models.CharField(max_length=120, blank=True)
    pin_hash = models.CharField(max_length=128, blank=True, editable=False)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    sponsor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sponsored",
        help_text="The employee responsible for this visitor or contractor.",
    )
    offboarded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["display_name", "username"]
        indexes = [models.Index(fields=["role", "is_active"])]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def first_name_for_greeting(self) -> str:
        return self.first_name or (self.display_name.split(" ")[0] if self.display_name else "")

    def clean(self) -> None:
        super().clean()
        if self.role in TIME_LIMITED_ROLES and not (self.valid_from and self.valid_until):
            raise ValidationError(
                {
                    "valid_until": _(
                        "Visitors and contractors need a validity window (from and until)."
                    )
                }
            )
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": _("The window must end after it starts.")})
        if self.sponsor_id and self.sponsor_id == self.pk:
            raise ValidationError({"sponsor": _("A person cannot sponsor themselves.")})

    def is_within_validity(self, at=None) -> bool:
        at = at or timezone.now()
        if self.valid_from and at < self.valid_from:
            return False
        if self.valid_until and at >= self.valid_until:
            return False
        # A time-limited role without a window is never valid: fail closed.
        return not (self.role in TIME_LIMITED_ROLES and not (self.valid_from and self.valid_until))

    def may_authenticate(self, at=None) -> bool:
        return self.is_active and self.is_within_validity(at)

    def set_pin(self, pin: str | None) -> None:
        self.pin_hash = make_password(pin) if pin else ""

    def check_pin(self, pin: str) -> bool:
        return bool(self.pin_hash) and check_password(pin, self.pin_hash)

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)


class DeviceKind(models.TextChoices):
    KIOSK = "kiosk", _("Attendance kiosk")
    DOOR = "door", _("Door terminal")


class Device(models.Model):
    """A kiosk or door terminal. It authenticates with a token, never as a person.

    Only a SHA-256 of the token is stored: a database leak does not leak device credentials.
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=DeviceKind.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=8, editable=False, help_text="To tell tokens apart.")
    is_active = models.BooleanField(default=True)
    location = models.CharField(max_length=200, blank=True)
    liveness_required = models.BooleanField(
        default=True,
        help_text="Ask for a live challenge (blink or turn) before every face check. "
        "Turning it off is recorded on every event of this device.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def issue_token(self) -> str:
        """Set a fresh token and return it; it is shown once and never stored in clear."""
        token = secrets.token_urlsafe(32)
        self.token_hash = self.hash_token(token)
        self.token_prefix = token[:8]
        return token


class OneTimeLink(models.Model):
    """The one-time link rule (accounts/one_time_links.py), shared by pairing and enrolment
    links: a credential for one thing, single use, expiring and revocable. Only a SHA-256 of
    the link's token is stored; the token is in the link, shown once."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "open"


class PairingLink(OneTimeLink):
    """A one-time link that pairs a screen as a kiosk or door (accounts/pairing.py): an admin
    opens it on the screen or scans its QR code, so no token is typed or copied by hand.
    Expires within minutes; one open link per device.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="pairing_links")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(OneTimeLink.Meta):
        pass

    def __str__(self) -> str:
        return f"Pairing link for {self.device} ({self.state})"


class AuditEntry(AppendOnlyModel):
    """Append-only audit trail: who did what, from where, with what outcome.

    It never holds an image or an embedding, only identifiers, codes and numbers.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    outcome = models.CharField(max_length=30, blank=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    # Deleting a person or a device sets their foreign keys to NULL (the labels stay).
    redactable = {"actor": CLEAR, "device": CLEAR}

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit trail"
        indexes = [
            models.Index(fields=["action", "at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.outcome}"
