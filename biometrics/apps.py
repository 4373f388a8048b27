from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "biometrics"

    def ready(self) -> None:
        from accounts.signals import person_offboarded

        from .services import on_person_offboarded

        # Offboarding lives in accounts, which must not import biometrics.
        person_offboarded.connect(on_person_offboarded, dispatch_uid="biometrics.revoke")
