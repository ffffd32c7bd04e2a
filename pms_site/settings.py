"""Settings, all from the environment. Unset DATABASE_URL / REDIS_URL → embedded servers under .pms/."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from pms_site.embedded import STATE_DIR, service_urls

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("PMS_DEBUG", default=False)
SECRET_KEY = os.environ.get("PMS_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("PMS_REQUIRE_SECRET_KEY", default=False):
        raise ImproperlyConfigured("PMS_SECRET_KEY is required in production")
    SECRET_KEY = "insecure-local-only-key-set-PMS_SECRET_KEY-in-production"  # noqa: S105
ALLOWED_HOSTS = env_list("PMS_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("PMS_CSRF_TRUSTED_ORIGINS", "")

_URLS = service_urls()
DATABASE_URL = _URLS["DATABASE_URL"]
REDIS_URL = _URLS["REDIS_URL"]

DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
# Server-side binding lets psycopg prepare the hot statements (fill booking) after a few runs.
DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("PMS_TEST_DATABASE", "test_pms")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "template_partials",
    "trading",
    "risk",
    "algos",
    "access",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pms_site.urls"
WSGI_APPLICATION = "pms_site.wsgi.application"
ASGI_APPLICATION = "pms_site.asgi.application"

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

CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}},
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / ".pms" / "static"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# API: session (pages, CSRF-checked) or a scoped API key; writes throttled per caller.
PMS_API_WRITE_RATE = os.environ.get("PMS_API_WRITE_RATE", "120/min")
PMS_RISK_VIEWS = "risk.web.risk_views"  # trading's pages and API read risk state through it (layers)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["access.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["access.throttling.WriteRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "trading.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "trading.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PMS API",
    "DESCRIPTION": "Sub-accounts, positions, orders, fills, ledger, algos, risk and engine status. Decimals are "
                   "strings; errors are {code, message, detail}; a caller sees only the sub-accounts granted to it.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",  # vendored: the docs page loads nothing from outside
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Venue: "simulated" (simexchange on loopback) or "binance". Keys only ever come from the environment.
PMS_VENUE = os.environ.get("PMS_VENUE", "simulated")
if PMS_VENUE not in {"simulated", "binance"}:
    raise ImproperlyConfigured(f"PMS_VENUE must be simulated or binance, got {PMS_VENUE!r}")
PMS_SIMEXCHANGE_URL = os.environ.get("PMS_SIMEXCHANGE_URL", "http://127.0.0.1:8765")
PMS_EXCHANGE_API_KEY = os.environ.get("PMS_EXCHANGE_API_KEY", "")
PMS_EXCHANGE_API_SECRET = os.environ.get("PMS_EXCHANGE_API_SECRET", "")
if PMS_VENUE == "simulated" and not PMS_EXCHANGE_API_KEY:
    # The simulated exchange's demo account (make run starts it with these); not a credential anywhere else.
    PMS_EXCHANGE_API_KEY, PMS_EXCHANGE_API_SECRET = "pms-sim-key", "pms-sim-secret"
PMS_ENGINE_METRICS_PORT = int(os.environ.get("PMS_ENGINE_METRICS_PORT", "9108"))
# Who owns the algos this engine runs (their leases in Redis). Stable across restarts, so a restarted engine
# takes its own algos back at once; a second engine needs another id (one owner per algo).
PMS_ENGINE_ID = os.environ.get("PMS_ENGINE_ID", "engine-1")
# The desk's reprice budget shared by every chase: Binance allows 1,200 new orders a minute per account and a
# reprice is a cancel plus a new order, so 10 a second leaves room for everything else (algos/governor.py).
PMS_REPRICE_RATE_PER_S = float(os.environ.get("PMS_REPRICE_RATE_PER_S", "10"))
PMS_REPRICE_BURST = int(os.environ.get("PMS_REPRICE_BURST", "20"))
# Folders the strategy registry reads strategy files from (os.pathsep-separated); no upload through the web.
PMS_STRATEGY_DIRS = [Path(folder) for folder in os.environ.get("PMS_STRATEGY_DIRS", str(BASE_DIR / "strategies"))
                     .split(os.pathsep) if folder]
# Market-data keys and channels in Redis live under this prefix (a second desk or a test uses its own).
PMS_REDIS_PREFIX = os.environ.get("PMS_REDIS_PREFIX", "pms")
PMS_EXCHANGE_ACCOUNT = os.environ.get("PMS_EXCHANGE_ACCOUNT", "main")
PMS_HOUSE_SUB_ACCOUNT = "house"
PMS_STATE_DIR = STATE_DIR  # embedded data, demo login

PMS_LOG_FORMAT = os.environ.get("PMS_LOG_FORMAT", "json")
if PMS_LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"PMS_LOG_FORMAT must be json or plain, got {PMS_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "pms_site.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": PMS_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("PMS_LOG_LEVEL", "INFO")},
}
