"""One-time enrolment links: an admin issues one after onboarding a person, who opens it on a
phone or at reception, gives consent and enrols (docs/people.md, "Enrolment links").

The link is a credential for exactly one thing, one enrolment of one person: single use (used
when the photos are sent), expiring (``FACEAUTH_ENROLMENT_LINK_TTL``), revocable, and every
step is audited. The enrolment itself is ``services.start_enrolment``, so the consent rule and
the duplicate-identity check (enrolment_checks) apply as on every other path.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from accounts import audit, one_time_links
from accounts.models import User

from . import enrolment_checks, privacy, services
from .errors import BiometricError, InactivePerson
from .models import EnrolmentJob, EnrolmentLink

# Long enough to reach reception the next working day, short enough not to linger.
DEFAULT_TTL = timedelta(hours=72)


class LinkNotUsable(BiometricError):
    status_code = status.HTTP_410_GONE
    code = "enrolment_link_not_usable"
    message = _("This enrolment link is not valid any more. Please ask an admin for a new one.")


class LinkNotFound(BiometricError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "enrolment_link_unknown"
    message = _("This enrolment link does not exist. Check the address or ask for a new one.")


def ttl() -> timedelta:
    return getattr(settings, "FACEAUTH_ENROLMENT_LINK_TTL", DEFAULT_TTL)


@transaction.atomic
def issue_link(*, person: User, actor: User | None) -> tuple[EnrolmentLink, str]:
    """A new link for ``person`` (their open links are revoked: one open link per person).
    Returns the link and its token, which is shown once and never stored in clear."""
    enrolment_checks.require_may_enrol(actor=actor, person=person)
    if not person.is_active:
        raise InactivePerson()
    now = timezone.now()
    for old in EnrolmentLink.objects.select_for_update().filter(
        one_time_links.open_links(now), person=person
    ):
        revoke_link(link=old, actor=actor, reason="replaced")
    token, token_hash = one_time_links.new_token()
    link = EnrolmentLink.objects.create(
        person=person, token_hash=token_hash, created_by=actor, expires_at=now + ttl()
    )
    audit.record(
        "enrolment_link.issue",
        actor=actor,
        outcome="done",
        target=person,
        details={"link": link.pk, "expires_at": link.expires_at.isoformat()},
    )
    return link, token


def revoke_link(*, link: EnrolmentLink, actor: User | None, reason: str = "revoked") -> None:
    if link.revoked_at or link.used_at:
        return
    link.revoked_at, link.revoked_by = timezone.now(), actor
    link.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(
        "enrolment_link.revoke",
        actor=actor,
        outcome=reason,
        target=link.person,
        details={"link": link.pk},
    )


def find_link(token: str) -> EnrolmentLink:
    """The link of ``token`` whatever its state (404 if there is none)."""
    links = EnrolmentLink.objects.select_related("person", "job")
    link = links.filter(token_hash=one_time_links.hash_token(token)).first() if token else None
    if link is None:
        raise LinkNotFound()
    return link


def open_link(token: str, *, request=None) -> EnrolmentLink:
    """The link of ``token`` if it may still be used (410 and an audit entry otherwise)."""
    link = find_link(token)
    if link.state != "open" or not link.person.may_authenticate():
        audit.record(
            "enrolment_link.refused",
            request=request,
            actor=None,
            outcome=link.state if link.state != "open" else "person_inactive",
            target=link.person,
            details={"link": link.pk},
        )
        raise LinkNotUsable()
    return link


def give_consent(*, token: str, version: int, request=None):
    """Consent through the link: the person's own, on the page they were shown."""
    link = open_link(token, request=request)
    consent = privacy.give_consent(
        person=link.person,
        channel="self_service",
        document_version=version,
        evidence=f"enrolment link {link.pk}",
    )
    return link, consent


def start_enrolment(*, token: str, images: list[bytes], request=None) -> EnrolmentJob:
    """Send the photos: the link is used up in the same transaction as the job is created, so
    two concurrent submissions cannot both enrol."""
    link = open_link(token, request=request)
    with transaction.atomic():
        link = EnrolmentLink.objects.select_for_update().get(pk=link.pk)
        if link.state != "open":
            raise LinkNotUsable()
        # The person enrols themselves; the link stands in for their sign-in.
        job = services.start_enrolment(person=link.person, images=images, requested_by=link.person)
        link.used_at, link.job = timezone.now(), job
        link.save(update_fields=["used_at", "job"])
        audit.record(
            "enrolment_link.use",
            request=request,
            actor=link.person,
            outcome="done",
            target=link.person,
            details={"link": link.pk, "job": str(job.pk)},
        )
    return job


def job_of(*, token: str, job_id) -> EnrolmentJob:
    """The enrolment a link started, for the page to follow (only that job, only that link)."""
    link = find_link(token)
    if link.job_id is None or str(link.job_id) != str(job_id):
        raise LinkNotFound()
    return link.job
