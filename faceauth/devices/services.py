"""Adding a device is one change across two apps: the device (accounts) and, for a door, its
access point (access_control). One transaction, so a refused access point leaves no device."""

from django.db import transaction

from access_control import services as access_services
from access_control.models import AccessPoint, Area
from accounts import services as account_services
from accounts.models import Device, DeviceKind, User


@transaction.atomic
def add_device(
    *,
    name: str,
    kind: str,
    actor: User,
    location: str = "",
    access_point: AccessPoint | None = None,
    point_name: str = "",
    area: Area | None = None,
    new_area: str = "",
    mode: str = "face",
) -> tuple[Device, AccessPoint | None]:
    device, _token = account_services.register_device(
        name=name, kind=kind, location=location, actor=actor
    )
    point = None
    if kind == DeviceKind.DOOR:
        point = set_up_door(
            device=device,
            actor=actor,
            access_point=access_point,
            point_name=point_name or name,
            area=area,
            new_area=new_area,
            mode=mode,
        )
    # The token is not shown: a screen is paired by a one-time link; a terminal that calls
    # the API gets a token by rotating (shown once).
    return device, point


@transaction.atomic
def set_up_door(
    *,
    device: Device,
    actor: User,
    access_point: AccessPoint | None = None,
    point_name: str = "",
    area: Area | None = None,
    new_area: str = "",
    mode: str = "face",
) -> AccessPoint:
    if access_point is None and area is None:
        area = access_services.create_area(name=new_area, actor=actor)
    return access_services.assign_access_point(
        device=device,
        actor=actor,
        access_point=access_point,
        name=point_name,
        area=area,
        mode=mode,
    )
