from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "People and devices"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from .receivers import connect
        from .roles import sync_role_groups

        connect()

        # Apps migrated after accounts add permissions later; keep the role groups complete.
        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
