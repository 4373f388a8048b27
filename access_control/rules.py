"""The rule engine: may this person enter this area at this time, and why (or why not)?

``evaluate`` reads rules and passes fresh from the database on every call (no cache), so a
revoked pass, an ended rule or an offboarded person is refused at the very next check.

Order, first match decides:
1. an inactive person is denied (``inactive``); outside their own validity window,
   ``person_validity`` — the validity window of visitors and contractors always applies;
2. a deny rule covering the person, the area (or a parent) and the time wins (``denied_by_rule``);
3. an allow rule covering them grants (``rule_allows``); else a valid visitor pass (``pass_valid``);
4. otherwise the most helpful refusal: the pass state for this area (``pass_revoked``,
   ``pass_expired``, ``pass_not_started``), a pass for other areas (``not_on_pass``), allow rules
   that exist but not at this time (``outside_schedule``), else ``no_rule``.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.site_time import local_time  # weekly windows are local, DST included

from .models import AccessRule, Area, Effect, VisitorPass
from .reasons import Reason


@dataclass(frozen=True)
class AccessDecision:
    granted: bool
    reason: str
    rule: AccessRule | None = None
    visitor_pass: VisitorPass | None = None

    @property
    def explanation(self) -> str:
        what = Reason(self.reason).label
        if self.rule is not None:
            return f"{what} ({self.rule})"
        if self.visitor_pass is not None:
            return f"{what} (pass #{self.visitor_pass.pk})"
        return what


def rules_for(person: User, areas: list[Area]) -> list[AccessRule]:
    """Active rules whose subject matches the person and which name one of ``areas``."""
    subject = Q(role="") | Q(role=person.role)
    subject &= Q(department__isnull=True) | Q(department_id=person.department_id)
    subject &= Q(group__isnull=True) | Q(group__members=person)
    subject &= Q(person__isnull=True) | Q(person=person)
    return list(
        AccessRule.objects.filter(subject, is_active=True, areas__in=areas)
        .distinct()
        .prefetch_related("windows")
        .order_by("pk")
    )


def rule_in_force(rule: AccessRule, local: datetime) -> bool:
    """Inside the rule's validity dates and one of its weekly windows (none = any time)."""
    day = local.date()
    if rule.valid_from and day < rule.valid_from:
        return False
    if rule.valid_until and day > rule.valid_until:
        return False
    windows = list(rule.windows.all())
    return not windows or any(w.covers(local) for w in windows)


def evaluate(person: User, area: Area, at: datetime) -> AccessDecision:
    """The decision for ``person`` entering ``area`` at ``at`` (aware), with the deciding rule."""
    if not person.is_active:
        return AccessDecision(False, Reason.INACTIVE)
    if not person.is_within_validity(at):
        return AccessDecision(False, Reason.PERSON_VALIDITY)

    lineage = area.lineage()
    local = local_time(at)
    rules = rules_for(person, lineage)
    in_force = [r for r in rules if rule_in_force(r, local)]
    for rule in in_force:
        if rule.effect == Effect.DENY:
            return AccessDecision(False, Reason.DENIED_BY_RULE, rule=rule)
    for rule in in_force:
        if rule.effect == Effect.ALLOW:
            return AccessDecision(True, Reason.RULE_ALLOWS, rule=rule)

    passes = list(
        VisitorPass.objects.filter(visitor=person, starts_at__lte=at)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at), ends_at__gt=at)
        .prefetch_related("areas")
    )
    for visitor_pass in passes:
        if visitor_pass.is_pending():
            continue
        if covered_by_pass(visitor_pass, lineage):
            return AccessDecision(True, Reason.PASS_VALID, visitor_pass=visitor_pass)

    pending = [p for p in passes if p.is_pending() and covered_by_pass(p, lineage)]
    if pending:
        return AccessDecision(False, Reason.PASS_PENDING, visitor_pass=pending[0])
    refusal = _pass_refusal(person, lineage, at)
    if refusal is not None:
        return refusal
    if passes:
        return AccessDecision(False, Reason.NOT_ON_PASS, visitor_pass=passes[0])
    if any(r.effect == Effect.ALLOW for r in rules):
        allow = next(r for r in rules if r.effect == Effect.ALLOW)
        return AccessDecision(False, Reason.OUTSIDE_SCHEDULE, rule=allow)
    return AccessDecision(False, Reason.NO_RULE)


def covered_by_pass(visitor_pass: VisitorPass, lineage: list[Area]) -> bool:
    """Whether the pass opens the first area of ``lineage`` (an area, then its parents): it
    names that area or a parent, and no area on the way down forbids this kind of pass (a pass
    on a building never opens a server room inside it that takes no visitor passes)."""
    named = {a.pk for a in visitor_pass.areas.all()}
    for area in lineage:
        if not area.allows_pass(visitor_pass.kind):
            return False
        if area.pk in named:
            return True
    return False


def rule_allows_ever(person: User, area: Area) -> bool:
    """Whether an active allow rule lets ``person`` into ``area`` at some time, with no deny
    rule on it at any time (fail closed): where a person may sponsor visitors."""
    rules = rules_for(person, area.lineage())
    today = local_time(timezone.now()).date()
    ended = [r for r in rules if r.valid_until and r.valid_until < today]
    allows = [r for r in rules if r.effect == Effect.ALLOW and r not in ended]
    return bool(allows) and not any(r.effect == Effect.DENY for r in rules)


def _pass_refusal(person: User, lineage: list[Area], at: datetime) -> AccessDecision | None:
    """Why this person's passes for this area do not let them in now, if they hold any."""
    for_area = [
        p
        for p in VisitorPass.objects.filter(visitor=person, areas__in=[a.pk for a in lineage])
        .distinct()
        .prefetch_related("areas")
        if covered_by_pass(p, lineage)
    ]
    # The latest pass that has started tells the story (revoked wins over expired).
    started = sorted(
        (p for p in for_area if p.starts_at <= at), key=lambda p: (p.ends_at, p.pk), reverse=True
    )
    if started:
        latest = started[0]
        reason = Reason.PASS_REVOKED if latest.is_revoked(at) else Reason.PASS_EXPIRED
        return AccessDecision(False, reason, visitor_pass=latest)
    upcoming = sorted((p for p in for_area if p.starts_at > at), key=lambda p: p.starts_at)
    if upcoming:
        first = upcoming[0]
        reason = Reason.PASS_REVOKED if first.is_revoked(at) else Reason.PASS_NOT_STARTED
        return AccessDecision(False, reason, visitor_pass=first)
    return None
