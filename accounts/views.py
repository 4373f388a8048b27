"""Pairing a browser as a kiosk or door terminal."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from .authentication import DEVICE_SESSION_KEY
from .models import Device


class PairForm(forms.Form):
    token = forms.CharField(
        label="Device token",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text="Shown once when an admin registered this kiosk or door.",
    )

    def clean_token(self) -> Device:
        token = self.cleaned_data["token"].strip()
        device = Device.objects.filter(token_hash=Device.hash_token(token), is_active=True).first()
        if device is None:
            raise forms.ValidationError("Unknown or revoked device token.")
        return device


def pair_device(request: HttpRequest) -> HttpResponse:
    next_url = request.GET.get("next") or request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = "/"
    form = PairForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = form.cleaned_data["token"]
        request.session.cycle_key()
        request.session[DEVICE_SESSION_KEY] = device.pk
        return redirect(next_url)
    return render(request, "accounts/pair_device.html", {"form": form, "next": next_url})


def unpair_device(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        request.session.pop(DEVICE_SESSION_KEY, None)
    return redirect("home")
