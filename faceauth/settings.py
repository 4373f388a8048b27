"""FaceAuth settings, 12-factor style.

With no environment at all FaceAuth runs on its embedded default: a SQLite file under
``var/``, Celery tasks executed in-process, a local-memory cache and a local media folder.
``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis (broker, results, cache).
``DJANGO_ENV=production`` refuses to start without its secrets and a shared cache
(``REDIS_URL``), and turns on every
transport-security setting that ``manage.py check --deploy`` asks for.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'")


def _required_in_production(name: str) -> str | None:
    value = env.str(name, default="")
    if PRODUCTION and not value:
        raise ImproperlyConfigured(
            f"{name} must be set in the environment when DJANGO_ENV=production"
        )
    return value or None


def _dev_secret(name: str, factory) -> str:
    """A per-checkout secret for the embedded default, created once and kept in var/.

    It keeps sessions and encrypted templates readable across restarts without
    shipping a well-known key in the repository.
    """
    path = VAR_DIR / f"{name}.secret"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(factory())
        path.chmod(0o600)
    return path.read_text().strip()


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = _required_in_production("SECRET_KEY") or _dev_secret(
    "django", lambda: secrets.token_urlsafe(50)
)
# Comma-separated Fernet keys: the first encrypts, all of them decrypt (key rotation).
FIELD_ENCRYPTION_KEY = [
    k.strip()
    for k in (
        _required_in_production("FIELD_ENCRYPTION_KEY") or _dev_secret("field", _new_fernet_key)
    ).split(",")
    if k.strip()
]
_hosts = _required_in_production("ALLOWED_HOSTS")
ALLOWED_HOSTS = (
    [h.strip() for h in _hosts.split(",")] if _hosts else ["127.0.0.1", "localhost", "testserver"]
)

# Only `make run` turns DEBUG on; production can never.
DEBUG = env.bool("DJANGO_DEBUG", default=False) and not PRODUCTION

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "django_prometheus",
    "accounts",
    "biometrics",
    "attendance",
    "access_control",
    "reports",
    "oauth2_provider",
    "identity",  # OpenID Connect provider and SCIM (docs/identity.md)
    "faceauth",  # the wiring layer: the demo commands (faceauth/management)
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "faceauth.logs.RequestIdMiddleware",
    "faceauth.health.ProbeMiddleware",  # /healthz, /readyz, /metrics: before host checks
    "faceauth.uploads.RequestBodyLimitMiddleware",  # before anything reads the body
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the set_language cookie, else the browser's Accept-Language (docs/i18n.md).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A role that must confirm a sign-in with a live face sees only the face step until then.
    "identity.middleware.SiteFaceStepMiddleware",
    # A face lock-out met by any request of a sign-in's face step ends that sign-in.
    "identity.middleware.FaceStepLockoutMiddleware",
    # faceauth/authorization.py: refuses every principal and URL the table does not name.
    "faceauth.middleware.AuthorizationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "faceauth.middleware.DisplayTimezoneMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last: they turn axes' and the per-account lock-out on the login pages into their page.
    "accounts.views.AccountLimitMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "faceauth.urls"
WSGI_APPLICATION = "faceauth.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "faceauth.navigation.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'faceauth.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process and an in-process task read while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Lock-outs, rate limits and the replay memory live in the cache: production needs one that
# every worker shares, or each process would count for itself (security finding 11).
REDIS_URL = _required_in_production("REDIS_URL") or ""
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "faceauth.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="faceauth"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Then the per-account limit across addresses (accounts/backends.py).
    "accounts.backends.AccountAttemptBackend",
    "accounts.backends.ValidityWindowBackend",
]
FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES = env.int("FACEAUTH_LOGIN_ACCOUNT_MAX_FAILURES", default=20)
# Password sign-in (/accounts/login/, /admin/login/) brute-force lock-out (docs/security.md).
# Rows in the database (AccessAttempt, counted under a row lock): every worker shares them and
# the admin lists them (Login lock-outs, with an audited unlock action).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Per username at one address: a wrong password from elsewhere cannot lock a person out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # accounts.admin registers its own, with the audited unlock
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"  # a page with Retry-After
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# British English is the source language; a browser asking for any English gets en-gb.
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch")]
# One project folder for every app's strings: locale/de/LC_MESSAGES/django.po, djangojs.po.
LOCALE_PATHS = [BASE_DIR / "locale"]
# The page date formats by name (faceauth/formats/<lang>/formats.py), Django's for the rest.
FORMAT_MODULE_PATH = ["faceauth.formats"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
# Storage is always UTC; people see times in the site's display time zone.
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = True
DISPLAY_TIME_ZONE = env.str("DISPLAY_TIME_ZONE", default="Europe/Berlin")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
if not PRODUCTION:
    # WhiteNoise serves from the finders in development; an empty root keeps it quiet.
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so unauthenticated API calls answer 401 with a WWW-Authenticate header.
        "accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.DeviceSessionAuthentication",
    ],
    # Deny by default: a view is reachable only by the roles it names.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.HasRole"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "faceauth.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "faceauth.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FaceAuth API",
    "DESCRIPTION": "Face-recognition authentication, attendance and access control.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery: in-process on the embedded default, Redis when REDIS_URL is set.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# A worker that dies mid-task leaves the message on the queue for another worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# On Redis a task whose worker was killed (-9, OOM) stays unacknowledged until this many seconds
# pass, then a worker's sweep (every 10 s x throttle) puts it back on the queue (kombu's
# defaults: 1 h, 10). Keep the timeout above the longest task. benchmarks/load.py lowers both.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_BEAT_SCHEDULE: dict = {
    "faceauth-heartbeat": {"task": "faceauth.ping", "schedule": timedelta(minutes=5)},
    "faceauth-retention": {"task": "faceauth.run_retention", "schedule": timedelta(days=1)},
}

# Face engine: keep enrolment images only if asked (then encrypted).
FACEAUTH_KEEP_ENROLMENT_IMAGES = env.bool("FACEAUTH_KEEP_ENROLMENT_IMAGES", default=False)
FACEAUTH_MAX_UPLOAD_BYTES = env.int("FACEAUTH_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# Request-body budget, enforced while the body streams in (faceauth/uploads.py; docs/security.md
# "Memory budget"). A multipart body: an enrolment, 5 photos (services.MAX_ENROLMENT_IMAGES).
FACEAUTH_MAX_REQUEST_BYTES = env.int(
    "FACEAUTH_MAX_REQUEST_BYTES", default=5 * FACEAUTH_MAX_UPLOAD_BYTES + 1024 * 1024
)
# A liveness burst: the capture page sends ~30 frames of ~25 kB (480x360 at quality 0.8).
FACEAUTH_MAX_FRAME_BYTES = env.int("FACEAUTH_MAX_FRAME_BYTES", default=2 * 1024 * 1024)
FACEAUTH_MAX_BURST_BYTES = env.int("FACEAUTH_MAX_BURST_BYTES", default=8 * 1024 * 1024)
# Any other body (form fields, JSON) carries ids, nonces and short texts, never an image.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, 2.5 MB
FILE_UPLOAD_MAX_MEMORY_SIZE = FACEAUTH_MAX_UPLOAD_BYTES
FILE_UPLOAD_HANDLERS = [
    "faceauth.uploads.UploadLimitHandler",  # first: it sees every chunk before it is stored
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the camera pages read it to post frames
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY is too short for production (50+ characters)")

# /metrics: a Prometheus bearer token, or a peer address in this comma-separated list (CIDR ok).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1"])

# One JSON object per line in production (or LOG_FORMAT=json); readable lines for `make run`.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'")
# Celery would otherwise replace the root handler with its own plain format in workers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "faceauth.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "faceauth.logs.PlainFormatter"},
        "json": {"()": "faceauth.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Liveness and lockout (see biometrics/liveness.py, biometrics/lockouts.py).
FACEAUTH_LIVENESS_ENABLED = env.bool("FACEAUTH_LIVENESS_ENABLED", default=True)
# "opencv" uses only commercially usable models; "dlib68" needs the iBUG 300-W 68-point model.
FACEAUTH_LIVENESS_BACKEND = env.str("FACEAUTH_LIVENESS_BACKEND", default="opencv")
FACEAUTH_LIVENESS_FORCE_CHALLENGE = env.str("FACEAUTH_LIVENESS_FORCE_CHALLENGE", default="")
FACEAUTH_CHALLENGE_TTL_SECONDS = env.int("FACEAUTH_CHALLENGE_TTL_SECONDS", default=20)
FACEAUTH_LOCKOUT_THRESHOLD = 5
FACEAUTH_LOCKOUT_BASE_SECONDS = 30
FACEAUTH_LOCKOUT_DISABLE_AFTER = 50
# A shared kiosk or door backs off for seconds only (growing x1.5) and is never disabled.
FACEAUTH_DEVICE_BACKOFF_BASE_SECONDS = env.int("FACEAUTH_DEVICE_BACKOFF_BASE_SECONDS", default=2)
FACEAUTH_DEVICE_BACKOFF_MAX_SECONDS = env.int("FACEAUTH_DEVICE_BACKOFF_MAX_SECONDS", default=15)
# Per device (or person) and per IP on every biometric endpoint; a kiosk makes ~2 per capture.
FACEAUTH_THROTTLE_RATES = {
    "face_device": env.str("FACEAUTH_THROTTLE_DEVICE", default="120/min"),
    # A capture takes >= 3 s: ~20 challenges a minute at most; more is drawing, not capturing.
    "face_challenge": env.str("FACEAUTH_THROTTLE_CHALLENGE", default="30/min"),
    "face_guidance": env.str("FACEAUTH_THROTTLE_GUIDANCE", default="600/min"),
    "face_ip": env.str("FACEAUTH_THROTTLE_IP", default="3000/min"),
    # Passkey challenges per address (identity/passkeys.py): a ceremony takes one.
    "passkey_challenge": env.str("FACEAUTH_THROTTLE_PASSKEY_CHALLENGE", default="30/min"),
}

# Content-Security-Policy (django-csp): the pages run their own scripts only, no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The Django admin sets a few inline style attributes; scripts stay strict.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:", "mediastream:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Retention (docs/privacy.md). BIPA caps template retention at 3 years after the last use.
FACEAUTH_TEMPLATE_RETENTION_DAYS = env.int("FACEAUTH_TEMPLATE_RETENTION_DAYS", default=30)
FACEAUTH_IMAGE_RETENTION_DAYS = env.int("FACEAUTH_IMAGE_RETENTION_DAYS", default=30)
if not 1 <= FACEAUTH_TEMPLATE_RETENTION_DAYS <= 3 * 365:
    raise ImproperlyConfigured("FACEAUTH_TEMPLATE_RETENTION_DAYS must be 1..1095 (3 years)")

# Identity provider (docs/identity.md): django-oauth-toolkit's OpenID Connect, PKCE required.
# OIDC_RSA_PRIVATE_KEYS: one or more PEM RSA keys, concatenated; the first signs, all are
# published in the JWKS (rotation: put a new key first, drop the old one after the tokens it
# signed have expired).
from identity import conf as identity_conf  # noqa: E402  (no Django: keys and scopes)

_oidc_keys = identity_conf.split_pems(
    _required_in_production("OIDC_RSA_PRIVATE_KEYS")
    or _dev_secret("oidc-rsa", identity_conf.new_rsa_pem)
)
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_keys[0],
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": _oidc_keys[1:],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
    "SCOPES": identity_conf.SCOPES,
    "DEFAULT_SCOPES": ["openid"],
    "OAUTH2_VALIDATOR_CLASS": "identity.oidc.FaceAuthValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OIDC_ACCESS_TOKEN_SECONDS", default=600),
    "ID_TOKEN_EXPIRE_SECONDS": env.int("OIDC_ID_TOKEN_SECONDS", default=600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OIDC_REFRESH_TOKEN_SECONDS", default=8 * 3600),
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",  # identity.views remembers consent itself
    # RFC 9700 (OAuth 2.0 Security BCP): no implicit or password grant, S256 PKCE only, tokens
    # never in a query string, `iss` in the authorization response, tokens stored hashed.
    **{
        f"COMPLIANT_BCP_RFC9700_{name}": True
        for name in (
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "TOKEN_STORAGE",
        )
    },
}
# Named so that migrations can point at the (swappable) client model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# Roles that always need the live face as a second factor, whatever the client asks.
IDENTITY_FACE_REQUIRED_ROLES = env.list("IDENTITY_FACE_REQUIRED_ROLES", default=["admin"])
# The same on FaceAuth's own pages (identity/middleware.py). Off by default, so that a new site's
# first admin is not locked out before enrolling: list "admin" once the admins have enrolled.
FACEAUTH_SITE_FACE_REQUIRED_ROLES = env.list("FACEAUTH_SITE_FACE_REQUIRED_ROLES", default=[])

# Passkeys (WebAuthn; docs/identity.md, "Passkeys"). The relying party id is the domain the
# credentials belong to (the host people sign in at, or a parent domain of it); the origins are
# the exact scheme://host[:port] the browser may report. Empty outside production: each request's
# own host and scheme (so `make run` works at http://localhost:8000; browsers refuse an IP
# address as RP id). Production derives them from the first ALLOWED_HOSTS entry.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=[])
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="FaceAuth")
if PRODUCTION:
    WEBAUTHN_RP_ID = WEBAUTHN_RP_ID or ALLOWED_HOSTS[0].lstrip(".")
    if not WEBAUTHN_RP_ID or "*" in WEBAUTHN_RP_ID:
        raise ImproperlyConfigured("WEBAUTHN_RP_ID must be set when ALLOWED_HOSTS has a wildcard")
    WEBAUTHN_ORIGINS = WEBAUTHN_ORIGINS or [f"https://{WEBAUTHN_RP_ID}"]
# A ceremony's challenge is answered once within this many seconds.
WEBAUTHN_CHALLENGE_SECONDS = env.int("WEBAUTHN_CHALLENGE_SECONDS", default=120)
# Adding a passkey needs a password proved within this many seconds in this session.
FACEAUTH_PASSKEY_REAUTH_SECONDS = env.int("FACEAUTH_PASSKEY_REAUTH_SECONDS", default=600)
