"""Access-control settings, each overridable in Django settings (defaults here, not magic
numbers in functions)."""

from django.conf import settings

DEFAULTS = {
    # Repeated denials: this many denied events at one door within the window raise an alert.
    "ACCESS_ALERT_DENIALS": 3,
    "ACCESS_ALERT_WINDOW_MINUTES": 5,
    # A retried door request (same door, same image and credentials) within this many seconds
    # returns the first decision instead of writing a second event.
    "ACCESS_DEDUP_SECONDS": 5,
    # A client request id is remembered longer: it is unique by construction.
    "ACCESS_REQUEST_ID_SECONDS": 600,
    # Length of the door's liveness burst in seconds (None: biometrics' CAPTURE_SETTINGS).
    # At most MAX_BURST_FRAMES / fps (6 s at 10 fps).
    "ACCESS_CAPTURE_SECONDS": None,
    # Longest pass a sponsor or guard may issue.
    "ACCESS_VISITOR_PASS_MAX_HOURS": 24,
    "ACCESS_CONTRACTOR_PASS_MAX_DAYS": 92,
    # The access log keeps names this long, then events are pseudonymised (privacy policy).
    "ACCESS_EVENT_RETENTION_DAYS": 365,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
