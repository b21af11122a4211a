"""Settings for every environment, read from environment variables.

With no variables set the project runs embedded: SQLite under ``var/``, Celery over
kombu's filesystem transport, a file cache and e-mail to the console. Production sets
``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``EMAIL_URL``.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
import dj_email_url

from config import broker

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Without a secret key we are a developer's machine: debug on, an insecure key.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", default=not SECRET_KEY)
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-embedded-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "incidents",
    # Subpackages of incidents by concern, apps so that each wires itself in (panels,
    # navigation, tasks, commands) and the record never imports them.
    "incidents.workspace",
    "incidents.after",
    "incidents.support",
    "incidents.demo",
    "oncall",
    "comms",
]

MIDDLEWARE = [
    # First: a NUL in the path, query, headers or form fields is a 400 naming where.
    "config.input_guard.InputGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that reads the database or the cache: their outage is a 503.
    "config.outage.OutageMiddleware",
    # The styled 404 page with DEBUG on too (config/error_pages.py).
    "config.error_pages.DebugNotFoundMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language; a signed-in person's own choice overrides it below.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.PreferencesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "config.navigation.navigation",
            ],
        },
    },
    # Jinja2 for the fragments rendered a hundred times a request (the support board's
    # rows, incidents/support/rows.py), where it is several times faster; asked for by
    # name (``engines["jinja2"]``). Everything else is Django's template language.
    {
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
    },
]

# Databases ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    # Django's, reading times faster (config/postgresql/base.py, config/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = {
        "django.db.backends.postgresql": "config.postgresql",
        "django.db.backends.sqlite3": "config.sqlite",
    }.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
    # Off behind a pooler in transaction mode that cannot keep prepared statements
    # (PgBouncer before 1.22, or without max_prepared_statements).
    if DATABASES["default"]["ENGINE"] == "config.postgresql" and not env_bool(
        "DATABASE_PREPARED_STATEMENTS", True
    ):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
else:
    # Web, worker and beat share this file: WAL lets readers run beside the writer,
    # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing.
    DATABASES = {
        "default": {
            "ENGINE": "config.sqlite",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Tests: a file per test process, not Django's shared-cache memory database,
            # where a table another connection (the real worker's thread) is writing
            # answers "database table is locked" at once: the timeout and WAL need a file.
            "TEST": {
                "NAME": str(Path(tempfile.gettempdir()) / f"hotline-test-{os.getpid()}.sqlite3")
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and broker --------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES: dict[str, dict[str, object]] = {
        "default": {
            # Django's, one client object per pool (config/cache.py).
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hotline",
        }
    }
    # The same Redis through a transport that survives losing it (config/broker.py).
    CELERY_BROKER_URL = broker.redis_broker_url(REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # A file cache is shared by every process on the machine, unlike local memory.
    CACHES = {
        "default": {
            # Django's, without compression (config/cache.py).
            "BACKEND": "config.cache.FileCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # An entry per person (their permissions) besides the boards: Django's 300
            # culled the permissions of a floor of 300 people, read again on each page.
            # Not more: the directory is listed every 32 writes (4 ms at 1,000 files,
            # 13 ms at 5,000 on this project's VM) and a full cull reads every file.
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    }
    BROKER_DIR = VAR_DIR / "broker"
    for folder in ("queue", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport, writing messages atomically (config/broker.py). The
    # host names nothing here, but kombu warns at every start without one.
    CELERY_BROKER_URL = "hotlinefs://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The warm-ups (support boards, metrics pages) go below every other task: Redis serves
# priority 0, every other task's, first, so a page never waits behind warm-ups on a busy
# worker (in a storm with dashboards open they doubled the pages' p99). The embedded broker has no
# priorities.
CELERY_TASK_ROUTES = {
    "incidents.support.tasks.warm_support_boards": {"queue": "celery", "priority": 9},
    "incidents.support.tasks.warm_metrics_pages": {"queue": "celery", "priority": 9},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "incidents.tasks.record_heartbeat", "schedule": 30.0},
    # The metrics page's change log grows by a row a change until folded.
    "fold-metrics-changes": {
        "task": "incidents.support.tasks.fold_metrics_changes",
        "schedule": 300.0,
    },
    # Sessions in the database are kept until deleted, expired or not.
    "clear-expired-sessions": {
        "task": "incidents.tasks.clear_expired_sessions",
        "schedule": 3600.0,
    },
}

# E-mail ------------------------------------------------------------------------------
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    vars().update(dj_email_url.parse(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Hotline <hotline@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Auth --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's model permissions, read in one query instead of two (config/auth.py).
AUTHENTICATION_BACKENDS = ["config.auth.CachedPermissionsBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:list"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation ----------------------------------------------------------------
# English is the source; Korean is the handbook's own language. Each name is written in
# its own language, so a person finds theirs whatever the page is in.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Static files ------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security: secure by default whenever debug is off ------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous call gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, refusing a NUL in any string or key and JSON nested too deeply (400
    # naming the field) instead of a 500 (config/input_guard.py).
    "DEFAULT_PARSER_CLASSES": [
        "config.input_guard.JSONParser",
        "config.input_guard.FormParser",
        "config.input_guard.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hotline API",
    "DESCRIPTION": "Incidents, their timeline and the catalogue of teams, services and products.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API's description is for signed-in users, like everything but the status page.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"IncidentStatusEnum": "incidents.models.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.document_healthz_and_servers",
    ],
}

# Logging: everything to stderr, where honcho and process managers collect it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Integration keys in URL paths never reach the logs: runserver's access lines and
    # "Not Found: <path>" (gunicorn's access log: gunicorn.conf.py).
    "filters": {"redact_keys": {"()": "oncall.integrations.logs.RedactKeys"}},
    "loggers": {
        "django.server": {"handlers": ["console"], "filters": ["redact_keys"], "propagate": False},
        "django.request": {"filters": ["redact_keys"]},
    },
}

# The product ---------------------------------------------------------------------------
INCIDENT_KEY_PREFIX = os.environ.get("INCIDENT_KEY_PREFIX", "HOT")
# The portal's public address: links in pages, e-mails and chat messages start here.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEMO_DATA = env_bool("DEMO_DATA", default=DEBUG)

# Communications (comms app) -------------------------------------------------------------
COMMS_MESSAGE_ID_DOMAIN = os.environ.get("COMMS_MESSAGE_ID_DOMAIN", "hotline.local")
# The mailto of subscriber mail's List-Unsubscribe; empty: DEFAULT_FROM_EMAIL's address.
COMMS_UNSUBSCRIBE_ADDRESS = os.environ.get("COMMS_UNSUBSCRIBE_ADDRESS", "")
COMMS_STATUS_PAGE_NAME = os.environ.get("COMMS_STATUS_PAGE_NAME", "Hotline status")
# The public status page's language for a visitor whose browser asks for none we speak
# (customers, not staff: the portal's LANGUAGE_CODE is not theirs); and the language of
# customer mail to someone who never chose one.
STATUS_PAGE_LANGUAGE = os.environ.get("STATUS_PAGE_LANGUAGE", "en")
# HANDBOOK §8 asks for a second opinion; this makes it mandatory for customer-facing updates.
COMMS_EXTERNAL_REVIEW_REQUIRED = env_bool("COMMS_EXTERNAL_REVIEW_REQUIRED", False)
# Public subscribe endpoint: attempts per client address per hour.
COMMS_SUBSCRIBE_RATE = int(os.environ.get("COMMS_SUBSCRIBE_RATE", 5))
# How long before a promised next update its communications manager (or IM) is reminded.
COMMS_REMINDER_MINUTES = int(os.environ.get("COMMS_REMINDER_MINUTES", 10))
# One schema name per choice set of comms, so the API schema stays warning-free.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "CommunicationAudienceEnum": "comms.models.Audience",
        "CommunicationKindEnum": "comms.models.Kind",
        "CommunicationStateEnum": "comms.models.State",
        "PageStatusEnum": "comms.models.PageStatus",
        "ComponentStatusEnum": "comms.models.ComponentStatus",
    }
)

# On-call (oncall app) ----------------------------------------------------------------------
ONCALL_ACK_LINK_MAX_AGE = int(os.environ.get("ONCALL_ACK_LINK_MAX_AGE", 24 * 3600))
# Seconds between the tries of a failing channel: 2 s doubling to a 5-minute cap, until
# the waits cover a 30-minute outage (2010 s, 14 tries); then that channel gives up.
ONCALL_RETRY_BACKOFF: list[float] = []
while sum(ONCALL_RETRY_BACKOFF) < 30 * 60:
    ONCALL_RETRY_BACKOFF.append(min(2.0 * 2 ** len(ONCALL_RETRY_BACKOFF), 300.0))
# A worker holds a page this long and renews it every third of it while it delivers
# (a heartbeat): a killed worker's page is free again within the lease, then the sweep,
# every ONCALL_SWEEP_SECONDS, hands it to another worker (measured: < 15 s in all).
ONCALL_DELIVERY_LEASE_SECONDS = float(os.environ.get("ONCALL_DELIVERY_LEASE_SECONDS", 6))
ONCALL_SWEEP_SECONDS = float(os.environ.get("ONCALL_SWEEP_SECONDS", 3))
# A page never tried yet is left this long to the worker woken at commit.
ONCALL_SWEEP_GRACE_SECONDS = 10
# The beat tick of escalations: steps fire within this of their time.
ONCALL_TICK_SECONDS = 15.0
# Without an escalation policy, the IMOC is paged this long after an unacknowledged page.
ONCALL_IMOC_AFTER_MINUTES = 15
# Names the on-call API's page states, which would otherwise collide with comms' states.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PageStateEnum"] = "oncall.models.PageState"  # type: ignore[index]

# Incident workspace (incidents app) --------------------------------------------------
# Changes reported by CI/CD shown as suspects around the impact start (HANDBOOK §4).
CHANGE_WINDOW_BEFORE_MINUTES = int(os.environ.get("CHANGE_WINDOW_BEFORE_MINUTES", 120))
CHANGE_WINDOW_AFTER_MINUTES = int(os.environ.get("CHANGE_WINDOW_AFTER_MINUTES", 30))
# Responder fatigue (HANDBOOK §9): hours on the incident without a break or hand-over.
FATIGUE_AMBER_HOURS = float(os.environ.get("FATIGUE_AMBER_HOURS", 4))
FATIGUE_RED_HOURS = float(os.environ.get("FATIGUE_RED_HOURS", 8))
# One schema name per choice set of the workspace, so the API schema stays warning-free.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "ServiceChangeKindEnum": "incidents.workspace.models.ServiceChangeKind",
        "TheoryStateEnum": "incidents.models.TheoryState",
        "WorkstreamStateEnum": "incidents.workspace.models.WorkstreamState",
        "IncidentRoleEnum": "incidents.models.Role",
        "AffectedEnum": "incidents.workspace.models.Affected",
    }
)

# Monitoring integrations (oncall.integrations) -------------------------------------------
# The system user alerts act as when they open and update incidents (inactive).
ALERTS_BOT_USERNAME = "alerts"
# Bodies larger than this are refused (400, naming the limit); stored payloads are cut
# at the second limit.
ALERTS_MAX_BODY_BYTES = int(os.environ.get("ALERTS_MAX_BODY_BYTES", 1024 * 1024))
ALERTS_PAYLOAD_MAX_CHARS = int(os.environ.get("ALERTS_PAYLOAD_MAX_CHARS", 16 * 1024))
# Received payloads are kept this long for inspection, then pruned hourly.
ALERTS_RETENTION_DAYS = int(os.environ.get("ALERTS_RETENTION_DAYS", 30))
ALERTS_PRUNE_SECONDS = 3600.0
# The integrations API's default_severity is the incidents' severity choice set: one name.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["SeverityEnum"] = "incidents.models.Severity"  # type: ignore[index]
# The escalation step kinds, a maintenance's state in the portal and its state as
# Statuspage names it: three choice sets whose field names collide with others.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(  # type: ignore[attr-defined]
    {
        "EscalationStepKindEnum": "oncall.models.StepKind",
        "MaintenanceStatusEnum": "comms.models.MaintenanceStatus",
        "StatuspageMaintenanceStatusEnum": "comms.maintenance.public.STATUSES",
    }
)
