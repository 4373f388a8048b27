from django.urls import path

from . import views

app_name = "identity"

urlpatterns = [
    path("face/", views.face_step, name="face"),
    path("apps/", views.authorised_apps, name="apps"),
    path("apps/<str:client_id>/revoke/", views.revoke_app, name="app-revoke"),
    path("passkeys/", views.passkeys_page, name="passkeys"),
    path("passkeys/confirm/", views.confirm_password, name="passkey-confirm"),
    path("passkeys/<int:pk>/remove/", views.remove_passkey, name="passkey-remove"),
]
