"""Reason codes of access decisions: what the log stores, what the guard and the visitor read."""

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Reason(models.TextChoices):
    # Granted
    RULE_ALLOWS = "rule_allows", _("An allow rule covers this person, area and time")
    PASS_VALID = "pass_valid", _("A valid visitor pass covers this area")
    # Denied: the face or credentials
    NOT_RECOGNISED = "not_recognised", _("The face matched nobody enrolled")
    NOT_AUTHORISED = "not_authorised", _("The face matched a person who may not authenticate now")
    LOW_QUALITY = "low_quality", _("No usable face (none, several, or poor quality)")
    SPOOF_SUSPECTED = "spoof_suspected", _("Liveness check failed")
    WRONG_PIN = "wrong_pin", _("The PIN was wrong")
    BADGE_UNKNOWN = "badge_unknown", _("The badge number is unknown or withdrawn")
    FACE_MISMATCH = "face_mismatch", _("The face does not match the badge holder")
    NOT_ENROLLED = "not_enrolled", _("The badge holder has no face templates")
    # Denied: the person
    INACTIVE = "inactive", _("The person is deactivated or offboarded")
    PERSON_VALIDITY = "person_validity", _("Outside the person's validity window")
    # Denied: rules and passes
    DENIED_BY_RULE = "denied_by_rule", _("A deny rule covers this person, area and time")
    PASS_REVOKED = "pass_revoked", _("The visitor pass was revoked")
    PASS_EXPIRED = "pass_expired", _("The visitor pass has ended")
    PASS_NOT_STARTED = "pass_not_started", _("The visitor pass has not started yet")
    PASS_PENDING = "pass_pending", _("The visitor pass waits for a guard's or admin's approval")
    NOT_ON_PASS = "not_on_pass", _("The visitor pass does not include this area")
    OUTSIDE_SCHEDULE = "outside_schedule", _("Allow rules exist but not at this time or date")
    NO_RULE = "no_rule", _("No rule or pass lets this person into this area")
    DOOR_INACTIVE = "door_inactive", _("The access point is switched off")


# How every log row and alert shows its time (Django date format, in the site's zone): with the
# date, because the console and the log hold several days.
LOG_TIME_FORMAT = "DAY_DATETIME_SECONDS_FORMAT"  # by name: faceauth/formats

GRANTED_REASONS = frozenset({Reason.RULE_ALLOWS, Reason.PASS_VALID})

# What the door screen says: plain words for the person standing there.
DOOR_TEXT: dict[str, Promise] = {
    Reason.RULE_ALLOWS: _("The door is open."),
    Reason.PASS_VALID: _("Your pass is valid — the door is open."),
    Reason.NOT_RECOGNISED: _("We could not recognise you — please see reception."),
    Reason.NOT_AUTHORISED: _("Your access is not active at this time — please see reception."),
    Reason.LOW_QUALITY: _("We could not see your face clearly — look at the camera and try again."),
    Reason.SPOOF_SUSPECTED: _(
        "We could not confirm a live person. Please look at the camera and follow the instruction."
    ),
    Reason.WRONG_PIN: _("That PIN is not right — please try again."),
    Reason.BADGE_UNKNOWN: _("This badge is not valid — please see reception."),
    Reason.FACE_MISMATCH: _("Your face does not match this badge — please see reception."),
    Reason.NOT_ENROLLED: _("Your face is not registered yet — please see reception."),
    Reason.INACTIVE: _("Your access has been withdrawn — please see reception."),
    Reason.PERSON_VALIDITY: _("Your access is not valid at this time — please see reception."),
    Reason.DENIED_BY_RULE: _("You may not enter this area."),
    Reason.PASS_REVOKED: _("Your pass has been cancelled — please see reception."),
    Reason.PASS_EXPIRED: _("Your pass has expired — please see reception."),
    Reason.PASS_NOT_STARTED: _("Your pass is not valid yet — please see reception."),
    Reason.PASS_PENDING: _("Your pass is waiting for approval — please see reception."),
    Reason.NOT_ON_PASS: _("Your pass does not include this area — please see reception."),
    Reason.OUTSIDE_SCHEDULE: _("You may not enter at this time."),
    Reason.NO_RULE: _("You do not have access to this area."),
    Reason.DOOR_INACTIVE: _("This door is out of service."),
}


def door_text(reason: str) -> str:
    """In the active language (the door screen's browser asks for it)."""
    return str(DOOR_TEXT.get(reason, _("Access denied — please see reception.")))


def reason_label(reason: str) -> str:
    try:
        return str(Reason(reason).label)
    except ValueError:
        return reason


# Liveness results as guards read them (console, log, admin).
LIVENESS_TEXT = {
    "ok": _("passed"),
    "static_image": _("a still image"),
    "no_challenge_response": _("instruction not followed"),
    "face_changed": _("the face changed"),
    "multiple_faces": _("several faces"),
    "no_face": _("no face in the burst"),
    "too_few_frames": _("too few frames"),
    "nonce_reused": _("challenge reused"),
    "replay": _("frames replayed"),
    "nonce_wrong_device": _("another door's challenge"),
    "disabled_for_device": _("off for this door"),
    "disabled_by_setting": _("off site-wide"),
}


# The liveness challenges (biometrics.engine.liveness.CHALLENGES) as "passed (...)" names them.
CHALLENGE_TEXT = {
    "blink": pgettext_lazy("liveness challenge", "blink"),
    "turn_left": pgettext_lazy("liveness challenge", "turn left"),
    "turn_right": pgettext_lazy("liveness challenge", "turn right"),
}


def liveness_label(liveness: dict | None) -> str:
    """One short phrase: "passed (blink)", "failed: a still image", "off for this door", "—"."""
    if not liveness:
        return "—"
    reason = str(liveness.get("reason") or "")
    text = str(LIVENESS_TEXT.get(reason, reason.replace("_", " ") or _("unknown")))
    if not liveness.get("checked"):
        return text
    if liveness.get("passed"):
        challenges = ", ".join(
            str(CHALLENGE_TEXT.get(str(c), str(c).replace("_", " ")))
            for c in liveness.get("challenges") or []
        )
        if challenges:
            return gettext("passed (%(challenges)s)") % {"challenges": challenges}
        return str(LIVENESS_TEXT["ok"])
    return gettext("failed: %(reason)s") % {"reason": text}
