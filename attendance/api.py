"""Attendance API: clock in/out, and the events and sessions a role may read. Views stay thin."""

from datetime import date

from django.utils.dateparse import parse_date
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import DomainError
from accounts.models import Device
from accounts.permissions import ALL_PEOPLE, KIOSK
from accounts.query_params import query_int
from accounts.throttles import FACE_THROTTLES
from biometrics import services as biometrics

from . import selectors, services
from .models import ClockEvent, WorkSession


class PersonField(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField(source="__str__")
    first_name = serializers.CharField(source="first_name_for_greeting")
    employee_number = serializers.CharField(allow_null=True)


class ClockEventSerializer(serializers.ModelSerializer):
    person = PersonField()
    local_time = serializers.SerializerMethodField()
    device = serializers.CharField(source="device.name", default=None)

    class Meta:
        model = ClockEvent
        fields = (
            "id",
            "person",
            "direction",
            "timestamp",
            "local_time",
            "device",
            "method",
            "score",
            "threshold",
            "model_version",
            "liveness",
            "redacted_at",
            "pseudonym",
            "needs_review",
            "pin_fallback",
            "manual_override",
        )

    def get_local_time(self, event: ClockEvent) -> str:
        return f"{services.local_time(event.timestamp):%H:%M}"


class WorkSessionSerializer(serializers.ModelSerializer):
    person = PersonField()
    duration_seconds = serializers.SerializerMethodField()
    needs_attention = serializers.BooleanField()

    class Meta:
        model = WorkSession
        fields = (
            "id",
            "person",
            "work_date",
            "started_at",
            "ended_at",
            "status",
            "duration_seconds",
            "needs_attention",
        )

    def get_duration_seconds(self, session: WorkSession) -> int | None:
        return int(session.duration.total_seconds()) if session.duration else None


class ClockRequest(serializers.Serializer):
    capture_id = serializers.UUIDField(help_text="Made by the client; a retry sends it again.")
    frames = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="A liveness burst (JPEG frames, in order) recorded after POST "
        "/api/biometrics/challenge/; required wherever liveness is on.",
    )
    nonce = serializers.CharField(required=False, help_text="The challenge's nonce (with frames).")
    streamed = serializers.BooleanField(
        required=False,
        help_text="The capture was streamed to /api/biometrics/liveness/stream/ under "
        "``nonce``: claim its decision (no frames here).",
    )
    image = serializers.FileField(
        required=False, help_text="One photo: only at kiosks whose device has liveness off."
    )
    employee_number = serializers.CharField(required=False, help_text="PIN fallback (kiosk).")
    pin = serializers.CharField(required=False)
    direction = serializers.ChoiceField(
        choices=("in", "out"), required=False, help_text="Override; default toggles."
    )


class ClockResponse(serializers.Serializer):
    created = serializers.BooleanField()
    replayed = serializers.BooleanField()
    message = serializers.CharField()
    greeting = serializers.CharField()
    event = ClockEventSerializer()


class ClockView(APIView):
    """Kiosks identify 1:N (or take employee number + PIN); a signed-in person is verified 1:1
    against their own face. 201 for a new event, 200 when a capture was debounced.

    The face is a liveness burst (``frames`` + ``nonce`` from POST /api/biometrics/challenge/)
    or, only where liveness is off, one ``image``. A failed liveness check is 422
    ``spoof_suspected`` (with ``reason``), a reused nonce or replayed frames 409, an unknown or
    expired nonce or a single image where liveness is required 400; no event is recorded. A
    retry (same ``capture_id`` and content) gets the first answer, a refusal included."""

    allowed_roles = ALL_PEOPLE + (KIOSK,)
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        request={"multipart/form-data": ClockRequest},
        responses={201: ClockResponse, 200: ClockResponse},
    )
    def post(self, request):
        device = request.auth if isinstance(request.auth, Device) else None
        upload = request.FILES.get("image")
        frames = [f.read() for f in request.FILES.getlist("frames")]
        nonce = str(request.data.get("nonce", "") or "")
        result = services.clock(
            capture_id=request.data.get("capture_id"),
            device=device,
            actor=None if device else request.user,
            image=upload.read() if upload else None,
            frames=frames or None,
            nonce=nonce,
            streamed=biometrics.claims_stream(
                nonce=nonce, frames=frames, flag=request.data.get("streamed")
            ),
            employee_number=request.data.get("employee_number"),
            pin=request.data.get("pin"),
            direction=request.data.get("direction"),
        )
        event = result.event
        body = {
            "created": result.created,
            "replayed": result.replayed,
            "message": result.message,
            "greeting": gettext("Hello, %(name)s")
            % {"name": event.person.first_name_for_greeting or event.person},
            "event": ClockEventSerializer(event).data,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


DATE_FILTERS = [
    OpenApiParameter("from", str, description="First local date (YYYY-MM-DD)"),
    OpenApiParameter("to", str, description="Last local date (YYYY-MM-DD)"),
    OpenApiParameter("person", int),
]


class InvalidDate(DomainError):
    code = "invalid_date"
    message = _("Dates are YYYY-MM-DD.")


def _date(raw: str | None) -> date | None:
    try:
        value = parse_date(raw or "")
    except ValueError as exc:
        raise InvalidDate() from exc
    if raw and value is None:
        raise InvalidDate()
    return value


class _ScopedList(generics.ListAPIView):
    # Devices only clock; reading attendance is for people, scoped by role in selectors.
    allowed_roles = ALL_PEOPLE
    date_field = ""

    def filter_dates(self, queryset):
        params = self.request.query_params
        person = query_int(params, "person")
        if person is not None:
            queryset = queryset.filter(person_id=person)
        start, end = _date(params.get("from")), _date(params.get("to"))
        if start:
            queryset = queryset.filter(**{f"{self.date_field}__gte": start})
        if end:
            queryset = queryset.filter(**{f"{self.date_field}__lte": end})
        return queryset


@extend_schema(parameters=DATE_FILTERS)
class EventListView(_ScopedList):
    serializer_class = ClockEventSerializer
    date_field = "timestamp__date"

    def get_queryset(self):
        return self.filter_dates(selectors.events_visible_to(user=self.request.user))


@extend_schema(parameters=DATE_FILTERS)
class SessionListView(_ScopedList):
    serializer_class = WorkSessionSerializer
    date_field = "work_date"

    def get_queryset(self):
        return self.filter_dates(selectors.sessions_visible_to(user=self.request.user))
