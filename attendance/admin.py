"""Attendance in the admin: events and sessions are read-only, corrections are decided by
actions (who and when are recorded; nothing is overwritten). Managers see their department."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.errors import DomainError

from . import selectors, services
from .models import (
    ClockEvent,
    Correction,
    CorrectionKind,
    CorrectionStatus,
    WorkSchedule,
    WorkSession,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _decide(modeladmin, request, corrections, *, approve: bool) -> None:
    done = 0
    for correction in corrections:
        try:
            services.decide_correction(
                correction=correction, approve=approve, reviewer=request.user
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{correction}: {exc.message}", messages.ERROR)
    if done:
        verb = "Approved" if approve else "Rejected"
        modeladmin.message_user(request, f"{verb} {done}.", messages.SUCCESS)


def _may_decide(request: HttpRequest) -> bool:
    return request.user.has_perm("attendance.change_correction")


@admin.register(ClockEvent)
class ClockEventAdmin(ReadOnlyAdmin):
    list_display = (
        "timestamp",
        "person",
        "direction",
        "method",
        "device",
        "score",
        "needs_review",
        "pin_fallback",
        "manual_override",
        "review",
    )
    list_filter = ("direction", "method", "needs_review", "pin_fallback", "device")
    search_fields = ("person__username", "person__display_name", "person__employee_number")
    date_hierarchy = "timestamp"
    actions = ("approve_review", "reject_review")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.events_visible_to(user=request.user).prefetch_related("corrections")

    @admin.display(description="review")
    def review(self, event: ClockEvent) -> str:
        reviews = [c for c in event.corrections.all() if c.kind == CorrectionKind.REVIEW]
        return reviews[0].get_status_display() if reviews else "—"

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return _may_decide(request)

    def _reviews(self, events: QuerySet) -> QuerySet:
        return Correction.objects.filter(
            event__in=events, kind=CorrectionKind.REVIEW, status=CorrectionStatus.PENDING
        )

    @admin.action(description="Approve flagged events (PIN fallback)", permissions=["decide"])
    def approve_review(self, request, queryset):
        _decide(self, request, self._reviews(queryset), approve=True)

    @admin.action(description="Reject flagged events (they stop counting)", permissions=["decide"])
    def reject_review(self, request, queryset):
        _decide(self, request, self._reviews(queryset), approve=False)


@admin.register(WorkSession)
class WorkSessionAdmin(ReadOnlyAdmin):
    list_display = ("work_date", "person", "started_at", "ended_at", "hours", "status", "flag")
    list_filter = ("status", "work_date")
    search_fields = ("person__username", "person__display_name", "person__employee_number")
    date_hierarchy = "work_date"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.sessions_visible_to(user=request.user)

    @admin.display(description="hours")
    def hours(self, session: WorkSession) -> str:
        duration = session.duration
        return f"{duration.total_seconds() / 3600:.2f}" if duration else "—"

    @admin.display(description="attention", boolean=True)
    def flag(self, session: WorkSession) -> bool:
        return session.needs_attention


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = (
        "requested_at",
        "person",
        "kind",
        "proposed_direction",
        "proposed_timestamp",
        "event",
        "reason",
        "status",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("person__username", "person__display_name", "person__employee_number")
    actions = ("approve", "reject")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.corrections_visible_to(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # The change permission runs the decide actions; a stored correction is never edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Approve selected corrections", permissions=["change"])
    def approve(self, request, queryset):
        _decide(self, request, queryset, approve=True)

    @admin.action(description="Reject selected corrections", permissions=["change"])
    def reject(self, request, queryset):
        _decide(self, request, queryset, approve=False)


@admin.register(WorkSchedule)
class WorkScheduleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "person", "department", "start_time", "grace_minutes", "weekdays")
    autocomplete_fields = ("person",)
