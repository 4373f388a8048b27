"""Admins register OpenID clients (the toolkit's Application admin with FaceAuth's required
assurance inline) and SCIM provisioning clients, and remove people's passkeys."""

from django.contrib import admin, messages
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.models import get_application_model

from . import passkeys
from .models import ClientPolicy, Passkey, ProvisioningClient

Application = get_application_model()


class ClientPolicyInline(admin.StackedInline):
    model = ClientPolicy
    can_delete = False
    extra = 1
    max_num = 1


class ClientAdmin(ApplicationAdmin):
    inlines = [ClientPolicyInline]


admin.site.unregister(Application)
admin.site.register(Application, ClientAdmin)


@admin.register(ProvisioningClient)
class ProvisioningClientAdmin(admin.ModelAdmin):
    list_display = ("name", "token_prefix", "is_active", "created_at", "last_used_at")
    readonly_fields = ("token_prefix", "created_at", "last_used_at")
    fields = ("name", "is_active", "token_prefix", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        if not change:
            token = obj.issue_token()
            messages.warning(request, f"The SCIM bearer token (shown once): {token}")
        super().save_model(request, obj, form, change)


@admin.register(Passkey)
class PasskeyAdmin(admin.ModelAdmin):
    """See and remove (e.g. a lost phone); a passkey is only ever added by its owner."""

    list_display = ("person", "name", "backed_up", "created_at", "last_used_at")
    list_select_related = ("person",)
    search_fields = ("person__username", "person__display_name", "name")
    fields = (
        "person",
        "name",
        "transports",
        "backed_up",
        "sign_count",
        "created_at",
        "last_used_at",
    )
    readonly_fields = fields

    def delete_model(self, request, obj):
        passkeys.remove(passkey=obj, actor=request.user, reason="admin")

    def delete_queryset(self, request, queryset):
        for passkey in queryset.select_related("person"):
            passkeys.remove(passkey=passkey, actor=request.user, reason="admin")
