"""The base layout's menu, per role. Later apps add entries here as their pages land."""

from django.urls import NoReverseMatch, reverse

from .models import Role
from .permissions import role_of

# (label, url name, roles that see it)
MENU: list[tuple[str, str, tuple[str, ...]]] = [
    ("Home", "home", tuple(Role.values)),
    ("Admin", "admin:index", (Role.ADMIN, Role.MANAGER)),
]


def menu_for(user) -> list[dict]:
    role = role_of(user)
    if role is None or role.startswith("device:"):
        return []
    items = []
    for label, url_name, roles in MENU:
        if role not in roles:
            continue
        try:
            items.append({"label": label, "url": reverse(url_name)})
        except NoReverseMatch:
            continue
    return items
