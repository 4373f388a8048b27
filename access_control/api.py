"""Access-control API: door checks, the access log, the guard console feed, alerts."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Device, Role
from accounts.permissions import DOOR
from accounts.query_params import query_int
from accounts.throttles import FACE_THROTTLES
from biometrics import services as biometrics
from biometrics.errors import MissingImage

from . import selectors, services
from .models import AccessEvent, Alert
from .reasons import LOG_TIME_FORMAT, door_text, liveness_label, reason_label

CONSOLE_ROLES = (Role.ADMIN, Role.GUARD)
LOG_ROLES = (Role.ADMIN, Role.GUARD, Role.MANAGER)
FEED_LIMIT = 100


def _filters(q) -> dict:
    """The access log's filters; a bad integer is a 400 (accounts.query_params)."""
    return {
        "since": query_int(q, "since", minimum=0),
        "area": query_int(q, "area"),
        "point": query_int(q, "point"),
        "decision": q.get("decision", ""),
        "person": q.get("person", "").strip(),
    }


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S") if moment else ""


def _local_when(moment) -> str:
    """Date and time in the site's zone: a log row or an alert may be from another day."""
    return date_format(timezone.localtime(moment), LOG_TIME_FORMAT) if moment else ""


def event_json(event: AccessEvent) -> dict:
    person = event.person
    return {
        "id": event.pk,
        "at": event.created_at.isoformat(),
        "time": _local(event.created_at),
        "when": _local_when(event.created_at),
        "point": {"id": event.access_point_id, "name": event.access_point.name},
        "area": {"id": event.area_id, "name": str(event.area)},
        "person": (
            {"id": person.pk, "name": str(person), "role": person.get_role_display()}
            if person
            else None
        ),
        "decision": event.decision,
        "reason": event.reason,
        "reason_label": reason_label(event.reason),
        "rule": str(event.rule) if event.rule_id else None,
        "pass": event.visitor_pass_id,
        "score": round(event.score, 4) if event.score is not None else None,
        "threshold": round(event.threshold, 4) if event.threshold is not None else None,
        "model": event.model_version,
        "liveness": event.liveness,
        "liveness_label": liveness_label(event.liveness),
    }


def alert_json(alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": alert.get_kind_display(),
        "state": alert.state,
        "message": alert.message,
        # Where it happened: a door, else a device (a kiosk), else only the person.
        "point": alert.access_point.name if alert.access_point_id else None,
        "device": alert.device.name if alert.device_id else None,
        "person": str(alert.person) if alert.person_id else None,
        "where": alert.where,
        "count": alert.event_count,
        "created": _local_when(alert.created_at),
        "last": _local_when(alert.last_at),
        "acknowledged_by": str(alert.acknowledged_by) if alert.acknowledged_by_id else None,
        "acknowledged_at": _local_when(alert.acknowledged_at),
        "note": alert.note,
    }


class CheckRequest(serializers.Serializer):
    frames = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="A liveness burst (JPEG frames, in order) recorded after POST "
        "/api/access/challenge/; required at doors whose device requires liveness.",
    )
    nonce = serializers.CharField(required=False, help_text="The challenge's nonce (with frames).")
    streamed = serializers.BooleanField(
        required=False,
        help_text="The capture was streamed to /api/biometrics/liveness/stream/ under "
        "``nonce``: claim its decision (no frames here).",
    )
    image = serializers.FileField(
        required=False, help_text="One photo: only at doors whose device has liveness off."
    )
    pin = serializers.CharField(required=False, help_text="Face + PIN doors.")
    badge = serializers.CharField(required=False, help_text="Badge + face doors.")
    request_id = serializers.CharField(
        required=False, help_text="Client id of this attempt: a retry with it returns the first."
    )


class CheckResponse(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["granted", "denied"])
    reason = serializers.CharField()
    reason_text = serializers.CharField(help_text="For the person at the door.")
    person = serializers.DictField(allow_null=True)
    rule = serializers.CharField(allow_null=True)
    event = serializers.IntegerField()
    liveness = serializers.DictField(
        allow_null=True, help_text="checked, passed, reason (e.g. no_challenge_response)."
    )


class ChallengeResponse(serializers.Serializer):
    nonce = serializers.CharField()
    challenges = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    capture = serializers.DictField(help_text="seconds, fps, width, quality of the burst.")
    stream = serializers.DictField(
        help_text="fps, chunk_seconds, max_seconds, width, quality of a streamed capture."
    )


class ChallengeView(APIView):
    """A door terminal asks for a liveness challenge before a check: one action (blink or a
    head turn), two at a door whose effective security level is high. The nonce is bound to
    this door's device, single use, and expires within FACEAUTH_CHALLENGE_TTL_SECONDS."""

    allowed_roles = (DOOR,)
    throttle_classes = FACE_THROTTLES

    @extend_schema(request=None, responses={201: ChallengeResponse})
    def post(self, request):
        device = request.auth if isinstance(request.auth, Device) else None
        challenge = services.issue_door_challenge(device=device)
        return Response(
            {
                "nonce": challenge.nonce,
                "challenges": challenge.challenges,
                "expires_at": challenge.expires_at,
                "capture": services.capture_settings(),
                "stream": services.stream_settings(),
            },
            status=status.HTTP_201_CREATED,
        )


class CheckView(APIView):
    """A door terminal asks: may the person in this burst (or photo) enter? Logs one event.

    A face that cannot be used (none, several, poor quality) is a denial with reason
    ``low_quality`` (200), never an error; a missing or undecodable file is a 400. A failed
    liveness check or a nonce attack (reused nonce, replayed frames, another door's nonce) is
    a denial with reason ``spoof_suspected`` (200) that raises the spoof alert; a missing,
    unknown or expired nonce, or a single image where liveness is required, is a 400 with its
    code and no event."""

    allowed_roles = (DOOR,)
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": CheckRequest}, responses=CheckResponse)
    def post(self, request):
        device = request.auth if isinstance(request.auth, Device) else None
        frames = [f.read() for f in request.FILES.getlist("frames")]
        upload = request.FILES.get("image")
        nonce = str(request.data.get("nonce", "") or "")
        streamed = biometrics.claims_stream(
            nonce=nonce, frames=frames, flag=request.data.get("streamed")
        )
        if not frames and upload is None and not streamed:
            raise MissingImage()
        result = services.check_access(
            device=device,
            image=None if frames or streamed else upload.read(),
            frames=frames or None,
            nonce=nonce,
            streamed=streamed,
            pin=request.data.get("pin", "") or "",
            badge=request.data.get("badge", "") or "",
            request_id=request.data.get("request_id", "") or "",
        )
        event = result.event
        person = event.person
        response = Response(
            {
                "decision": event.decision,
                "reason": event.reason,
                "reason_text": door_text(event.reason),
                "person": (
                    {"id": person.pk, "name": person.first_name_for_greeting or str(person)}
                    if person
                    else None
                ),
                "rule": str(event.rule) if event.rule_id else None,
                "event": event.pk,
                "liveness": (
                    {k: event.liveness.get(k) for k in ("checked", "passed", "reason")}
                    if event.liveness
                    else None
                ),
            }
        )
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class EventListView(APIView):
    """The access log the caller may read (guards and admins all, managers their areas)."""

    allowed_roles = LOG_ROLES

    @extend_schema(responses=dict)
    def get(self, request):
        q = request.query_params
        events = selectors.filter_events(
            selectors.events_visible_to(user=request.user), **_filters(q)
        )
        limit = min(query_int(q, "limit", default=FEED_LIMIT), 500)
        newest = events.order_by("-created_at", "-pk")[:limit]
        return Response({"results": [event_json(e) for e in newest]})


class ConsoleFeedView(APIView):
    """Everything the guard console shows, polled every ~2 s with ``since`` (last event id)."""

    allowed_roles = CONSOLE_ROLES

    @extend_schema(responses=dict)
    def get(self, request):
        filters = _filters(request.query_params)
        since = filters["since"]
        # Read the high-water mark first: an event committed meanwhile is picked up next poll.
        last_id = AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        events = selectors.filter_events(selectors.events_visible_to(user=request.user), **filters)
        events = events.filter(pk__lte=last_id)
        if since:
            new = list(events.order_by("pk")[:FEED_LIMIT])
            if len(new) == FEED_LIMIT:
                last_id = new[-1].pk  # a burst: the rest comes with the next poll
        else:
            new = list(reversed(events.order_by("-pk")[: FEED_LIMIT // 2]))
        return Response(
            {
                "events": [event_json(e) for e in new],
                "last_id": max([since or 0, last_id]),
                "alerts": [alert_json(a) for a in selectors.open_alerts()[:50]],
                "inside": [
                    {
                        "area": str(group["area"]),
                        "people": [
                            {
                                "name": str(e.person),
                                "role": e.person.get_role_display(),
                                "since": _local(e.created_at),
                                "point": e.access_point.name,
                            }
                            for e in group["events"]
                        ],
                    }
                    for group in selectors.people_inside()
                ],
                "visitors": [
                    {
                        "name": str(v["pass"].visitor),
                        "kind": v["pass"].get_kind_display(),
                        "sponsor": str(v["pass"].sponsor),
                        "until": date_format(
                            timezone.localtime(v["pass"].ends_at), "MONTH_DAY_TIME_FORMAT"
                        ),
                        "areas": ", ".join(str(a) for a in v["pass"].areas.all()),
                        "last_entry": (
                            f"{_local(v['last_entry'].created_at)} {v['last_entry'].access_point}"
                            if v["last_entry"]
                            else None
                        ),
                    }
                    for v in selectors.visitors_on_site()
                ],
            }
        )


class AlertActionRequest(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class AlertAcknowledgeView(APIView):
    allowed_roles = CONSOLE_ROLES

    @extend_schema(request=AlertActionRequest, responses=dict)
    def post(self, request, pk: int):
        alert = get_object_or_404(Alert, pk=pk)
        alert = services.acknowledge_alert(
            alert=alert, user=request.user, note=str(request.data.get("note", ""))
        )
        return Response(alert_json(alert))


class AlertCloseView(APIView):
    allowed_roles = CONSOLE_ROLES

    @extend_schema(request=AlertActionRequest, responses=dict)
    def post(self, request, pk: int):
        alert = get_object_or_404(Alert, pk=pk)
        alert = services.close_alert(
            alert=alert, user=request.user, note=str(request.data.get("note", ""))
        )
        return Response(alert_json(alert), status=status.HTTP_200_OK)
