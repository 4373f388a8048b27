"""The enrolment link's page and the calls it makes: no sign-in, the token in the URL is the
credential (biometrics/enrolment_links.py). The page runs the same enrolment script as the
signed-in page (static/js/attendance-enrol.js) against these URLs."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.throttles import FACE_THROTTLES, FaceGuidanceThrottle, FaceIPThrottle

from . import enrolment_links, privacy, services
from .api import ConsentRequest, EnrolmentJobSerializer, ImageRequest, _image_bytes
from .errors import BiometricError
from .models import PolicyDocument


def enrol_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = enrolment_links.open_link(token, request=request)
    except BiometricError as exc:
        return render(
            request,
            "biometrics/enrol_link.html",
            {"error": exc.message},
            status=exc.status_code,
        )
    audit.record("enrolment_link.open", request=request, outcome="done", target=link.person)
    config = {
        "consentUrl": reverse("enrol-link-consent", args=[token]),
        "analyseUrl": reverse("enrol-link-analyse", args=[token]),
        "enrolUrl": reverse("enrol-link-photos", args=[token]),
        "withdraw": False,
    }
    return render(
        request,
        "biometrics/enrol_link.html",
        {"person": link.person, "expires_at": link.expires_at, "config": config},
    )


class LinkPhotosRequest(serializers.Serializer):
    images = serializers.ListField(child=serializers.FileField(), min_length=3, max_length=5)


class _LinkView(APIView):
    """Anonymous: the link's token is checked by every method."""

    authentication_classes = ()
    permission_classes = ()


class LinkConsentView(_LinkView):
    @extend_schema(responses=dict)
    def get(self, request, token):
        person = enrolment_links.open_link(token, request=request).person
        consent = privacy.active_consent(person)
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
    def post(self, request, token):
        data = ConsentRequest(data=request.data)
        data.is_valid(raise_exception=True)
        _, consent = enrolment_links.give_consent(
            token=token, version=data.validated_data["version"], request=request
        )
        return Response(
            {"given": True, "version": consent.document.version}, status=status.HTTP_201_CREATED
        )


class LinkAnalyseView(_LinkView):
    throttle_classes = (FaceGuidanceThrottle, FaceIPThrottle)
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(request={"multipart/form-data": ImageRequest}, responses=dict)
    def post(self, request, token):
        enrolment_links.open_link(token, request=request)
        return Response(services.analyse_frame(image=_image_bytes(request)))


class LinkPhotosView(_LinkView):
    throttle_classes = FACE_THROTTLES
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(
        request={"multipart/form-data": LinkPhotosRequest},
        responses={202: EnrolmentJobSerializer},
    )
    def post(self, request, token):
        images = [f.read() for f in request.FILES.getlist("images")]
        job = enrolment_links.start_enrolment(token=token, images=images, request=request)
        job.refresh_from_db()
        return Response(EnrolmentJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class LinkJobView(_LinkView):
    @extend_schema(responses=EnrolmentJobSerializer)
    def get(self, request, token, job_id):
        job = enrolment_links.job_of(token=token, job_id=job_id)
        return Response(EnrolmentJobSerializer(job).data)
