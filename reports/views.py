"""Report pages, their JSON data endpoints and CSV exports. Thin: parse the filters, build
the scope (permissions included), call the datasets, render."""

from datetime import date
from itertools import islice

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from accounts.models import User

from . import exports, selectors
from .forms import ReportFilterForm

DASHBOARD_ROWS = 500
TEMPLATES = {
    "attendance": "reports/attendance.html",
    "access": "reports/access.html",
    "security": "reports/security.html",
}


def _report_or_404(report: str) -> str:
    if report not in TEMPLATES:
        raise Http404
    return report


def _scope(request: HttpRequest, report: str, **overrides):
    """The filter form and the scope it gives; PermissionDenied before any parsing."""
    if not selectors.may_read(request.user, report):
        raise PermissionDenied
    form = ReportFilterForm(request.GET or None, user=request.user, report=report)
    kwargs = form.scope_kwargs() if form.is_bound and form.is_valid() else {}
    kwargs.update(overrides)
    return form, selectors.scope_for(user=request.user, report=report, **kwargs)


@login_required
def dashboard(request: HttpRequest, report: str) -> HttpResponse:
    report = _report_or_404(report)
    form, scope = _scope(request, report)
    query = request.GET.urlencode()
    return render(
        request,
        TEMPLATES[report],
        {
            "form": form,
            "scope": scope,
            "datasets": selectors.DATASETS[report],
            "query": query,
            "config": {
                "report": report,
                "dataUrl": reverse("reports:data", args=[report]),
                "exportUrl": reverse("reports:export", args=[report, "NAME"]),
                "query": query,
            },
        },
    )


@login_required
def data(request: HttpRequest, report: str) -> JsonResponse:
    report = _report_or_404(report)
    form, scope = _scope(request, report)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    tables = {}
    for name, dataset in selectors.DATASETS[report].items():
        if not dataset.on_dashboard:
            continue
        table = dataset.build(scope)
        total = table.count() if table.count else None
        rows = [list(r) for r in islice(table.rows, DASHBOARD_ROWS)]
        tables[name] = {
            "title": dataset.title,
            "columns": list(table.columns),
            "rows": rows,
            "total": total if total is not None else len(rows),
        }
    return JsonResponse({"filters": scope.as_params(), "tables": tables})


@login_required
def export(request: HttpRequest, report: str, name: str):
    report = _report_or_404(report)
    dataset = selectors.dataset(report, name)
    if dataset is None:
        raise Http404
    form, scope = _scope(request, report)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return exports.export_csv(
        request=request, dataset=dataset, scope=scope, table=dataset.build(scope)
    )


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    """One person's days: the manager's view of someone's timesheet."""
    form, scope = _scope(request, "attendance", person_id=pk)
    for field in ("person", "department"):
        form.fields.pop(field, None)
    person = get_object_or_404(scope.people(User.objects.all(), prefix=""), pk=pk)
    table = selectors.DATASETS["attendance"]["person_days"].build(scope)
    rows = [list(r) for r in table.rows]
    return render(
        request,
        "reports/person.html",
        {
            "form": form,
            "scope": scope,
            "person": person,
            "columns": table.columns,
            "rows": rows,
            # The table shows each day in the page's language; the rows keep ISO dates (CSV).
            "days": [{"date": date.fromisoformat(r[2]), "row": r} for r in rows],
            "totals": _totals(rows),
            "export_query": f"{request.GET.urlencode()}&person={pk}".lstrip("&"),
            "config": {"report": "person", "columns": list(table.columns), "rows": rows},
        },
    )


def _totals(rows: list[list]) -> dict:
    return {
        "days": len(rows),
        "hours": round(sum(r[6] for r in rows), 2),
        "overtime": round(sum(r[7] for r in rows), 2),
        "late_days": sum(1 for r in rows if r[8]),
        "late_minutes": sum(r[8] for r in rows),
    }
