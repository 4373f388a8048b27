"""The base layout's menu, per role: the wiring layer knows the URL names of every app."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from access_control.models import AccessPoint
from accounts.models import Role
from accounts.permissions import role_of

# (label, url name, roles that see it)
MENU: list[tuple[Promise, str, tuple[str, ...]]] = [
    (_("Home"), "home", tuple(Role.values)),
    # Attendance is for staff; visitors and contractors do not clock. Kiosks are reached by
    # pairing a screen (/accounts/device/pair/), not through a person's menu.
    (_("Clock in"), "attendance:clock", (Role.EMPLOYEE, Role.MANAGER, Role.ADMIN, Role.GUARD)),
    (
        _("My timesheet"),
        "attendance:timesheet",
        (Role.EMPLOYEE, Role.MANAGER, Role.ADMIN, Role.GUARD),
    ),
    (_("Enrol my face"), "attendance:enrol", (Role.EMPLOYEE, Role.MANAGER, Role.ADMIN, Role.GUARD)),
    (_("Guard console"), "access:console", (Role.ADMIN, Role.GUARD)),
    (_("Access log"), "access:events", (Role.MANAGER,)),
    (_("Visitor passes"), "access:passes", (Role.EMPLOYEE, Role.MANAGER, Role.ADMIN, Role.GUARD)),
    (_("Attendance report"), "reports:attendance", (Role.MANAGER, Role.ADMIN)),
    (_("Access report"), "reports:access", (Role.MANAGER, Role.ADMIN, Role.GUARD)),
    (_("Security"), "reports:security", (Role.ADMIN,)),
    (_("Approvals"), "attendance:approvals", (Role.MANAGER, Role.ADMIN)),
    (_("People"), "people:list", (Role.ADMIN, Role.MANAGER)),
    (_("Devices"), "devices:list", (Role.ADMIN,)),
    (pgettext_lazy("menu", "Admin"), "admin:index", (Role.ADMIN, Role.MANAGER)),
]


# The top menu folds these pages under one entry (a disclosure list) so that the menu of the
# role with the most pages still fits one line at 1366 px; a page not named here stays a
# top-level link, and a group with a single page shows that page's own link.
MENU_GROUPS: dict[str, str] = {
    "attendance:clock": "Attendance",
    "attendance:timesheet": "Attendance",
    "attendance:enrol": "Attendance",
    "access:console": "Access",
    "access:events": "Access",
    "access:passes": "Access",
    "reports:attendance": "Reports",
    "reports:access": "Reports",
    "reports:security": "Reports",
    "attendance:approvals": "Manage",
    "people:list": "Manage",
    "devices:list": "Manage",
    "admin:index": "Manage",
}
# The groups' labels; the keys stay English in every language (they make the element ids).
GROUP_LABELS: dict[str, Promise] = {
    "Attendance": pgettext_lazy("menu group", "Attendance"),
    "Access": pgettext_lazy("menu group", "Access"),
    "Reports": pgettext_lazy("menu group", "Reports"),
    "Manage": pgettext_lazy("menu group", "Manage"),
}


def menu_for(user) -> list[dict]:
    role = role_of(user)
    if role is None or role.startswith("device:"):
        return []
    items = []
    for label, url_name, roles in MENU:
        if role not in roles:
            continue
        try:
            items.append(
                {"label": label, "url": reverse(url_name), "group": MENU_GROUPS.get(url_name, "")}
            )
        except NoReverseMatch:
            continue
    return items


def terminal_links(user) -> list[dict]:
    """For admins on the home page: open this browser as the kiosk or as a door, through the
    pairing page (it asks for the device's token, then goes on to the screen)."""
    if role_of(user) != Role.ADMIN:
        return []
    pair = reverse("pair-device")
    links = [{"label": _("Kiosk"), "url": f"{pair}?next={reverse('attendance:kiosk')}"}]
    for point in AccessPoint.objects.filter(is_active=True, device__isnull=False).order_by("name"):
        door = reverse("access:door", args=[point.pk])
        label = _("Door: %(name)s") % {"name": point.name}
        links.append({"label": label, "url": f"{pair}?next={door}"})
    return links


def menu_tree(items: list[dict]) -> list[dict]:
    """The menu as the top bar shows it: links and groups ({"label", "links", "id"}) in order.

    ("links", not "items": a template would call dict.items on a plain link.)"""
    sizes: dict[str, int] = {}
    for item in items:
        sizes[item["group"]] = sizes.get(item["group"], 0) + 1
    tree: list[dict] = []
    groups: dict[str, dict] = {}
    for item in items:
        group = item["group"]
        if not group or sizes[group] == 1:
            tree.append(item)
        elif group in groups:
            groups[group]["links"].append(item)
        else:
            label = GROUP_LABELS.get(group, group)
            groups[group] = {"label": label, "links": [item], "id": f"menu-{group.lower()}"}
            tree.append(groups[group])
    return tree


def navigation(request) -> dict:
    """Template context processor of the base layout."""
    items = menu_for(getattr(request, "user", None))
    return {
        "nav_items": items,
        "nav_tree": menu_tree(items),
        "display_time_zone": settings.DISPLAY_TIME_ZONE,
        # The switcher names each language in itself (settings.LANGUAGES, never translated).
        "language_choices": settings.LANGUAGES,
    }
