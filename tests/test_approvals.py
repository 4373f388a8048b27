"""Approvals in the app (attendance approvals page): managers decide the corrections and PIN
fall-back reviews of their department, admins of everybody, nobody their own; with a note,
audited."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Department
from attendance import services
from attendance.models import ClockEvent, Correction, CorrectionKind

pytestmark = pytest.mark.django_db


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _missing_out(person) -> Correction:
    return services.request_correction(
        person=person,
        requested_by=person,
        direction="out",
        timestamp=timezone.now() - timedelta(hours=2),
        reason="Forgot to clock out",
    )


@pytest.fixture
def pin_review(people, kiosk):
    """A real PIN clock-in at the kiosk: it waits for a manager's review."""
    from accounts import services as account_services

    employee = people["employee"]
    account_services.set_pin(person=employee, pin="482913")
    result = services.clock(
        capture_id=uuid.uuid4(),
        device=kiosk,
        employee_number=employee.employee_number,
        pin="482913",
    )
    assert result.event.pin_fallback and result.event.needs_review
    return Correction.objects.get(kind=CorrectionKind.REVIEW, event=result.event)


def test_manager_approves_a_correction_of_their_department_with_a_note(people):
    correction = _missing_out(people["employee"])
    manager = _login(people["manager"])
    page = manager.get(reverse("attendance:approvals"))
    assert page.status_code == 200 and b"Forgot to clock out" in page.content
    response = manager.post(
        reverse("attendance:approval-decide", args=[correction.pk]),
        {"decision": "approve", "note": "OK, seen on the camera log."},
    )
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.status == "approved" and correction.decided_by == people["manager"]
    assert correction.decision_note == "OK, seen on the camera log."
    assert correction.created_event.method == "correction"
    entry = AuditEntry.objects.get(action="correction.approved")
    assert entry.actor == people["manager"] and entry.details["note"] is True
    # The employee sees the decision and its note on their timesheet.
    timesheet = _login(people["employee"]).get(reverse("attendance:timesheet"))
    assert "OK, seen on the camera log." in timesheet.content.decode()


def test_manager_rejects_a_pin_fallback_with_a_reason(people, pin_review):
    manager = _login(people["manager"])
    page = manager.get(reverse("attendance:approvals")).content.decode()
    assert "PIN clock-in" in page and "Kiosk 1" in page
    url = reverse("attendance:approval-decide", args=[pin_review.pk])
    no_note = manager.post(url, {"decision": "reject", "note": "  "})
    assert no_note.status_code == 400 and b"Please say why" in no_note.content
    assert manager.post(url, {"decision": "maybe"}).status_code == 400
    response = manager.post(url, {"decision": "reject", "note": "Was on leave that day."})
    assert response.status_code == 302
    pin_review.refresh_from_db()
    assert pin_review.status == "rejected"
    assert AuditEntry.objects.filter(action="correction.rejected").exists()
    # Rejected: the PIN event no longer counts.
    assert (
        not ClockEvent.objects.filter(pk=pin_review.event_id)
        .exclude(pk__in=Correction.objects.filter(status="rejected").values("event_id"))
        .exists()
    )
    # Deciding twice is refused with a clear 4xx.
    again = manager.post(url, {"decision": "approve"})
    assert again.status_code == 409


def test_a_manager_sees_and_decides_only_their_department(people, make_person):
    other_department = Department.objects.create(name="Sales", code="sales")
    outsider = make_person("employee", department=other_department)
    theirs = _missing_out(outsider)
    ours = _missing_out(people["employee"])
    manager = _login(people["manager"])
    page = manager.get(reverse("attendance:approvals")).content.decode()
    assert f'data-correction="{ours.pk}"' in page
    assert f'data-correction="{theirs.pk}"' not in page
    refused = manager.post(
        reverse("attendance:approval-decide", args=[theirs.pk]), {"decision": "approve"}
    )
    assert refused.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"
    # Admins see and decide everybody's.
    admin = _login(people["admin"])
    page = admin.get(reverse("attendance:approvals")).content.decode()
    assert f'data-correction="{theirs.pk}"' in page and f'data-correction="{ours.pk}"' in page
    done = admin.post(
        reverse("attendance:approval-decide", args=[theirs.pk]), {"decision": "approve"}
    )
    assert done.status_code == 302


def test_nobody_decides_their_own_correction(people):
    own = _missing_out(people["manager"])
    manager = _login(people["manager"])
    page = manager.get(reverse("attendance:approvals")).content.decode()
    assert f'data-correction="{own.pk}"' not in page
    response = manager.post(
        reverse("attendance:approval-decide", args=[own.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.status == "pending"


def test_employees_guards_and_visitors_have_no_approvals_page(people):
    for role in ("employee", "guard", "visitor"):
        assert _login(people[role]).get(reverse("attendance:approvals")).status_code == 403
    assert Client().get(reverse("attendance:approvals")).status_code == 302
