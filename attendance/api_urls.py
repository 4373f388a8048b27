from django.urls import path

from . import api

urlpatterns = [
    path("clock/", api.ClockView.as_view(), name="api-attendance-clock"),
    path("events/", api.EventListView.as_view(), name="api-attendance-events"),
    path("sessions/", api.SessionListView.as_view(), name="api-attendance-sessions"),
]
