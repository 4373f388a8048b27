"""Attendance pages: kiosk (a paired device), personal clock, enrolment and timesheet."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import DomainError
from accounts.models import Role
from accounts.permissions import device_page, page_roles
from biometrics import selectors as biometric_selectors

from . import conf, selectors, services
from .forms import CorrectionRequestForm

TIMESHEET_WEEKS = 4


def _camera_config(**extra) -> dict:
    return {
        "clockUrl": "/api/attendance/clock/",
        "analyseUrl": "/api/biometrics/analyse/",
        "challengeUrl": "/api/biometrics/challenge/",
        "streamUrl": "/api/biometrics/liveness/stream/",
        "debounceSeconds": conf.get("ATTENDANCE_DEBOUNCE_SECONDS"),
        "timeZone": settings.DISPLAY_TIME_ZONE,
        **extra,
    }


@device_page("kiosk")
def kiosk(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "attendance/kiosk.html",
        {
            "device": request.device,
            "config": _camera_config(
                mode="kiosk", liveness=biometric_selectors.liveness_required(request.device)
            ),
        },
    )


@login_required
def clock(request: HttpRequest) -> HttpResponse:
    state = selectors.person_state(person=request.user)
    return render(
        request,
        "attendance/clock.html",
        {
            "state": state,
            "enrolled": biometric_selectors.has_templates(person=request.user),
            "config": _camera_config(
                mode="personal",
                nextDirection=state["next_direction"],
                liveness=biometric_selectors.liveness_required(None),
            ),
        },
    )


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "attendance/enrol.html",
        {
            "enrolled": biometric_selectors.has_templates(person=request.user),
            "config": {
                "enrolUrl": "/api/biometrics/enrolments/",
                "analyseUrl": "/api/biometrics/analyse/",
                "consentUrl": "/api/biometrics/consent/",
                "faceDataUrl": "/api/biometrics/me/face-data/",
                "clockPageUrl": "/attendance/clock/",
            },
        },
    )


@login_required
def timesheet(request: HttpRequest) -> HttpResponse:
    person = request.user
    form = CorrectionRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_correction(
                person=person,
                requested_by=person,
                direction=form.cleaned_data["direction"],
                timestamp=form.cleaned_data["timestamp"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your correction request was sent to your manager."))
            return redirect("attendance:timesheet")
    today = timezone.localdate()
    start = today - timedelta(days=today.weekday() + 7 * (TIMESHEET_WEEKS - 1))
    days, weeks = selectors.timesheet(person=person, start=start, end=today)
    return render(
        request,
        "attendance/timesheet.html",
        {
            "form": form,
            "weeks": list(reversed(weeks)),
            "days": days,
            "state": selectors.person_state(person=person),
            "events": selectors.recent_events(person=person),
            "corrections": selectors.corrections_of(person=person),
            "schedule": selectors.schedule_for(person=person),
            "daily_limit_hours": conf.get("ATTENDANCE_DAILY_LIMIT_HOURS"),
            "weekly_limit_hours": conf.get("ATTENDANCE_WEEKLY_LIMIT_HOURS"),
            "display_time_zone": settings.DISPLAY_TIME_ZONE,
            "enrolled": biometric_selectors.has_templates(person=person),
            "config": {"faceDataUrl": "/api/biometrics/me/face-data/"},
        },
    )


APPROVERS = (Role.ADMIN, Role.MANAGER)


def _approvals_page(request: HttpRequest, *, status: int = 200, error: str = "") -> HttpResponse:
    return render(
        request,
        "attendance/approvals.html",
        {
            "pending": selectors.pending_approvals(user=request.user),
            "decided": selectors.recent_decisions(user=request.user),
            "error": error,
        },
        status=status,
    )


@page_roles(*APPROVERS)
def approvals(request: HttpRequest) -> HttpResponse:
    """Corrections and PIN fall-back reviews to decide: managers their department, admins all
    (selectors.pending_approvals; services.may_decide decides each)."""
    return _approvals_page(request)


@page_roles(*APPROVERS)
@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    correction = get_object_or_404(selectors.corrections_visible_to(user=request.user), pk=pk)
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "").strip()
    if decision not in ("approve", "reject"):
        return _approvals_page(request, status=400, error=_("Choose Approve or Reject."))
    if decision == "reject" and not note:
        return _approvals_page(
            request,
            status=400,
            error=_("Please say why you reject it: the person sees the note."),
        )
    try:
        services.decide_correction(
            correction=correction, approve=decision == "approve", reviewer=request.user, note=note
        )
    except DomainError as exc:
        return _approvals_page(request, status=exc.status_code, error=exc.message)
    done = _("Approved: %(person)s.") if decision == "approve" else _("Rejected: %(person)s.")
    messages.success(request, done % {"person": correction.person})
    return redirect("attendance:approvals")
