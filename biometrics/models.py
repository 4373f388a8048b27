"""Enrolment samples, encrypted face templates, enrolment jobs and the gallery version."""

import base64
import uuid

import numpy as np
from django.conf import settings
from django.db import models

from accounts.models import OneTimeLink, User

from .fields import StrictEncryptedTextField

EMBEDDING_DIM = 128


class EnrolmentJob(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        # The faces matched another person, or not the person's own earlier templates: nothing
        # is attached until an admin approves (see biometrics/enrolment_checks.py).
        HELD = "held", "Held for review"

    class Review(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveSmallIntegerField(default=0)
    processed = models.PositiveSmallIntegerField(default=0)
    accepted = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    # Why the job was held, whom the faces matched (never the embedding), and the review.
    hold_reason = models.CharField(max_length=40, blank=True)
    hold_match = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The other person the faces matched.",
    )
    hold_score = models.FloatField(null=True, blank=True)
    hold_threshold = models.FloatField(null=True, blank=True)
    review = models.CharField(max_length=10, choices=Review.choices, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Enrolment of {self.person} ({self.get_status_display()})"

    @property
    def progress(self) -> int:
        return round(100 * self.processed / self.total) if self.total else 0


class FaceSample(models.Model):
    """One enrolment image: its metadata and quality. The pixels are kept only while the job
    runs, or for good when FACEAUTH_KEEP_ENROLMENT_IMAGES is on, and always encrypted."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        HELD = "held", "Held for review"  # its image is kept (encrypted) until the review

    job = models.ForeignKey(EnrolmentJob, on_delete=models.CASCADE, related_name="samples")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_samples"
    )
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=200, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    content_type = models.CharField(max_length=50, blank=True)
    byte_size = models.PositiveIntegerField(default=0)
    image = StrictEncryptedTextField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="unique_sample_position")
        ]

    def __str__(self) -> str:
        return f"Sample {self.position} of {self.job_id} ({self.status})"

    def set_image(self, data: bytes | None) -> None:
        self.image = base64.b64encode(data).decode() if data else None

    def get_image(self) -> bytes | None:
        return base64.b64decode(self.image) if self.image else None


class FaceTemplate(models.Model):
    """A 128-d embedding, stored encrypted. No API returns it and no admin page shows it."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_templates"
    )
    sample = models.OneToOneField(
        FaceSample, null=True, blank=True, on_delete=models.SET_NULL, related_name="template"
    )
    embedding_ciphertext = StrictEncryptedTextField(editable=False, db_column="embedding")
    model_version = models.CharField(max_length=80)
    quality_score = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Retention counts from the last successful match (BIPA: destroy after last interaction).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "created_at"]
        indexes = [models.Index(fields=["person", "model_version"])]

    def __str__(self) -> str:
        return f"Template {self.pk} of {self.person}"

    @property
    def embedding(self) -> np.ndarray:
        raw = base64.b64decode(self.embedding_ciphertext)
        return np.frombuffer(raw, dtype=np.float32).copy()

    @embedding.setter
    def embedding(self, vector: np.ndarray) -> None:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape != (EMBEDDING_DIM,):
            raise ValueError(f"an embedding has {EMBEDDING_DIM} values, not {vector.shape}")
        self.embedding_ciphertext = base64.b64encode(vector.tobytes()).decode()


class EnrolmentPerson(User):
    """People seen from the biometrics side (admin: template count and quality)."""

    class Meta:
        proxy = True
        verbose_name = "enrolled person"
        verbose_name_plural = "enrolment by person"


class GalleryState(models.Model):
    """One row: bumped on every template change so each process rebuilds its 1:N gallery."""

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "gallery version"

    def __str__(self) -> str:
        return f"gallery v{self.version}"


class LivenessChallenge(models.Model):
    """A single-use nonce for one capture burst, bound to a device or a person."""

    nonce = models.CharField(max_length=64, unique=True)
    device = models.ForeignKey(
        "accounts.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    challenges = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"challenge {'+'.join(self.challenges)} ({self.outcome or 'open'})"


class FaceLockout(models.Model):
    """Consecutive failed face attempts of a claimed person (1:1) or a device (1:N)."""

    class Subject(models.TextChoices):
        PERSON = "person", "Person"
        DEVICE = "device", "Device"

    subject_type = models.CharField(max_length=10, choices=Subject.choices)
    subject_id = models.PositiveBigIntegerField()
    subject_label = models.CharField(max_length=150, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    total_failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    disabled = models.BooleanField(
        default=False, help_text="Face login off until an admin resets it (PIN still works)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], name="unique_lockout")
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_label or self.subject_id}"


class PolicyDocument(models.Model):
    """A published text (privacy notice, retention policy, consent text). Versions are never
    edited: saving a change in the admin publishes a new version."""

    class Kind(models.TextChoices):
        PRIVACY_NOTICE = "privacy_notice", "Privacy notice"
        RETENTION_POLICY = "retention_policy", "Retention policy"
        CONSENT = "consent", "Biometric consent text"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="unique_policy_version")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class BiometricConsent(models.Model):
    """A person's written release before any capture (GDPR art. 9, BIPA 740/15(b))."""

    class Channel(models.TextChoices):
        SELF_SERVICE = "self_service", "Self-service on the enrolment page"
        PAPER = "paper", "Signed paper release, recorded by an admin"

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="biometric_consents"
    )
    document = models.ForeignKey(PolicyDocument, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    given_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How a consent recorded for someone else was attested (form reference, ID checked); who
    # attested is ``recorded_by``, when is ``given_at``.
    evidence = models.CharField(max_length=200, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]

    def __str__(self) -> str:
        state = "withdrawn" if self.withdrawn_at else "active"
        return f"Consent of {self.person} ({state}, {self.document})"


class EnrolmentLink(OneTimeLink):
    """A one-time link that lets a person enrol their face on a phone or at reception, without
    signing in (biometrics/enrolment_links.py): the one-time link rule, expiring in days.
    """

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_links")
    created_at = models.DateTimeField(auto_now_add=True)
    job = models.ForeignKey(
        EnrolmentJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(OneTimeLink.Meta):
        pass

    def __str__(self) -> str:
        return f"Enrolment link for {self.person} ({self.state})"
