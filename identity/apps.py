from django.apps import AppConfig


class IdentityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "identity"
    verbose_name = "Identity provider (OpenID Connect, SCIM)"

    def ready(self) -> None:
        from accounts.signals import person_offboarded

        from . import services

        # Offboarding stops every token of the person at once (refresh tokens included).
        person_offboarded.connect(services.on_person_offboarded, dispatch_uid="identity.offboard")
