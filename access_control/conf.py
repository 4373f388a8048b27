"""Access-control settings with their defaults (not magic numbers in functions). Each one can
be set in faceauth/settings.py or as an environment variable of the same name
(accounts.app_settings)."""

from accounts.app_settings import AppSettings, Setting

SETTINGS = AppSettings(
    {
        # Repeated denials: this many denied events at one door within the window raise an
        # alert.
        "ACCESS_ALERT_DENIALS": Setting(3),
        "ACCESS_ALERT_WINDOW_MINUTES": Setting(5),
        # A retried door request (same door, same image and credentials) within this many
        # seconds returns the first decision instead of writing a second event.
        "ACCESS_DEDUP_SECONDS": Setting(5),
        # A client request id is remembered longer: it is unique by construction.
        "ACCESS_REQUEST_ID_SECONDS": Setting(600),
        # Length of the door's liveness burst in seconds (empty / None: biometrics'
        # CAPTURE_SETTINGS). At most MAX_BURST_FRAMES / fps (6 s at 10 fps).
        "ACCESS_CAPTURE_SECONDS": Setting(None, float, optional=True),
        # Longest pass each issuer may give (access_control.sponsoring): visitors 24 h from
        # reception and admins, a working day from their employee host; contractors 92 days
        # from an admin, two weeks from a guard.
        "ACCESS_VISITOR_PASS_MAX_HOURS": Setting(24),
        "ACCESS_SPONSOR_VISITOR_PASS_MAX_HOURS": Setting(12),
        "ACCESS_CONTRACTOR_PASS_MAX_DAYS": Setting(92),
        "ACCESS_GUARD_CONTRACTOR_PASS_MAX_DAYS": Setting(14),
        # The access log keeps names this long, then events are pseudonymised (privacy policy).
        "ACCESS_EVENT_RETENTION_DAYS": Setting(365),
    }
)
DEFAULTS = SETTINGS.defaults
get = SETTINGS.get
