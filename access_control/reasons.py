"""Reason codes of access decisions: what the log stores, what the guard and the visitor read."""

from django.db import models


class Reason(models.TextChoices):
    # Granted
    RULE_ALLOWS = "rule_allows", "An allow rule covers this person, area and time"
    PASS_VALID = "pass_valid", "A valid visitor pass covers this area"
    # Denied: the face or credentials
    NOT_RECOGNISED = "not_recognised", "The face matched nobody enrolled"
    NOT_AUTHORISED = "not_authorised", "The face matched a person who may not authenticate now"
    LOW_QUALITY = "low_quality", "No usable face (none, several, or poor quality)"
    SPOOF_SUSPECTED = "spoof_suspected", "Liveness check failed"
    WRONG_PIN = "wrong_pin", "The PIN was wrong"
    BADGE_UNKNOWN = "badge_unknown", "The badge number is unknown or withdrawn"
    FACE_MISMATCH = "face_mismatch", "The face does not match the badge holder"
    NOT_ENROLLED = "not_enrolled", "The badge holder has no face templates"
    # Denied: the person
    INACTIVE = "inactive", "The person is deactivated or offboarded"
    PERSON_VALIDITY = "person_validity", "Outside the person's validity window"
    # Denied: rules and passes
    DENIED_BY_RULE = "denied_by_rule", "A deny rule covers this person, area and time"
    PASS_REVOKED = "pass_revoked", "The visitor pass was revoked"
    PASS_EXPIRED = "pass_expired", "The visitor pass has ended"
    PASS_NOT_STARTED = "pass_not_started", "The visitor pass has not started yet"
    PASS_PENDING = "pass_pending", "The visitor pass waits for a guard's or admin's approval"
    NOT_ON_PASS = "not_on_pass", "The visitor pass does not include this area"
    OUTSIDE_SCHEDULE = "outside_schedule", "Allow rules exist but not at this time or date"
    NO_RULE = "no_rule", "No rule or pass lets this person into this area"
    DOOR_INACTIVE = "door_inactive", "The access point is switched off"


# How every log row and alert shows its time (Django date format, in the site's zone): with the
# date, because the console and the log hold several days.
LOG_TIME_FORMAT = "D j M Y, H:i:s"

GRANTED_REASONS = frozenset({Reason.RULE_ALLOWS, Reason.PASS_VALID})

# What the door screen says: plain words for the person standing there.
DOOR_TEXT: dict[str, str] = {
    Reason.RULE_ALLOWS: "The door is open.",
    Reason.PASS_VALID: "Your pass is valid — the door is open.",
    Reason.NOT_RECOGNISED: "We could not recognise you — please see reception.",
    Reason.NOT_AUTHORISED: "Your access is not active at this time — please see reception.",
    Reason.LOW_QUALITY: "We could not see your face clearly — look at the camera and try again.",
    Reason.SPOOF_SUSPECTED: (
        "We could not confirm a live person. Please look at the camera and follow the instruction."
    ),
    Reason.WRONG_PIN: "That PIN is not right — please try again.",
    Reason.BADGE_UNKNOWN: "This badge is not valid — please see reception.",
    Reason.FACE_MISMATCH: "Your face does not match this badge — please see reception.",
    Reason.NOT_ENROLLED: "Your face is not registered yet — please see reception.",
    Reason.INACTIVE: "Your access has been withdrawn — please see reception.",
    Reason.PERSON_VALIDITY: "Your access is not valid at this time — please see reception.",
    Reason.DENIED_BY_RULE: "You may not enter this area.",
    Reason.PASS_REVOKED: "Your pass has been cancelled — please see reception.",
    Reason.PASS_EXPIRED: "Your pass has expired — please see reception.",
    Reason.PASS_NOT_STARTED: "Your pass is not valid yet — please see reception.",
    Reason.PASS_PENDING: "Your pass is waiting for approval — please see reception.",
    Reason.NOT_ON_PASS: "Your pass does not include this area — please see reception.",
    Reason.OUTSIDE_SCHEDULE: "You may not enter at this time.",
    Reason.NO_RULE: "You do not have access to this area.",
    Reason.DOOR_INACTIVE: "This door is out of service.",
}


def door_text(reason: str) -> str:
    return DOOR_TEXT.get(reason, "Access denied — please see reception.")


def reason_label(reason: str) -> str:
    try:
        return Reason(reason).label
    except ValueError:
        return reason


# Liveness results as guards read them (console, log, admin).
LIVENESS_TEXT = {
    "ok": "passed",
    "static_image": "a still image",
    "no_challenge_response": "instruction not followed",
    "face_changed": "the face changed",
    "multiple_faces": "several faces",
    "no_face": "no face in the burst",
    "too_few_frames": "too few frames",
    "nonce_reused": "challenge reused",
    "replay": "frames replayed",
    "nonce_wrong_device": "another door's challenge",
    "disabled_for_device": "off for this door",
    "disabled_by_setting": "off site-wide",
}


def liveness_label(liveness: dict | None) -> str:
    """One short phrase: "passed (blink)", "failed: a still image", "off for this door", "—"."""
    if not liveness:
        return "—"
    reason = str(liveness.get("reason") or "")
    text = LIVENESS_TEXT.get(reason, reason.replace("_", " ") or "unknown")
    if not liveness.get("checked"):
        return text
    if liveness.get("passed"):
        challenges = ", ".join(str(c).replace("_", " ") for c in liveness.get("challenges") or [])
        return f"passed ({challenges})" if challenges else "passed"
    return f"failed: {text}"
