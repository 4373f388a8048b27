"""The identity provider's own records: per-client policy, consents, subjects, sign-in
contexts of issued codes, the SCIM provisioning clients and people's passkeys. OAuth clients
and tokens are django-oauth-toolkit's models."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from .assurance import ACR_FACE, ACR_PASSWORD


class Assurance(models.TextChoices):
    """A client's required level (identity.assurance), stored as the acr value that named it
    before passkeys: either first factor, a password or a passkey, reaches it."""

    PASSWORD = ACR_PASSWORD, "Password or passkey"
    FACE = ACR_FACE, "Password or passkey, and a live face check"


class ClientPolicy(models.Model):
    """What FaceAuth asks of a person before it signs them in to this client."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="faceauth_policy",
    )
    required_acr = models.CharField(
        "required assurance",
        max_length=40,
        choices=Assurance.choices,
        default=Assurance.PASSWORD,
        help_text="A client may still ask for more with acr_values; never for less.",
    )

    class Meta:
        verbose_name = "client policy"
        verbose_name_plural = "client policies"

    def __str__(self) -> str:
        return f"{self.application}: {self.get_required_acr_display()}"


class Subject(models.Model):
    """A person's stable OpenID ``sub`` and SCIM ``id``: a random UUID, not the database id,
    so it reveals nothing and survives a re-import of the database."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="faceauth_subject"
    )
    sub = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    # Set by a SCIM DELETE: the person is offboarded and anonymised, and SCIM no longer
    # knows them (their records stay for their retention periods).
    deprovisioned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.sub)


class GroupLink(models.Model):
    """A department's SCIM ``externalId`` (the directory's own id of the group)."""

    department = models.OneToOneField(
        "accounts.Department", on_delete=models.CASCADE, related_name="scim_link"
    )
    external_id = models.CharField(max_length=200, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.department}: {self.external_id}"


class Consent(models.Model):
    """A person allowed a client these scopes; remembered until they revoke it."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="faceauth_consents"
    )
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.CharField(max_length=400)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "application"], name="one_consent_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.person} -> {self.application}"

    def covers(self, scopes) -> bool:
        return set(scopes) <= set(self.scopes.split())


class SignInContext(models.Model):
    """How the person authenticated when an authorization code was issued, read when the code
    is exchanged (the ID token's ``acr``, ``amr``, ``auth_time``). Keyed by the code's hash."""

    code_hash = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acr = models.CharField(max_length=40)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.person} {self.acr}"

    @staticmethod
    def hash_code(code: str) -> str:
        return hashlib.sha256(code.encode()).hexdigest()


class ProvisioningClient(models.Model):
    """A directory or HR system that provisions people over SCIM with a bearer token. Only a
    SHA-256 of the token is stored; the token reaches the SCIM endpoints and nothing else."""

    name = models.CharField(max_length=120, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=8, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def issue_token(self) -> str:
        token = "scim_" + secrets.token_urlsafe(32)
        self.token_hash = self.hash_token(token)
        self.token_prefix = token[5:13]
        return token


class Passkey(models.Model):
    """A person's WebAuthn credential (identity/passkeys.py): a first factor of its own. Only
    the public key is here; the private key never leaves the person's authenticator."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField(max_length=60)
    # base64url, as the browser names it (a credential id is at most 1023 bytes).
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()  # COSE_Key
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    # Synced between devices (a cloud keychain or password manager), not bound to one.
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person", "created_at"]

    def __str__(self) -> str:
        return f"{self.person}: {self.name}"
