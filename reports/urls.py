from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("attendance/", views.dashboard, {"report": "attendance"}, name="attendance"),
    path("access/", views.dashboard, {"report": "access"}, name="access"),
    path("security/", views.dashboard, {"report": "security"}, name="security"),
    path("attendance/person/<int:pk>/", views.person, name="person"),
    path("<slug:report>/data/", views.data, name="data"),
    path("<slug:report>/export/<slug:name>.csv", views.export, name="export"),
]
