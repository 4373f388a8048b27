from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "biometrics"
