"""Reads for the identity provider's pages and claims."""

from django.db.models import QuerySet

from accounts.models import User

from .assurance import ACR_PASSWORD
from .models import ClientPolicy, Consent, Passkey, Subject


def subject_of(*, person: User) -> str:
    """The person's ``sub`` (created on first use: a random UUID that never changes)."""
    subject, _ = Subject.objects.get_or_create(person=person)
    return str(subject.sub)


def required_acr_of(*, application) -> str:
    policy = ClientPolicy.objects.filter(application=application).first()
    return policy.required_acr if policy else ACR_PASSWORD


def consent_of(*, person: User, application) -> Consent | None:
    return Consent.objects.filter(person=person, application=application).first()


def consents_of(*, person: User) -> QuerySet[Consent]:
    return (
        Consent.objects.filter(person=person)
        .select_related("application")
        .order_by("application__name")
    )


def passkeys_of(*, person: User) -> QuerySet[Passkey]:
    """The person's own passkeys: the only ones their pages may name."""
    return Passkey.objects.filter(person=person).order_by("created_at", "pk")
