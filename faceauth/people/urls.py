from django.urls import path

from . import views

app_name = "people"

urlpatterns = [
    path("", views.directory, name="list"),
    path("add/", views.add, name="add"),
    path("import/", views.import_csv, name="import"),
    path("export.csv", views.export_csv, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/offboard/", views.offboard, name="offboard"),
    path("<int:pk>/reactivate/", views.reactivate, name="reactivate"),
    path("<int:pk>/enrolment-link/", views.issue_link, name="link"),
    path("<int:pk>/enrolment-link/<int:link_id>/revoke/", views.revoke_link, name="link-revoke"),
]
