"""What each role may do, as Django groups and model permissions.

Permissions are matched as ``app_label.codename`` glob patterns so that models added by
later apps fall under the right role without a new migration.
"""

from fnmatch import fnmatch

from django.utils import translation

from .models import Role

PROJECT_APPS = ("accounts", "biometrics", "attendance", "access_control", "reports", "identity")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: tuple(f"{app}.*" for app in PROJECT_APPS)
    + ("auth.view_group", "admin.view_logentry")
    # Password sign-in lock-outs: list them and unlock (accounts.admin.LoginLockoutAdmin).
    + ("axes.view_accessattempt", "axes.delete_accessattempt")
    # OpenID clients and their tokens (identity.admin).
    + ("oauth2_provider.*",),
    Role.MANAGER: (
        "accounts.view_user",
        "accounts.view_department",
        "attendance.view_*",
        "attendance.change_correction*",
        "access_control.view_*",
        "reports.*",
    ),
    Role.GUARD: (
        "access_control.view_*",
        "access_control.change_alert",
        "access_control.add_visitorpass",
        "access_control.change_visitorpass",
    ),
    Role.EMPLOYEE: (),
    Role.VISITOR: (),
    Role.CONTRACTOR: (),
}


def group_name(role: str) -> str:
    # An identifier, not a text to read: the source label in every language.
    with translation.override(None):
        return str(Role(role).label)


def permissions_for(role: str, all_permissions) -> list:
    patterns = ROLE_PERMISSIONS[role]
    return [
        p
        for p in all_permissions
        if any(fnmatch(f"{p.content_type.app_label}.{p.codename}", pat) for pat in patterns)
    ]


def sync_role_groups(apps=None, **kwargs) -> None:
    """Create one group per role and grant it its permissions. Idempotent."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
    except LookupError:
        return
    all_permissions = list(permission_model.objects.select_related("content_type"))
    for role in Role:
        group, _ = group_model.objects.get_or_create(name=group_name(role))
        group.permissions.set(permissions_for(role, all_permissions))
