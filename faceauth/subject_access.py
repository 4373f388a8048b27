"""The subject-access export (GDPR art. 15): everything FaceAuth holds about a person, as JSON.

It lives in the wiring layer because it gathers every app's part, each through that app's own
selectors: the profile (accounts), consents and template counts (biometrics), clock events,
sessions and corrections (attendance), door events and passes (access control).
"""

from django.conf import settings
from django.utils import timezone

from access_control import selectors as access_selectors
from accounts import audit
from accounts import selectors as account_selectors
from accounts.models import User
from attendance import selectors as attendance_selectors
from biometrics import selectors as biometric_selectors

FORMAT = "faceauth.subject_access.v2"  # v2: door events and passes are included

NOT_INCLUDED = {
    "face_templates": (
        "Not included: face templates are encrypted biometric data that are never exported. "
        "You can delete them at any time (Delete my face data, or withdraw your consent)."
    ),
    "pseudonymised_events": (
        "Clock and door events older than their retention period are pseudonymised (no longer "
        "linked to you) and are therefore not part of this export."
    ),
}


def export_for(*, person: User, actor: User | None = None) -> dict:
    """The export of ``person``, audited (``export.subject_access``, counts only)."""
    attendance = attendance_selectors.subject_access_section(person=person)
    access = access_selectors.subject_access_section(person=person)
    data = {
        "format": FORMAT,
        "generated_at": timezone.now().isoformat(),
        "time_zone": settings.DISPLAY_TIME_ZONE,
        "profile": account_selectors.subject_access_profile(person=person),
        "consents": biometric_selectors.consent_history(person=person),
        "face_templates": {
            "included": False,
            "count": biometric_selectors.template_summary(person=person)["count"],
            "why": NOT_INCLUDED["face_templates"],
        },
        **attendance,
        **access,
        "not_included": NOT_INCLUDED,
    }
    audit.record(
        "export.subject_access",
        actor=actor or person,
        outcome="done",
        target=person,
        details={
            "events": len(data["clock_events"]),
            "sessions": len(data["work_sessions"]),
            "corrections": len(data["corrections"]),
            "consents": len(data["consents"]),
            "access_events": len(data["access_events"]),
            "passes": len(data["passes"]),
        },
    )
    return data
