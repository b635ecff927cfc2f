"""Every setting the directory reads from its environment, in one place.

``DATABASE_URL`` is required: ``make run`` gives the embedded PostgreSQL's
(landscape.embedded_db, under ``var/``) when none is set. ``REDIS_URL`` switches the cache
and the Celery broker to Redis (production). Without it ``CACHE_URL`` and
``CELERY_BROKER_URL`` choose them (``make run``: the database cache and a broker in folders
under ``var/``); with neither, an in-memory cache and tasks run eagerly in process.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from landscape.paths import BASE_DIR, VAR_DIR

env = environ.Env()
# A local .env is convenient for development; the environment itself wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The placeholder below only serves DEBUG runs; production must bring its own.
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if not DEBUG else ["*"])

if not DEBUG:
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 32 characters when DEBUG is off."
        )
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the served host names explicitly when DEBUG is off."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "corsheaders",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "simple_history",
    "axes",
    "csp",
    "projects",
    "api",
    "ops",
]

MIDDLEWARE = [
    # First: a database outage met in any layer below answers 503, a GET retried once.
    "landscape.outage.OutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Before anything reads the request: NUL, invalid UTF-8 or a lone surrogate in the path,
    # a query parameter, a header or a form field is a 400 naming it (landscape.request_input).
    "landscape.request_input.RequestInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Reads without credentials or cookies answered whole, before any session work.
    "projects.web.kept.KeptAnswerMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused by axes' backend into its lockout answer (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "landscape.urls"
WSGI_APPLICATION = "landscape.wsgi.application"
ASGI_APPLICATION = "landscape.asgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Run `make run`, which starts the embedded PostgreSQL under "
        "var/ and sets it, or point it at a PostgreSQL server: "
        "DATABASE_URL=postgres://user:password@host:5432/name."
    )
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if IS_POSTGRES:
    INSTALLED_APPS.append("django.contrib.postgres")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker ---------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # RedisCache that answers a miss (and logs) while Redis is away: pages and the
            # API keep serving through a Redis restart.
            "BACKEND": "landscape.cache.FaultTolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "landscape",
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=1.0),
                "RETRY_AFTER": env.float("CACHE_RETRY_AFTER", default=2.0),
            },
        }
    }
elif env.str("CACHE_URL", default=""):
    # Shared by every process (e.g. dbcache://landscape_cache, the table `createcachetable`
    # makes): the refresh locks and the worker's heartbeat need that; its add() is atomic.
    CACHES = {"default": env.cache_url("CACHE_URL")}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How often a worker asks the cache for the data version before answering from its own
# copy of a page or an API read (projects.web.near); 0: always ask.
NEAR_CACHE_RECHECK = env.float("NEAR_CACHE_RECHECK", default=0.25)

CELERY_BROKER_URL = REDIS_URL or env.str("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = None
# No broker, no worker: tasks run inside the request that queues them.
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An unacknowledged task (its worker was killed) goes back to the queue after this long. It
# must exceed the longest countdown (a rate-limited batch waits up to GitHub's hourly reset)
# plus the refresh lock's time to live, or Redis hands waiting tasks to a second worker
# and a killed worker's batch comes back while its locks are held: the system check
# ops.E001 refuses such settings.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "socket_connect_timeout": 2,
    "socket_timeout": 30,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's broker without a server (make run without REDIS_URL): one file a message in
    # VAR_DIR/broker, read by a single worker. Fanout (the workers' remote control) is off:
    # the worker runs with --without-gossip --without-mingle.
    _BROKER_DIR = VAR_DIR / "broker"
    for _folder in ("queue", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "store_processed": False,
        "control_folder": str(_BROKER_DIR / "control"),
    }
# Separate queues so that refreshes and link checks scale (and stall) apart. A worker
# started without -Q consumes all three; `-Q refresh` or `-Q links` dedicates one.
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in ("celery", "refresh", "links")]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "projects.refresh_due": {"queue": "refresh"},
    "projects.refresh_batch": {"queue": "refresh"},
    "projects.check_links_due": {"queue": "links"},
    "projects.check_links": {"queue": "links"},
}
# A repository's refresh lock; longer than a batch may run (CELERY_TASK_TIME_LIMIT of
# refresh_batch: 600 s). A killed worker's locks expire after this long.
REFRESH_LOCK_TTL_SECONDS = env.int("REFRESH_LOCK_TTL_SECONDS", default=15 * 60)
# /healthz reports the last worker heartbeat as stale past this age.
HEALTHZ_HEARTBEAT_MAX_AGE = env.int("HEALTHZ_HEARTBEAT_MAX_AGE", default=30 * 60)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "refresh-due-repositories": {
        "task": "projects.refresh_due",
        "schedule": env.float("BEAT_REFRESH_SECONDS", default=15 * 60),
    },
    "check-links": {
        "task": "projects.check_links_due",
        "schedule": env.float("BEAT_LINKS_SECONDS", default=24 * 60 * 60),
    },
    # Hourly, but each maintainer hears at most once a day (see findings_digest_send).
    "findings-digest": {"task": "projects.findings_digest", "schedule": 60 * 60},
    # Tasks the broker refused while it was away (ops.outbox), sent again once it is back.
    "outbox-flush": {
        "task": "ops.outbox_flush",
        "schedule": env.float("OUTBOX_FLUSH_SECONDS", default=60),
    },
}

# --- Request bodies ------------------------------------------------------------------------
# Django's limit on a request body read through request.body / request.POST (the API's
# bodies too: larger is a 400). The GitHub webhook has its own, GITHUB_WEBHOOK_MAX_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# How deep a JSON request body may nest (the API, the webhook); deeper is a 400. GitHub's
# payloads nest under ten levels, the API's bodies under five.
REQUEST_JSON_MAX_DEPTH = env.int("REQUEST_JSON_MAX_DEPTH", default=64)

# --- Outside sources (the workers' clients) ---------------------------------------
GITHUB_TOKEN = env.str("GITHUB_TOKEN", default="")
GITHUB_API_URL = env.str("GITHUB_API_URL", default="https://api.github.com")
GITHUB_GRAPHQL_URL = env.str("GITHUB_GRAPHQL_URL", default="https://api.github.com/graphql")
GITHUB_WEBHOOK_SECRET = env.str("GITHUB_WEBHOOK_SECRET", default="")
# The largest webhook body accepted (larger: 413). The hook reads its body itself, so this,
# not DATA_UPLOAD_MAX_MEMORY_SIZE, is its one limit. GitHub sends at most 25 MB, but the
# events the hook acts on (push, release, repository) stay far below 5 MB.
GITHUB_WEBHOOK_MAX_BYTES = env.int("GITHUB_WEBHOOK_MAX_BYTES", default=5 * 1024 * 1024)
# How long a delivery (its X-GitHub-Delivery id and its signed body) is remembered: a replay
# within this window is answered 200 and does nothing.
GITHUB_WEBHOOK_REPLAY_HOURS = env.float("GITHUB_WEBHOOK_REPLAY_HOURS", default=24)
GITLAB_API_URL = env.str("GITLAB_API_URL", default="https://gitlab.com")
GITLAB_TOKEN = env.str("GITLAB_TOKEN", default="")
PYPI_URL = env.str("PYPI_URL", default="https://pypi.org")
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
OUTBOUND_USER_AGENT = env.str(
    "OUTBOUND_USER_AGENT", default="pytorch-landscape-directory/0.1 (+status checker)"
)
OUTBOUND_TIMEOUT = env.float("OUTBOUND_TIMEOUT", default=10.0)

# --- Health thresholds -------------------------------------------------------------
REFRESH_INTERVAL_HOURS = env.float("REFRESH_INTERVAL_HOURS", default=6)
HEALTH_INACTIVE_DAYS = env.int("HEALTH_INACTIVE_DAYS", default=365)
HEALTH_RECENT_ACTIVITY_DAYS = env.int("HEALTH_RECENT_ACTIVITY_DAYS", default=180)
HEALTH_MISSING_CHECKS = env.int("HEALTH_MISSING_CHECKS", default=2)
HEALTH_MISSING_MIN_HOURS = env.float("HEALTH_MISSING_MIN_HOURS", default=1)
LINK_BROKEN_CHECKS = env.int("LINK_BROKEN_CHECKS", default=3)
LINK_BROKEN_MIN_HOURS = env.float("LINK_BROKEN_MIN_HOURS", default=24)

# --- Landscape layout ----------------------------------------------------------------
# The two top-level categories of the landscape2 file that are not ecosystem pillars.
LANDSCAPE_PROJECTS_CATEGORY = env.str("LANDSCAPE_PROJECTS_CATEGORY", default="PyTorch Projects")
LANDSCAPE_MEMBERS_CATEGORY = env.str("LANDSCAPE_MEMBERS_CATEGORY", default="PyTorch Members")

# --- The client's address ------------------------------------------------------------------
# How many proxies in front of the web containers append to X-Forwarded-For (0: the client
# is REMOTE_ADDR). Every limit by address reads it through landscape.client_ip.client_ip.
# AXES_PROXY_COUNT is its former name, still read when TRUSTED_PROXY_COUNT is unset.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=env.int("AXES_PROXY_COUNT", default=0))
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")

# --- Auth, i18n -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked. allauth and the
    # admin both call django.contrib.auth.authenticate, so both are throttled.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Login throttling (django-axes, counted in the database so that it holds while Redis is
# away): AXES_FAILURE_LIMIT failures for one account from one address lock that pair out for
# AXES_COOLOFF_MINUTES; a success resets the count.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "landscape.auth.axes_username"
AXES_RESET_ON_SUCCESS = True
# The same client address as every other limit (landscape.client_ip).
AXES_CLIENT_IP_CALLABLE = "landscape.client_ip.client_ip"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "account-home"
ACCOUNT_LOGIN_METHODS = {"email"}
# User names are public (a maintainer without a full name is shown by it): none from emails;
# allauth's rate limits count by landscape.client_ip like every other limit; its mail links
# (confirmation, password reset) start with SITE_URL.
ACCOUNT_ADAPTER = "projects.account_adapter.AccountAdapter"
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_GET = False
# "Sign in with GitHub" exists only when its OAuth app is configured.
GITHUB_OAUTH_CLIENT_ID = env.str("GITHUB_OAUTH_CLIENT_ID", default="")
GITHUB_OAUTH_SECRET = env.str("GITHUB_OAUTH_SECRET", default="")
if GITHUB_OAUTH_CLIENT_ID and GITHUB_OAUTH_SECRET:
    INSTALLED_APPS.append("allauth.socialaccount.providers.github")
    SOCIALACCOUNT_PROVIDERS = {
        "github": {
            "APPS": [{"client_id": GITHUB_OAUTH_CLIENT_ID, "secret": GITHUB_OAUTH_SECRET}],
            "SCOPE": ["read:user", "user:email"],
        }
    }

# Mail: printed to the console unless EMAIL_URL names an SMTP server
# (smtp+tls://user:password@host:587).
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="landscape@localhost")
# The site's public address: every absolute link it writes starts with it (landscape/site.py),
# never with the request's Host or X-Forwarded-Proto, which the client chooses.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
_site = urlsplit(SITE_URL)
if (
    _site.scheme not in ("http", "https")
    or not _site.hostname
    or _site.query
    or _site.fragment
    or _site.username is not None
    or _site.password is not None
):
    raise ImproperlyConfigured(
        "SITE_URL must be the site's public address, http(s)://host[:port][/prefix], without "
        f"a query, fragment or credentials; it is {SITE_URL!r}."
    )
ACCOUNT_DEFAULT_HTTP_PROTOCOL = _site.scheme

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The site is written in English only and ships no translations: with USE_I18N off every
# gettext() and get_language() (dozens per rendered page, each through asgiref's Local) is
# a constant, which took 7% off the project page's time in-process (issue 7). Third-party
# templates (allauth, the admin) then show their English source strings.
USE_I18N = False
USE_TZ = True

# --- Static and media ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Real landscape logos reach 1.6 MB (detailed SVG exports); uploads above this are refused.
LOGO_MAX_BYTES = env.int("LOGO_MAX_BYTES", default=2 * 1024 * 1024)

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Token first: its WWW-Authenticate makes DRF answer anonymous writes with 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # JSON through landscape.request_input.json_parse (nesting limit, no NUL, UTF-8 only).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ProjectPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonThrottle",
        "api.throttling.UserThrottle",
        "api.throttling.WriteThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
        "write": env.str("API_THROTTLE_WRITE", default="60/minute"),
    },
}
# CORS on /api/ only, for reads only (api.cors allows the origin for GET/HEAD requests).
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 86400
# The public's list pages by stars from the bodies PostgreSQL triggers store (api.public_list);
# off: every page through the serializer (the same JSON, built per request).
API_LIST_STORED_BODIES = env.bool("API_LIST_STORED_BODIES", default=True)
SPECTACULAR_SETTINGS = {
    "TITLE": "PyTorch Landscape directory API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Security defaults for production (DEBUG off) ------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The container healthcheck asks over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy (django-csp 4), in every mode so that development sees what
# production refuses. Scripts only from our own origin, never inline: pages keep their
# JavaScript in static/js, and the Swagger UI loads its init script as a file
# (SpectacularSwaggerSplitView). Styles may be inline: the admin, Swagger UI and ReDoc set
# style attributes, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],  # ReDoc's search index runs in a blob: worker
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", "https://github.com"],  # "Sign in with GitHub" redirects
    },
}

# json: one JSON object a line (landscape.logging.JsonFormatter), for log shippers; text: for
# people. Workers and beat log through this configuration too (landscape.celery).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "landscape.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    # Reset keys and tokens in a logged URL are masked (landscape.logging.redact_secrets).
    "filters": {"redact_secrets": {"()": "landscape.logging.RedactSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per outbound request is noise at INFO; the services log counts.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
