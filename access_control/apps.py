from django.apps import AppConfig


class AccessControlConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "access_control"

    def ready(self) -> None:
        from biometrics import services as biometrics
        from biometrics.signals import spoof_suspected

        from .receivers import on_spoof_suspected
        from .services.checks import liveness_actions

        # Only access control knows a door's security level; biometrics asks it for every
        # challenge and check of a device (a challenge is never weaker than its door).
        biometrics.register_liveness_policy(liveness_actions)
        # Spoofs away from a door (kiosk, personal clock, face sign-in) raise a guard alert.
        spoof_suspected.connect(on_spoof_suspected, dispatch_uid="access_control.spoof_alert")
