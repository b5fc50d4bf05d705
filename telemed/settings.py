"""Django settings, all read from the environment (see telemed/conf.py and README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from telemed import __version__
from telemed.conf import env_bool, env_int, env_list, env_path_list, env_port, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TELEMED_VAR_DIR", str(BASE_DIR / "var")))
VERSION = __version__

DEBUG = env_bool("DEBUG", False)
DEMO_MODE = env_bool("TELEMED_DEMO", False)


def _local_secret(name: str, nbytes: int = 48) -> str:
    """A secret generated once and kept under var/, for the embedded single-machine mode."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return value


SECRET_KEY = env_secret("SECRET_KEY") or _local_secret("secret_key")
# The key of the pseudonyms external experts see in de-identified studies (imaging's
# confidentiality profile); empty: derived from SECRET_KEY. Changing it changes the
# pseudonyms issued afterwards (those already issued still resolve through their table).
IMAGING_PSEUDONYM_SECRET = env_secret("IMAGING_PSEUDONYM_SECRET") or ""
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Listener ports: the web server, and the DICOM and MLLP listeners that later parts add.
PORT = env_port("PORT", 8000)
DICOM_PORT = env_port("DICOM_PORT", 11112)
DICOM_AE_TITLE = env_str("DICOM_AE_TITLE", "TELEMED")
DICOM_BIND_ADDRESS = env_str("DICOM_BIND_ADDRESS", "127.0.0.1")
DICOM_MAX_ASSOCIATIONS = env_int("DICOM_MAX_ASSOCIATIONS", 20, minimum=1)
MLLP_PORT = env_port("MLLP_PORT", 2575)
# The HL7 v2 listener: bind address, the largest frame read (bigger ones drop the
# connection unread), and how long an idle connection is kept.
MLLP_HOST = env_str("MLLP_HOST", "127.0.0.1")
MLLP_MAX_BYTES = env_int("MLLP_MAX_BYTES", 1024 * 1024, minimum=1024)
MLLP_IDLE_TIMEOUT = env_int("MLLP_IDLE_TIMEOUT", 300, minimum=1)
MLLP_WORKERS = env_int("MLLP_WORKERS", 8, minimum=1)
MLLP_MAX_CONNECTIONS = env_int("MLLP_MAX_CONNECTIONS", 64, minimum=1)
# Outbound delivery: attempts before the dead-letter list, the first retry delay (doubled
# on each failure, capped), and how often the delivery job runs.
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 10, minimum=1)
DELIVERY_RETRY_SECONDS = env_int("DELIVERY_RETRY_SECONDS", 30, minimum=1)
DELIVERY_RETRY_CAP_SECONDS = env_int("DELIVERY_RETRY_CAP_SECONDS", 3600, minimum=1)
DELIVERY_EVERY_SECONDS = env_int("DELIVERY_EVERY_SECONDS", 10, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "oauth2_provider",
    "ninja",
    "channels",
    "telemed.core",
    "telemed.directory",
    "telemed.accounts",
    "telemed.patients",
    "telemed.audit",
    "telemed.storage",
    "telemed.notifications",
    "telemed.consultations",
    "telemed.dicom",
    "telemed.imaging",
    "telemed.ecg",
    "telemed.pathology",
    "telemed.exchange",
    "telemed.fhir",
    "telemed.web",
    "telemed.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "telemed.core.middleware.RequestContextMiddleware",
    "telemed.core.middleware.RequestSizeLimitMiddleware",
    "telemed.core.middleware.NulByteGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "telemed.accounts.middleware.IdleTimeoutMiddleware",
    "telemed.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "telemed.urls"
WSGI_APPLICATION = "telemed.wsgi.application"
ASGI_APPLICATION = "telemed.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "telemed.web.context.navigation",
            ],
        },
    }
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
_default_db = f"sqlite:///{VAR_DIR / 'telemed.sqlite3'}"
try:
    _db = dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0
    # IMMEDIATE transactions take the write lock up front, so two writers queue on the
    # busy timeout instead of one failing with "database is locked" mid-transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests run on a file, not the shared in-memory database, so that concurrent writers meet
    # SQLite's real locking (the concurrency tests depend on it).
    # One file per process, so that two test runs side by side do not share a database.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-telemed-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # One test database per process, so that two test runs side by side do not collide.
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
    # Statements bound and prepared on the server: psycopg prepares a statement the second
    # time a connection runs it, so PostgreSQL stops parsing and planning the same few dozen
    # queries on every request (measured: +58% workflow steps per second).
    _db.setdefault("OPTIONS", {})
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        _db["OPTIONS"].update(server_side_binding=True, prepare_threshold=1)
    # A pool of open connections (psycopg_pool): under ASGI each request runs in a thread of
    # its own, which would otherwise open (and PostgreSQL fork) a new connection every time.
    if env_bool("DATABASE_POOL", True):
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"]["pool"] = {
            "min_size": 2,
            "max_size": env_int("DATABASE_POOL_SIZE", 20, minimum=1),
            "timeout": 10,
        }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    # Sessions are read through the shared cache, falling back to the database. Only with a
    # shared cache: a per-process cache would keep a session signed out elsewhere alive.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Accounts and access.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["telemed.accounts.backends.ScopedModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"
LOCKOUT_THRESHOLD = env_int("LOCKOUT_THRESHOLD", 5, minimum=1)
LOCKOUT_MINUTES = env_int("LOCKOUT_MINUTES", 15, minimum=1)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# TOTP second factor for experts, managers and administrators; only a demo turns it off.
REQUIRE_SECOND_FACTOR = env_bool("REQUIRE_SECOND_FACTOR", True)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "telemed")

# OAuth2 client credentials for hospital systems and OpenID Connect for single sign-on.


def _local_rsa_key() -> str:
    """The OIDC signing key for the embedded mode, generated once and kept under var/."""
    path = VAR_DIR / "oidc_rsa.pem"
    if path.exists():
        return path.read_text(encoding="utf-8")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(pem, encoding="utf-8")
    path.chmod(0o600)
    return pem


OIDC_RSA_PRIVATE_KEY = env_secret("OIDC_RSA_PRIVATE_KEY") or _local_rsa_key()
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OAUTH2_VALIDATOR_CLASS": "telemed.accounts.oidc.TelemedOIDCValidator",
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OIDC_ISS_ENDPOINT": env_str("OIDC_ISSUER", ""),
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "SCOPES": {"openid": "OpenID Connect", "api": "Platform API"},
    "DEFAULT_SCOPES": ["api"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
}

# Blob storage: content-addressed, streamed, mirrored, optionally S3-compatible.
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
if STORAGE_BACKEND not in {"local", "s3"}:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be local or s3, not {STORAGE_BACKEND!r}")
STORAGE_ROOT = Path(env_str("STORAGE_ROOT", str(VAR_DIR / "blobs")))
STORAGE_MIRRORS = env_path_list("STORAGE_MIRRORS")
S3_BUCKET = env_str("S3_BUCKET", "")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_ACCESS_KEY = env_secret("S3_ACCESS_KEY") or ""
S3_SECRET_KEY = env_secret("S3_SECRET_KEY") or ""
if STORAGE_BACKEND == "s3" and not S3_BUCKET:
    raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET")

# Requests: a JSON body above this is refused with 413 before it is parsed.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 2 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Scoping enforcement: a patient-data query evaluated outside the scoping functions raises.
ENFORCE_SCOPING = env_bool("ENFORCE_SCOPING", True)

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "telemed" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
# Front-end packages come from npm at setup and are served from here, never from a CDN.
_NODE = BASE_DIR / "node_modules"
_VENDOR = [
    ("vendor/htmx", _NODE / "htmx.org" / "dist"),
    ("vendor/bootstrap", _NODE / "bootstrap" / "dist"),
    ("vendor/openseadragon", _NODE / "openseadragon" / "build" / "openseadragon"),
]
STATICFILES_DIRS = [(prefix, str(path)) for prefix, path in _VENDOR if path.is_dir()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
LOGIN_URL_PATH = "/accounts/login/"
LOGIN_REDIRECT_URL_PATH = "/"
# django-oauth-toolkit's swappable models, named so migrations can depend on them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

# Consultation turnaround targets (minutes from submission to an expert's first response).
TURNAROUND_MINUTES = {
    "emergency": env_int("TURNAROUND_EMERGENCY_MINUTES", 30, minimum=1),
    "urgent": env_int("TURNAROUND_URGENT_MINUTES", 24 * 60, minimum=1),
    "routine": env_int("TURNAROUND_ROUTINE_MINUTES", 72 * 60, minimum=1),
}

# Consultation attachments, video (Jitsi Meet: our own video stack is deliberately none) and
# the printable conclusion.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 200 * 1024 * 1024, minimum=1024)
JITSI_BASE_URL = env_str("JITSI_BASE_URL", "").rstrip("/")
JITSI_APP_ID = env_str("JITSI_APP_ID", "")
JITSI_JWT_SECRET = env_secret("JITSI_JWT_SECRET") or ""
# A TrueType font to embed in conclusion PDFs; empty uses the built-in STSong-Light CID font.
CONCLUSION_PDF_FONT = env_str("CONCLUSION_PDF_FONT", "")
CONCLUSION_PDF_FONT_INDEX = env_int("CONCLUSION_PDF_FONT_INDEX", 0, minimum=0)

# ECG intake: an uploaded record (all its files together) above this is refused with 413.
ECG_MAX_BYTES = env_int("ECG_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# ECG pools: a waiting ECG not claimed in this many minutes escalates to the pool's
# escalation pool; a claimed ECG not reported in this many minutes goes back to its pool.
ECG_ESCALATE_MINUTES = env_int("ECG_ESCALATE_MINUTES", 10, minimum=1)
ECG_RETURN_MINUTES = env_int("ECG_RETURN_MINUTES", 30, minimum=1)

# How notifications leave the platform besides the in-app bell: "log" writes a log line (the
# demo), "none" sends nothing, a dotted path names a real adapter class.
NOTIFY_EMAIL_BACKEND = env_str("NOTIFY_EMAIL_BACKEND", "log")
NOTIFY_SMS_BACKEND = env_str("NOTIFY_SMS_BACKEND", "log")
