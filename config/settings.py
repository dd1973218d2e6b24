"""Settings, all driven by the environment: one module for development, CI and production.

Everything time-related is UTC inside (USE_TZ); workspaces carry their own time zone for display.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from publishing.queues import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a key generated once into var/ (never committed)."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Old keys, newest first, still accepted when SECRET_KEY changes: sessions, signed review-link
# cookies and the recovery codes' hashes keep working while they age out.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "csp",
    "django_otp",  # its devices are ours: accounts.models.AuthenticatorDevice, RecoveryCodeDevice
    "axes",
    "accounts",
    "calendar_app",
    "publishing",
    "notifications",
    "links",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): this session passed the second factor (accounts.two_factor).
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into accounts.lockouts' answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "notifications.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the Celery worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "calendar:home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
# The one catalogue of every app, inside the config package so that an installed wheel has it.
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# One date and time format per language (config/formats): the 24-hour clock in both.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it, even before collectstatic
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
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
WHITENOISE_USE_FINDERS = DEBUG

# Uploads: the editor refuses anything larger before it reaches the storage.
MEDIA_MAX_IMAGE_BYTES = int(os.environ.get("MEDIA_MAX_IMAGE_BYTES", 20 * 1024 * 1024))
MEDIA_MAX_VIDEO_BYTES = int(os.environ.get("MEDIA_MAX_VIDEO_BYTES", 512 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "calendar@localhost")
# The SMTP server (the smtp backend): localhost:25 unless set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start, usually port 465
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # filebased backend
# Where e-mails link to: the public address of this site, without a trailing path.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")
# Two-factor authentication (accounts.two_factor): the name authenticator apps list the account
# under. Keys are stored encrypted (CREDENTIALS_KEYS), recovery codes hashed; the admin shows
# neither.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Content calendar")
# How long the code step of a login waits after the password was right, in seconds.
TWO_FACTOR_LOGIN_SECONDS = int(os.environ.get("TWO_FACTOR_LOGIN_SECONDS", "300"))
# Failed logins (django-axes, accounts.lockouts): after AXES_FAILURE_LIMIT failures for one
# account, or from one address, logins of that account / from that address are refused for
# AXES_COOLOFF_MINUTES (a right password included); a successful login resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses before any password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # each on its own: an account, an address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockouts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_address"  # the one rule, proxies included
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False  # the lock-outs are logged by accounts.lockouts, without the password
# Password reset e-mails: this many per address, and per e-mail address, an hour.
PASSWORD_RESET_PER_HOUR = int(os.environ.get("PASSWORD_RESET_PER_HOUR", "5"))
# How long a workspace invitation's link can be accepted (calendar_app.services.workspaces).
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))

# Single sign-on over OpenID Connect (accounts.oidc; README, "Single sign-on"): off, with no
# button, no backend and /oidc/ answering 404, until a client id and the provider's discovery
# document (or its four endpoints) are set. The provider is told /oidc/callback/ as redirect URI.
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_DISCOVERY_URL = os.environ.get("OIDC_OP_DISCOVERY_URL", "")
# Each of these wins over the discovery document's value.
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "")  # empty: "single sign-on"
# The claim that says the provider verified the e-mail address; people are matched by address
# only when it is true.
OIDC_EMAIL_VERIFIED_CLAIM = os.environ.get("OIDC_EMAIL_VERIFIED_CLAIM", "email_verified")
# An unknown verified address: an account is made (1), or the sign-in is refused (accounts
# come from invitations). OIDC_CREATE_USER is the library's own switch, unused by our backend.
OIDC_CREATE_USERS = env_bool("OIDC_CREATE_USERS", False)
OIDC_CREATE_USER = False
# Whether a single sign-on also counts as the second factor, here and for workspaces that
# require two-factor authentication. Off: the provider's sign-in is one factor, and people who
# set up an authenticator app enter its code afterwards. On when the provider enforces MFA.
OIDC_COUNTS_AS_TWO_FACTOR = env_bool("OIDC_COUNTS_AS_TWO_FACTOR", False)
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_TIMEOUT = float(os.environ.get("OIDC_TIMEOUT", "10"))
LOGIN_REDIRECT_URL_FAILURE = "login"
if OIDC_RP_CLIENT_ID and (
    OIDC_OP_DISCOVERY_URL
    or all(
        (
            OIDC_OP_AUTHORIZATION_ENDPOINT,
            OIDC_OP_TOKEN_ENDPOINT,
            OIDC_OP_USER_ENDPOINT,
            OIDC_OP_JWKS_ENDPOINT,
        )
    )
):
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "accounts.oidc.SSOBackend"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# HTTPS in production, from the environment (README, "Production"): off by default so a first
# start on http://localhost works; `manage.py check --deploy` names what is missing.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto (and strips a
# client's own): the request is https when it says so.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp): our own scripts only, no inline script anywhere (the
# templates use data- attributes that static/calendar_app/app.js handles); inline style
# attributes stay allowed (Bootstrap utilities, chart widths), style elements do not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # "Connect" posts here and is redirected to the platform's sign-in (any Mastodon
        # instance), which form-action governs too.
        "form-action": ["'self'", "https:"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker `make run` falls back to when no Redis is reachable.
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_broker_dir / "control"),
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queue names live in publishing/queues.py; tests give each worker its own default queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", Queue.DEFAULT.value)
CELERY_TASK_ROUTES = {
    "publishing.tasks.publish_*": {"queue": Queue.PUBLISH.value},
    "publishing.tasks.metrics_*": {"queue": Queue.METRICS.value},
}


# Redis redelivers an unacknowledged message (including one waiting for its ETA) after this
# long. Publish tasks are sent when due, without an ETA, and take seconds, far below it.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# --- Publishing engine (README "Publishing engine") ---------------------------------------------
# Deliveries are created this long before their time (sent to workers only when due).
PUBLISHING_LOOKAHEAD_SECONDS = float(os.environ.get("PUBLISHING_LOOKAHEAD_SECONDS", "10"))
# A delivery publishing longer than this is presumed abandoned (its worker died) and reconciled.
PUBLISHING_LEASE_SECONDS = float(os.environ.get("PUBLISHING_LEASE_SECONDS", "300"))
# A delivery queued this long past its time lost its task message: it is handed over again.
PUBLISHING_QUEUED_GRACE_SECONDS = float(os.environ.get("PUBLISHING_QUEUED_GRACE_SECONDS", "60"))
# Not out within this long after its time: missed (never published late unless asked).
PUBLISHING_LATENESS_SECONDS = float(os.environ.get("PUBLISHING_LATENESS_SECONDS", str(6 * 3600)))
# How long before its time a post its channel cannot publish is named to its author and the
# managers (and again at its time): calendar_app.services.held.
HELD_WARNING_HOURS = float(os.environ.get("HELD_WARNING_HOURS", "24"))
# How long before a channel's connection ends (a token that cannot renew itself) its managers
# are told, and the channel warns in the editor and the channel list: calendar_app.channel_health.
CHANNEL_ACCESS_WARNING_DAYS = float(os.environ.get("CHANNEL_ACCESS_WARNING_DAYS", "14"))
# A platform's "slow down" asking us to wait at least this long is a posting quota used up (a
# daily limit), shown as the channel's health until it is over; shorter waits are routine.
PUBLISHING_QUOTA_HOLD_SECONDS = float(os.environ.get("PUBLISHING_QUOTA_HOLD_SECONDS", "900"))
PUBLISHING_MAX_ATTEMPTS = int(os.environ.get("PUBLISHING_MAX_ATTEMPTS", "5"))
PUBLISHING_BACKOFF_SECONDS = float(os.environ.get("PUBLISHING_BACKOFF_SECONDS", "30"))
PUBLISHING_BACKOFF_MAX_SECONDS = float(os.environ.get("PUBLISHING_BACKOFF_MAX_SECONDS", "1800"))
# Connections an adapter keeps open per platform host: one per call the publishing worker has in
# flight, so `make run`'s publisher threads (PUBLISH_CONCURRENCY, Procfile) each keep theirs.
PUBLISHING_HTTP_POOL_SIZE = int(os.environ.get("PUBLISH_CONCURRENCY", "32"))
# Token bucket per channel, shared by all workers through Redis: (burst, posts per second).
# A bucket lets at most burst + rate * T posts through in any T seconds; platforms that publish
# a posting quota get one that stays within it (docs/platforms.md), the others the default and
# their own 429s (`Retry-After` and friends hold the channel's bucket: ratelimit.rate_hold).
PUBLISHING_RATE_LIMITS = {
    "default": (
        float(os.environ.get("PUBLISHING_RATE_BURST", "5")),
        float(os.environ.get("PUBLISHING_RATE_PER_SECOND", "0.5")),
    ),
    "instagram": (10.0, 40 / 86400),  # 50 API-published posts per 24 h (moving window)
    "threads": (25.0, 225 / 86400),  # 250 posts per 24 h (moving window)
    "linkedin": (10.0, 140 / 86400),  # ~150 posts per member and day
    "telegram": (10.0, 10 / 60.0),  # 20 messages a minute per group or channel
}
# A token the dispatcher took for a delivery is spent by the worker within this long, or the
# worker takes a fresh one (a backlog clearing at once must not burst past the limit).
PUBLISHING_RATE_TOKEN_SECONDS = float(os.environ.get("PUBLISHING_RATE_TOKEN_SECONDS", "30"))
PUBLISHING_REDIS_URL = os.environ.get(
    "PUBLISHING_REDIS_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
# A manual post not marked done this long after its time is escalated to the managers.
PUBLISHING_MANUAL_ESCALATE_SECONDS = float(
    os.environ.get("PUBLISHING_MANUAL_ESCALATE_SECONDS", "3600")
)


# --- Engagement metrics (publishing/metrics/: the schedule, sweep and batch pulls) --------------
# Every metrics_* task (sweeps included) runs on the metrics queue (CELERY_TASK_ROUTES): the
# publishing dispatcher on the default queue never waits behind a metrics sweep.
# A claimed post comes back after this long if its batch task never wrote (a crashed worker).
METRICS_LEASE_SECONDS = float(os.environ.get("METRICS_LEASE_SECONDS", "900"))
# Posts of a paused / needs-reconnect channel are looked at again after this long.
METRICS_HOLD_SECONDS = float(os.environ.get("METRICS_HOLD_SECONDS", "3600"))
# Failed pulls of one schedule step (with backoff) before that step is given up.
METRICS_MAX_FAILURES = int(os.environ.get("METRICS_MAX_FAILURES", "5"))
# At most this many posts are claimed per sweep (each minute); more wait for the next one.
METRICS_SWEEP_LIMIT = int(os.environ.get("METRICS_SWEEP_LIMIT", "100000"))
# A batch waiting for its rate-limit slot is sent again with a countdown up to this long
# (below the broker's visibility timeout); a longer wait goes back to the sweep.
METRICS_MAX_COUNTDOWN_SECONDS = float(os.environ.get("METRICS_MAX_COUNTDOWN_SECONDS", "1800"))
# Per-channel read bucket (burst, calls per second), apart from the publishing bucket.
METRICS_RATE_LIMITS = {
    "default": (
        float(os.environ.get("METRICS_RATE_BURST", "10")),
        float(os.environ.get("METRICS_RATE_PER_SECOND", "0.5")),
    )
}
# History backfill when a channel is connected: this many days, at most this many posts.
METRICS_BACKFILL_DAYS = int(os.environ.get("METRICS_BACKFILL_DAYS", "30"))
METRICS_BACKFILL_LIMIT = int(os.environ.get("METRICS_BACKFILL_LIMIT", "200"))


# --- Publishing: platform adapters, credentials ------------------------------------------------
def _adapter(module: str, cls: str, **options) -> dict:
    """One PUBLISHING_ADAPTERS entry; every API base URL can be overridden from the environment."""
    key = module.upper()
    return {
        "BACKEND": f"publishing.adapters.{module}.{cls}",
        "OPTIONS": {
            "base_url": os.environ.get(f"{key}_API_BASE_URL", ""),
            "client_id": os.environ.get(f"{key}_CLIENT_ID", ""),
            "client_secret": os.environ.get(f"{key}_CLIENT_SECRET", ""),
            **options,
        },
    }


PUBLISHING_ADAPTERS = {
    # X_AUTH=oauth1 connects new X channels with OAuth 1.0a user context (consumer key/secret).
    "x": _adapter(
        "x",
        "XAdapter",
        auth=os.environ.get("X_AUTH", "oauth2"),
        consumer_key=os.environ.get("X_CONSUMER_KEY", ""),
        consumer_secret=os.environ.get("X_CONSUMER_SECRET", ""),
    ),
    # LINKEDIN_ORGANIZATIONS=1 asks for the company-page scopes (Community Management API access).
    "linkedin": _adapter(
        "linkedin", "LinkedInAdapter", organizations=env_bool("LINKEDIN_ORGANIZATIONS", False)
    ),
    "facebook": _adapter("facebook", "FacebookAdapter"),
    "instagram": _adapter("instagram", "InstagramAdapter"),
    "threads": _adapter("threads", "ThreadsAdapter"),
    "mastodon": _adapter("mastodon", "MastodonAdapter"),
    "bluesky": _adapter(
        "bluesky", "BlueskyAdapter", appview_url=os.environ.get("BLUESKY_APPVIEW_URL", "")
    ),
    "youtube": _adapter("youtube", "YouTubeAdapter"),
    "pinterest": _adapter("pinterest", "PinterestAdapter"),
    "telegram": _adapter("telegram", "TelegramAdapter"),
    "wordpress": _adapter("wordpress", "WordPressAdapter"),
    # The built-in test network: posts go to this installation's sandbox feed, never out.
    "testnet": {"BACKEND": "publishing.adapters.testnet.TestNetworkAdapter", "OPTIONS": {}},
}
# What went out of each post (calendar_app/publication.py): the rulebook keeps it on record.
POST_PUBLICATION = "publishing.selectors.post_publications"
# What other apps show in the post editor (calendar_app/editor_hints.py): best time to post,
# whether links will be tracked.
EDITOR_HINTS = ["analytics.hints.editor_hints", "links.hints.editor_hints"]
# Fernet keys for credentials at rest, comma-separated; the first encrypts, all decrypt (rotation).
# Without one, a key is generated once into var/ (development only; set it in production).
CREDENTIALS_KEYS = env_list("CREDENTIALS_KEYS")
# User-supplied instance/site URLs must be https and public unless this is on (dev and tests).
PUBLISHING_ALLOW_PRIVATE_URLS = env_bool("PUBLISHING_ALLOW_PRIVATE_URLS", False)
# Public base URL under which platforms that fetch media (Instagram, Threads, Pinterest) find it.
# In development the site's own media URL stands in, so the demo can plan such posts.
PUBLIC_MEDIA_BASE_URL = os.environ.get(
    "PUBLIC_MEDIA_BASE_URL", f"{SITE_URL.rstrip('/')}/{MEDIA_URL}" if DEBUG else ""
)
# Public address of this site for the short links of link tracking (<PUBLIC_BASE_URL>/l/<code>);
# without it, workspaces cannot turn link shortening on. In development the site's URL stands in.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", SITE_URL if DEBUG else "").rstrip("/")
# Short-link clicks per client address and minute (links/ratelimit.py). A person follows a few
# short links a minute, and one post rarely brings more than a few dozen people behind one
# office or school address in the same minute: up to this many requests count as clicks, the
# rest are redirected but not counted (a script cycling user agents defeats the de-duplication
# by visitor; this caps what it can add).
LINKS_RATE_COUNT_PER_MINUTE = int(os.environ.get("LINKS_RATE_COUNT_PER_MINUTE", "30"))
# Beyond this many (two a second for a whole minute, no person) the redirect answers 429 with
# Retry-After until the minute is over: floods and code guessing cost us one cache round trip.
LINKS_RATE_REFUSE_PER_MINUTE = int(os.environ.get("LINKS_RATE_REFUSE_PER_MINUTE", "120"))
# Where the counters live, shared by all web processes; without one, per process in the cache.
LINKS_REDIS_URL = os.environ.get("LINKS_REDIS_URL", PUBLISHING_REDIS_URL)
# Reverse proxies in front of the site that each append the client's address to
# X-Forwarded-For. 0 (the default): REMOTE_ADDR is the client and the header is ignored (any
# client can send one). Behind one nginx or load balancer: 1.
LINKS_TRUSTED_PROXY_COUNT = int(os.environ.get("LINKS_TRUSTED_PROXY_COUNT", "0"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # No link token nor query string in a log line (django.request names the path of a 404).
    "filters": {"redact_link_secrets": {"()": "config.redaction.RedactLinkSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_link_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Tests share the database with a real Celery worker process, so SQLite tests use a file.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
