"""Admin changes of security-relevant models also go to the append-only audit trail.

Django's LogEntry can be edited or deleted by a superuser and is not what guards and
auditors read; the audit trail is. ModelAdmin's log_* hooks see every add, change (inlines
included in the change message) and delete made through the admin.
"""

from django.contrib import admin

from . import audit


class AuditedModelAdmin(admin.ModelAdmin):
    audit_prefix = ""  # e.g. "rule": actions become rule.add / rule.change / rule.delete
    # False where save_model creates through a service that already records the addition.
    audit_additions = True

    def _action(self, verb: str) -> str:
        return f"{self.audit_prefix or self.model._meta.model_name}.{verb}"

    def log_addition(self, request, obj, message):
        if self.audit_additions:
            audit.record(self._action("add"), request=request, outcome="done", target=obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        audit.record(
            self._action("change"),
            request=request,
            outcome="done",
            target=obj,
            details={"changes": _summary(message)},
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            audit.record(self._action("delete"), request=request, outcome="done", target=obj)
        return super().log_deletions(request, queryset)


def _summary(message) -> list:
    """Which fields and inlines changed (names only, never values)."""
    out = []
    for part in message if isinstance(message, list) else []:
        for kind, info in part.items():
            out.append({"kind": kind, **{k: v for k, v in info.items() if k in ("fields", "name")}})
    return out[:20]
