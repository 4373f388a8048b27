"""Devices and doors for admins, and the two pages a screen meets: the one-time pairing link and
the page that sends a paired screen on to its kiosk or door. Thin views: each parses, calls a
service or selector of the owning app, and renders."""

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from access_control import selectors as access_selectors
from accounts import pairing
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.authentication import device_from_session
from accounts.errors import DomainError
from accounts.models import Device, DeviceKind, Role
from accounts.permissions import page_roles

from . import forms, services

admin_only = page_roles(Role.ADMIN)


def screen_url(device: Device) -> str | None:
    """The page a paired screen shows: the kiosk, or its door (None: a door without one)."""
    if device.kind == DeviceKind.KIOSK:
        return reverse("attendance:kiosk")
    point = access_selectors.access_point_of(device=device)
    return reverse("access:door", args=[point.pk]) if point else None


def _qr_svg(url: str) -> str:
    svg = segno.make(url, error="m").svg_inline(scale=5, dark="#111", light="#fff")
    # Inline SVG with no style attribute: safe under the strict CSP. Its path data encodes our
    # own URL, so nothing in it is user text; named for screen readers.
    return mark_safe('<svg role="img" aria-label="QR code of the pairing link" ' + svg[5:])  # noqa: S308


def _detail(request: HttpRequest, device: Device, *, status: int = 200, **extra) -> HttpResponse:
    point = access_selectors.access_point_of(device=device) if device.kind == "door" else None
    context = {
        "device": device,
        "point": point,
        "door_form": forms.DoorForm() if device.kind == "door" and point is None else None,
        **extra,
    }
    return render(request, "devices/detail.html", context, status=status)


@admin_only
def device_list(request: HttpRequest) -> HttpResponse:
    devices = list(account_selectors.devices())
    points = access_selectors.access_points_of(device_ids=[d.pk for d in devices])
    rows = [{"device": d, "point": points.get(d.pk)} for d in devices]
    return render(request, "devices/list.html", {"rows": rows})


@admin_only
def device_add(request: HttpRequest) -> HttpResponse:
    initial = {"kind": request.GET.get("kind") if request.GET.get("kind") in DeviceKind else None}
    form = forms.DeviceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device, _point = services.add_device(
                name=data["name"],
                kind=data["kind"],
                location=data["location"],
                access_point=data["access_point"],
                point_name=data["point_name"],
                area=data["area"],
                new_area=data["new_area"],
                mode=data["mode"] or "face",
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, _("Added %(device)s. Now pair its screen.") % {"device": device}
            )
            return redirect("devices:detail", pk=device.pk)
    return render(request, "devices/add.html", {"form": form})


@admin_only
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, get_object_or_404(account_selectors.devices(), pk=pk))


@admin_only
@require_POST
def pairing_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue a one-time pairing link and show it (with its QR code) on this response only."""
    device = get_object_or_404(account_selectors.devices(), pk=pk)
    try:
        link, token = pairing.issue_pairing_link(device=device, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("devices:detail", pk=device.pk)
    url = request.build_absolute_uri(reverse("devices:pair", args=[token]))
    return _detail(request, device, link=link, link_url=url, qr=_qr_svg(url))


@admin_only
@require_POST
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new token (shown once, for a terminal that calls the API); every screen paired with
    the old one is unpaired."""
    device = get_object_or_404(account_selectors.devices(), pk=pk)
    token = account_services.rotate_device_token(device=device, actor=request.user)
    messages.success(request, _("New token issued: every screen paired before must be re-paired."))
    return _detail(request, device, new_token=token)


@admin_only
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(account_selectors.devices(), pk=pk)
    account_services.revoke_device(device=device, actor=request.user)
    messages.success(
        request,
        _("Revoked %(device)s: its token and paired screens stop at once.") % {"device": device},
    )
    return redirect("devices:detail", pk=device.pk)


@admin_only
@require_POST
def door_point(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a door terminal that has none its access point."""
    device = get_object_or_404(account_selectors.devices(), pk=pk, kind=DeviceKind.DOOR)
    form = forms.DoorForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_up_door(
                device=device,
                actor=request.user,
                access_point=data["access_point"],
                point_name=data["point_name"] or device.name,
                area=data["area"],
                new_area=data["new_area"],
                mode=data["mode"] or "face",
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Access point set."))
            return redirect("devices:detail", pk=device.pk)
    return _detail(request, device, status=400, door_form=form)


def pair(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link, opened on the screen. GET asks to confirm (a link previewer or a
    prefetch must not use it up); POST pairs this browser and goes on to the screen."""
    try:
        if request.method == "POST":
            device = pairing.redeem_pairing_link(token=token, request=request)
            return redirect(screen_url(device) or reverse("devices:screen"))
        link = pairing.open_pairing_link(token, request=request)
    except DomainError as exc:
        return render(request, "devices/pair.html", {"error": exc.message}, status=exc.status_code)
    return render(request, "devices/pair.html", {"device": link.device, "link": link})


def screen(request: HttpRequest) -> HttpResponse:
    """Where a paired browser goes when it has no target: its kiosk or door page."""
    device = device_from_session(request)
    if device is None:
        return redirect("pair-device")
    url = screen_url(device)
    if url is None:
        return render(request, "devices/pair.html", {"device": device, "unassigned": True})
    return redirect(url)
