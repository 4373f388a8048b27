"""Visitor and contractor passes. People are created through accounts.services."""

import logging
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import audit
from accounts import services as accounts_services
from accounts.models import Role, User
from biometrics import selectors as biometric_selectors
from biometrics import services as biometrics

from .. import conf
from ..errors import InvalidPass
from ..models import Area, PassKind, VisitorPass

log = logging.getLogger("faceauth.access")


TIME_LIMITED = (Role.VISITOR, Role.CONTRACTOR)


def pass_kind_for(person: User) -> str:
    if person.role == Role.CONTRACTOR:
        return PassKind.CONTRACTOR
    if person.role == Role.VISITOR:
        return PassKind.VISITOR
    raise InvalidPass("Passes are for visitors and contractors only.", code="not_a_visitor")


def max_pass_length(kind: str) -> timedelta:
    if kind == PassKind.CONTRACTOR:
        return timedelta(days=conf.get("ACCESS_CONTRACTOR_PASS_MAX_DAYS"))
    return timedelta(hours=conf.get("ACCESS_VISITOR_PASS_MAX_HOURS"))


def areas_for_pass(kind: str):
    flag = "contractor_passes" if kind == PassKind.CONTRACTOR else "visitor_passes"
    return Area.objects.filter(**{flag: True}).select_related("parent")


def _check_pass(*, kind: str, areas, starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidPass("The pass must end after it starts.", code="pass_window")
    if ends_at - starts_at > max_pass_length(kind):
        hours = int(max_pass_length(kind).total_seconds() // 3600)
        human = f"{hours} hours" if hours <= 48 else f"{hours // 24} days"
        raise InvalidPass(
            f"A {PassKind(kind).label.lower()} pass lasts at most {human}.", code="pass_too_long"
        )
    if not areas:
        raise InvalidPass("Name at least one area.", code="pass_areas")
    allowed = set(areas_for_pass(kind).values_list("pk", flat=True))
    refused = [str(a) for a in areas if a.pk not in allowed]
    if refused:
        raise InvalidPass(
            f"{PassKind(kind).label} passes may not name: {', '.join(refused)}.",
            code="pass_areas",
        )


def _check_sponsor(sponsor: User) -> None:
    if sponsor.role in TIME_LIMITED or not sponsor.may_authenticate():
        raise InvalidPass("The sponsor must be an active employee.", code="sponsor")


def _cover_validity(person: User, starts_at: datetime, ends_at: datetime) -> None:
    # A visitor's own validity window always applies, so it must span their passes. Only
    # widened, never narrowed: other passes may still need it (revocation denies by itself).
    fields = []
    if person.valid_from is None or person.valid_from > starts_at:
        person.valid_from = starts_at
        fields.append("valid_from")
    if person.valid_until is None or person.valid_until < ends_at:
        person.valid_until = ends_at
        fields.append("valid_until")
    if fields:
        person.save(update_fields=fields)


@transaction.atomic
def create_pass(
    *,
    visitor: User,
    sponsor: User,
    created_by: User,
    areas: list[Area],
    starts_at: datetime,
    ends_at: datetime,
    purpose: str,
) -> VisitorPass:
    kind = pass_kind_for(visitor)
    if not visitor.is_active:
        raise InvalidPass("This person has been offboarded.", code="inactive")
    _check_sponsor(sponsor)
    _check_pass(kind=kind, areas=areas, starts_at=starts_at, ends_at=ends_at)
    visitor_pass = VisitorPass.objects.create(
        visitor=visitor,
        kind=kind,
        sponsor=sponsor,
        created_by=created_by,
        starts_at=starts_at,
        ends_at=ends_at,
        purpose=purpose.strip(),
    )
    visitor_pass.areas.set(areas)
    _cover_validity(visitor, starts_at, ends_at)
    audit.record(
        "access.pass.create",
        actor=created_by,
        outcome="done",
        target=visitor_pass,
        details={"visitor": visitor.pk, "sponsor": sponsor.pk, "areas": [a.pk for a in areas]},
    )
    log.info("visitor pass created", extra={"pass": visitor_pass.pk, "visitor": visitor.pk})
    return visitor_pass


@transaction.atomic
def register_visitor(
    *,
    display_name: str,
    role: str,
    sponsor: User,
    starts_at: datetime,
    ends_at: datetime,
    email: str = "",
    actor: User | None = None,
) -> User:
    """A new visitor or contractor at reception (no password: they only use doors)."""
    if role not in TIME_LIMITED:
        raise InvalidPass("Reception registers visitors and contractors only.", code="role")
    base = slugify(display_name)[:20] or role
    username = f"{base}-{secrets.token_hex(3)}"
    return accounts_services.onboard_person(
        username=username,
        role=role,
        display_name=display_name.strip(),
        email=email,
        valid_from=starts_at,
        valid_until=ends_at,
        sponsor=sponsor,
        actor=actor,
    )


@transaction.atomic
def extend_pass(*, visitor_pass: VisitorPass, ends_at: datetime, actor: User) -> VisitorPass:
    visitor_pass = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if visitor_pass.revoked_at is not None:
        raise InvalidPass("A revoked pass cannot be extended; issue a new one.", code="revoked")
    if ends_at <= visitor_pass.ends_at:
        raise InvalidPass("The new end must be later than the current end.", code="pass_window")
    _check_pass(
        kind=visitor_pass.kind,
        areas=list(visitor_pass.areas.all()),
        starts_at=visitor_pass.starts_at,
        ends_at=ends_at,
    )
    visitor_pass.ends_at = ends_at
    visitor_pass.save(update_fields=["ends_at"])
    _cover_validity(visitor_pass.visitor, visitor_pass.starts_at, ends_at)
    audit.record("access.pass.extend", actor=actor, outcome="done", target=visitor_pass)
    log.info("visitor pass extended", extra={"pass": visitor_pass.pk, "actor": actor.pk})
    return visitor_pass


@transaction.atomic
def revoke_pass(*, visitor_pass: VisitorPass, actor: User, reason: str = "") -> VisitorPass:
    """Effective at once: the next door check reads the pass fresh and refuses it."""
    visitor_pass = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if visitor_pass.revoked_at is not None:
        return visitor_pass
    visitor_pass.revoked_at = timezone.now()
    visitor_pass.revoked_by = actor
    visitor_pass.revoke_reason = reason.strip()[:200]
    visitor_pass.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record("access.pass.revoke", actor=actor, outcome="done", target=visitor_pass)
    log.info("visitor pass revoked", extra={"pass": visitor_pass.pk, "actor": actor.pk})
    return visitor_pass


@transaction.atomic
def enrol_visitor(
    *, visitor_pass: VisitorPass, images: list[bytes], actor: User, consent_signed: bool = False
):
    """Reception enrolment from uploaded photos (3-5): a biometrics enrolment job.

    Face capture needs the visitor's consent; at reception that is the signed paper release,
    which the guard records here."""
    visitor = visitor_pass.visitor
    if consent_signed and not biometric_selectors.has_consent(visitor):
        biometrics.give_consent(person=visitor, channel="paper", recorded_by=actor)
    return biometrics.start_enrolment(person=visitor, images=images, requested_by=actor)
