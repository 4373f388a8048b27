"""Pairing a browser as a kiosk or door terminal; the password sign-in lock-out page."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from .authentication import pair_session, unpair_session
from .models import Device


class PairForm(forms.Form):
    token = forms.CharField(
        label=_("Device token"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text=_("Shown once when an admin registered this kiosk or door."),
    )

    def clean_token(self) -> Device:
        token = self.cleaned_data["token"].strip()
        device = Device.objects.filter(token_hash=Device.hash_token(token), is_active=True).first()
        if device is None:
            raise forms.ValidationError(_("Unknown or revoked device token."))
        return device


# Where a screen paired without a target goes: the wiring layer's page that sends a paired
# browser on to its kiosk or door (faceauth/devices). Named, not imported: accounts is lower.
PAIRED_HOME = "devices:screen"


def pair_device(request: HttpRequest) -> HttpResponse:
    next_url = request.GET.get("next") or request.POST.get("next") or reverse(PAIRED_HOME)
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse(PAIRED_HOME)
    form = PairForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = form.cleaned_data["token"]
        request.session.cycle_key()
        pair_session(request.session, device)
        return redirect(next_url)
    return render(request, "accounts/pair_device.html", {"form": form, "next": next_url})


def unpair_device(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        unpair_session(request.session)
    return redirect("home")


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """What django-axes answers on /accounts/login/ and /admin/login/ once a username at an
    address is locked (AXES_LOCKOUT_CALLABLE): a page, 429, and when to try again."""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit

    cool_off = get_cool_off(request)
    return locked_out_page(
        request,
        seconds=int(cool_off.total_seconds()) if cool_off else 0,
        username=get_client_username(request, credentials) or "",
        failure_limit=get_failure_limit(request, credentials),
    )


def locked_out_page(request: HttpRequest, *, seconds: int, **context) -> HttpResponse:
    """The sign-in lock-out page of both limits (axes' and the per-account one): 429, how many
    minutes to wait, and Retry-After when the wait is known."""
    response = render(
        request,
        "registration/locked_out.html",
        {**context, "minutes": max(1, -(-seconds // 60))},
        status=429,
    )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


class AccountLimitMiddleware:
    """Answers a sign-in refused by the per-account limit (``AccountAttemptBackend``) with the
    lock-out page, 429 and Retry-After, instead of "wrong password"."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        seconds = getattr(request, "account_retry_after", None)
        if not seconds:
            return response
        return locked_out_page(request, seconds=seconds, account=True)
