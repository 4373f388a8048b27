from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language
from drf_spectacular.views import SpectacularAPIView

from accounts.permissions import STAFF, HasRole
from biometrics import views as biometrics_views
from identity import views as identity_views

from . import authorization, health, metrics, views

admin.site.site_header = "FaceAuth administration"
admin.site.site_title = "FaceAuth admin"
admin.site.index_title = "People, roles, devices and biometrics"
# Every ModelAdmin takes its permissions, actions and row scope from the authorization table.
authorization.enforce_admin(admin.site)


class SchemaView(SpectacularAPIView):
    """The API description is for the people who run FaceAuth, not for devices or visitors."""

    permission_classes = [HasRole]
    allowed_roles = STAFF


urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # The language switcher (a POST with CSRF, sets the language cookie) and the scripts'
    # translations (docs/i18n.md). No browser caching of the catalog: its URL is the same
    # in every language, and the switcher must take effect on the next page.
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("privacy/", biometrics_views.privacy_notice, name="privacy-notice"),
    path("privacy/retention/", biometrics_views.retention_policy, name="retention-policy"),
    path("accounts/", include("accounts.urls")),
    path("api/accounts/", include("accounts.api_urls")),
    path("api/biometrics/", include("biometrics.api_urls")),
    # The subject-access export gathers every app's part, so the wiring layer serves it; it
    # keeps the address it had under attendance.
    path("attendance/me/export.json", views.subject_access_export, name="subject-access-export"),
    path("attendance/", include("attendance.urls")),
    path("api/attendance/", include("attendance.api_urls")),
    path("access/", include("access_control.urls")),
    path("api/access/", include("access_control.api_urls")),
    path("reports/", include("reports.urls")),
    path("people/", include("faceauth.people.urls")),
    path("devices/", include("faceauth.devices.urls")),
    # A one-time enrolment link: the token in the URL is the credential.
    path("enrol/", include("biometrics.link_urls")),
    # Identity provider (docs/identity.md): OpenID Connect under /o/, the sign-in's face step.
    path("o/", include("identity.oidc_urls")),
    path("identity/", include("identity.urls")),
    path("api/identity/face/", identity_views.FaceStepView.as_view(), name="api-identity-face"),
    # Passkeys (docs/identity.md, "Passkeys"): register one (signed in), sign in with one.
    path(
        "api/identity/passkeys/register/options/",
        identity_views.PasskeyRegisterOptionsView.as_view(),
        name="api-passkey-register-options",
    ),
    path(
        "api/identity/passkeys/register/",
        identity_views.PasskeyRegisterView.as_view(),
        name="api-passkey-register",
    ),
    path(
        "api/identity/passkeys/sign-in/options/",
        identity_views.PasskeySignInOptionsView.as_view(),
        name="api-passkey-sign-in-options",
    ),
    path(
        "api/identity/passkeys/sign-in/",
        identity_views.PasskeySignInView.as_view(),
        name="api-passkey-sign-in",
    ),
    # SCIM 2.0 provisioning (docs/identity.md, "Provisioning"): a provisioning token only.
    path("scim/v2/", include("identity.scim.urls")),
    path(
        "api/schema/",
        SchemaView.as_view(),
        name="api-schema",
    ),
]
