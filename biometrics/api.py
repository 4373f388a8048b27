"""Biometrics API: enrol, verify, identify, analyse a frame, revoke. Views stay thin."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import DomainError
from accounts.limits import AttemptLimit, Policy
from accounts.models import Device, Role
from accounts.permissions import ALL_PEOPLE, DOOR, KIOSK, role_of
from accounts.throttles import (
    FACE_THROTTLES,
    FaceDeviceThrottle,
    FaceGuidanceThrottle,
    FaceIPThrottle,
    rate_policy,
)

from . import privacy, selectors, services
from .errors import InactivePerson, MissingImage, NoTemplates, UnknownPerson
from .models import EnrolmentJob, PolicyDocument

DEVICES = (KIOSK, DOOR)


class ForbiddenForPerson(DomainError):
    code = "forbidden"
    message = _("You may not act for this person.")
    status_code = status.HTTP_403_FORBIDDEN


def _image_bytes(request, field: str = "image") -> bytes:
    upload = request.FILES.get(field)
    if upload is None:
        raise MissingImage()
    return upload.read()


def _capture(request) -> dict:
    """A single image, or a liveness burst (frames + nonce), and the calling device."""
    device = request.auth if isinstance(request.auth, Device) else None
    frames = [f.read() for f in request.FILES.getlist("frames")]
    if frames:
        return {"frames": frames, "nonce": request.data.get("nonce", ""), "device": device}
    return {"image": _image_bytes(request), "device": device}


def _person_param(request, *, default_self: bool):
    raw = request.data.get("person")
    if raw in (None, "") and default_self and getattr(request.user, "pk", None):
        return request.user
    return services.resolve_person(raw)


class EnrolmentRequest(serializers.Serializer):
    person = serializers.IntegerField(required=False, help_text="Defaults to yourself.")
    images = serializers.ListField(child=serializers.FileField(), min_length=3, max_length=5)


class EnrolmentJobSerializer(serializers.ModelSerializer):
    person = serializers.IntegerField(source="person_id")
    progress = serializers.IntegerField()
    samples = serializers.SerializerMethodField()

    class Meta:
        model = EnrolmentJob
        fields = (
            "id",
            "person",
            "status",
            "progress",
            "total",
            "processed",
            "accepted",
            "error",
            "samples",
            "created_at",
        )

    def get_samples(self, job: EnrolmentJob) -> list[dict]:
        return [
            {"position": s.position, "status": s.status, "reason": s.reason, "message": s.message}
            for s in job.samples.all()
        ]


class EnrolmentListView(APIView):
    """Queue an enrolment (202 + job). Admins enrol anybody, guards visitors and contractors,
    everybody else only themselves; a face that matches another person is held for review."""

    allowed_roles = ALL_PEOPLE
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        request={"multipart/form-data": EnrolmentRequest}, responses={202: EnrolmentJobSerializer}
    )
    def post(self, request):
        person = _person_param(request, default_self=True)
        # Who may enrol whom is decided by start_enrolment (enrolment_checks.may_enrol).
        images = [f.read() for f in request.FILES.getlist("images")]
        job = services.start_enrolment(person=person, images=images, requested_by=request.user)
        job.refresh_from_db()
        return Response(EnrolmentJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class EnrolmentDetailView(APIView):
    allowed_roles = ALL_PEOPLE

    @extend_schema(responses=EnrolmentJobSerializer)
    def get(self, request, pk):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=pk)
        return Response(EnrolmentJobSerializer(job).data)


class ImageRequest(serializers.Serializer):
    image = serializers.FileField()


class VerifyRequest(ImageRequest):
    person = serializers.IntegerField(required=False, help_text="Defaults to yourself.")


class MatchSerializer(serializers.Serializer):
    match = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    model = serializers.CharField(allow_null=True)


# What a kiosk learns from a claim that did not verify, whatever the reason: no match, or a
# person unknown, inactive or not enrolled (all alike, security finding 6).
NOT_VERIFIED = {"match": False, "score": None, "threshold": None, "model": None}


class IdentifySerializer(MatchSerializer):
    person = serializers.DictField(allow_null=True)


class VerifyView(APIView):
    """1:1 against a person's templates. People verify only themselves (admins anybody); a
    kiosk verifies a claim (an employee at a shared screen) and learns only whether it matched:
    an unknown, inactive or not enrolled person answers as a non-match, after the same capture
    checks. Doors decide through /api/access/check/ (rules, access log), never here."""

    allowed_roles = ALL_PEOPLE + (KIOSK,)
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": VerifyRequest}, responses=MatchSerializer)
    def post(self, request):
        capture = _capture(request)
        where = str(request.user)
        if capture["device"] is not None:
            return Response(self._device_claim(request, capture, where))
        person = _person_param(request, default_self=True)
        if role_of(request.user) != Role.ADMIN and person.pk != request.user.pk:
            raise ForbiddenForPerson()
        result = services.verify_person(person=person, where=where, **capture)
        return Response(_match(result))

    @staticmethod
    def _device_claim(request, capture: dict, where: str) -> dict:
        try:
            person = services.resolve_person(request.data.get("person"))
            result = services.verify_person(person=person, where=where, **capture)
        except (UnknownPerson, InactivePerson, NoTemplates):
            services.check_capture(where=where, **capture)  # the same work, the same answer
            return NOT_VERIFIED
        # Like identify: the kiosk learns whether the claim matched, never how close it came.
        return {**NOT_VERIFIED, "match": True} if result.match else NOT_VERIFIED


def _match(result) -> dict:
    return {
        "match": result.match,
        "score": result.score,
        "threshold": result.threshold,
        "model": result.model,
    }


class IdentifyView(APIView):
    """1:N over everybody enrolled: the best person, or none."""

    allowed_roles = (Role.ADMIN,) + DEVICES
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": ImageRequest}, responses=IdentifySerializer)
    def post(self, request):
        result = services.identify_face(where=str(request.user), **_capture(request))
        person = result.person
        # Scores are for the admin tuning the system; a device learns who, never how close a
        # stranger came to somebody's templates (security finding 16).
        scored = not isinstance(request.auth, Device)
        return Response(
            {
                "match": result.match,
                "person": (
                    {"id": person.pk, "display_name": str(person), "role": person.role}
                    if person
                    else None
                ),
                "score": result.score if scored else None,
                "threshold": result.threshold if scored else None,
                "model": result.model if scored else None,
            }
        )


class AnalyseRequest(ImageRequest):
    pose = serializers.ChoiceField(
        choices=("frontal", "left", "right"),
        required=False,
        help_text="Enrolment: the pose asked for; the photo must show it, eyes open "
        "(issues turn_left, turn_right, look_straight, eyes_closed; pose.yaw, pose.eyes).",
    )


class AnalyseView(APIView):
    """Live guidance for camera pages: face boxes and quality issues, no embedding."""

    allowed_roles = ALL_PEOPLE + DEVICES
    throttle_classes = (FaceGuidanceThrottle, FaceIPThrottle)
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": AnalyseRequest}, responses=dict)
    def post(self, request):
        pose = None
        if request.data.get("pose") not in (None, ""):
            data = AnalyseRequest(data={"pose": request.data.get("pose")}, partial=True)
            data.is_valid(raise_exception=True)
            pose = data.validated_data["pose"]
        return Response(services.analyse_frame(image=_image_bytes(request), pose=pose))


class PersonTemplatesView(APIView):
    """Admins: a person's template summary (GET) or revocation of all of them (DELETE)."""

    allowed_roles = (Role.ADMIN,)

    @extend_schema(responses=dict)
    def get(self, request, person_id):
        person = services.resolve_person(person_id)
        return Response(selectors.template_summary(person=person))

    @extend_schema(responses=dict)
    def delete(self, request, person_id):
        person = services.resolve_person(person_id)
        deleted = services.revoke_templates(person=person, actor=request.user)
        return Response({"deleted": deleted})


class ChallengeRequest(serializers.Serializer):
    person = serializers.IntegerField(
        required=False, help_text="Personal mode: the person who will be verified (yourself)."
    )


class ChallengeThrottle(FaceDeviceThrottle):
    """Challenges per device (or person): FACEAUTH_THROTTLE_RATES["face_challenge"], else the
    device rate."""

    scope = "face_challenge"

    def __init__(self):
        super().__init__()
        self.limit = AttemptLimit(f"throttle-{self.scope}", _challenge_rate)


def _challenge_rate() -> Policy:
    rates = settings.FACEAUTH_THROTTLE_RATES
    return rate_policy(rates.get(ChallengeThrottle.scope) or rates[FaceDeviceThrottle.scope])


class ChallengeView(APIView):
    """A liveness challenge with its single-use nonce, bound to the calling device (or you).
    The device's requirement decides the actions (two at a high-security door), whichever
    endpoint is asked; a new challenge replaces the open one and keeps its actions."""

    allowed_roles = ALL_PEOPLE + DEVICES
    throttle_classes = (ChallengeThrottle, *FACE_THROTTLES)

    @extend_schema(request=ChallengeRequest, responses=dict)
    def post(self, request):
        device = request.auth if isinstance(request.auth, Device) else None
        person = None if device else request.user
        challenge = services.issue_challenge(device=device, person=person)
        return Response(
            {
                "nonce": challenge.nonce,
                "challenges": challenge.challenges,
                "expires_at": challenge.expires_at,
                "capture": services.CAPTURE_SETTINGS,
                "stream": services.STREAM_SETTINGS,
            },
            status=status.HTTP_201_CREATED,
        )


class StreamChunkRequest(serializers.Serializer):
    nonce = serializers.CharField(help_text="The challenge's nonce.")
    seq = serializers.IntegerField(min_value=0, max_value=1000, help_text="0, 1, 2, ...")
    frames = serializers.ListField(
        child=serializers.FileField(), help_text="The JPEG frames filmed since the last chunk."
    )
    t = serializers.ListField(
        child=serializers.FloatField(),
        required=False,
        help_text="Each frame's capture time in ms on the page's clock.",
    )


class LivenessStreamView(APIView):
    """A streamed liveness capture, chunk by chunk (``seq`` 0, 1, ...) for one nonce: 202 while
    the evidence does not suffice yet (``prompt``: ask for the action again, in big letters),
    200 once decided (``passed``, ``reason``). The decision is then claimed once by the page's
    final request (clock, door check or verify) with ``nonce`` and ``streamed=1``, which
    records it as a burst's would be. Nonce errors as for a burst (400/403/409)."""

    allowed_roles = ALL_PEOPLE + DEVICES
    throttle_classes = (FaceGuidanceThrottle, FaceIPThrottle)
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": StreamChunkRequest}, responses=dict)
    def post(self, request):
        data = StreamChunkRequest(data=request.data)
        data.is_valid(raise_exception=True)
        device = request.auth if isinstance(request.auth, Device) else None
        answer = services.stream_liveness(
            nonce=data.validated_data["nonce"],
            seq=data.validated_data["seq"],
            frames=[f.read() for f in request.FILES.getlist("frames")],
            times_ms=request.data.getlist("t") or None,
            device=device,
            person=None if device else request.user,
        )
        body = {
            "state": "decided" if answer.decided else "pending",
            "passed": answer.passed,
            "reason": answer.reason,
            "prompt": answer.prompt,
            "challenges": list(answer.challenges),
            "span_s": answer.span_s,
        }
        return Response(body, status=200 if answer.decided else status.HTTP_202_ACCEPTED)


class ConsentRequest(serializers.Serializer):
    version = serializers.IntegerField(help_text="The consent text version that was shown.")


class ConsentView(APIView):
    """Your biometric consent: read it with the current text, give it, or withdraw it
    (withdrawal erases your face data at once)."""

    allowed_roles = ALL_PEOPLE

    @extend_schema(responses=dict)
    def get(self, request):
        consent = privacy.active_consent(request.user)
        document = privacy.current_policy(PolicyDocument.Kind.CONSENT)
        return Response(
            {
                "given": consent is not None,
                "given_at": consent.given_at if consent else None,
                "version": consent.document.version if consent else None,
                "current": (
                    {"version": document.version, "title": document.title, "text": document.body}
                    if document
                    else None
                ),
            }
        )

    @extend_schema(request=ConsentRequest, responses={201: dict})
    def post(self, request):
        data = ConsentRequest(data=request.data)
        data.is_valid(raise_exception=True)
        consent = privacy.give_consent(
            person=request.user,
            channel="self_service",
            document_version=data.validated_data["version"],
        )
        return Response(
            {"given": True, "version": consent.document.version}, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses=dict)
    def delete(self, request):
        counts = privacy.withdraw_consent(person=request.user, actor=request.user)
        return Response({"given": False, "erased": counts})


class MyFaceDataView(APIView):
    """ "Delete my face data": templates, samples and everything linked to the face."""

    allowed_roles = ALL_PEOPLE

    @extend_schema(responses=dict)
    def delete(self, request):
        return Response(
            {"erased": privacy.erase_face_data(person=request.user, actor=request.user)}
        )
