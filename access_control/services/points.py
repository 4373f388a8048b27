"""Doors and their terminals: which access point a door terminal (an accounts.Device) serves."""

from django.db import transaction

from accounts import audit
from accounts.models import Device, DeviceKind, User

from ..errors import NotADoorTerminal
from ..models import AccessMode, AccessPoint, Area


@transaction.atomic
def create_area(*, name: str, actor: User | None = None) -> Area:
    area = Area(name=name.strip())
    area.full_clean()
    area.save()
    audit.record_change(action="area.create", actor=actor, target=area, message="Created area")
    return area


@transaction.atomic
def assign_access_point(
    *,
    device: Device,
    actor: User | None = None,
    access_point: AccessPoint | None = None,
    name: str = "",
    area: Area | None = None,
    mode: str = AccessMode.FACE,
) -> AccessPoint:
    """Make ``device`` the terminal of ``access_point`` (its previous terminal, if any, serves
    no door any more), or of a new access point ``name`` in ``area``. Audited."""
    if device.kind != DeviceKind.DOOR:
        raise NotADoorTerminal()
    if access_point is None:
        access_point = AccessPoint(name=name.strip(), area=area, device=device, mode=mode)
        access_point.full_clean()
        access_point.save()
        message, previous = "Created access point", None
    else:
        access_point = AccessPoint.objects.select_for_update().get(pk=access_point.pk)
        previous = access_point.device_id
        access_point.device = device
        access_point.full_clean()
        access_point.save(update_fields=["device"])
        message = "Assigned a new door terminal"
    audit.record_change(
        action="access_point.device",
        actor=actor,
        target=access_point,
        message=message,
        details={"device": device.pk, "previous_device": previous},
    )
    return access_point
