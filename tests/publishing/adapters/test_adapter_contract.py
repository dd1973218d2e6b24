"""The contract every adapter in settings.PUBLISHING_ADAPTERS keeps (issue 19): it is a
PlatformAdapter under its own key, declares only the features it implements, keeps no
per-account state, and, where it speaks HTTP, maps the platform's failures to our small
exception set without echoing a secret. A newly registered platform is picked up from the
settings; it fails here until it has a row in PLATFORMS (or is declared OFFLINE)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import responses
from django.conf import settings
from django.utils.module_loading import import_string

from publishing.adapters.base import (
    ACCOUNT_METRIC_NAMES,
    METRIC_NAMES,
    Account,
    AccountMetrics,
    AdapterError,
    AuthExpired,
    Capabilities,
    Credentials,
    MediaItem,
    PermanentError,
    PlatformAdapter,
    PublishRequest,
    RateLimited,
    TransientError,
)
from publishing.adapters.bluesky import record_key_for
from publishing.adapters.registry import configured_platforms, get_adapter
from publishing.adapters.wordpress import slug_for

ACCESS = "contract-access-token-7f3a"
REFRESH = "contract-refresh-token-91c2"
CLIENT_SECRET = "contract-client-secret-5d08"
BOT_TOKEN = "123456789:AAH-contract-bot-token-e41b"  # Telegram: the token travels in the path
APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # Bluesky keeps it to log in again; WordPress signs with it
NEW_ACCESS = "contract-new-access-token-2b6e"
NEW_REFRESH = "contract-new-refresh-token-c7d9"
KEY = "delivery-contract-1"

# Platforms whose adapter speaks no HTTP: the error taxonomy does not apply to them.
OFFLINE = {
    "testnet": "the built-in test network writes SandboxPost rows in this database",
}


def base_url(platform: str) -> str:
    return f"https://api.{platform}.test"


def image(public_url: str = "https://media.example.test/a.jpg") -> MediaItem:
    return MediaItem("image", "image/jpeg", "a.jpg", 3, lambda: io.BytesIO(b"jpg"), public_url)


def video() -> MediaItem:
    data = b"\x00\x00\x00\x18ftypmp42" + b"0" * 100
    return MediaItem("video", "video/mp4", "a.mp4", len(data), lambda: io.BytesIO(data))


# -- the platforms' own error bodies (each echoes the secret the request carried) ----------------


def graph_error(code: int, message: str) -> dict[str, Any]:
    """Meta's Graph API: the code decides the mapping, whatever the HTTP status."""
    return {
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A"}
    }


def graph_body(status: int, token: str) -> dict[str, Any]:
    code = {401: 190, 429: 4}.get(status, 2 if status >= 500 else 100)
    return graph_error(code, f"Failure with {token}")


def telegram_body(status: int, token: str, **parameters: Any) -> dict[str, Any]:
    body = {"ok": False, "error_code": status, "description": f"Failure for bot{token}"}
    return {**body, "parameters": parameters} if parameters else body


def youtube_body(status: int, token: str, reason: str = "") -> dict[str, Any]:
    reason = reason or {401: "authError", 429: "rateLimitExceeded"}.get(status, "backendError")
    return {
        "error": {
            "code": status,
            "message": f"Failure with {token}",
            "errors": [{"reason": reason}],
        }
    }


@dataclass(frozen=True)
class Answer:
    """One answer of the platform to the first call of publish."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Quirk:
    """An answer this platform maps differently from http.error_for, on purpose."""

    name: str
    answer: Answer
    expected: type[AdapterError]
    says: str = ""  # a fragment of the message people read
    waits: tuple[float, float] | None = None  # bounds of RateLimited.retry_after, when known


@dataclass(frozen=True)
class Refresh:
    """OAuth 2.0 renewal: the call refresh() makes, a refusal of the grant, a success."""

    method: str
    url: str  # a regular expression
    refused: Answer
    renewed: dict[str, Any]
    # The access token a successful refresh returns (Facebook: the Page token is checked and
    # kept, as it does not expire).
    new_access_token: str = NEW_ACCESS
    refused_as: type[AdapterError] = AuthExpired
    needs_database: bool = False


@dataclass(frozen=True)
class Platform:
    account: Account
    credentials: Credentials
    request: PublishRequest
    first_call: tuple[str, str]  # method and URL (a regular expression) of publish's first call
    error_body: Callable[[int, str], Any]  # the platform's error body for a status
    refused: Answer  # a refusal in the platform's own words: PermanentError
    reason: str  # those words, which must reach the message people read
    quirks: tuple[Quirk, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    refresh: Refresh | None = None
    # Where the platform remembers the request's idempotency key without an
    # idempotency_window: what of it the first call carries.
    sends_key: Callable[[PublishRequest], str] | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        c = self.credentials
        extras = tuple(v for v in c.extra.values() if isinstance(v, str) and len(v) > 8)
        return tuple(s for s in (c.access_token, c.refresh_token, CLIENT_SECRET, *extras) if s)


def oauth_refused() -> Answer:
    return Answer(
        400,
        {
            "error": "invalid_grant",
            "error_description": f"Refresh token {REFRESH} of client {CLIENT_SECRET} is revoked.",
        },
    )


TOKEN_ANSWER = {
    "access_token": NEW_ACCESS,
    "refresh_token": NEW_REFRESH,
    "token_type": "bearer",
    "expires_in": 7200,
}
LONG_LIVED_ANSWER = {"access_token": NEW_ACCESS, "token_type": "bearer", "expires_in": 5183944}
GRAPH_TOKEN_REFUSED = Answer(400, graph_error(190, f"Error validating access token {ACCESS}"))
META_QUIRKS = (
    # Graph answers almost everything with HTTP 400; its code says what it is.
    Quirk("400-code-190", Answer(400, graph_error(190, "Session has expired")), AuthExpired),
    Quirk("400-code-4", Answer(400, graph_error(4, "Application request limit")), RateLimited),
    Quirk("400-code-2", Answer(400, graph_error(2, "Service temporarily down")), TransientError),
)


def api(platform: str, path: str) -> str:
    return re.escape(base_url(platform) + path)


PLATFORMS: dict[str, Platform] = {
    "x": Platform(
        account=Account(account_id="42", handle="acme", config={"username": "acme"}),
        credentials=Credentials(access_token=ACCESS, refresh_token=REFRESH),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", api("x", "/2/tweets")),
        error_body=lambda status, token: {
            "title": "Problem",
            "detail": f"Failure with {token}",
            "status": status,
        },
        refused=Answer(400, {"title": "Invalid Request", "detail": "text is too long"}),
        reason="text is too long",
        quirks=(
            # A 403 naming duplicate content is X's "same text already posted".
            Quirk(
                "403-duplicate",
                Answer(
                    403, {"detail": "You are not allowed to create a Tweet with duplicate content."}
                ),
                PermanentError,
                says="already posted",
            ),
        ),
        refresh=Refresh("POST", api("x", "/2/oauth2/token"), oauth_refused(), TOKEN_ANSWER),
    ),
    "linkedin": Platform(
        account=Account(account_id="urn:li:person:abc", config={"person_urn": "urn:li:person:abc"}),
        credentials=Credentials(access_token=ACCESS, refresh_token=REFRESH),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", api("linkedin", "/rest/posts")),
        error_body=lambda status, token: {"status": status, "message": f"Failure with {token}"},
        refused=Answer(422, {"status": 422, "message": "/commentary :: is too long"}),
        reason="/commentary :: is too long",
        quirks=(
            Quirk(
                "422-duplicate-post",
                Answer(422, {"message": "DUPLICATE_POST of urn:li:share:7145000000000000000"}),
                PermanentError,
                says="urn:li:share:7145000000000000000",
            ),
            # LinkedIn's daily quotas send no header: RateLimited until midnight UTC.
            Quirk(
                "429-daily-quota",
                Answer(429, {"message": "Daily limit"}),
                RateLimited,
                waits=(1, 86400),
            ),
        ),
        options={"token_url": base_url("linkedin") + "/oauth/v2/accessToken"},
        refresh=Refresh(
            "POST", api("linkedin", "/oauth/v2/accessToken"), oauth_refused(), TOKEN_ANSWER
        ),
    ),
    "facebook": Platform(
        account=Account(account_id="111", config={"page_id": "111"}),
        credentials=Credentials(access_token=ACCESS),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", api("facebook", "/v25.0/111/feed")),
        error_body=graph_body,
        refused=Answer(400, graph_error(100, "Invalid parameter message")),
        reason="Invalid parameter message",
        quirks=META_QUIRKS,
        options={"base_url": base_url("facebook") + "/v25.0"},
        # A Page token does not expire: refresh() checks it still works (GET /me) and keeps it.
        refresh=Refresh(
            "GET",
            api("facebook", "/v25.0/me") + r"\?.*",
            GRAPH_TOKEN_REFUSED,
            {"id": "111"},
            new_access_token=ACCESS,
        ),
    ),
    "instagram": Platform(
        account=Account(account_id="1784", handle="acme"),
        credentials=Credentials(access_token=ACCESS),
        request=PublishRequest(text="Hello", idempotency_key=KEY, media=[image()]),
        first_call=("POST", api("instagram", "/v25.0/1784/media")),
        error_body=graph_body,
        refused=Answer(400, graph_error(9004, "The media could not be fetched")),
        reason="The media could not be fetched",
        quirks=META_QUIRKS,
        options={"base_url": base_url("instagram") + "/v25.0"},
        # No refresh token: a long-lived token is extended with itself.
        refresh=Refresh(
            "GET",
            api("instagram", "/refresh_access_token") + r"\?.*",
            GRAPH_TOKEN_REFUSED,
            LONG_LIVED_ANSWER,
        ),
    ),
    "threads": Platform(
        account=Account(account_id="77", handle="acme"),
        credentials=Credentials(access_token=ACCESS),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", api("threads", "/v1.0/77/threads")),
        error_body=graph_body,
        refused=Answer(400, graph_error(100, "The link limit was exceeded")),
        reason="The link limit was exceeded",
        quirks=META_QUIRKS,
        options={"base_url": base_url("threads") + "/v1.0"},
        refresh=Refresh(
            "GET",
            api("threads", "/refresh_access_token") + r"\?.*",
            GRAPH_TOKEN_REFUSED,
            LONG_LIVED_ANSWER,
        ),
    ),
    "mastodon": Platform(
        account=Account(
            account_id="1", config={"instance_url": base_url("mastodon"), "client_id": "mcid"}
        ),
        credentials=Credentials(access_token=ACCESS, refresh_token=REFRESH),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", api("mastodon", "/api/v1/statuses")),
        error_body=lambda status, token: {"error": f"Failure with {token}"},
        refused=Answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
        reason="Validation failed: Text character limit of 500 exceeded",
        refresh=Refresh(
            "POST",
            api("mastodon", "/oauth/token"),
            oauth_refused(),
            TOKEN_ANSWER,
            # Mastodon's refused grant is a PermanentError (tests/publishing/adapters/test_adapter_mastodon.py pins
            # it); publishing.accounts.credentials_refresh treats both as "reconnect".
            refused_as=PermanentError,
            needs_database=True,  # the instance's app registration holds the client secret
        ),
        sends_key=lambda request: request.idempotency_key,  # as the Idempotency-Key header
    ),
    "bluesky": Platform(
        account=Account(account_id="did:plc:contract", handle="acme.bsky.social"),
        credentials=Credentials(
            access_token=ACCESS,
            refresh_token=REFRESH,
            extra={"did": "did:plc:contract", "app_password": APP_PASSWORD},
        ),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", api("bluesky", "/xrpc/com.atproto.repo.putRecord")),
        error_body=lambda status, token: {"error": "Failure", "message": f"Failure with {token}"},
        refused=Answer(400, {"error": "InvalidRequest", "message": "Record/text is too long"}),
        reason="Record/text is too long",
        quirks=(
            # An expired access JWT is an XRPC error, sent with HTTP 400.
            Quirk("400-expired-token", Answer(400, {"error": "ExpiredToken"}), AuthExpired),
        ),
        sends_key=lambda request: record_key_for(request.idempotency_key, 0),
    ),
    "youtube": Platform(
        account=Account(account_id="UC1", config={"uploads_playlist": "UU1"}),
        credentials=Credentials(access_token=ACCESS, refresh_token=REFRESH),
        request=PublishRequest(
            text="Hello", title="Contract", idempotency_key=KEY, media=[video()]
        ),
        first_call=("POST", api("youtube", "/upload/youtube/v3/videos") + r"\?.*"),
        error_body=youtube_body,
        refused=Answer(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "The request metadata specifies an invalid video title.",
                    "errors": [{"reason": "invalidTitle"}],
                }
            },
        ),
        reason="The request metadata specifies an invalid video title.",
        quirks=(
            # Google says "quota" with 403: RateLimited until midnight Pacific time.
            Quirk(
                "403-quota-exceeded",
                Answer(403, youtube_body(403, "", reason="quotaExceeded")),
                RateLimited,
                says="daily quota",
                waits=(1, 25 * 3600),
            ),
        ),
        options={"token_url": base_url("youtube") + "/token"},
        refresh=Refresh("POST", api("youtube", "/token"), oauth_refused(), TOKEN_ANSWER),
    ),
    "pinterest": Platform(
        account=Account(account_id="acme", config={"board_id": "B1"}),
        credentials=Credentials(access_token=ACCESS, refresh_token=REFRESH),
        request=PublishRequest(text="Hello", title="Pin", idempotency_key=KEY, media=[image()]),
        first_call=("POST", api("pinterest", "/v5/pins")),
        error_body=lambda status, token: {"code": 1, "message": f"Problem with token {token}"},
        refused=Answer(400, {"code": 1, "message": "Invalid board"}),
        reason="Invalid board",
        refresh=Refresh("POST", api("pinterest", "/v5/oauth/token"), oauth_refused(), TOKEN_ANSWER),
    ),
    "telegram": Platform(
        account=Account(account_id="-1001", config={"chat_id": "-1001", "username": "acme"}),
        credentials=Credentials(access_token=BOT_TOKEN),
        request=PublishRequest(text="Hello from the contract", idempotency_key=KEY),
        first_call=("POST", re.escape(f"{base_url('telegram')}/bot{BOT_TOKEN}/sendMessage")),
        error_body=telegram_body,
        refused=Answer(
            400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        ),
        reason="Bad Request: message is too long",
        quirks=(
            # The Bot API's own error codes: 404 means a malformed token, 403 a removed bot,
            # and a 429 says how long to wait in its body.
            Quirk("404-malformed-token", Answer(404, telegram_body(404, "")), AuthExpired),
            Quirk(
                "403-bot-removed",
                Answer(403, telegram_body(403, "")),
                PermanentError,
                says="may not post",
            ),
            Quirk(
                "429-retry-after-in-body",
                Answer(429, telegram_body(429, "", retry_after=17)),
                RateLimited,
                waits=(17, 17),
            ),
        ),
    ),
    "wordpress": Platform(
        account=Account(
            account_id="1",
            config={"api_root": base_url("wordpress") + "/wp-json/", "username": "editor"},
        ),
        credentials=Credentials(access_token=APP_PASSWORD),
        request=PublishRequest(text="Hello", title="Contract", idempotency_key=KEY),
        first_call=("POST", api("wordpress", "/wp-json/wp/v2/posts")),
        error_body=lambda status, token: {
            "code": "failure",
            "message": f"Failure with {token}",
            "data": {"status": status},
        },
        refused=Answer(
            400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): status"}
        ),
        reason="Invalid parameter(s): status",
        quirks=(
            Quirk(
                "403-rest-cannot-publish",
                Answer(403, {"code": "rest_cannot_publish", "message": "Sorry"}),
                PermanentError,
                says="Author role",
            ),
        ),
        sends_key=slug_for,
    ),
}


@dataclass(frozen=True)
class Case:
    """What the first call of publish meets, and the error people must get for it."""

    reply: Callable[[Platform], Answer | Exception]
    expected: type[AdapterError]
    status: int | None = None  # the exception's status, where it must say
    waits: tuple[float, float] | None = None
    says: Callable[[Platform], str] = lambda row: ""


def token_of(row: Platform) -> str:
    return row.credentials.access_token


def server_error(status: int) -> Case:
    return Case(
        lambda row: Answer(status, row.error_body(status, token_of(row))), TransientError, status
    )


# What every HTTP adapter maps the same way (publishing/adapters/http.py).
CASES: dict[str, Case] = {
    "429": Case(
        lambda row: Answer(429, row.error_body(429, token_of(row)), {"Retry-After": "120"}),
        RateLimited,
        status=429,
        waits=(120, 120),
    ),
    "401": Case(lambda row: Answer(401, row.error_body(401, token_of(row))), AuthExpired, 401),
    **{str(status): server_error(status) for status in (500, 502, 503, 504)},
    "refused": Case(lambda row: row.refused, PermanentError, says=lambda row: row.reason),
    "connection-error": Case(
        lambda row: requests.ConnectionError(f"Max retries exceeded: access_token={token_of(row)}"),
        TransientError,
    ),
    "timeout": Case(
        lambda row: requests.ReadTimeout(f"Read timed out: Bearer {token_of(row)} {token_of(row)}"),
        TransientError,
    ),
}


def cases_of(row: Platform) -> dict[str, Case]:
    quirks = {
        q.name: Case(
            lambda row, q=q: q.answer, q.expected, waits=q.waits, says=lambda row, q=q: q.says
        )
        for q in row.quirks
    }
    return {**CASES, **quirks}


# -- helpers --------------------------------------------------------------------------------------


def build(platform: str, **options: Any) -> PlatformAdapter:
    """A fresh adapter from its settings entry, as the registry builds it."""
    entry = settings.PUBLISHING_ADAPTERS[platform]
    return import_string(entry["BACKEND"])(**{**entry.get("OPTIONS", {}), **options})


def build_for_test(platform: str, row: Platform) -> PlatformAdapter:
    options = {"base_url": base_url(platform), "client_id": "cid", "client_secret": CLIENT_SECRET}
    adapter = build(platform, **{**options, **row.options})
    adapter.sleep = lambda seconds: None  # media polls and back-offs
    return adapter


def overrides(cls: type, name: str) -> bool:
    return getattr(cls, name) is not getattr(PlatformAdapter, name)


def row_for(platform: str) -> Platform:
    if platform not in PLATFORMS:
        pytest.fail(
            f"{platform!r} is registered in PUBLISHING_ADAPTERS but has no row in the contract's "
            "PLATFORMS table (or OFFLINE entry) in tests/publishing/adapters/test_adapter_contract.py: add one."
        )
    return PLATFORMS[platform]


def state(adapter: PlatformAdapter) -> dict[str, Any]:
    """What an adapter instance holds; its HTTP session summed up by what could carry an
    account's identity (default headers, auth, cookies)."""
    held = {}
    for name, value in vars(adapter).items():
        if isinstance(value, requests.Session):
            value = (type(value), dict(value.headers), value.auth, len(value.cookies))
        elif callable(value):
            value = type(value)
        held[name] = value
    return held


def publish(adapter: PlatformAdapter, row: Platform) -> None:
    adapter.publish(account=row.account, credentials=row.credentials, request=row.request)


def answer(mock: responses.RequestsMock, method: str, url: str, reply: Answer) -> None:
    kwargs: dict[str, Any] = {"status": reply.status, "headers": reply.headers}
    if isinstance(reply.body, dict):
        kwargs["body"] = json.dumps(reply.body)
        kwargs["content_type"] = "application/json"
    else:
        kwargs["body"] = reply.body or ""
    mock.add(method, re.compile(url), **kwargs)


def assert_no_secret(exc: AdapterError, secrets: tuple[str, ...]) -> None:
    for secret in secrets:
        for text in (str(exc), str(exc.message), exc.detail):
            assert secret not in text, f"a secret reached the error: {text!r}"


def error_cases() -> list[Any]:
    params = []
    for platform in configured_platforms():
        if platform in OFFLINE:
            continue
        cases = cases_of(PLATFORMS[platform]) if platform in PLATFORMS else CASES
        for case in cases:
            params.append(pytest.param(platform, case, id=f"{platform}-{case}"))
    return params


def oauth2_platforms() -> list[str]:
    return [
        p
        for p in configured_platforms()
        if p not in OFFLINE and build(p).capabilities.auth == "oauth2"
    ]


every_platform = pytest.mark.parametrize("platform", configured_platforms(), ids=str)


# -- the adapter as registered --------------------------------------------------------------------


@every_platform
def test_given_a_registered_platform_then_the_contract_knows_whether_it_speaks_http(platform):
    assert (platform in PLATFORMS) != (platform in OFFLINE), (
        f"{platform!r} needs exactly one of a PLATFORMS row or an OFFLINE entry"
    )


def test_given_the_contract_table_then_every_row_is_a_registered_platform():
    assert set(PLATFORMS) | set(OFFLINE) <= set(configured_platforms())


@every_platform
def test_given_a_registered_platform_when_loading_it_then_a_platform_adapter_under_its_key(
    platform,
):
    adapter = get_adapter(platform)

    assert isinstance(adapter, PlatformAdapter)
    assert adapter.key == platform
    assert adapter.spec.key == platform  # the editor's limits for the same platform


@every_platform
def test_given_an_adapter_then_its_capabilities_name_known_auth_and_metrics(platform):
    capabilities = build(platform).capabilities

    assert isinstance(capabilities, Capabilities)
    auth_kinds = typing.get_args(typing.get_type_hints(Capabilities)["auth"])
    assert capabilities.auth in auth_kinds
    assert capabilities.metrics <= set(METRIC_NAMES)
    assert capabilities.account_metrics <= set(ACCOUNT_METRIC_NAMES)


@every_platform
def test_given_an_adapter_then_its_auth_kind_matches_the_connect_methods_it_offers(platform):
    adapter = build(platform)
    cls = type(adapter)
    auth = adapter.capabilities.auth

    offers_oauth = overrides(cls, "authorization_url") and overrides(cls, "exchange_code")
    offers_secret = overrides(cls, "connect_with_secret")
    assert offers_oauth == (auth in ("oauth2", "oauth1"))
    assert offers_secret == (auth in ("app_password", "bot_token"))
    if auth != "none":
        assert overrides(cls, "refresh"), "a connected account must be renewable or kept"


FEATURES = [
    ("metrics", "fetch_metrics"),
    ("account_metrics", "fetch_account_metrics"),
    ("lists_recent_posts", "list_recent_posts"),
    ("delete", "delete"),
]


@every_platform
@pytest.mark.parametrize(("feature", "method"), FEATURES, ids=[f for f, _ in FEATURES])
def test_given_an_adapter_then_a_declared_feature_is_implemented_and_an_undeclared_one_declines(
    platform, feature, method
):
    adapter = build(platform)
    declared = bool(getattr(adapter.capabilities, feature))

    if declared:
        assert overrides(type(adapter), method), f"{feature} declared, {method} not implemented"
        return
    if not overrides(type(adapter), method):
        return
    # Implemented although not declared: it must say "nothing here" without asking anyone.
    kwargs: dict[str, Any] = {"account": Account(), "credentials": Credentials()}
    kwargs.update(
        {
            "fetch_metrics": {"remote_ids": ["1"]},
            "list_recent_posts": {"since": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
            "delete": {"remote_id": "1"},
        }.get(method, {})
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        try:
            result = getattr(adapter, method)(**kwargs)
        except PermanentError:
            result = None
        assert len(mock.calls) == 0, f"{method} asked the platform"
    assert result in (None, []) or (isinstance(result, AccountMetrics) and not result.values)


@every_platform
def test_given_an_adapter_then_an_idempotency_key_is_declared_exactly_where_the_platform_keeps_it(
    platform,
):
    adapter = build(platform)
    row = PLATFORMS.get(platform)
    keeps_key = adapter.idempotency_window is not None or bool(row and row.sends_key)

    assert adapter.capabilities.idempotency_key == keeps_key


@every_platform
def test_given_an_empty_and_a_normal_request_when_validating_then_a_list_of_texts(platform):
    adapter = build(platform)
    row = PLATFORMS.get(platform)
    normal = row.request if row else PublishRequest(text="Hello", idempotency_key=KEY)

    empty_problems = adapter.validate(PublishRequest(text="", idempotency_key=KEY))
    normal_problems = adapter.validate(normal)

    assert isinstance(empty_problems, list)
    assert all(isinstance(p, str) and p for p in empty_problems)
    assert normal_problems == []


@every_platform
def test_given_an_adapter_built_twice_then_both_hold_the_same_and_validating_changes_nothing(
    platform,
):
    first, second = build(platform), build(platform)

    assert state(first) == state(second)
    before = state(first)
    row = PLATFORMS.get(platform)
    first.validate(row.request if row else PublishRequest(text="Hello", idempotency_key=KEY))
    assert state(first) == before


# -- the error taxonomy of every adapter that speaks HTTP -----------------------------------------


@pytest.mark.parametrize(("platform", "case"), error_cases())
def test_given_a_failing_platform_when_publishing_then_our_error_without_a_secret(platform, case):
    row = row_for(platform)
    case = cases_of(row)[case]
    adapter = build_for_test(platform, row)
    method, url = row.first_call
    reply = case.reply(row)
    before = state(adapter)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        if isinstance(reply, Exception):
            mock.add(method, re.compile(url), body=reply)
        else:
            answer(mock, method, url, reply)
        with pytest.raises(AdapterError) as caught:
            publish(adapter, row)
        first = mock.calls[0].request

    exc = caught.value
    assert first.method == method and re.fullmatch(url, first.url), first.url
    assert type(exc) is case.expected
    assert exc.message and case.says(row) in exc.message
    if case.status:
        assert exc.status == case.status
    if case.waits:
        low, high = case.waits
        assert low <= exc.retry_after <= high
    assert_no_secret(exc, row.secrets)
    assert state(adapter) == before  # nothing of the account stayed on the shared instance


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if PLATFORMS[p].sends_key], ids=str)
def test_given_a_platform_keeping_the_key_when_publishing_then_the_first_call_carries_it(platform):
    row = PLATFORMS[platform]
    adapter = build_for_test(platform, row)
    method, url = row.first_call

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        answer(mock, method, url, Answer(503, row.error_body(503, "")))
        with pytest.raises(TransientError):
            publish(adapter, row)
        sent = mock.calls[0].request

    body = sent.body.decode() if isinstance(sent.body, bytes) else str(sent.body or "")
    assert row.sends_key(row.request) in body + json.dumps(dict(sent.headers))


# -- renewing OAuth 2.0 access --------------------------------------------------------------------


def refresh_setup(platform: str, row: Platform) -> Refresh:
    if row.refresh is None:
        pytest.fail(f"{platform!r} uses OAuth 2.0: give its PLATFORMS row a Refresh")
    if row.refresh.needs_database:
        from publishing.credentials import encrypt
        from publishing.models import OAuthAppRegistration

        OAuthAppRegistration.objects.create(
            platform=platform,
            instance=base_url(platform),
            redirect_uri="https://calendar.example/connect/callback/",
            client_id=row.account.config["client_id"],
            client_secret_ciphertext=encrypt(CLIENT_SECRET),
        )
    return row.refresh


@pytest.mark.parametrize("platform", oauth2_platforms(), ids=str)
def test_given_a_refused_grant_when_refreshing_then_reconnect_is_asked_without_a_secret(
    db, platform
):
    row = row_for(platform)
    refresh = refresh_setup(platform, row)
    adapter = build_for_test(platform, row)

    with responses.RequestsMock() as mock:
        answer(mock, refresh.method, refresh.url, refresh.refused)
        with pytest.raises(AdapterError) as caught:
            adapter.refresh(account=row.account, credentials=row.credentials)

    assert type(caught.value) is refresh.refused_as
    assert_no_secret(caught.value, row.secrets)


@pytest.mark.parametrize("platform", oauth2_platforms(), ids=str)
@pytest.mark.parametrize("rotated", [True, False], ids=["rotated", "not-resent"])
def test_given_a_granted_refresh_when_refreshing_then_credentials_with_the_new_token(
    db, platform, rotated
):
    row = row_for(platform)
    refresh = refresh_setup(platform, row)
    adapter = build_for_test(platform, row)
    renewed = dict(refresh.renewed)
    if not rotated:
        renewed.pop("refresh_token", None)

    with responses.RequestsMock() as mock:
        answer(mock, refresh.method, refresh.url, Answer(200, renewed))
        fresh = adapter.refresh(account=row.account, credentials=row.credentials)

    assert isinstance(fresh, Credentials)
    assert fresh.access_token == refresh.new_access_token
    # A rotated refresh token is taken; one the platform did not re-send is kept.
    assert fresh.refresh_token == renewed.get("refresh_token", row.credentials.refresh_token)
