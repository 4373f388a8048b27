"""One authorization table: who may use every URL, API operation and admin action.

Principals are anonymous, each role, each device kind authenticated by token
(``Authorization: Device <token>``) and a browser paired as a device (accounts pairing views).
``AuthorizationMiddleware`` (faceauth/middleware.py) refuses, before any view runs, every
principal a row does not name and every URL no row names; ``enforce_admin`` gives every
registered ModelAdmin its permissions, actions and queryset scope from ``ADMIN_MODELS``.
Views keep their own checks (defence in depth); tests/security/test_authorization.py walks the
URL resolver and the admin registry, and proves every cell with real requests, with and
without the middleware.

To add a view: add its row to ``URLS`` (or a model to ``ADMIN_MODELS``) naming the principals
its own checks serve. docs/security.md ("Authorization") explains the columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from django.utils.module_loading import import_string

from accounts.models import Role

ANONYMOUS = "anonymous"
ADMIN, MANAGER, GUARD = Role.ADMIN.value, Role.MANAGER.value, Role.GUARD.value
EMPLOYEE, VISITOR, CONTRACTOR = Role.EMPLOYEE.value, Role.VISITOR.value, Role.CONTRACTOR.value
# Same strings as accounts.permissions.KIOSK / DOOR: what HasRole sees for a device.
KIOSK, DOOR = "device:kiosk", "device:door"
PAIRED_KIOSK, PAIRED_DOOR = "paired:kiosk", "paired:door"
# Bearer tokens (identity.authentication): an OpenID access token, a SCIM provisioning token.
OIDC_BEARER, PROVISIONING = "bearer:oidc", "bearer:scim"

PEOPLE = frozenset(Role.values)
PRINCIPALS: tuple[str, ...] = (
    ANONYMOUS,
    ADMIN,
    MANAGER,
    GUARD,
    EMPLOYEE,
    VISITOR,
    CONTRACTOR,
    KIOSK,
    DOOR,
    PAIRED_KIOSK,
    PAIRED_DOOR,
    OIDC_BEARER,
    PROVISIONING,
)
EVERYONE = frozenset(PRINCIPALS)
NOBODY: frozenset[str] = frozenset()
STAFF = frozenset({ADMIN, MANAGER})  # the roles with is_staff: the only ones in the admin site
ADMINS = frozenset({ADMIN})
# The API cannot tell a paired browser from its device's token (both are HasRole's
# "device:<kind>"), so an API row that names a device names its paired browsers too.
PAIRED_OF = {KIOSK: PAIRED_KIOSK, DOOR: PAIRED_DOOR}

PAGE, API, ADMIN_SITE = "page", "api", "admin"


@dataclass(frozen=True)
class Rule:
    """One row: the principals a URL serves, per HTTP method or per value of one URL kwarg."""

    kind: str
    allow: frozenset[str]
    methods: Mapping[str, frozenset[str]] = field(default_factory=dict)
    kwarg: str = ""
    cases: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def allowed(self, method: str = "GET", kwargs: Mapping | None = None) -> frozenset[str]:
        if self.kwarg:
            # Fail closed: a value the table does not name serves nobody.
            return self.cases.get(str((kwargs or {}).get(self.kwarg, "")), NOBODY)
        return self.methods.get(method.upper(), self.allow)


def page(*principals: Iterable[str] | str) -> Rule:
    return Rule(PAGE, _set(principals))


def api(*principals: Iterable[str] | str, **methods: Iterable[str]) -> Rule:
    return Rule(
        API,
        _with_paired(_set(principals)),
        {m.upper(): _with_paired(_set([p])) for m, p in methods.items()},
    )


def _set(items) -> frozenset[str]:
    out: set[str] = set()
    for item in items:
        out |= {item} if isinstance(item, str) else set(item)
    unknown = out - EVERYONE
    if unknown:
        raise ValueError(f"unknown principals {sorted(unknown)}")
    return frozenset(out)


def _with_paired(principals: frozenset[str]) -> frozenset[str]:
    return principals | {PAIRED_OF[p] for p in principals if p in PAIRED_OF}


PASS_ISSUERS = frozenset({ADMIN, GUARD, MANAGER, EMPLOYEE})
CONSOLE = frozenset({ADMIN, GUARD})
ACCESS_LOG = frozenset({ADMIN, GUARD, MANAGER})
REPORTS = {
    "attendance": frozenset({ADMIN, MANAGER}),
    "access": frozenset({ADMIN, MANAGER, GUARD}),
    "security": ADMINS,
}

# Every URL name ("namespace:name"; an unnamed pattern by its route).
URLS: dict[str, Rule] = {
    # Public: probes (/metrics has its own token / address check), login, pairing, notices.
    "favicon": page(EVERYONE),
    "healthz": page(EVERYONE),
    "readyz": page(EVERYONE),
    # A bearer token at /metrics is Prometheus's: an OpenID or SCIM token is the wrong one.
    "metrics": page(EVERYONE - {OIDC_BEARER, PROVISIONING}),
    "privacy-notice": page(EVERYONE),
    # The language switcher and the scripts' translations: no personal data, every screen.
    "set_language": page(EVERYONE),
    "javascript-catalog": page(EVERYONE),
    "retention-policy": page(EVERYONE),
    "login": page(EVERYONE),
    "logout": page(EVERYONE),
    "pair-device": page(EVERYONE),
    "unpair-device": page(EVERYONE),
    "home": page(PEOPLE),
    "password_change": page(PEOPLE),
    "password_change_done": page(PEOPLE),
    # accounts API
    "api-me": api(PEOPLE, KIOSK, DOOR),
    "api-people": api(STAFF),
    # biometrics API
    "api-enrolments": api(PEOPLE),
    "api-enrolment": api(PEOPLE),
    "api-verify": api(PEOPLE, KIOSK),  # doors decide through api-access-check (finding 6)
    "api-identify": api(ADMIN, KIOSK, DOOR),
    "api-analyse": api(PEOPLE, KIOSK, DOOR),
    "api-challenge": api(PEOPLE, KIOSK, DOOR),
    "api-liveness-stream": api(PEOPLE, KIOSK, DOOR),
    "api-consent": api(PEOPLE),
    "api-my-face-data": api(PEOPLE),
    "api-person-templates": api(ADMIN),
    "api-schema": api(STAFF),
    # attendance
    "attendance:kiosk": page(PAIRED_KIOSK),
    "attendance:clock": page(PEOPLE),
    "attendance:enrol": page(PEOPLE),
    "attendance:timesheet": page(PEOPLE),
    "subject-access-export": page(PEOPLE),
    "api-attendance-clock": api(PEOPLE, KIOSK),
    "api-attendance-events": api(PEOPLE),
    "api-attendance-sessions": api(PEOPLE),
    # access control
    "access:door": page(PAIRED_DOOR),
    "access:console": page(CONSOLE),
    "access:events": page(ACCESS_LOG),
    "access:passes": page(PASS_ISSUERS),
    "access:pass-create": page(PASS_ISSUERS),
    "access:pass-detail": page(PASS_ISSUERS),
    "api-access-check": api(DOOR),
    "api-access-challenge": api(DOOR),
    "api-access-events": api(ACCESS_LOG),
    "api-access-console": api(CONSOLE),
    "api-access-alert-acknowledge": api(CONSOLE),
    "api-access-alert-close": api(CONSOLE),
    # reports: data and CSV exports take the report from the URL
    "reports:attendance": page(REPORTS["attendance"]),
    "reports:access": page(REPORTS["access"]),
    "reports:security": page(REPORTS["security"]),
    "reports:person": page(REPORTS["attendance"]),
    "reports:data": Rule(PAGE, NOBODY, kwarg="report", cases=REPORTS),
    "reports:export": Rule(PAGE, NOBODY, kwarg="report", cases=REPORTS),
    # People directory (docs/people.md): managers read their department, admins change.
    "people:list": page(STAFF),
    "people:detail": page(STAFF),
    "people:export": page(STAFF),
    "people:add": page(ADMINS),
    "people:edit": page(ADMINS),
    "people:offboard": page(ADMINS),
    "people:reactivate": page(ADMINS),
    "people:link": page(ADMINS),
    "people:link-revoke": page(ADMINS),
    "people:import": page(ADMINS),
    # The enrolment link: no sign-in, its token is checked by every view.
    "enrol-link": page(EVERYONE),
    "enrol-link-consent": api(EVERYONE),
    "enrol-link-analyse": api(EVERYONE),
    "enrol-link-photos": api(EVERYONE),
    "enrol-link-job": api(EVERYONE),
    # Identity provider (docs/identity.md): the client authenticates at the token endpoints.
    "oauth2_provider:authorize": page(PEOPLE),
    "oauth2_provider:token": page(EVERYONE),
    "oauth2_provider:revoke-token": page(EVERYONE),
    "oauth2_provider:oidc-connect-discovery-info": page(EVERYONE),
    "oauth2_provider:jwks-info": page(EVERYONE),
    "oauth2_provider:user-info": api(OIDC_BEARER),
    "oauth2_provider:rp-initiated-logout": page(EVERYONE),
    "identity:face": page(PEOPLE),
    "identity:apps": page(PEOPLE),
    "identity:app-revoke": page(PEOPLE),
    "api-identity-face": api(PEOPLE),
    # Passkeys: a person manages only their own; signing in with one is for anybody, like the
    # sign-in page (the views check CSRF, the challenge, the signature and the limits).
    "identity:passkeys": page(PEOPLE),
    "identity:passkey-confirm": page(PEOPLE),
    "identity:passkey-remove": page(PEOPLE),
    "api-passkey-register-options": api(PEOPLE),
    "api-passkey-register": api(PEOPLE),
    "api-passkey-sign-in-options": api(EVERYONE),
    "api-passkey-sign-in": api(EVERYONE),
    # SCIM 2.0 (docs/identity.md, "Provisioning"): a provisioning client's token, nothing else.
    "scim:service-provider-config": api(PROVISIONING),
    "scim:resource-types": api(PROVISIONING),
    "scim:resource-type": api(PROVISIONING),
    "scim:schemas": api(PROVISIONING),
    "scim:schema": api(PROVISIONING),
    "scim:users": api(PROVISIONING),
    "scim:users-search": api(PROVISIONING),
    "scim:user": api(PROVISIONING),
    "scim:groups": api(PROVISIONING),
    "scim:groups-search": api(PROVISIONING),
    "scim:group": api(PROVISIONING),
    "scim:search": api(PROVISIONING),
    "scim:not-found": api(PROVISIONING),
    # Devices and doors (docs/access_control.md, "Devices"): admins; the one-time pairing link
    # is its own credential (checked by its view); the landing page serves paired screens.
    "devices:list": page(ADMINS),
    "devices:add": page(ADMINS),
    "devices:detail": page(ADMINS),
    "devices:link": page(ADMINS),
    "devices:rotate": page(ADMINS),
    "devices:revoke": page(ADMINS),
    "devices:access-point": page(ADMINS),
    "devices:pair": page(EVERYONE),
    "devices:screen": page(PAIRED_KIOSK, PAIRED_DOOR),
    # Approvals (docs/attendance.md): managers decide for their department, admins for all.
    "attendance:approvals": page(STAFF),
    "attendance:approval-decide": page(STAFF),
    # The admin site's own pages; its model pages come from ADMIN_MODELS below.
    "admin:login": Rule(ADMIN_SITE, EVERYONE),
    "admin:logout": Rule(ADMIN_SITE, EVERYONE),
    "admin:index": Rule(ADMIN_SITE, STAFF),
    "admin:app_list": Rule(ADMIN_SITE, STAFF),
    "admin:autocomplete": Rule(ADMIN_SITE, STAFF),
    "admin:jsi18n": Rule(ADMIN_SITE, STAFF),
    "admin:view_on_site": Rule(ADMIN_SITE, STAFF),
    "admin:password_change": Rule(ADMIN_SITE, STAFF),
    "admin:password_change_done": Rule(ADMIN_SITE, STAFF),
    # Unnamed: the admin's catch-all (login redirect or 404) and per-model
    # "<id>/" redirects to the change page, which is checked again.
    "admin/(?P<url>.*)$": Rule(ADMIN_SITE, STAFF),
}


EVERY_ROW = "*"


@dataclass(frozen=True)
class AdminRule:
    """A ModelAdmin: the roles per model permission, per action, and whose rows they see.

    ``scope`` is the selector (``user=`` -> QuerySet) the API uses for the same rows; empty
    means every row, allowed only where admins alone may look; ``EVERY_ROW`` says every row on
    purpose (rows that hold no personal data). Only staff roles reach the
    admin site, and Django's model permissions still apply on top of this table. An action
    the row does not name serves nobody."""

    view: frozenset[str] = NOBODY
    add: frozenset[str] = NOBODY
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY
    actions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    scope: str = ""

    def action_roles(self, name: str) -> frozenset[str]:
        # Django's site-wide "delete selected" follows the delete permission.
        if name == "delete_selected" and name not in self.actions:
            return self.delete
        return self.actions.get(name, NOBODY)


def _admin_only(*, add=True, change=True, delete=True, actions=()) -> AdminRule:
    return AdminRule(
        view=ADMINS,
        add=ADMINS if add else NOBODY,
        change=ADMINS if change else NOBODY,
        delete=ADMINS if delete else NOBODY,
        actions={a: ADMINS for a in actions},
    )


ADMIN_MODELS: dict[str, AdminRule] = {
    # Managers read their department's people; only admins onboard, change, offboard.
    "accounts.user": AdminRule(
        view=STAFF,
        add=ADMINS,
        change=ADMINS,
        delete=ADMINS,
        actions={"offboard": ADMINS, "reactivate": ADMINS},
        scope="accounts.selectors.people_visible_to",
    ),
    "accounts.department": AdminRule(
        view=STAFF, add=ADMINS, change=ADMINS, delete=ADMINS, scope=EVERY_ROW
    ),
    "accounts.device": _admin_only(actions=("revoke", "new_token")),
    "accounts.auditentry": _admin_only(add=False, change=False, delete=False),
    # django-axes password lock-outs: the audited unlock (it needs "delete"), no bulk delete.
    "axes.accessattempt": AdminRule(
        view=ADMINS, delete=ADMINS, actions={"unlock": ADMINS, "delete_selected": NOBODY}
    ),
    # Enrolments held by the duplicate-identity check wait for an admin's decision.
    "biometrics.enrolmentjob": _admin_only(change=False, actions=("approve_held", "reject_held")),
    "biometrics.facetemplate": _admin_only(add=False, change=False),
    # Deleting here would delete the person: revoke or erase the face data instead.
    "biometrics.enrolmentperson": _admin_only(
        add=False, change=False, delete=False, actions=("revoke", "erase")
    ),
    "biometrics.policydocument": _admin_only(delete=False),
    "biometrics.biometricconsent": _admin_only(delete=False, actions=("withdraw",)),
    # The reset action is the audited way out of a lockout; deleting the row is not.
    "biometrics.facelockout": _admin_only(
        add=False, change=False, delete=False, actions=("reset",)
    ),
    "attendance.clockevent": AdminRule(
        view=STAFF,
        actions={"approve_review": STAFF, "reject_review": STAFF},
        scope="attendance.selectors.events_visible_to",
    ),
    "attendance.worksession": AdminRule(
        view=STAFF, scope="attendance.selectors.sessions_visible_to"
    ),
    "attendance.correction": AdminRule(
        view=STAFF,
        change=STAFF,
        actions={"approve": STAFF, "reject": STAFF},
        scope="attendance.selectors.corrections_visible_to",
    ),
    "attendance.workschedule": _admin_only(),
    # Site configuration and badges: admins only (managers read access through the log).
    "access_control.area": _admin_only(),
    "access_control.accesspoint": _admin_only(),
    "access_control.accessrule": _admin_only(),
    "access_control.accessgroup": _admin_only(),
    "access_control.badge": _admin_only(),
    "access_control.visitorpass": AdminRule(
        view=STAFF, change=ADMINS, scope="access_control.selectors.passes_visible_to"
    ),
    "access_control.accessevent": AdminRule(
        view=STAFF, scope="access_control.selectors.events_visible_to"
    ),
    # OpenID clients and their tokens, SCIM clients: admins only. Tokens are revoked (the
    # toolkit's action), never added or deleted by hand.
    "oauth2_provider.application": _admin_only(),
    "oauth2_provider.accesstoken": _admin_only(add=False, delete=False, actions=("revoke_tokens",)),
    "oauth2_provider.refreshtoken": _admin_only(
        add=False, delete=False, actions=("revoke_tokens",)
    ),
    "oauth2_provider.grant": _admin_only(add=False, change=False),
    "oauth2_provider.idtoken": _admin_only(add=False, change=False),
    "identity.provisioningclient": _admin_only(),
    # Admins remove a person's passkey (audited); nobody adds or changes one for someone else.
    "identity.passkey": _admin_only(add=False, change=False),
    # Alerts are the guard console's (admins and guards); the API shows managers none.
    "access_control.alert": _admin_only(add=False, delete=False),
}

# The admin's URL names per model ("<app>_<model>_<suffix>") and the permissions they need.
ADMIN_URL_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "changelist": ("view", "change"),
    "add": ("add",),
    "change": ("view", "change"),
    "delete": ("delete",),
    "history": ("view", "change"),
}


def admin_url_rules() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for label, row in ADMIN_MODELS.items():
        prefix = label.replace(".", "_")
        for suffix, perms in ADMIN_URL_PERMISSIONS.items():
            allow = frozenset().union(*(getattr(row, p) for p in perms))
            rules[f"admin:{prefix}_{suffix}"] = Rule(ADMIN_SITE, allow)
        # "<id>/": a redirect to the change page (checked again there).
        rules[f"admin/{label.replace('.', '/')}/<path:object_id>/"] = Rule(
            ADMIN_SITE, row.view | row.change
        )
    return rules


@cache
def all_rules() -> dict[str, Rule]:
    return {
        **URLS,
        **admin_url_rules(),
        # UserAdmin's set-password page keeps Django's hard-coded name.
        "admin:auth_user_password_change": Rule(ADMIN_SITE, ADMIN_MODELS["accounts.user"].change),
    }


def url_key(*, namespaces: Iterable[str], name: str | None, route: str) -> str:
    """How the table names a URL: "namespace:name", or the route of an unnamed pattern."""
    return ":".join([*namespaces, name]) if name else route


def rule_for(match) -> Rule | None:
    """The row of a resolved URL (a ResolverMatch); None: the table does not name it."""
    key = url_key(namespaces=match.namespaces, name=match.url_name, route=match.route)
    return all_rules().get(key)


# ----------------------------------------------------------------- principals of a request


def person_principal(user) -> str | None:
    from accounts.permissions import role_of

    role = role_of(user)
    return role if role in PEOPLE else None


def principals_of(request, *, api: bool) -> frozenset[str]:
    """Who is asking. The API authenticates like DRF (token, then the signed-in person, then a
    paired browser: one principal); pages see the session only (a person and/or a pairing).
    An empty set: credentials were offered and are wrong."""
    from rest_framework.exceptions import AuthenticationFailed

    from accounts.authentication import DeviceTokenAuthentication, device_from_session
    from identity.authentication import bearer_principal

    if api:
        bearer = bearer_principal(request)
        if bearer is not None:
            return frozenset({bearer}) if bearer else NOBODY
        authenticator = DeviceTokenAuthentication()
        try:
            found = authenticator.authenticate(request)
        except AuthenticationFailed:
            return NOBODY
        if found is not None:
            return frozenset({found[0].role})
    found_set: set[str] = set()
    person = person_principal(getattr(request, "user", None))
    if person:
        found_set.add(person)
        if api:
            return frozenset(found_set)
    device = device_from_session(request)
    if device is not None:
        found_set.add(f"paired:{device.kind}")
    return frozenset(found_set or {ANONYMOUS})


# ----------------------------------------------------------------- the admin site


def admin_rule(model) -> AdminRule:
    # Fail closed: a model the table does not name is not shown to anybody.
    return ADMIN_MODELS.get(model._meta.label_lower, AdminRule())


@cache
def _selector(path: str) -> Callable:
    return import_string(path)


class TableModelAdmin:
    """Mixed in front of every registered ModelAdmin: the table AND the admin's own rules."""

    def _role(self, request) -> str | None:
        return person_principal(request.user)

    def _table_allows(self, request, permission: str) -> bool:
        return self._role(request) in getattr(admin_rule(self.model), permission)

    def has_module_permission(self, request) -> bool:
        rule = admin_rule(self.model)
        role = self._role(request)
        return any(role in getattr(rule, p) for p in ("view", "add", "change", "delete")) and (
            super().has_module_permission(request)
        )

    def has_view_permission(self, request, obj=None) -> bool:
        return self._table_allows(request, "view") and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return self._table_allows(request, "add") and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._table_allows(request, "change") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._table_allows(request, "delete") and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        rule = admin_rule(self.model)
        role = self._role(request)
        return {
            name: action
            for name, action in super().get_actions(request).items()
            if role in rule.action_roles(name)
        }

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = admin_rule(self.model).scope
        if scope and scope != EVERY_ROW:
            # The API's selector decides which rows; the admin keeps its own joins.
            visible = _selector(scope)(user=request.user)
            queryset = queryset.filter(pk__in=visible.values("pk"))
        return queryset


def enforce_admin(site) -> None:
    """Put TableModelAdmin in front of every ModelAdmin registered on ``site``. Idempotent."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, TableModelAdmin):
            continue
        cls = model_admin.__class__
        table_cls = type(cls.__name__, (TableModelAdmin, cls), {"__module__": cls.__module__})
        site._registry[model] = table_cls(model, site)
