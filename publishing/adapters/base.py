"""The adapter interface every platform implements, and the small exception set it raises.

An adapter is a class per platform, loaded from settings by `registry.get_adapter(key)` the way
Django loads e-mail backends. It is stateless apart from its configuration (API base URL, app
credentials, an HTTP session): everything about one account comes in as arguments, so one
instance serves every channel of its platform and every worker thread.

The publishing engine never parses platform errors: adapters map them to
TransientError / RateLimited / AuthExpired / PermanentError (PermissionMissing when a scope is
lacking), each with a message for people.
Secrets (tokens, passwords) never appear in a message, a log line or an exception's text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from calendar_app.platforms import PlatformSpec, spec_for

# --- errors -------------------------------------------------------------------------------------


class AdapterError(Exception):
    """Base of what an adapter raises. `message` is for people; `detail` is the platform's own
    words (status code, error code), already free of secrets, for the publishing log."""

    def __init__(self, message: str, *, detail: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.status = status


class TransientError(AdapterError):
    """Try again later: timeouts, connection errors, 5xx. Nothing was (knowingly) created."""


class RateLimited(TransientError):
    """The platform asks us to wait; `retry_after` seconds when it said how long."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuthExpired(AdapterError):
    """The access token is expired or invalid: refresh once and retry; if refreshing fails the
    channel needs reconnecting."""


class PermanentError(AdapterError):
    """Retrying cannot help: validation refused, access revoked, content rejected."""


class PermissionMissing(PermanentError):
    """The platform refused the call because the connection lacks a permission (a scope the
    account did not grant, or one the app was never given). `permissions` names them when the
    platform says which; the channel's health then warns until someone reconnects."""

    def __init__(self, message: str, *, permissions: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.permissions = tuple(permissions)


class LookupIncomplete(AdapterError):
    """find_existing read as far back as it may (its page bound) and did not reach the
    delivery's `not_before`: whether the post went out cannot be told. Never a verdict of
    "not out": the engine treats it as a look-up that could not answer (it posts again only
    under an idempotency key the platform still keeps, else a person decides)."""


def lookup_incomplete(pages: int) -> LookupIncomplete:
    """The LookupIncomplete an adapter raises after reading `pages` pages (its bound)."""
    from django.utils.translation import gettext_noop

    from notifications.texts import Text

    return LookupIncomplete(
        Text(
            gettext_noop(
                "The look-up read %(pages)s pages of the account's posts without reaching the "
                "time of the first attempt, so it cannot tell whether the post went out."
            ),
            pages=pages,
        )
    )


class ConnectError(AdapterError):
    """Connecting an account failed (wrong password, refused consent, unsafe URL...)."""


# --- what goes in and out -------------------------------------------------------------------------


@dataclass
class Credentials:
    """Secrets of one connected account. Stored encrypted; never logged or rendered.

    `extra` holds platform specifics (e.g. OAuth 1.0a token secret, a DID, a page token).
    """

    access_token: str = ""
    refresh_token: str = ""
    expires_at: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Credentials(expires_at={self.expires_at!r}, extra_keys={sorted(self.extra)})"

    def expires_within(self, seconds: float, *, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now + dt.timedelta(
            seconds=seconds
        )


@dataclass
class Account:
    """The non-secret side of a connected account, as stored on the Channel.

    `config` holds what the user entered or the platform told us and that is not secret:
    instance/PDS/site URL, chat id, board id, organisation URN, username for URLs...
    """

    account_id: str = ""
    handle: str = ""
    name: str = ""
    avatar_url: str = ""
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConnectResult:
    account: Account
    credentials: Credentials
    # Permissions asked for that the account did not grant (where the platform says which it
    # granted): the channel warns until someone reconnects and allows them.
    missing_permissions: tuple[str, ...] = ()


def permissions_not_granted(requested, granted: str | list[str] | None) -> tuple[str, ...]:
    """The requested scopes a token response's `scope` (space- or comma-separated, or the list
    oauthlib makes of it) lacks; () when the platform did not say. A granted parent scope
    covers its children ("read" covers "read:accounts", as Mastodon's scopes do)."""
    if granted is None:
        return ()
    if not isinstance(granted, str):
        granted = " ".join(map(str, granted))
    have = set(granted.replace(",", " ").split())
    return tuple(
        scope for scope in requested if scope not in have and scope.split(":")[0] not in have
    )


@dataclass(frozen=True)
class MediaItem:
    kind: Literal["image", "video"]
    mime_type: str
    filename: str
    size_bytes: int
    open: Callable[[], Any]  # returns a binary file object; the caller closes it
    public_url: str = ""  # for platforms that fetch media themselves (Instagram, Threads...)
    alt_text: str = ""

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        with self.open() as fh:
            while chunk := fh.read(size):
                yield chunk


@dataclass
class PublishedPart:
    remote_id: str
    url: str = ""


@dataclass
class PublishRequest:
    """One delivery: the variant as it goes out on one channel.

    `thread` holds further parts posted as replies to the previous one; `first_comment` is posted
    under the main post. `done_parts` are parts that already went out in an earlier attempt
    (main post first): the adapter resumes after them and never re-posts them.
    `idempotency_key` is stable across retries of the same delivery.
    `not_before` (aware, UTC) is a moment no attempt of this delivery can predate (the engine
    sets it to the delivery's creation minus a clock-skew margin): `find_existing` must ignore
    posts created before it, so an older post with the same text (last week's "Good morning!",
    a monthly announcement) is never taken for this one. None: no bound, any post may match.
    """

    text: str
    idempotency_key: str
    title: str = ""
    media: list[MediaItem] = field(default_factory=list)
    first_comment: str = ""
    thread: list[str] = field(default_factory=list)
    link: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    done_parts: list[PublishedPart] = field(default_factory=list)
    not_before: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.not_before is not None and (
            self.not_before.tzinfo is None or self.not_before.utcoffset() is None
        ):
            raise ValueError("not_before must be a timezone-aware datetime")


# How far a platform's clock (the creation time it reports) may run behind ours: `not_before`
# is set this much earlier than the delivery's creation.
CLOCK_SKEW = dt.timedelta(minutes=2)


@dataclass
class PublishResult:
    remote_id: str
    url: str
    parts: list[PublishedPart] = field(default_factory=list)  # main post first, then thread/comment


# Called with (index, part) as soon as a part is live, so the engine stores it before the next.
PartCallback = Callable[[int, PublishedPart], None]

# Metric names shared by all platforms; an adapter reports only what its platform has.
METRIC_NAMES = (
    "likes",
    "comments",
    "shares",
    "impressions",
    "clicks",
    "saves",
    "video_views",
    "quotes",
)


@dataclass
class MetricsSnapshot:
    remote_id: str
    values: dict[str, int]  # keys from METRIC_NAMES; missing = not available on this platform
    raw: dict[str, Any] = field(default_factory=dict)


# Account-level (period) numbers an adapter may report; kept apart from post-lifetime metrics.
ACCOUNT_METRIC_NAMES = ("followers", "following", "posts")


@dataclass
class AccountMetrics:
    values: dict[str, int]  # keys from ACCOUNT_METRIC_NAMES; missing = not available
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class RemotePostInfo:
    """A post found on the account (backfill): what it is, when it went out, its numbers."""

    remote_id: str
    url: str
    text: str
    published_at: dt.datetime
    metrics: MetricsSnapshot | None = None


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do, beyond the editorial limits in calendar_app.platforms."""

    auth: Literal["oauth2", "oauth1", "app_password", "bot_token", "none"]
    threads: bool = False
    first_comment: bool = False
    idempotency_key: bool = False
    delete: bool = True
    metrics: frozenset[str] = frozenset()
    metrics_batch_size: int = 1  # remote ids per fetch_metrics call
    account_metrics: frozenset[str] = frozenset()  # from ACCOUNT_METRIC_NAMES
    lists_recent_posts: bool = False  # list_recent_posts() works (history backfill)
    fetches_media_by_url: bool = False
    needs_instance_url: bool = False  # Mastodon instance, Bluesky PDS, WordPress site


class PlatformAdapter:
    """Base class. Subclasses set `key` and `capabilities` and implement the methods they support.

    Constructed by the registry with the settings entry's OPTIONS as keyword arguments
    (e.g. base_url, client_id, client_secret); `base_url` can always be overridden so tests and
    staging talk to local servers.
    """

    key: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    default_base_url: ClassVar[str] = ""
    timeout: ClassVar[float] = 20.0
    # How long the platform remembers an idempotency key sent with a publish call (None: it
    # has none). While it does, a post whose look-up cannot answer may be posted again under
    # the same key; otherwise its outcome becomes unknown and a person decides.
    idempotency_window: ClassVar[dt.timedelta | None] = None
    # When the numbers of a post are pulled, as ages after posting (None: the shared
    # publishing.metrics.schedule.SCHEDULE, 15 minutes to 30 days).
    metrics_schedule: ClassVar[tuple[dt.timedelta, ...] | None] = None

    def __init__(self, *, base_url: str = "", **options: Any) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.options = options

    @property
    def spec(self) -> PlatformSpec:
        """Text limits and media rules (shared with the editor)."""
        return spec_for(self.key)

    # -- connecting ------------------------------------------------------------------------------
    def authorization_url(
        self, *, redirect_uri: str, state: str, code_verifier: str, account: Account
    ) -> tuple[str, Account]:
        """OAuth: where to send the user. May return an updated Account (e.g. after registering
        an app on a Mastodon instance) that the connect flow keeps until the callback."""
        raise NotImplementedError

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str, account: Account
    ) -> ConnectResult:
        """OAuth: trade the callback's code for tokens and identify the account."""
        raise NotImplementedError

    def connect_with_secret(self, *, account: Account, secret: str) -> ConnectResult:
        """Non-OAuth platforms: app password (Bluesky, WordPress) or bot token (Telegram)."""
        raise NotImplementedError

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        """A fresh access token. Platforms that rotate refresh tokens return the new one; a
        refresh token the platform did not re-send is kept (never wiped)."""
        raise NotImplementedError

    # Platforms whose access token renews itself (refreshed with the access token alone, before
    # it expires) set this: their connection never ends on its own.
    renews_with_access_token: ClassVar[bool] = False

    def access_ends_at(self, credentials: Credentials) -> dt.datetime | None:
        """When the connection stops working unless someone reconnects (None: never on its
        own). A token without a way to renew it ends when it expires; a refresh token ends
        when the platform said it does (`extra["refresh_expires_at"]`, ISO 8601)."""
        if credentials.expires_at is None or self.renews_with_access_token:
            return None
        if not credentials.refresh_token:
            return credentials.expires_at
        ends = credentials.extra.get("refresh_expires_at")
        return dt.datetime.fromisoformat(ends) if ends else None

    # -- content ---------------------------------------------------------------------------------
    def validate(self, request: PublishRequest) -> list[str]:
        """Human-readable problems that would make publishing fail (empty: fine)."""
        from calendar_app.platforms import MediaInfo, variant_problems

        return variant_problems(
            self.key,
            text=request.text,
            title=request.title,
            first_comment=request.first_comment,
            media=[MediaInfo(m.kind, m.size_bytes, m.filename) for m in request.media],
        )

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        raise NotImplementedError

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """For the reconciler: the post this request already created, if any (by idempotency
        key where the platform has one, else by scanning the account's recent posts, ignoring
        any created before `request.not_before`)."""
        raise NotImplementedError

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        raise NotImplementedError

    def remote_id_from_url(self, url: str) -> str | None:
        """The platform's id of the post at its public `url`, where the address tells (a
        person confirming "it is live, here is the link"); None where it does not."""
        return None

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        raise NotImplementedError

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """The account's own numbers now (followers...), for the daily account snapshot."""
        raise NotImplementedError

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The account's own posts published since `since` (newest first, at most `limit`),
        including ones not made with this app, with their numbers where the listing has them."""
        raise NotImplementedError
