"""Public policy pages: anyone may read them, before any account exists."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from . import privacy
from .models import PolicyDocument


def policy_page(request: HttpRequest, kind: str) -> HttpResponse:
    document = privacy.current_policy(kind)
    if document is None:
        raise Http404("Not published yet")
    history = PolicyDocument.objects.filter(kind=kind).values("version", "published_at")
    return render(request, "biometrics/policy.html", {"document": document, "history": history})


def privacy_notice(request: HttpRequest) -> HttpResponse:
    return policy_page(request, PolicyDocument.Kind.PRIVACY_NOTICE)


def retention_policy(request: HttpRequest) -> HttpResponse:
    return policy_page(request, PolicyDocument.Kind.RETENTION_POLICY)
