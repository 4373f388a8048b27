from django.urls import path

from . import views

app_name = "access"

urlpatterns = [
    path("door/<int:pk>/", views.door, name="door"),
    path("console/", views.console, name="console"),
    path("events/", views.event_log, name="events"),
    path("passes/", views.pass_list, name="passes"),
    path("passes/new/", views.pass_create, name="pass-create"),
    path("passes/<int:pk>/", views.pass_detail, name="pass-detail"),
]
