from django.urls import path

from . import views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("add/", views.device_add, name="add"),
    path("<int:pk>/", views.device_detail, name="detail"),
    path("<int:pk>/pairing-link/", views.pairing_link, name="link"),
    path("<int:pk>/rotate/", views.rotate, name="rotate"),
    path("<int:pk>/revoke/", views.revoke, name="revoke"),
    path("<int:pk>/access-point/", views.door_point, name="access-point"),
    # The screen's side: the one-time link (its token is the credential) and the landing page.
    path("pair/<str:token>/", views.pair, name="pair"),
    path("screen/", views.screen, name="screen"),
]
