"""Who may grant what: the sponsoring rules of visitor and contractor passes.

One table (``ISSUERS``) says which roles may issue passes, of which kind, how long, for whom
and where; ``check_issue`` applies it to every pass created or extended
(``services.passes``), whatever page or command asks. See docs/access_control.md, "Who may
grant what".
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Role, User
from accounts.permissions import role_of

from . import conf
from .errors import InvalidPass, PassForbidden
from .models import AccessPoint, Area, PassKind, SecurityLevel
from .rules import rule_allows_ever


@dataclass(frozen=True)
class IssuerRule:
    kinds: frozenset[str]  # pass kinds this role may issue
    any_person: bool  # False: only a person registered with the pass, or one they sponsor
    any_area: bool  # False: only areas the sponsor may enter themselves
    approves_own: bool  # False: a pass into a high-security area waits for a guard or admin


# Employees and managers host visitors; reception (guards) and admins issue every pass.
ISSUERS: dict[str, IssuerRule] = {
    Role.EMPLOYEE: IssuerRule(frozenset({PassKind.VISITOR}), False, False, False),
    Role.MANAGER: IssuerRule(frozenset({PassKind.VISITOR}), False, False, False),
    Role.GUARD: IssuerRule(frozenset({PassKind.VISITOR, PassKind.CONTRACTOR}), True, True, True),
    Role.ADMIN: IssuerRule(frozenset({PassKind.VISITOR, PassKind.CONTRACTOR}), True, True, True),
}
APPROVERS = (Role.GUARD, Role.ADMIN)


def issuer_rule(user: User) -> IssuerRule | None:
    if user is None or not user.may_authenticate():
        return None
    return ISSUERS.get(role_of(user))


def may_issue(user: User) -> bool:
    return issuer_rule(user) is not None


def max_length(*, issuer: User, kind: str) -> timedelta:
    """The longest pass ``issuer`` may give (settings in conf)."""
    role = role_of(issuer)
    if kind == PassKind.CONTRACTOR:
        days = conf.get(
            "ACCESS_CONTRACTOR_PASS_MAX_DAYS"
            if role == Role.ADMIN
            else "ACCESS_GUARD_CONTRACTOR_PASS_MAX_DAYS"
        )
        return timedelta(days=days)
    hours = conf.get(
        "ACCESS_VISITOR_PASS_MAX_HOURS"
        if role in APPROVERS
        else "ACCESS_SPONSOR_VISITOR_PASS_MAX_HOURS"
    )
    return timedelta(hours=hours)


def _human(length: timedelta) -> str:
    hours = int(length.total_seconds() // 3600)
    if hours <= 48:
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    return ngettext("%(count)d day", "%(count)d days", hours // 24) % {"count": hours // 24}


def covered_areas(areas: list[Area], kind: str) -> list[Area]:
    """Every area a pass naming ``areas`` opens: each named area and the areas inside it,
    except below an area that forbids this kind of pass (``Area.visitor_passes`` /
    ``contractor_passes``)."""
    found: dict[int, Area] = {}
    todo = list(areas)
    while todo:
        area = todo.pop()
        if area.pk in found or not area.allows_pass(kind):
            continue
        found[area.pk] = area
        todo.extend(area.children.all())
    return list(found.values())


def needs_approval(*, issuer: User, kind: str, areas: list[Area]) -> bool:
    """A pass by an employee or manager that opens a high-security area (or door) waits for a
    guard's or admin's approval."""
    rule = issuer_rule(issuer)
    if rule is not None and rule.approves_own:
        return False
    covered = covered_areas(areas, kind)
    high = [a.pk for a in covered if a.security_level >= SecurityLevel.HIGH]
    return (
        bool(high)
        or AccessPoint.objects.filter(
            area__in=[a.pk for a in covered], security_level__gte=SecurityLevel.HIGH
        ).exists()
    )


def may_approve(*, user: User, visitor_pass) -> bool:
    """Guards and admins approve, never a pass they issued or sponsor themselves."""
    return (
        user.may_authenticate()
        and role_of(user) in APPROVERS
        and user.pk not in (visitor_pass.created_by_id, visitor_pass.sponsor_id)
    )


def check_issue(
    *,
    issuer: User,
    sponsor: User,
    visitor: User,
    kind: str,
    areas: list[Area],
    starts_at: datetime,
    ends_at: datetime,
    registered_now: bool = False,
) -> None:
    """Refuse a pass ``issuer`` may not give (PassForbidden 403, InvalidPass 400)."""
    rule = issuer_rule(issuer)
    if rule is None:
        raise PassForbidden(_("Your role may not issue passes."))
    if kind not in rule.kinds:
        text = (
            _("Contractor passes are issued by reception (a guard) or an admin.")
            if kind == PassKind.CONTRACTOR
            else _("Visitor passes are issued by reception (a guard) or an admin.")
        )
        raise PassForbidden(text)
    if sponsor.role not in ISSUERS or not sponsor.may_authenticate():
        raise InvalidPass(_("The sponsor must be an active member of staff."), code="sponsor")
    if not rule.any_person and not registered_now and visitor.sponsor_id != issuer.pk:
        raise PassForbidden(
            _("%(visitor)s is not your visitor: ask reception for a pass.") % {"visitor": visitor},
            code="not_your_visitor",
        )
    if ends_at <= starts_at:
        raise InvalidPass(_("The pass must end after it starts."), code="pass_window")
    longest = max_length(issuer=issuer, kind=kind)
    if ends_at - starts_at > longest:
        raise InvalidPass(
            (
                _("A contractor pass you issue lasts at most %(length)s.")
                if kind == PassKind.CONTRACTOR
                else _("A visitor pass you issue lasts at most %(length)s.")
            )
            % {"length": _human(longest)},
            code="pass_too_long",
        )
    if not areas:
        raise InvalidPass(_("Name at least one area."), code="pass_areas")
    refused = [str(a) for a in areas if not a.allows_pass(kind)]
    if refused:
        raise InvalidPass(
            (
                _("Contractor passes may not name: %(areas)s.")
                if kind == PassKind.CONTRACTOR
                else _("Visitor passes may not name: %(areas)s.")
            )
            % {"areas": ", ".join(refused)},
            code="pass_areas",
        )
    if not rule.any_area:
        barred = [str(a) for a in covered_areas(areas, kind) if not rule_allows_ever(sponsor, a)]
        if barred:
            raise PassForbidden(
                _(
                    "You may sponsor visitors only into areas you may enter yourself; not: "
                    "%(areas)s."
                )
                % {"areas": ", ".join(sorted(barred))},
                code="pass_areas",
            )


def check_within_validity(
    *, visitor: User, starts_at: datetime, ends_at: datetime, widen: bool, actor: User
) -> bool:
    """A pass never silently widens an existing account: outside the person's validity window
    it is refused, unless an admin explicitly widens it (``widen``). Returns whether the
    window must be widened."""
    inside = (
        visitor.valid_from is not None
        and visitor.valid_until is not None
        and visitor.valid_from <= starts_at
        and ends_at <= visitor.valid_until
    )
    if inside:
        return False
    if widen and role_of(actor) == Role.ADMIN and actor.may_authenticate():
        return True
    until = (
        date_format(timezone.localtime(visitor.valid_until), "MEDIUM_DATETIME_FORMAT")
        if visitor.valid_until
        else "—"
    )
    raise PassForbidden(
        _(
            "The pass runs outside %(visitor)s's access window (until %(until)s). Widening an "
            "account's window is an explicit admin act."
        )
        % {"visitor": visitor, "until": until},
        code="outside_validity",
    )
