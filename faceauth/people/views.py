"""The people directory. Thin views: each parses, calls the owning app's selector or service,
and renders. Who may see whom is accounts.selectors.people_visible_to (managers: their
department); who may change whom is accounts.services (may_offboard) and who may hand out an
enrolment link is biometrics.enrolment_checks.may_enrol."""

import hashlib

import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from accounts import audit, services
from accounts.errors import NotAllowedToOffboard
from accounts.models import Department, Role
from accounts.permissions import page_roles, role_of
from accounts.selectors import people_visible_to
from attendance import selectors as attendance_selectors
from biometrics import enrolment_links
from biometrics import selectors as biometric_selectors
from biometrics.errors import BiometricError
from reports.exports import csv_chunks

from . import forms, imports

PAGE_SIZE = 50
SESSION_KEY = "people-import"


staff_only = page_roles(Role.ADMIN, Role.MANAGER)
admin_only = page_roles(Role.ADMIN)


def _filtered(request: HttpRequest):
    people = people_visible_to(user=request.user)
    query = request.GET.get("q", "").strip()[:100]
    if query:
        people = people.filter(
            Q(display_name__icontains=query)
            | Q(username__icontains=query)
            | Q(employee_number__icontains=query)
            | Q(email__icontains=query)
            | Q(job_title__icontains=query)
        )
    role = request.GET.get("role", "")
    if role in Role.values:
        people = people.filter(role=role)
    department = request.GET.get("department", "")
    if department.isdigit():
        people = people.filter(department_id=int(department))
    status = request.GET.get("status", "active")
    if status == "active":
        people = people.filter(is_active=True)
    elif status == "offboarded":
        people = people.filter(is_active=False)
    return people, {"q": query, "role": role, "department": department, "status": status}


def _rows(people) -> list[dict]:
    ids = [p.pk for p in people]
    enrolment = biometric_selectors.enrolment_states(person_ids=ids)
    last_in = attendance_selectors.last_clock_ins(person_ids=ids)
    now = timezone.now()
    return [
        {
            "person": p,
            "enrolment": enrolment[p.pk],
            "last_clock_in": last_in.get(p.pk),
            "valid_now": p.is_within_validity(now),
        }
        for p in people
    ]


@staff_only
def directory(request: HttpRequest) -> HttpResponse:
    people, filters = _filtered(request)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "people/list.html",
        {
            "rows": _rows(page.object_list),
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "roles": Role.choices,
            "departments": Department.objects.all(),
            "may_edit": role_of(request.user) == Role.ADMIN,
        },
    )


@staff_only
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(people_visible_to(user=request.user), pk=pk)
    return _detail(request, person)


def _detail(request: HttpRequest, person, *, new_link: tuple | None = None, status: int = 200):
    is_admin = role_of(request.user) == Role.ADMIN
    context = {
        "row": _rows([person])[0],
        "person": person,
        "may_edit": is_admin,
        "may_offboard": is_admin and services.may_offboard(actor=request.user, person=person),
        "links": biometric_selectors.enrolment_links_of(person=person)[:5] if is_admin else [],
    }
    if new_link is not None:
        link, token = new_link
        url = request.build_absolute_uri(reverse("enrol-link", args=[token]))
        # Inline SVG: no script, no style attribute, so the strict CSP allows it.
        context["new_link"] = {
            "link": link,
            "url": url,
            "qr": segno.make(url, error="m").svg_inline(scale=5, dark="#111", light="#fff"),
        }
    return render(request, "people/detail.html", context, status=status)


def _issue(request: HttpRequest, person):
    try:
        return enrolment_links.issue_link(person=person, actor=request.user)
    except BiometricError as exc:
        messages.error(request, exc.message)
        return None


@admin_only
def add(request: HttpRequest) -> HttpResponse:
    form = forms.AddPersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        person = services.onboard_person(
            username=data["username"],
            role=data["role"],
            display_name=data["display_name"],
            employee_number=data.get("employee_number"),
            email=data.get("email", ""),
            department=data.get("department"),
            job_title=data.get("job_title", ""),
            password=data.get("password") or None,
            pin=data.get("pin") or None,
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
            sponsor=data.get("sponsor"),
            actor=request.user,
        )
        messages.success(
            request,
            _("%(person)s is added. Now their face: hand them the link below.")
            % {"person": person},
        )
        # The link's token is shown once, on this response (never stored in clear).
        return _detail(request, person, new_link=_issue(request, person), status=201)
    return render(request, "people/form.html", {"form": form, "adding": True})


@admin_only
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(people_visible_to(user=request.user), pk=pk)
    may_standing = services.may_offboard(actor=request.user, person=person)
    form = forms.EditPersonForm(
        request.POST or None,
        instance=people_visible_to(user=request.user).get(pk=pk),  # validated on a copy
        may_change_standing=may_standing,
    )
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            changed = services.update_person(person=person, actor=request.user, **changes)
        except NotAllowedToOffboard:
            raise PermissionDenied from None
        if changed:
            names = ", ".join(str(forms.PERSON_LABELS.get(name, name)) for name in changed)
            messages.success(request, _("Saved: %(fields)s.") % {"fields": names})
        else:
            messages.success(request, _("No change."))
        return redirect("people:detail", pk=person.pk)
    return render(request, "people/form.html", {"form": form, "person": person})


def _standing(request: HttpRequest, pk: int, change, verb: Promise) -> HttpResponse:
    person = get_object_or_404(people_visible_to(user=request.user), pk=pk)
    try:
        change(person=person, actor=request.user)
    except NotAllowedToOffboard:
        messages.error(
            request, _("You may not change whether %(person)s is active.") % {"person": person}
        )
        return redirect("people:detail", pk=pk)
    messages.success(request, verb % {"person": person})
    return redirect("people:detail", pk=pk)


@admin_only  # first: a refused principal hears so whatever the method
@require_POST
def offboard(request: HttpRequest, pk: int) -> HttpResponse:
    return _standing(request, pk, services.offboard_person, _lazy("%(person)s is offboarded."))


@admin_only  # first: a refused principal hears so whatever the method
@require_POST
def reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _standing(request, pk, services.reactivate_person, _lazy("%(person)s is reactivated."))


@admin_only  # first: a refused principal hears so whatever the method
@require_POST
def issue_link(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(people_visible_to(user=request.user), pk=pk)
    new_link = _issue(request, person)
    return _detail(request, person, new_link=new_link, status=201 if new_link else 409)


@admin_only  # first: a refused principal hears so whatever the method
@require_POST
def revoke_link(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    person = get_object_or_404(people_visible_to(user=request.user), pk=pk)
    link = get_object_or_404(biometric_selectors.enrolment_links_of(person=person), pk=link_id)
    enrolment_links.revoke_link(link=link, actor=request.user)
    messages.success(request, _("The enrolment link is revoked."))
    return redirect("people:detail", pk=pk)


@admin_only
def import_csv(request: HttpRequest) -> HttpResponse:
    """Upload: a dry run, shown as a preview. Confirm: the same file for real."""
    context: dict = {"form": forms.ImportForm(), "columns": imports.COLUMNS}
    if request.method == "POST" and "confirm" in request.POST:
        stored = request.session.get(SESSION_KEY) or {}
        if not stored or stored.get("digest") != request.POST.get("confirm"):
            messages.error(request, _("That preview is gone; upload the file again."))
            return redirect("people:import")
        results = imports.run_import(text=stored["text"], actor=request.user, dry_run=False)
        del request.session[SESSION_KEY]
        context.update(results=results, counts=imports.summary(results), done=True)
        return render(request, "people/import.html", context)
    if request.method == "POST":
        form = forms.ImportForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            text = form.cleaned_data["file"]
            try:
                results = imports.run_import(text=text, actor=request.user, dry_run=True)
            except imports.ImportFileError as exc:
                form.add_error("file", str(exc))
                return render(request, "people/import.html", context, status=400)
            digest = hashlib.sha256(text.encode()).hexdigest()
            request.session[SESSION_KEY] = {"digest": digest, "text": text}
            counts = imports.summary(results)
            context.update(results=results, counts=counts, digest=digest, preview=True)
        else:
            return render(request, "people/import.html", context, status=400)
    return render(request, "people/import.html", context)


@staff_only
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    people, filters = _filtered(request)
    rows = _rows(list(people))
    audit.record(
        "people.export",
        request=request,
        outcome="done",
        details={"rows": len(rows), **{k: v for k, v in filters.items() if v}},
    )
    response = StreamingHttpResponse(
        csv_chunks(imports.EXPORT_COLUMNS, imports.export_rows(rows)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="people-{stamp}.csv"'
    return response
