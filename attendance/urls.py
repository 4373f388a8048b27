from django.urls import path

from . import views

app_name = "attendance"

urlpatterns = [
    path("kiosk/", views.kiosk, name="kiosk"),
    path("clock/", views.clock, name="clock"),
    path("enrol/", views.enrol, name="enrol"),
    path("me/", views.timesheet, name="timesheet"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<int:pk>/", views.approval_decide, name="approval-decide"),
]
