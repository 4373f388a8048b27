"""State changes of access control, one module per topic: door checks, the access log and
alerts, visitor passes, retention."""

from .checks import (
    FACE_QUALITY_CODES,
    SPOOF_CODES,
    Capture,
    CheckResult,
    access_point_for,
    capture_settings,
    check_access,
    issue_door_challenge,
    request_fingerprint,
    stream_settings,
)
from .log import (
    OUTSIDE_PASS_REASONS,
    UNKNOWN_FACE_REASONS,
    acknowledge_alert,
    close_alert,
    raise_alerts,
    raise_spoof_alert,
    record_event,
    record_past_events,
)
from .passes import (
    TIME_LIMITED,
    approve_pass,
    areas_for_pass,
    create_pass,
    enrol_visitor,
    extend_pass,
    max_pass_length,
    pass_kind_for,
    register_visitor,
    revoke_pass,
)
from .points import assign_access_point, create_area
from .privacy import pseudonymise_expired

__all__ = [
    "FACE_QUALITY_CODES",
    "SPOOF_CODES",
    "CheckResult",
    "access_point_for",
    "Capture",
    "request_fingerprint",
    "check_access",
    "issue_door_challenge",
    "capture_settings",
    "stream_settings",
    "OUTSIDE_PASS_REASONS",
    "UNKNOWN_FACE_REASONS",
    "record_event",
    "record_past_events",
    "raise_alerts",
    "raise_spoof_alert",
    "acknowledge_alert",
    "close_alert",
    "TIME_LIMITED",
    "pass_kind_for",
    "max_pass_length",
    "areas_for_pass",
    "create_pass",
    "approve_pass",
    "register_visitor",
    "extend_pass",
    "revoke_pass",
    "enrol_visitor",
    "pseudonymise_expired",
    "assign_access_point",
    "create_area",
]
