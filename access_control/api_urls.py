from django.urls import path

from . import api

urlpatterns = [
    path("check/", api.CheckView.as_view(), name="api-access-check"),
    path("challenge/", api.ChallengeView.as_view(), name="api-access-challenge"),
    path("events/", api.EventListView.as_view(), name="api-access-events"),
    path("console/", api.ConsoleFeedView.as_view(), name="api-access-console"),
    path(
        "alerts/<int:pk>/acknowledge/",
        api.AlertAcknowledgeView.as_view(),
        name="api-access-alert-acknowledge",
    ),
    path("alerts/<int:pk>/close/", api.AlertCloseView.as_view(), name="api-access-alert-close"),
]
