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
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from accounts.models import User

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


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def local_time(at: datetime) -> datetime:
    """``at`` on the site's wall clock: weekly windows are local, DST included."""
    return at.astimezone(site_zone())


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
    area_ids = {a.pk for a in lineage}
    for visitor_pass in passes:
        if area_ids & {a.pk for a in visitor_pass.areas.all()}:
            return AccessDecision(True, Reason.PASS_VALID, visitor_pass=visitor_pass)

    refusal = _pass_refusal(person, area_ids, at)
    if refusal is not None:
        return refusal
    if passes:
        return AccessDecision(False, Reason.NOT_ON_PASS, visitor_pass=passes[0])
    if any(r.effect == Effect.ALLOW for r in rules):
        allow = next(r for r in rules if r.effect == Effect.ALLOW)
        return AccessDecision(False, Reason.OUTSIDE_SCHEDULE, rule=allow)
    return AccessDecision(False, Reason.NO_RULE)


def _pass_refusal(person: User, area_ids: set[int], at: datetime) -> AccessDecision | None:
    """Why this person's passes for this area do not let them in now, if they hold any."""
    for_area = VisitorPass.objects.filter(visitor=person, areas__in=area_ids).distinct()
    # The latest pass that has started tells the story (revoked wins over expired).
    started = for_area.filter(starts_at__lte=at).order_by("-ends_at", "-pk").first()
    if started is not None:
        if started.is_revoked(at):
            return AccessDecision(False, Reason.PASS_REVOKED, visitor_pass=started)
        return AccessDecision(False, Reason.PASS_EXPIRED, visitor_pass=started)
    upcoming = for_area.filter(starts_at__gt=at).order_by("starts_at").first()
    if upcoming is not None:
        reason = Reason.PASS_REVOKED if upcoming.is_revoked(at) else Reason.PASS_NOT_STARTED
        return AccessDecision(False, reason, visitor_pass=upcoming)
    return None
