from django.urls import path

from . import api

urlpatterns = [
    path("enrolments/", api.EnrolmentListView.as_view(), name="api-enrolments"),
    path("enrolments/<uuid:pk>/", api.EnrolmentDetailView.as_view(), name="api-enrolment"),
    path("verify/", api.VerifyView.as_view(), name="api-verify"),
    path("identify/", api.IdentifyView.as_view(), name="api-identify"),
    path("analyse/", api.AnalyseView.as_view(), name="api-analyse"),
    path("challenge/", api.ChallengeView.as_view(), name="api-challenge"),
    path("liveness/stream/", api.LivenessStreamView.as_view(), name="api-liveness-stream"),
    path("consent/", api.ConsentView.as_view(), name="api-consent"),
    path("me/face-data/", api.MyFaceDataView.as_view(), name="api-my-face-data"),
    path(
        "people/<int:person_id>/templates/",
        api.PersonTemplatesView.as_view(),
        name="api-person-templates",
    ),
]
