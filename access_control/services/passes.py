"""Visitor and contractor passes. People are created through accounts.services."""

import logging
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import audit
from accounts import services as accounts_services
from accounts.models import Role, User
from biometrics import selectors as biometric_selectors
from biometrics import services as biometrics

from .. import conf, sponsoring
from ..errors import InvalidPass, PassForbidden
from ..models import Area, PassKind, VisitorPass

log = logging.getLogger("faceauth.access")


TIME_LIMITED = (Role.VISITOR, Role.CONTRACTOR)


def pass_kind_for(person: User) -> str:
    if person.role == Role.CONTRACTOR:
        return PassKind.CONTRACTOR
    if person.role == Role.VISITOR:
        return PassKind.VISITOR
    raise InvalidPass(_("Passes are for visitors and contractors only."), code="not_a_visitor")


def max_pass_length(kind: str) -> timedelta:
    if kind == PassKind.CONTRACTOR:
        return timedelta(days=conf.get("ACCESS_CONTRACTOR_PASS_MAX_DAYS"))
    return timedelta(hours=conf.get("ACCESS_VISITOR_PASS_MAX_HOURS"))


def areas_for_pass(kind: str):
    flag = "contractor_passes" if kind == PassKind.CONTRACTOR else "visitor_passes"
    return Area.objects.filter(**{flag: True}).select_related("parent")


def _widen_validity(person: User, starts_at: datetime, ends_at: datetime, actor: User) -> None:
    # Only on an admin's explicit request (sponsoring.check_within_validity), and audited.
    before = {"valid_from": person.valid_from, "valid_until": person.valid_until}
    person.valid_from = min(filter(None, (person.valid_from, starts_at)))
    person.valid_until = max(filter(None, (person.valid_until, ends_at)))
    person.save(update_fields=["valid_from", "valid_until"])
    audit.record(
        "access.validity.widen",
        actor=actor,
        outcome="done",
        target=person,
        details={
            "before": {k: v.isoformat() if v else None for k, v in before.items()},
            "until": person.valid_until.isoformat(),
        },
    )


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
    registered_now: bool = False,
    widen_validity: bool = False,
) -> VisitorPass:
    """A pass, if the sponsoring rules let ``created_by`` issue it (access_control.sponsoring).

    ``registered_now``: the visitor was registered for this very pass (register_visitor).
    ``widen_validity``: an admin's explicit request to widen the person's own window."""
    kind = pass_kind_for(visitor)
    if not visitor.is_active:
        raise InvalidPass(_("This person has been offboarded."), code="inactive")
    sponsoring.check_issue(
        issuer=created_by,
        sponsor=sponsor,
        visitor=visitor,
        kind=kind,
        areas=areas,
        starts_at=starts_at,
        ends_at=ends_at,
        registered_now=registered_now,
    )
    widen = sponsoring.check_within_validity(
        visitor=visitor,
        starts_at=starts_at,
        ends_at=ends_at,
        widen=widen_validity,
        actor=created_by,
    )
    pending = sponsoring.needs_approval(issuer=created_by, kind=kind, areas=areas)
    visitor_pass = VisitorPass.objects.create(
        visitor=visitor,
        kind=kind,
        sponsor=sponsor,
        created_by=created_by,
        starts_at=starts_at,
        ends_at=ends_at,
        purpose=purpose.strip(),
        needs_approval=pending,
    )
    visitor_pass.areas.set(areas)
    if widen:
        _widen_validity(visitor, starts_at, ends_at, created_by)
    audit.record(
        "access.pass.create",
        actor=created_by,
        outcome="pending" if pending else "done",
        target=visitor_pass,
        details={"visitor": visitor.pk, "sponsor": sponsor.pk, "areas": [a.pk for a in areas]},
    )
    log.info("visitor pass created", extra={"pass": visitor_pass.pk, "visitor": visitor.pk})
    return visitor_pass


@transaction.atomic
def approve_pass(*, visitor_pass: VisitorPass, actor: User) -> VisitorPass:
    """A guard or admin (not its issuer or sponsor) lets a pending pass open doors."""
    visitor_pass = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if not visitor_pass.is_pending():
        raise InvalidPass(_("This pass is not waiting for approval."), code="not_pending")
    if not sponsoring.may_approve(user=actor, visitor_pass=visitor_pass):
        raise PassForbidden(_("A guard or admin other than its issuer and sponsor approves it."))
    visitor_pass.approved_at, visitor_pass.approved_by = timezone.now(), actor
    visitor_pass.save(update_fields=["approved_at", "approved_by"])
    audit.record("access.pass.approve", actor=actor, outcome="done", target=visitor_pass)
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
        raise InvalidPass(_("Reception registers visitors and contractors only."), code="role")
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
def extend_pass(
    *, visitor_pass: VisitorPass, ends_at: datetime, actor: User, widen_validity: bool = False
) -> VisitorPass:
    """A later end, within what ``actor`` may issue and the person's own window."""
    visitor_pass = VisitorPass.objects.select_for_update().get(pk=visitor_pass.pk)
    if visitor_pass.revoked_at is not None:
        raise InvalidPass(_("A revoked pass cannot be extended; issue a new one."), code="revoked")
    if ends_at <= visitor_pass.ends_at:
        raise InvalidPass(_("The new end must be later than the current end."), code="pass_window")
    visitor = visitor_pass.visitor
    sponsoring.check_issue(
        issuer=actor,
        sponsor=visitor_pass.sponsor,
        visitor=visitor,
        kind=visitor_pass.kind,
        areas=list(visitor_pass.areas.all()),
        starts_at=visitor_pass.starts_at,
        ends_at=ends_at,
        # The pass exists: who it is for was decided when it was issued.
        registered_now=actor.pk in (visitor_pass.sponsor_id, visitor_pass.created_by_id),
    )
    widen = sponsoring.check_within_validity(
        visitor=visitor,
        starts_at=visitor_pass.starts_at,
        ends_at=ends_at,
        widen=widen_validity,
        actor=actor,
    )
    visitor_pass.ends_at = ends_at
    visitor_pass.save(update_fields=["ends_at"])
    if widen:
        _widen_validity(visitor, visitor_pass.starts_at, ends_at, actor)
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
    *,
    visitor_pass: VisitorPass,
    images: list[bytes],
    actor: User,
    consent_signed: bool = False,
    consent_evidence: str = "",
):
    """Reception enrolment from uploaded photos (3-5): a biometrics enrolment job.

    A reception task (biometrics refuses anybody but a guard or admin). Face capture needs
    the visitor's consent; at reception that is the signed paper release, which the guard
    records here with its evidence (the form's reference)."""
    visitor = visitor_pass.visitor
    if consent_signed and not biometric_selectors.has_consent(visitor):
        if not consent_evidence.strip():
            raise InvalidPass(
                _("Give the signed consent form's reference."), code="consent_evidence"
            )
        # Rolled back with the whole transaction if start_enrolment refuses this actor.
        biometrics.give_consent(
            person=visitor, channel="paper", recorded_by=actor, evidence=consent_evidence
        )
    return biometrics.start_enrolment(person=visitor, images=images, requested_by=actor)
