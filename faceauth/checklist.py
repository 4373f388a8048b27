"""The admin's first-run checklist on the home page: what a new site still needs, each item
ticked from the data (through each app's selectors) and linked to where it is done."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from access_control import selectors as access_selectors
from accounts import selectors as account_selectors
from accounts.models import Role
from accounts.permissions import role_of
from attendance import selectors as attendance_selectors
from biometrics import selectors as biometric_selectors


@dataclass(frozen=True)
class Item:
    key: str
    label: str | Promise
    hint: str | Promise
    done: bool
    url: str


def _url(*names: str, query: str = "") -> str:
    """The first of ``names`` that resolves (an app page before its admin fallback)."""
    for name in names:
        try:
            return reverse(name) + query
        except NoReverseMatch:
            continue
    return ""


def first_run(user) -> list[Item]:
    """The checklist for admins (empty for everybody else)."""
    if role_of(user) != Role.ADMIN:
        return []
    state = {
        **account_selectors.setup_state(),
        **attendance_selectors.setup_state(),
        **access_selectors.setup_state(),
        **biometric_selectors.setup_state(),
    }
    return [
        Item(
            "departments",
            _("Departments"),
            _("Managers see and approve for their department."),
            state["departments"],
            _url("admin:accounts_department_add"),
        ),
        Item(
            "work_schedule",
            _("A work schedule"),
            _("Start time and grace period: lateness and overtime follow it."),
            state["work_schedule"],
            _url("admin:attendance_workschedule_add"),
        ),
        Item(
            "kiosk",
            _("A first kiosk, paired"),
            _("Add it, then open its pairing link on the kiosk screen."),
            state["kiosk"],
            _url("devices:add", query="?kind=kiosk"),
        ),
        Item(
            "door",
            _("A first door"),
            _("A door terminal and its access point."),
            state["door"],
            _url("devices:add", query="?kind=door"),
        ),
        Item(
            "rule",
            _("An access rule"),
            _("Who may open which areas, and when."),
            state["rule"],
            _url("admin:access_control_accessrule_add"),
        ),
        Item(
            "enrolled",
            _("A first enrolled person"),
            _("Add a person and send them an enrolment link, or enrol your own face."),
            state["enrolled"],
            _url("people:list", "attendance:enrol"),
        ),
    ]
