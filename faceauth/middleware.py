from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class DisplayTimezoneMiddleware:
    """Render times in the site's display time zone; the database stays in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(settings.DISPLAY_TIME_ZONE)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
