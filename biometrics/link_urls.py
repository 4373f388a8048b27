from django.urls import path

from . import link_views

urlpatterns = [
    path("<str:token>/", link_views.enrol_page, name="enrol-link"),
    path("<str:token>/consent/", link_views.LinkConsentView.as_view(), name="enrol-link-consent"),
    path("<str:token>/analyse/", link_views.LinkAnalyseView.as_view(), name="enrol-link-analyse"),
    path("<str:token>/photos/", link_views.LinkPhotosView.as_view(), name="enrol-link-photos"),
    path(
        "<str:token>/photos/<uuid:job_id>/",
        link_views.LinkJobView.as_view(),
        name="enrol-link-job",
    ),
]
