"""Admins manage areas, doors, rules and badges here; the access log is read-only for all."""

from django.contrib import admin

from accounts.admin_audit import AuditedModelAdmin

from .models import (
    AccessEvent,
    AccessGroup,
    AccessPoint,
    AccessRule,
    Alert,
    Area,
    Badge,
    TimeWindow,
    VisitorPass,
)
from .reasons import liveness_label


class AccessPointInline(admin.TabularInline):
    model = AccessPoint
    extra = 0
    fields = ("name", "device", "mode", "security_level", "is_active")


class ChildAreaInline(admin.TabularInline):
    model = Area
    fk_name = "parent"
    extra = 0
    fields = ("name", "security_level", "department")
    verbose_name = "area inside this one"
    verbose_name_plural = "areas inside this one"


@admin.register(Area)
class AreaAdmin(AuditedModelAdmin):
    audit_prefix = "area"
    list_display = (
        "__str__",
        "security_level",
        "department",
        "visitor_passes",
        "contractor_passes",
    )
    list_filter = ("security_level", "department", "visitor_passes", "contractor_passes")
    search_fields = ("name",)
    inlines = [AccessPointInline, ChildAreaInline]


@admin.register(AccessPoint)
class AccessPointAdmin(AuditedModelAdmin):
    audit_prefix = "door"
    list_display = ("name", "area", "mode", "security_level", "device", "is_active")
    list_filter = ("mode", "security_level", "is_active")
    search_fields = ("name",)


class TimeWindowInline(admin.TabularInline):
    model = TimeWindow
    extra = 1
    fields = ("weekdays", "start", "end")


@admin.register(AccessRule)
class AccessRuleAdmin(AuditedModelAdmin):
    audit_prefix = "rule"
    list_display = (
        "name",
        "effect",
        "subject",
        "area_list",
        "valid_from",
        "valid_until",
        "is_active",
    )
    list_filter = ("effect", "is_active", "role")
    search_fields = ("name",)
    filter_horizontal = ("areas",)
    inlines = [TimeWindowInline]
    fieldsets = (
        (None, {"fields": ("name", "effect", "is_active")}),
        (
            "Who (every field set must match)",
            {"fields": ("role", "department", "group", "person")},
        ),
        ("Where (an area covers the areas inside it)", {"fields": ("areas",)}),
        (
            "When (no time windows = at any time; dates inclusive, site time zone)",
            {"fields": ("valid_from", "valid_until")},
        ),
    )

    @admin.display(description="who")
    def subject(self, rule: AccessRule) -> str:
        return rule.subject_label()

    @admin.display(description="areas")
    def area_list(self, rule: AccessRule) -> str:
        return ", ".join(str(a) for a in rule.areas.all())


@admin.register(AccessGroup)
class AccessGroupAdmin(AuditedModelAdmin):
    audit_prefix = "access_group"
    search_fields = ("name",)
    filter_horizontal = ("members",)


@admin.register(Badge)
class BadgeAdmin(AuditedModelAdmin):
    audit_prefix = "badge"
    list_display = ("number", "person", "is_active", "issued_at")
    search_fields = ("number", "person__username", "person__display_name")
    list_filter = ("is_active",)


@admin.register(VisitorPass)
class VisitorPassAdmin(admin.ModelAdmin):
    list_display = ("visitor", "kind", "sponsor", "starts_at", "ends_at", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("visitor__display_name", "purpose")
    # Passes change through the pass pages (services check limits and widen validity).
    readonly_fields = [f.name for f in VisitorPass._meta.fields] + ["areas"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The log is evidence: viewable, never added, changed or deleted here."""

    list_display = (
        "created_at",
        "access_point",
        "person",
        "decision",
        "reason",
        "rule",
        "score",
        "threshold",
        "liveness_result",
    )
    list_filter = ("decision", "reason", "access_point", "area")
    search_fields = ("person__display_name", "person__username")
    date_hierarchy = "created_at"

    @admin.display(description="liveness")
    def liveness_result(self, event: AccessEvent) -> str:
        return liveness_label(event.liveness)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "access_point",
        "device",
        "state",
        "event_count",
        "acknowledged_by",
    )
    list_filter = ("state", "kind")
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
