"""State changes of attendance, one module per topic. Views, the admin and tasks call these."""

from accounts.site_time import local_time

from ..rules import display_zone
from .clocking import ClockResult, clock, parse_capture_id
from .corrections import decide_correction, may_decide, request_correction
from .privacy import (
    BIOMETRIC_COLUMNS,
    on_face_data_erased,
    pseudonymise_expired,
    redact_biometrics,
    retention_cutoff,
)
from .sessions import pair_events, rebuild_sessions

__all__ = [
    "ClockResult",
    "parse_capture_id",
    "clock",
    "display_zone",
    "local_time",
    "rebuild_sessions",
    "pair_events",
    "request_correction",
    "may_decide",
    "decide_correction",
    "BIOMETRIC_COLUMNS",
    "redact_biometrics",
    "on_face_data_erased",
    "retention_cutoff",
    "pseudonymise_expired",
]
