from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone

from access_control.selectors import passes_of_holder
from accounts.models import Role
from accounts.permissions import role_of
from biometrics.selectors import has_templates

from . import checklist, navigation, subject_access


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict = {"terminals": navigation.terminal_links(request.user)}
    context["checklist"] = checklist.first_run(request.user)
    if role_of(request.user) in (Role.VISITOR, Role.CONTRACTOR):
        # Visitors and contractors have no menu: their home page is their pass.
        passes = passes_of_holder(person=request.user)
        context["holder"] = {
            "passes": passes,
            "modes": sorted({mode for p in passes for mode in p["modes"]}),
            "has_face": has_templates(person=request.user),
        }
    return render(request, "home.html", context)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG icon."""
    response = redirect(static("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


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
