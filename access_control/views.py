"""Pages: the door terminal, the guard console, the access log, visitor passes."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import DomainError
from accounts.models import Role
from accounts.permissions import device_page, page_roles, role_of
from accounts.query_params import InvalidQueryParameter, query_int
from biometrics.selectors import has_templates, liveness_required

from . import selectors, services, sponsoring
from .forms import EnrolForm, ExtendForm, PassForm, RevokeForm
from .models import AccessPoint, Decision
from .reasons import DOOR_TEXT, LOG_TIME_FORMAT

CONSOLE_ROLES = (Role.ADMIN, Role.GUARD)
LOG_ROLES = (Role.ADMIN, Role.GUARD, Role.MANAGER)


@device_page("door")
def door(request: HttpRequest, pk: int) -> HttpResponse:
    point = get_object_or_404(AccessPoint.objects.select_related("area"), pk=pk)
    if point.device_id != request.device.pk:
        # A terminal paired as one door must not act as another.
        raise PermissionDenied
    return render(
        request,
        "access_control/door.html",
        {
            "point": point,
            "config": {
                "checkUrl": reverse("api-access-check"),
                "challengeUrl": reverse("api-access-challenge"),
                "streamUrl": reverse("api-liveness-stream"),
                "analyseUrl": "/api/biometrics/analyse/",
                # A live challenge before every check, unless turned off for this door.
                "liveness": liveness_required(request.device),
                "mode": point.mode,
                "texts": {k: str(v) for k, v in DOOR_TEXT.items()},
            },
        },
    )


@page_roles(*CONSOLE_ROLES)
def console(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "access_control/console.html",
        {
            **selectors.console_filters(),
            "decisions": Decision.choices,
            "config": {
                "feedUrl": reverse("api-access-console"),
                "alertUrl": "/api/access/alerts/",
                "intervalMs": 2000,
                "timeZone": settings.DISPLAY_TIME_ZONE,
            },
        },
    )


@page_roles(*LOG_ROLES)
def event_log(request: HttpRequest) -> HttpResponse:
    q = request.GET
    try:
        area, point = query_int(q, "area"), query_int(q, "point")
    except InvalidQueryParameter as exc:
        return HttpResponseBadRequest(str(exc.message))
    events = selectors.filter_events(
        selectors.events_visible_to(user=request.user),
        area=area,
        point=point,
        decision=q.get("decision", ""),
        person=q.get("person", "").strip(),
    ).order_by("-created_at", "-pk")[:200]
    return render(
        request,
        "access_control/events.html",
        {
            "events": events,
            "decisions": Decision.choices,
            "time_format": LOG_TIME_FORMAT,
            **selectors.console_filters(),
        },
    )


@page_roles(*selectors.PASS_ISSUERS)
def pass_list(request: HttpRequest) -> HttpResponse:
    passes = selectors.passes_visible_to(user=request.user).order_by("-starts_at")[:200]
    now = timezone.now()
    rows = [{"pass": p, "status": p.status(now)} for p in passes]
    return render(request, "access_control/pass_list.html", {"rows": rows})


@page_roles(*selectors.PASS_ISSUERS)
def pass_create(request: HttpRequest) -> HttpResponse:
    can_choose = role_of(request.user) in CONSOLE_ROLES
    form = PassForm(request.POST or None, user=request.user, can_choose_sponsor=can_choose)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sponsor = data.get("sponsor") or request.user
        try:
            with transaction.atomic():
                # A refused pass leaves no newly registered person behind.
                visitor = data["visitor"] or services.register_visitor(
                    display_name=data["new_name"],
                    role=data["new_role"] or Role.VISITOR,
                    email=data.get("new_email", ""),
                    sponsor=sponsor,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    actor=request.user,
                )
                visitor_pass = services.create_pass(
                    visitor=visitor,
                    sponsor=sponsor,
                    created_by=request.user,
                    areas=list(data["areas"]),
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    purpose=data["purpose"],
                    registered_now=data["visitor"] is None,
                    widen_validity=data.get("widen_validity", False),
                )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if visitor_pass.is_pending():
                messages.warning(
                    request,
                    _(
                        "Pass created for %(visitor)s: it opens no door until a guard or admin "
                        "approves it (high-security area)."
                    )
                    % {"visitor": visitor},
                )
            else:
                messages.success(request, _("Pass created for %(visitor)s.") % {"visitor": visitor})
            return redirect("access:pass-detail", pk=visitor_pass.pk)
    return render(request, "access_control/pass_form.html", {"form": form})


@page_roles(*selectors.PASS_ISSUERS)
def pass_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visitor_pass = get_object_or_404(selectors.passes_visible_to(user=request.user), pk=pk)
    extend_form = ExtendForm(initial={"ends_at": timezone.localtime(visitor_pass.ends_at)})
    revoke_form = RevokeForm()
    enrol_form = EnrolForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "extend":
                extend_form = ExtendForm(request.POST)
                if extend_form.is_valid():
                    services.extend_pass(
                        visitor_pass=visitor_pass,
                        ends_at=extend_form.cleaned_data["ends_at"],
                        actor=request.user,
                        widen_validity=extend_form.cleaned_data["widen_validity"],
                    )
                    messages.success(request, _("Pass extended."))
                    return redirect("access:pass-detail", pk=pk)
            elif action == "revoke":
                revoke_form = RevokeForm(request.POST)
                if revoke_form.is_valid():
                    services.revoke_pass(
                        visitor_pass=visitor_pass,
                        actor=request.user,
                        reason=revoke_form.cleaned_data["reason"],
                    )
                    messages.success(request, _("Pass revoked: the doors refuse it from now on."))
                    return redirect("access:pass-detail", pk=pk)
            elif action == "enrol":
                images = [f.read() for f in request.FILES.getlist("photos")]
                services.enrol_visitor(
                    visitor_pass=visitor_pass,
                    images=images,
                    actor=request.user,
                    consent_signed=request.POST.get("consent") == "on",
                    consent_evidence=request.POST.get("consent_evidence", ""),
                )
                messages.success(request, _("Photos received: the face is being enrolled."))
                return redirect("access:pass-detail", pk=pk)
            elif action == "approve":
                services.approve_pass(visitor_pass=visitor_pass, actor=request.user)
                messages.success(request, _("Pass approved: it opens its doors from now on."))
                return redirect("access:pass-detail", pk=pk)
        except DomainError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "access_control/pass_detail.html",
        {
            "p": visitor_pass,
            "status": visitor_pass.status(),
            "enrolled": has_templates(person=visitor_pass.visitor),
            "extend_form": extend_form,
            "revoke_form": revoke_form,
            "enrol_form": enrol_form,
            # Enrolling someone else's face is a reception task (biometrics enforces it).
            "can_enrol": role_of(request.user) in CONSOLE_ROLES,
            "can_approve": visitor_pass.is_pending()
            and sponsoring.may_approve(user=request.user, visitor_pass=visitor_pass),
            "events": selectors.events_visible_to(user=request.user)
            .filter(person=visitor_pass.visitor)
            .order_by("-created_at", "-pk")[:20]
            if role_of(request.user) in LOG_ROLES
            else [],
            "time_format": LOG_TIME_FORMAT,
        },
    )
