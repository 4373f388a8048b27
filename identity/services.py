"""State changes of the identity provider: consents, ending a person's tokens, provisioning
clients. Views, the admin and the SCIM server call these."""

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from accounts import audit
from accounts.models import User

from . import passkeys
from .models import Consent, ProvisioningClient


@transaction.atomic
def grant_consent(*, person: User, application, scopes: list[str]) -> Consent:
    """Remember that ``person`` allowed ``application`` these scopes (added to earlier ones)."""
    consent, created = Consent.objects.select_for_update().get_or_create(
        person=person, application=application, defaults={"scopes": " ".join(sorted(scopes))}
    )
    changed = created or not consent.covers(scopes)
    if not created and changed:
        consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
        consent.granted_at = timezone.now()
        consent.save(update_fields=["scopes", "granted_at"])
    if changed:
        audit.record(
            "oidc.consent",
            actor=person,
            outcome="granted",
            target=application,
            details={"scopes": consent.scopes},
        )
    return consent


def _end_tokens(*, person: User, application=None) -> int:
    refresh = get_refresh_token_model().objects.filter(user=person, revoked__isnull=True)
    access = get_access_token_model().objects.filter(user=person)
    if application is not None:
        refresh, access = (
            refresh.filter(application=application),
            access.filter(application=application),
        )
    ended = 0
    for token in refresh.select_related("access_token"):
        token.revoke()  # revokes (deletes) its access token too
        ended += 1
    ended += access.count()
    access.delete()
    return ended


@transaction.atomic
def revoke_consent(*, person: User, application) -> int:
    """The person withdraws an application: the consent goes, and every token it holds."""
    Consent.objects.filter(person=person, application=application).delete()
    ended = _end_tokens(person=person, application=application)
    audit.record(
        "oidc.consent",
        actor=person,
        outcome="revoked",
        target=application,
        details={"tokens_ended": ended},
    )
    return ended


@transaction.atomic
def end_sign_ins(*, person: User, reason: str, actor: User | None = None) -> int:
    """Stop every access and refresh token of ``person`` at once. (Their browser sessions end
    by themselves: accounts.backends refuses an inactive person on the next request.)"""
    ended = _end_tokens(person=person)
    audit.record(
        "oidc.tokens_ended",
        actor=actor,
        outcome="done",
        target=person,
        details={"reason": reason, "tokens": ended},
    )
    return ended


def on_person_offboarded(sender, person: User, actor: User | None = None, **kwargs) -> None:
    end_sign_ins(person=person, reason="offboarded", actor=actor)
    # Their passkeys go too: a reactivated person registers new ones after a password.
    passkeys.remove_all(person=person, actor=actor, reason="offboarded")


def register_provisioning_client(
    *, name: str, actor: User | None = None
) -> tuple[ProvisioningClient, str]:
    """A SCIM client and its bearer token (shown once, stored hashed)."""
    client = ProvisioningClient(name=name)
    token = client.issue_token()
    client.save()
    audit.record_change(
        actor=actor, target=client, message="Registered provisioning client", action="scim.client"
    )
    return client, token
