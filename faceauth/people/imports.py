"""CSV import and export of people, keyed by employee number.

A row whose employee number is new is onboarded (accounts.services.onboard_person); a known
one is updated (accounts.services.update_person) in the columns the file has, so importing the
same file twice changes nothing. The whole run is one transaction with a savepoint per row: a
bad row is reported and skipped, the good ones go in. A dry run is the same run, rolled back,
so the preview shows exactly what the services would say.

Not django-import-export: its import workflow saves model instances itself, and every create
and change here must go through the services (validation, role groups, audit); what would be
left of it is reading a CSV.
"""

import csv
import io
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit, services
from accounts.errors import NotAllowedToOffboard
from accounts.models import Department, Role, User
from accounts.selectors import person_by_employee_number

COLUMNS = (
    "employee_number",
    "username",
    "display_name",
    "email",
    "role",
    "department",
    "job_title",
    "valid_from",
    "valid_until",
)
REQUIRED = ("employee_number", "display_name")
MAX_ROWS = 5000


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, missing columns, too many rows)."""


@dataclass
class RowResult:
    line: int
    employee_number: str
    name: str
    action: str = ""  # create | update | unchanged | error
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class RowForm(forms.Form):
    """One row's cells as values; the services validate the person."""

    employee_number = forms.CharField(max_length=32)
    username = forms.CharField(max_length=150, required=False)
    display_name = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[("", "")] + Role.choices, required=False)
    department = forms.CharField(required=False)
    job_title = forms.CharField(max_length=120, required=False)
    valid_from = forms.DateTimeField(required=False)
    valid_until = forms.DateTimeField(required=False)

    def clean_department(self) -> Department | None:
        value = self.cleaned_data["department"].strip()
        if not value:
            return None
        found = Department.objects.filter(code=value).first()
        found = found or Department.objects.filter(name__iexact=value).first()
        if found is None:
            raise ValidationError(
                _("Unknown department “%(value)s” (use its code or name).") % {"value": value}
            )
        return found


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError(_("The file is empty."))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(
            _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)}
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        if reader.line_num - 1 > MAX_ROWS:
            raise ImportFileError(
                _("More than %(rows)d rows; split the file.") % {"rows": MAX_ROWS}
            )
        cells = {k: (v or "").strip() for k, v in row.items() if k in COLUMNS}
        if any(cells.values()):
            rows.append((reader.line_num, cells))
    return header, rows


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            m if k == "__all__" else f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms
        ]
    return list(exc.messages)


def _apply(cells: dict, columns: set[str], actor: User | None) -> tuple[str, list[str]]:
    form = RowForm(cells)
    if not form.is_valid():
        raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
    data = form.cleaned_data
    person = person_by_employee_number(employee_number=data["employee_number"])
    if person is None:
        services.onboard_person(
            username=data["username"] or data["employee_number"].lower(),
            role=data["role"] or Role.EMPLOYEE,
            display_name=data["display_name"],
            employee_number=data["employee_number"],
            email=data["email"],
            department=data["department"],
            job_title=data["job_title"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            actor=actor,
        )
        return "create", []
    editable = set(services.EDITABLE_FIELDS) - {"employee_number", "sponsor"}
    changes = {name: data[name] for name in columns & editable}
    if data["role"]:
        changes["role"] = data["role"]
    changed = services.update_person(person=person, actor=actor, **changes)
    return ("update" if changed else "unchanged"), changed


def run_import(*, text: str, actor: User | None, dry_run: bool) -> list[RowResult]:
    """Import (or, with ``dry_run``, preview) a CSV; per-row results in file order."""
    header, rows = read_rows(text)
    columns = set(header)
    results = []
    with transaction.atomic():
        for line, cells in rows:
            result = RowResult(
                line=line,
                employee_number=cells.get("employee_number", ""),
                name=cells.get("display_name", ""),
            )
            try:
                with transaction.atomic():
                    result.action, result.changes = _apply(cells, columns, actor)
            except ValidationError as exc:
                result.action, result.errors = "error", _messages(exc)
            except NotAllowedToOffboard:
                result.action = "error"
                result.errors = [
                    _("Only a superuser may change the role or validity of this person.")
                ]
            results.append(result)
        if dry_run:
            transaction.set_rollback(True)
        else:
            counts = summary(results)
            audit.record("people.import", actor=actor, outcome="done", details=counts)
    return results


def summary(results: list[RowResult]) -> dict[str, int]:
    counts = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
    for result in results:
        counts[result.action] += 1
    return counts


EXPORT_COLUMNS = (*COLUMNS, "active", "enrolled", "consent", "last_clock_in")


def _when(value) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def export_rows(rows: list[dict]):
    """The directory's rows as CSV cells; the first columns re-import as they are."""
    for row in rows:
        person = row["person"]
        yield [
            person.employee_number or "",
            person.username,
            person.display_name,
            person.email,
            person.role,
            person.department.code if person.department else "",
            person.job_title,
            _when(person.valid_from),
            _when(person.valid_until),
            "yes" if person.is_active else "no",
            "yes" if row["enrolment"]["templates"] else "no",
            "yes" if row["enrolment"]["consent"] else "no",
            _when(row["last_clock_in"]),
        ]
