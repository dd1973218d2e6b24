"""Shared HTTP plumbing for every adapter: a keep-alive session with default timeouts, and the
one mapping from HTTP failures to our exception set (base.TransientError / RateLimited /
AuthExpired / PermanentError), with secrets scrubbed from everything we keep.

Usage in an adapter module::

    from publishing.adapters import http
    from publishing.adapters.base import AuthExpired, PlatformAdapter

    class FooAdapter(PlatformAdapter):
        key = "foo"

        def __init__(self, **options):
            super().__init__(**options)
            # Network errors and timeouts raised by this session are already TransientError.
            self.http = http.session(platform=self.key, timeout=self.timeout)

        def _call(self, method, path, *, token, **kwargs):
            response = self.http.request(
                method, self.base_url + path, headers=http.bearer(token), **kwargs
            )
            # Platform quirks first (e.g. a 400 that really means "token expired"):
            if response.status_code == 400 and http.json_or_empty(response).get("error") == "X":
                raise AuthExpired(..., detail=http.error_detail(response))
            http.raise_for_platform(response, platform=self.key)  # 2xx/3xx: returns None
            return response.json()

The mapping of `raise_for_platform`:

- connection errors, timeouts (raised by the session)      -> TransientError
- 429                                                      -> RateLimited(retry_after=...)
  retry_after from `Retry-After` (seconds or HTTP date), else `x-rate-limit-reset` (X, epoch
  seconds), `X-RateLimit-Reset` (Mastodon, ISO 8601), `RateLimit-Reset` (IETF draft: delta
  seconds; values that look like epoch seconds are treated as such). None when unknown.
- 401                                                      -> AuthExpired
- 5xx                                                      -> TransientError
- other 4xx                                                -> PermanentError with the platform's
  own error text (see `platform_error_text`), scrubbed of secrets.

Servers a user typed in (Mastodon instance, Bluesky PDS, WordPress site): pass
`public_only=True` to `session()`. Every connection it opens is then checked *after* connecting
(the peer address of the socket, so DNS changes after the connect-time check in
publishing.urlsafety cannot point us at an internal service) and refused with PermanentError
when the peer is private, loopback, link-local... Off when settings.PUBLISHING_ALLOW_PRIVATE_URLS
is on (development, tests against local fake servers) and when a proxy is in use.

`detail` on every error is "HTTP <status> <METHOD> <path>: <platform text>" with tokens,
passwords, bot tokens and Authorization values removed (`scrub`). Pass `secrets=(...)` to also
blank exact values you know (e.g. an app password that the platform echoes back).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from publishing.adapters.base import (
    AdapterError,
    AuthExpired,
    PermanentError,
    RateLimited,
    TransientError,
)

USER_AGENT = "ContentCalendar/1.0 (+publishing)"
DEFAULT_TIMEOUT = 20.0
MAX_DETAIL = 500  # characters of platform text kept in `detail`


def platform_label(platform: str) -> str:
    from calendar_app.platforms import Platform

    try:
        return str(Platform(platform).label)
    except ValueError:
        return platform


class PlatformSession(requests.Session):
    """A requests.Session that applies a default timeout and turns network failures into
    TransientError (with a scrubbed detail), so adapters only ever see our exceptions."""

    # Hosts whose environment settings are remembered (a worker talks to a few instances).
    ENVIRONMENT_CACHE_SIZE = 1024

    def __init__(self, *, platform: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.platform = platform
        self.default_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        self._environment: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' own merge (proxies and no_proxy, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from
        the environment), remembered per scheme and host: requests scans every environment
        variable twice on each call for it, about a third of the CPU time of a call to a local
        server. The environment of a running worker does not change."""
        if proxies or not self.trust_env:  # explicit proxies: requests' own way, every time
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            if len(self._environment) >= self.ENVIRONMENT_CACHE_SIZE:
                self._environment.clear()
            merged = self._environment[key] = super().merge_environment_settings(
                url, {}, stream, verify, cert
            )
        return {**merged, "proxies": dict(merged["proxies"])}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.Timeout:
            raise TransientError(
                _("%(platform)s did not answer in time.")
                % {"platform": platform_label(self.platform)},
                detail=f"timeout {method.upper()} {_safe_path(url)}",
            ) from None  # requests' exceptions carry the request and its Authorization header
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(
                _("%(platform)s could not be reached.")
                % {"platform": platform_label(self.platform)},
                detail=f"connection error {method.upper()} {_safe_path(url)}: "
                + scrub(type(exc).__name__),
            ) from None


class UnsafeAddress(PermanentError):
    """A user-supplied server turned out to live at a private address."""


class _PublicPeerMixin:
    """Checks the connected socket's peer address (after DNS, after connect)."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        if getattr(settings, "PUBLISHING_ALLOW_PRIVATE_URLS", False):
            return
        if getattr(self, "proxy", None) or getattr(self, "_tunnel_host", None):
            return  # we talk to a configured proxy, which is infrastructure we trust
        from publishing.urlsafety import address_is_public

        peer = str(self.sock.getpeername()[0]).split("%")[0]  # type: ignore[attr-defined]
        if not address_is_public(ipaddress.ip_address(peer)):
            host = getattr(self, "host", "")
            self.close()  # type: ignore[attr-defined]
            raise UnsafeAddress(
                _("The server %(host)s is not on the public internet, so we cannot connect to it.")
                % {"host": host},
                detail=f"refused private peer address for {host}",
            )


class _PublicHTTPConnection(_PublicPeerMixin, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerMixin, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A requests transport adapter whose connections refuse private peers."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


def session(
    *,
    platform: str,
    timeout: float = DEFAULT_TIMEOUT,
    pool_maxsize: int = 16,
    public_only: bool = False,
) -> PlatformSession:
    """A keep-alive session for one adapter instance (thread-safe enough for requests' usual
    use: one pooled connection per thread; no retries at this level, the engine owns them).
    `public_only`: for servers users typed in; see the module docstring."""
    s = PlatformSession(platform=platform, timeout=timeout)
    adapter_class = PublicOnlyAdapter if public_only else HTTPAdapter
    adapter = adapter_class(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def json_or_empty(response: requests.Response) -> Any:
    """The JSON body, or {} when there is none or it is not JSON."""
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return {}


# --- scrubbing ------------------------------------------------------------------------------

_SECRET_KEYS = (
    r"access_token|refresh_token|id_token|client_secret|password|app_password|"
    r"accessJwt|refreshJwt|token|code_verifier|code|oauth_token_secret|oauth_token|secret|"
    r"authorization"
)
_SCRUB_PATTERNS = [
    # Authorization: Bearer xyz / Basic xyz
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    # JSON "key": "value"
    (re.compile(rf'(?i)("(?:{_SECRET_KEYS})"\s*:\s*)"[^"]*"'), r'\1"***"'),
    # form/query key=value
    (re.compile(rf"(?i)\b((?:{_SECRET_KEYS})=)[^&\s\"']+"), r"\1***"),
    # Telegram bot tokens in paths: /bot123456:AAH.../
    (re.compile(r"\bbot\d+:[A-Za-z0-9_-]+"), "bot***"),
    # JWTs anywhere
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "***"),
]


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without tokens, passwords, Authorization values or the given exact secrets."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern, replacement in _SCRUB_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _safe_path(url: str) -> str:
    """Host and path of a URL, without the query (tokens travel there on some platforms)."""
    parts = urlsplit(url)
    return scrub(f"{parts.netloc}{parts.path}")


# --- reading errors -------------------------------------------------------------------------


def platform_error_text(response: requests.Response) -> str:
    """The platform's own words from an error response, best effort across API styles:
    OAuth (`error_description`/`error`), Mastodon (`error`), Graph API (`error.message`),
    X (`detail`/`title`, `errors[].message`), Bluesky (`message`), WordPress (`message`),
    Telegram (`description`); else the start of the body."""
    body = json_or_empty(response)
    texts: list[str] = []
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            texts += [str(error.get(k)) for k in ("message", "error_user_msg") if error.get(k)]
        elif error:
            texts.append(str(error))
        for key in ("error_description", "message", "detail", "title", "description"):
            if body.get(key) and str(body[key]) not in texts:
                texts.append(str(body[key]))
        errors = body.get("errors")
        if isinstance(errors, list):
            for item in errors[:3]:
                if isinstance(item, dict) and item.get("message"):
                    texts.append(str(item["message"]))
                elif isinstance(item, str):
                    texts.append(item)
        elif isinstance(errors, dict):  # Rails-style {"field": ["msg"]}
            texts += [f"{k}: {', '.join(map(str, v))}" for k, v in list(errors.items())[:3]]
    text = " — ".join(t for t in texts if t) if texts else (response.text or "").strip()
    return scrub(text)[:MAX_DETAIL]


def error_detail(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """'HTTP 422 POST host/path: platform text', scrubbed, for AdapterError.detail."""
    request = response.request
    method = request.method if request is not None and request.method else ""
    url = request.url if request is not None and request.url else response.url or ""
    text = scrub(platform_error_text(response), secrets)
    return f"HTTP {response.status_code} {method} {_safe_path(url)}: {text}".strip()


def _seconds_until(when: dt.datetime, now: dt.datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _numeric_reset(value: str, now: dt.datetime) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if number > 1_000_000_000:  # epoch seconds
        return max(0.0, number - now.timestamp())
    return max(0.0, number)


def retry_after_from(
    response: requests.Response, *, now: dt.datetime | None = None
) -> float | None:
    """Seconds to wait before trying again, from the response headers (None when unknown)."""
    now = now or dt.datetime.now(dt.UTC)
    headers = response.headers
    if value := headers.get("Retry-After"):
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            return _seconds_until(email.utils.parsedate_to_datetime(value), now)
        except (TypeError, ValueError, IndexError):
            pass
    for name in ("x-rate-limit-reset", "X-RateLimit-Reset", "RateLimit-Reset"):
        value = (headers.get(name) or "").strip()
        if not value:
            continue
        if (seconds := _numeric_reset(value, now)) is not None:
            return seconds
        try:
            return _seconds_until(dt.datetime.fromisoformat(value.replace("Z", "+00:00")), now)
        except ValueError:
            continue
    return None


def error_for(
    response: requests.Response, *, platform: str, secrets: Iterable[str] = ()
) -> AdapterError | None:
    """The exception `response` maps to, or None for a success. Adapters with quirks can call
    this, adjust, and raise themselves."""
    status = response.status_code
    if status < 400:
        return None
    label = platform_label(platform)
    detail = error_detail(response, secrets)
    text = scrub(platform_error_text(response), secrets)
    if status == 429:
        return RateLimited(
            _("%(platform)s asks us to slow down (rate limit).") % {"platform": label},
            retry_after=retry_after_from(response),
            detail=detail,
            status=status,
        )
    if status == 401:
        return AuthExpired(
            _("The connection to %(platform)s has expired or was revoked.") % {"platform": label},
            detail=detail,
            status=status,
        )
    if status >= 500:
        return TransientError(
            _("%(platform)s had a temporary problem (HTTP %(status)s).")
            % {"platform": label, "status": status},
            detail=detail,
            status=status,
        )
    if text:
        message = _("%(platform)s refused the request: %(reason)s") % {
            "platform": label,
            "reason": text,
        }
    else:
        message = _("%(platform)s refused the request (HTTP %(status)s).") % {
            "platform": label,
            "status": status,
        }
    return PermanentError(message, detail=detail, status=status)


def raise_for_platform(
    response: requests.Response, *, platform: str, secrets: Iterable[str] = ()
) -> None:
    """Raise the mapped exception for an error response; return None on success."""
    error = error_for(response, platform=platform, secrets=secrets)
    if error is not None:
        raise error
