from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from . import checklist, navigation, subject_access


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict = {"terminals": navigation.terminal_links(request.user)}
    context["checklist"] = checklist.first_run(request.user)
    return render(request, "home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@login_required
def subject_access_export(request: HttpRequest) -> JsonResponse:
    """Subject access export (GDPR art. 15): the signed-in person's own data, as JSON."""
    data = subject_access.export_for(person=request.user, actor=request.user)
    response = JsonResponse(data, json_dumps_params={"indent": 2})
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="faceauth-my-data-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response
