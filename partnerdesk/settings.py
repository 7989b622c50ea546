"""Django settings for PartnerDesk. Everything that differs between machines comes from the environment.

PARTNERDESK_MODE selects the defaults: ``production`` (secure cookies, a secret key is required),
``demo`` (the embedded SQLite + simulator set-up of ``make demo``) or ``test``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PARTNERDESK_VAR_DIR", BASE_DIR / "var"))

MODE = os.environ.get("PARTNERDESK_MODE", "production")
if MODE not in {"production", "demo", "test"}:
    raise ImproperlyConfigured(f"PARTNERDESK_MODE must be production, demo or test, not {MODE!r}")
DEMO = MODE in {"demo", "test"}

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and DEMO:
    # Demo and tests: a fresh key per process; sessions do not outlive a restart, which is fine there.
    SECRET_KEY = secrets.token_urlsafe(50)
# In production an empty key makes Django refuse to sign anything (sessions, CSRF) until DJANGO_SECRET_KEY is set.

DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h] or (
    ["127.0.0.1", "localhost", "testserver"] if DEMO else []
)
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' Swagger UI itself: a CDN may not be reachable (or fast) in mainland China
    "partnerdesk.accounts",
    "partnerdesk.audit",
    "partnerdesk.customers",
    "partnerdesk.workdays",
    "partnerdesk.notifications",
    "partnerdesk.billing",
    "partnerdesk.gateway",
    "partnerdesk.web",
    "partnerdesk.dunning",
    "partnerdesk.support",
    "partnerdesk.escalations",
    "partnerdesk.disputes",
    "partnerdesk.payables",
    "partnerdesk.rebilling",
    "partnerdesk.fapiao",
    "partnerdesk.finance",
    "partnerdesk.fraud",
    "partnerdesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "partnerdesk.urls"
WSGI_APPLICATION = "partnerdesk.wsgi.application"

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
                "partnerdesk.web.context_processors.billing_contact",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'partnerdesk.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("PARTNERDESK_TEST_SQLITE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins allowed per username and per client address within the window before login is refused.
LOGIN_THROTTLE_ATTEMPTS = int(os.environ.get("PARTNERDESK_LOGIN_THROTTLE_ATTEMPTS", "5"))
LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("PARTNERDESK_LOGIN_THROTTLE_WINDOW", "900"))
# How many reverse proxies in front of PartnerDesk append to X-Forwarded-For (0: clients connect directly).
TRUSTED_PROXIES = int(os.environ.get("PARTNERDESK_TRUSTED_PROXIES", "0"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "partnerdesk" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded files (case attachments) and the raw mail kept by the desk; through Django's storage API.
MEDIA_ROOT = Path(os.environ.get("PARTNERDESK_MEDIA_ROOT", VAR_DIR / "media"))

# Secure by default; the demo and tests run over plain HTTP on 127.0.0.1.
SESSION_COOKIE_SECURE = not DEMO
CSRF_COOKIE_SECURE = not DEMO
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEMO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))

# Email: real SMTP, settings from the environment.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "0") == "1"
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@partnerdesk.invalid")
if MODE == "demo" and "EMAIL_BACKEND" not in os.environ:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# What customer emails say about the partner (support channel and hours are part of the seed's duty to tell).
NOTIFICATIONS = {
    "PARTNER_NAME": os.environ.get("PARTNERDESK_PARTNER_NAME", "PartnerDesk"),
    "SUPPORT_EMAIL": os.environ.get("PARTNERDESK_SUPPORT_EMAIL", DEFAULT_FROM_EMAIL),
    "PORTAL_URL": os.environ.get("PARTNERDESK_PORTAL_URL", ""),
    # Where links in emails point (a case's confirm-and-score link): the site as customers reach it.
    "SITE_URL": os.environ.get("PARTNERDESK_SITE_URL", "http://localhost:8000"),
}
# Email in: the support mailbox `partnerdesk support fetch-mail` reads over IMAP (IMAPS unless SSL=0); no host,
# no fetching. PORT 0 means 993 (143 without SSL); an empty PROCESSED_FOLDER flags taken mail \Seen instead of
# moving it. The password comes only from the environment.
SUPPORT_MAILBOX = {
    "HOST": os.environ.get("PARTNERDESK_IMAP_HOST", ""),
    "PORT": int(os.environ.get("PARTNERDESK_IMAP_PORT", "0") or 0),
    "USER": os.environ.get("PARTNERDESK_IMAP_USER", ""),
    "PASSWORD": os.environ.get("PARTNERDESK_IMAP_PASSWORD", ""),
    "SSL": os.environ.get("PARTNERDESK_IMAP_SSL", "1") == "1",
    "CAFILE": os.environ.get("PARTNERDESK_IMAP_CAFILE", ""),
    "FOLDER": os.environ.get("PARTNERDESK_IMAP_FOLDER", "INBOX"),
    "PROCESSED_FOLDER": os.environ.get("PARTNERDESK_IMAP_PROCESSED_FOLDER", "PartnerDesk/Processed"),
}
# How customers pay, on invoices and statements, until an admin sets them (Settings > Payment instructions).
# Public details only (what a customer needs to send money), never a credential.
PAYMENT_INSTRUCTIONS = {
    "legal_name": os.environ.get("PARTNERDESK_PARTNER_LEGAL_NAME", "") or NOTIFICATIONS["PARTNER_NAME"],
    "bank_name": os.environ.get("PARTNERDESK_BANK_NAME", ""),
    "bank_account_name": os.environ.get("PARTNERDESK_BANK_ACCOUNT_NAME", ""),
    "bank_account_number": os.environ.get("PARTNERDESK_BANK_ACCOUNT_NUMBER", ""),
    "bank_branch": os.environ.get("PARTNERDESK_BANK_BRANCH", ""),
    "alipay_account": os.environ.get("PARTNERDESK_ALIPAY_ACCOUNT", ""),
    "wechat_pay": os.environ.get("PARTNERDESK_WECHAT_PAY", ""),
    "notes": os.environ.get("PARTNERDESK_PAYMENT_NOTES", ""),
}

# Production queues background work in the database for `partnerdesk worker`; the demo runs it at once.
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "PARTNERDESK_TASKS_BACKEND",
            "django_tasks.backends.immediate.ImmediateBackend" if MODE == "demo" else "django_tasks_db.DatabaseBackend",
        ),
        "QUEUES": ["default"],
    }
}

# The operator gateway (Partner Center operated by 21Vianet). Secrets come only from the environment.
PARTNER_CENTER = {
    "BASE_URL": os.environ.get("PARTNER_CENTER_BASE_URL", "https://partner.partnercenterapi.microsoftonline.cn"),
    "TOKEN_URL": os.environ.get(
        "PARTNER_CENTER_TOKEN_URL",
        "https://login.chinacloudapi.cn/{tenant}/oauth2/token",
    ),
    "PARTNER_TENANT_ID": os.environ.get("PARTNER_CENTER_TENANT_ID", ""),
    "CLIENT_ID": os.environ.get("PARTNER_CENTER_CLIENT_ID", ""),
    "CLIENT_SECRET": os.environ.get("PARTNER_CENTER_CLIENT_SECRET", ""),
    "RESOURCE": os.environ.get("PARTNER_CENTER_RESOURCE", "https://partner.partnercenterapi.microsoftonline.cn"),
    "TIMEOUT_SECONDS": float(os.environ.get("PARTNER_CENTER_TIMEOUT", "10")),
    "MAX_ATTEMPTS": int(os.environ.get("PARTNER_CENTER_MAX_ATTEMPTS", "4")),
    "BACKOFF_SECONDS": float(os.environ.get("PARTNER_CENTER_BACKOFF", "0.5")),
    "MAX_RETRY_AFTER_SECONDS": float(os.environ.get("PARTNER_CENTER_MAX_RETRY_AFTER", "30")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PARTNERDESK_LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500
