from django.conf import settings

from .navigation import menu_for


def navigation(request) -> dict:
    return {
        "nav_items": menu_for(getattr(request, "user", None)),
        "display_time_zone": settings.DISPLAY_TIME_ZONE,
    }
