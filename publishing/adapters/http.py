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
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from notifications.texts import Text
from publishing.adapters.base import (
    AdapterError,
    AuthExpired,
    PermanentError,
    PermissionMissing,
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
    TransientError (with a scrubbed detail), so adapters only ever see our exceptions.

    What requests works out anew on every call but cannot change while a worker runs is worked
    out once: the environment's proxy and CA bundle settings and ~/.netrc per host, and each
    URL's normalised form. Together with the merging of session cookies, auth and parameters
    that a plain call does not need, that was half of the CPU time of a call to a local server.
    """

    # Hosts and URLs remembered (a worker talks to a few instances, at a few endpoints each).
    CACHE_SIZE = 1024
    # Keyword arguments with which a call takes the short way (`_send_plain`).
    PLAIN_ARGUMENTS = frozenset({"data", "headers", "timeout"})

    def __init__(self, *, platform: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.platform = platform
        self.default_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        self._environment: dict[tuple, dict[str, Any]] = {}
        self._netrc: dict[tuple, Any] = {}
        self._urls: dict[str, str] = {}

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' own merge (proxies and no_proxy, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from
        the environment), remembered per scheme and host: requests scans every environment
        variable twice on each call for it. The environment of a running worker does not
        change."""
        if proxies or not self.trust_env:  # explicit proxies: requests' own way, every time
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            merged = _remember(
                self._environment,
                key,
                super().merge_environment_settings(url, {}, stream, verify, cert),
            )
        return {**merged, "proxies": dict(merged["proxies"])}

    def _is_plain(self, args: tuple, kwargs: dict[str, Any], url: str) -> bool:
        """Whether requests would add nothing of the session's own to this call: no cookies,
        auth, parameters or ~/.netrc entry, and no argument beyond data, headers, timeout."""
        if args or not kwargs.keys() <= self.PLAIN_ARGUMENTS:
            return False
        if self.cookies or self.auth or self.params or not isinstance(url, str):
            return False
        if not self.trust_env:
            return True
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._netrc:
            _remember(self._netrc, key, requests.utils.get_netrc_auth(url))
        return self._netrc[key] is None

    def _send_plain(
        self, method: str, url: str, *, data: Any = None, headers: Any = None, timeout: Any
    ) -> requests.Response:
        """Session.request for a plain call: the request prepared by requests' own steps
        (method, URL, headers with the session's, body, hooks), then Session.send, which
        follows redirects, keeps cookies and reads the body as usual."""
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.url = self._urls.get(url) or _remember(self._urls, url, self._normalise(url))
        merged = requests.structures.CaseInsensitiveDict(self.headers)
        for name, value in (headers or {}).items():
            if value is None:
                merged.pop(name, None)  # as requests' merge_setting: None removes a header
            else:
                merged[name] = value
        prepared.prepare_headers(merged)
        prepared.prepare_cookies(requests.cookies.RequestsCookieJar())
        if isinstance(data, dict) and data:
            # requests' own encoding of a form (prepare_body), without its generic type checks
            prepared.body = _form_encode(data)
            prepared.prepare_content_length(prepared.body)
            prepared.headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            prepared.prepare_body(data, None, None)
        prepared.prepare_hooks(self.hooks)
        environment = self.merge_environment_settings(prepared.url, {}, None, None, None)
        return self.send(prepared, timeout=timeout, allow_redirects=True, **environment)

    @staticmethod
    def _normalise(url: str) -> str:
        scratch = requests.PreparedRequest()
        scratch.prepare_url(url, None)
        return scratch.url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        try:
            if self._is_plain(args, kwargs, url):
                return self._send_plain(method, url, **kwargs)
            return super().request(method, url, *args, **kwargs)
        except requests.Timeout:
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s did not answer in time."),
                    platform=platform_label(self.platform),
                ),
                detail=f"timeout {method.upper()} {_safe_path(url)}",
            ) from None  # requests' exceptions carry the request and its Authorization header
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s could not be reached."),
                    platform=platform_label(self.platform),
                ),
                detail=f"connection error {method.upper()} {_safe_path(url)}: "
                + scrub(type(exc).__name__),
            ) from None


def _form_encode(data: dict) -> str:
    """A dict as requests encodes form data: lists repeat their key, None values are left
    out, text is UTF-8."""
    pairs = []
    for key, values in data.items():
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            values = [values]
        for value in values:
            if value is not None:
                pairs.append(
                    (
                        key.encode("utf-8") if isinstance(key, str) else key,
                        value.encode("utf-8") if isinstance(value, str) else value,
                    )
                )
    return urlencode(pairs, doseq=True)


def _remember(cache: dict, key: Any, value: Any) -> Any:
    """cache[key] = value, forgetting everything first when the cache is full."""
    if len(cache) >= PlatformSession.CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


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
    pool_maxsize: int | None = None,
    public_only: bool = False,
) -> PlatformSession:
    """A keep-alive session for one adapter instance, shared by the publishing worker's threads
    (one pooled connection per call in flight; no retries at this level, the engine owns them).
    `pool_maxsize`: connections kept per host, by default settings.PUBLISHING_HTTP_POOL_SIZE
    (the calls a publishing worker has in flight at once: beyond it, each extra connection
    would be opened and thrown away again). `public_only`: for servers users typed in; see the
    module docstring."""
    s = PlatformSession(platform=platform, timeout=timeout)
    adapter_class = PublicOnlyAdapter if public_only else HTTPAdapter
    if pool_maxsize is None:
        pool_maxsize = getattr(settings, "PUBLISHING_HTTP_POOL_SIZE", 32)
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


# How platforms say "your token lacks a scope" on a 403, from their documentation: Mastodon's
# API controllers ("This action is outside the authorized scopes"), Google APIs (error reason
# "insufficientPermissions", status "PERMISSION_DENIED" with "ACCESS_TOKEN_SCOPE_INSUFFICIENT"),
# LinkedIn ("Not enough permissions to access"), X (problem type "oauth1-permissions", and
# "client-not-enrolled" for an app without the needed access), and RFC 6750's
# `WWW-Authenticate: Bearer error="insufficient_scope"`, which may name the scope.
PERMISSION_MARKERS = (
    "outside the authorized scopes",
    "insufficientpermissions",
    "access_token_scope_insufficient",
    "insufficient_scope",
    "not enough permissions",
    "oauth1-permissions",
    "client-not-enrolled",
)
_SCOPE_PARAM_RE = re.compile(r'scope="([^"]*)"')


def lacking_permissions(response: requests.Response) -> tuple[str, ...] | None:
    """The permissions a refused response says are missing: () when it says a permission is
    missing without naming it, None when the refusal is not about permissions."""
    challenge = response.headers.get("WWW-Authenticate", "")
    said = f"{challenge} {response.text[:4000]}".lower()
    if not any(marker in said for marker in PERMISSION_MARKERS):
        return None
    if "insufficient_scope" in challenge and (match := _SCOPE_PARAM_RE.search(challenge)):
        return tuple(match.group(1).split())
    return ()


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
            Text(gettext_noop("%(platform)s asks us to slow down (rate limit)."), platform=label),
            retry_after=retry_after_from(response),
            detail=detail,
            status=status,
        )
    if status == 401:
        return AuthExpired(
            Text(
                gettext_noop("The connection to %(platform)s has expired or was revoked."),
                platform=label,
            ),
            detail=detail,
            status=status,
        )
    if status >= 500:
        return TransientError(
            Text(
                gettext_noop("%(platform)s had a temporary problem (HTTP %(status)s)."),
                platform=label,
                status=status,
            ),
            detail=detail,
            status=status,
        )
    if status == 403 and (permissions := lacking_permissions(response)) is not None:
        return PermissionMissing(
            Text(
                gettext_noop(
                    "%(platform)s refused the request because the connection lacks a "
                    "permission: %(reason)s"
                ),
                platform=label,
                reason=text or str(status),
            ),
            permissions=permissions,
            detail=detail,
            status=status,
        )
    if text:
        # The platform's own words stay as they are; the sentence around them is translated.
        message = Text(
            gettext_noop("%(platform)s refused the request: %(reason)s"),
            platform=label,
            reason=text,
        )
    else:
        message = Text(
            gettext_noop("%(platform)s refused the request (HTTP %(status)s)."),
            platform=label,
            status=status,
        )
    return PermanentError(message, detail=detail, status=status)


def raise_for_platform(
    response: requests.Response, *, platform: str, secrets: Iterable[str] = ()
) -> None:
    """Raise the mapped exception for an error response; return None on success."""
    error = error_for(response, platform=platform, secrets=secrets)
    if error is not None:
        raise error
