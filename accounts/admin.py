from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services
from .admin_audit import AuditedModelAdmin
from .errors import NotAllowedToOffboard
from .models import AuditEntry, Department, Device, User


class OnboardingForm(forms.ModelForm):
    """One-step onboarding: the person, their role and their credentials."""

    password = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        help_text=_("Leave empty for people who only use kiosks and doors."),
    )
    pin = forms.CharField(
        widget=forms.PasswordInput,
        required=False,
        min_length=4,
        max_length=12,
        help_text=_("Optional PIN for the non-biometric fallback (stored hashed)."),
    )

    class Meta:
        model = User
        fields = (
            "username",
            "display_name",
            "email",
            "employee_number",
            "role",
            "department",
            "job_title",
            "valid_from",
            "valid_until",
            "sponsor",
        )

    def clean_pin(self) -> str:
        pin = self.cleaned_data.get("pin", "")
        if pin and not pin.isdigit():
            raise forms.ValidationError(_("A PIN has digits only."))
        return pin


class ValidityFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("current", _("Valid now")), ("expired", _("Expired")), ("future", _("Not yet"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "expired":
            return queryset.filter(valid_until__lte=now)
        if self.value() == "future":
            return queryset.filter(valid_from__gt=now)
        if self.value() == "current":
            return queryset.exclude(valid_until__lte=now).exclude(valid_from__gt=now)
        return queryset


@admin.register(User)
class PersonAdmin(AuditedModelAdmin, DjangoUserAdmin):
    audit_prefix = "person"
    audit_additions = False  # services.onboard_person records person.onboard
    add_form = OnboardingForm
    form = UserChangeForm
    list_display = (
        "username",
        "display_name",
        "employee_number",
        "role",
        "department",
        "is_active",
        "valid_until",
    )
    list_filter = ("role", "department", "is_active", ValidityFilter)
    search_fields = ("username", "display_name", "employee_number", "email", "job_title")
    ordering = ("display_name", "username")
    readonly_fields = ("last_login", "date_joined", "offboarded_at", "has_pin")
    actions = ("offboard", "reactivate")
    autocomplete_fields = ("sponsor",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Person"),
            {
                "fields": (
                    "display_name",
                    "first_name",
                    "last_name",
                    "email",
                    "employee_number",
                    "department",
                    "job_title",
                    "has_pin",
                )
            },
        ),
        (_("Role and access"), {"fields": ("role", "is_active", "valid_from", "valid_until")}),
        (_("Sponsor"), {"fields": ("sponsor",)}),
        (_("History"), {"fields": ("last_login", "date_joined", "offboarded_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": OnboardingForm.Meta.fields + ("password", "pin")}),
    )

    @admin.display(boolean=True, description="PIN set")
    def has_pin(self, obj: User) -> bool:
        return obj.has_pin

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not services.may_offboard(actor=request.user, person=obj):
            # The change form must not offboard (or demote) whom the actions may not.
            fields = (*fields, "role", "is_active", "valid_from", "valid_until")
        return fields

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if change:
            role_changed = "role" in form.changed_data
            super().save_model(request, obj, form, change)
            if role_changed:
                services.assign_role(person=obj, role=obj.role, actor=request.user)
            return
        data = form.cleaned_data
        person = services.onboard_person(
            username=data["username"],
            role=data["role"],
            display_name=data["display_name"],
            employee_number=data.get("employee_number"),
            email=data.get("email", ""),
            department=data.get("department"),
            job_title=data.get("job_title", ""),
            password=data.get("password") or None,
            pin=data.get("pin") or None,
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
            sponsor=data.get("sponsor"),
            actor=request.user,
        )
        # The admin goes on with this instance (redirects, its own "added" log entry).
        obj.pk = person.pk
        obj._state.adding = False
        obj._state.db = person._state.db

    def save_related(self, request, form, formsets, change) -> None:
        # Role groups are managed by services.assign_role; the add form has no m2m fields.
        if change:
            super().save_related(request, form, formsets, change)

    def has_offboard_permission(self, request) -> bool:
        # Who may be offboarded is services.may_offboard's rule, per person, in the action.
        return self.has_change_permission(request)

    def _change_standing(self, request, queryset, change, verb: str) -> None:
        done, refused = 0, []
        for person in queryset:
            try:
                change(person=person, actor=request.user)
            except NotAllowedToOffboard:
                refused.append(str(person))
            else:
                done += 1
        self.message_user(request, f"{verb} {done} person(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not allowed for: {', '.join(refused)}.", messages.ERROR)

    @admin.action(
        description="Offboard (deactivate and revoke face templates)", permissions=["offboard"]
    )
    def offboard(self, request, queryset) -> None:
        self._change_standing(
            request, queryset.filter(is_active=True), services.offboard_person, "Offboarded"
        )

    @admin.action(description="Reactivate", permissions=["offboard"])
    def reactivate(self, request, queryset) -> None:
        self._change_standing(
            request, queryset.filter(is_active=False), services.reactivate_person, "Reactivated"
        )


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}


@admin.register(Device)
class DeviceAdmin(AuditedModelAdmin):
    audit_prefix = "device"
    audit_additions = False  # services.register_device records device.register
    list_display = (
        "name",
        "kind",
        "location",
        "is_active",
        "liveness_required",
        "token_prefix",
        "last_seen_at",
    )
    list_filter = ("kind", "is_active")
    search_fields = ("name", "location")
    readonly_fields = ("token_prefix", "created_at", "last_seen_at", "revoked_at")
    fields = ("name", "kind", "location", "is_active", "liveness_required") + readonly_fields
    actions = ("revoke", "new_token")

    def save_model(self, request, obj: Device, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        device, token = services.register_device(
            name=obj.name, kind=obj.kind, location=obj.location, actor=request.user
        )
        obj.pk, obj._state.adding, obj._state.db = device.pk, False, device._state.db
        messages.warning(request, f"Token for {device.name} (shown once, store it now): {token}")

    @admin.action(description="Revoke (the device is refused at once)")
    def revoke(self, request, queryset) -> None:
        for device in queryset:
            services.revoke_device(device=device, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} device(s).", messages.SUCCESS)

    @admin.action(description="Issue a new token (the old one stops working)")
    def new_token(self, request, queryset) -> None:
        for device in queryset:
            token = services.rotate_device_token(device=device, actor=request.user)
            messages.warning(request, f"New token for {device.name} (shown once): {token}")


# Role groups are managed by the data migration and roles.py; editing them by hand drifts.
admin.site.unregister(Group)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Admins read and filter the trail; nobody can add, change or delete it."""

    list_display = ("at", "actor_label", "action", "outcome", "target_label", "device", "ip")
    list_filter = ("action", "outcome", "device")
    search_fields = ("actor_label", "target_label", "target_id", "action")
    date_hierarchy = "at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccessAttempt)
class LoginLockoutAdmin(admin.ModelAdmin):
    """Password sign-in failures per username and address (django-axes); unlock is audited."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"
    actions = ("unlock",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(
        description="Unlock: these sign-ins may try again at once", permissions=["delete"]
    )
    def unlock(self, request, queryset) -> None:
        count = 0
        for attempt in queryset:
            services.unlock_login(attempt=attempt, actor=request.user)
            count += 1
        self.message_user(request, f"Unlocked {count} sign-in(s).", messages.SUCCESS)

    def get_actions(self, request):
        # Only the audited unlock: the bulk delete would unlock without a trace.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
