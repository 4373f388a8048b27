"""Admins register OpenID clients (the toolkit's Application admin with FaceAuth's required
assurance inline) and SCIM provisioning clients."""

from django.contrib import admin, messages
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.models import get_application_model

from .models import ClientPolicy, ProvisioningClient

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
