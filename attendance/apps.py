from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "attendance"

    def ready(self) -> None:
        from biometrics.services import face_data_erased

        from . import services

        # Erased face data: the events stay (payroll data), their biometric scores go.
        face_data_erased.connect(
            services.on_face_data_erased, dispatch_uid="attendance.redact_biometrics"
        )
