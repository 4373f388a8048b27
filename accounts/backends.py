from django.contrib.auth.backends import ModelBackend


class ValidityWindowBackend(ModelBackend):
    """Refuses inactive people and people outside their validity window (visitors, contractors)."""

    def user_can_authenticate(self, user) -> bool:
        may = getattr(user, "may_authenticate", None)
        return super().user_can_authenticate(user) and (may is None or may())
