from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from . import navigation


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"terminals": navigation.terminal_links(request.user)})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
