from django.urls import path

from . import views

app_name = "identity"

urlpatterns = [
    path("face/", views.face_step, name="face"),
    path("apps/", views.authorised_apps, name="apps"),
    path("apps/<str:client_id>/revoke/", views.revoke_app, name="app-revoke"),
]
