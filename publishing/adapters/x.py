"""X (Twitter) API v2: OAuth 2.0 with PKCE or OAuth 1.0a user context (OPTIONS auth="oauth1"),
posts with media, threads by replying to oneself, duplicate/rate-limit mapping and public +
non-public metrics in batches of 100.

Which signature a call carries follows the stored credentials (`extra["auth"]`), not the
setting, so channels connected before a switch keep working."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop
from oauthlib.oauth1 import OAuth1Error
from requests_oauthlib import OAuth1, OAuth1Session
from requests_oauthlib.oauth1_session import TokenMissing, TokenRequestDenied

from notifications.texts import Text
from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    AdapterError,
    AuthExpired,
    Capabilities,
    ConnectError,
    ConnectResult,
    Credentials,
    MediaItem,
    MetricsSnapshot,
    PartCallback,
    PermanentError,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RemotePostInfo,
    TransientError,
)
from publishing.adapters.listing import (
    ListedItem,
    collect_recent,
    counts,
    created_since,
    excerpt,
    parse_time,
    require_aware,
    walk_back_to,
)
from publishing.adapters.oauth2 import OAuth2Adapter

CHUNK_BYTES = 4 * 1024 * 1024  # APPEND segments for chunked (video) uploads
AUTH_MODES = ("oauth2", "oauth1")
# Account.config keys of an OAuth 1.0a sign-in in progress (sealed in the session, never stored).
REQUEST_TOKEN = "oauth1_request_token"
REQUEST_SECRET = "oauth1_request_secret"

# Post ids are snowflakes: the creation time in milliseconds sits above bit 22.
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
# Non-public metrics (impressions for the author, link clicks) exist only for posts younger
# than 30 days; asking for them on an older post is refused, so older posts are asked for their
# public metrics only. A little margin for clocks; a refusal is retried without them anyway.
NON_PUBLIC_MAX_AGE = dt.timedelta(days=29, hours=12)
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
VIDEO_MEDIA = ("video", "animated_gif")
TIMELINE_PAGE = 100  # the most GET /2/users/:id/tweets returns


def rfc3339(moment: dt.datetime) -> str:
    """A moment as X's start_time wants it: UTC, whole seconds (a fraction is dropped, so the
    window starts up to a second early, never late)."""
    return require_aware(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def created_at_of(post_id: str) -> dt.datetime | None:
    """When a post was created, from its snowflake id (None for an id that is not one)."""
    if not post_id.isdigit():
        return None
    millis = (int(post_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)


def snapshot_from(post: dict[str, Any], media: dict[str, dict[str, Any]]) -> MetricsSnapshot:
    """Our numbers from a post of API v2 (public + non-public metrics, and its media's views
    from `includes.media`, keyed by media_key); a number X did not send stays missing."""
    public = post.get("public_metrics") or {}
    private = post.get("non_public_metrics") or {}
    videos = [
        media[key]
        for key in (post.get("attachments") or {}).get("media_keys") or []
        if key in media and media[key].get("type") in VIDEO_MEDIA
    ]
    views = [(m.get("public_metrics") or {}).get("view_count") for m in videos]
    values = counts(
        likes=public.get("like_count"),
        comments=public.get("reply_count"),
        shares=public.get("retweet_count"),
        quotes=public.get("quote_count"),
        saves=public.get("bookmark_count"),
        impressions=private.get("impression_count", public.get("impression_count")),
        clicks=private.get("url_link_clicks"),
        video_views=sum(views) if views and None not in views else None,
    )
    raw: dict[str, Any] = {"public_metrics": public, "non_public_metrics": private}
    if videos:
        raw["media"] = [
            {k: m[k] for k in ("media_key", "type", "public_metrics") if k in m} for m in videos
        ]
    return MetricsSnapshot(remote_id=str(post["id"]), values=values, raw=raw)


def media_by_key(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        m["media_key"]: m
        for m in (body.get("includes") or {}).get("media") or []
        if isinstance(m, dict) and m.get("media_key")
    }


class _Secret(str):
    """A string whose repr hides it (the pending Account is a dataclass with a plain repr)."""

    def __repr__(self) -> str:
        return "'***'"


def is_oauth1(credentials: Credentials) -> bool:
    return credentials.extra.get("auth") == "oauth1"


class XAdapter(OAuth2Adapter):
    key = "x"
    capabilities = Capabilities(
        auth="oauth2",
        threads=True,
        first_comment=True,  # posted as a reply to the main post
        metrics=frozenset(
            {"likes", "comments", "shares", "quotes", "impressions", "clicks", "saves"}
        ),
        metrics_batch_size=100,
        account_metrics=frozenset({"followers", "following", "posts"}),
        lists_recent_posts=True,
    )
    default_base_url = "https://api.x.com"
    authorize_endpoint = "https://x.com/i/oauth2/authorize"
    token_endpoint = "/2/oauth2/token"
    # What each call needs with an OAuth 2.0 user token (every scope of a row together), from
    # the OAuth2UserToken security of each path in X's OpenAPI document (api.x.com/2/openapi.json,
    # the spec behind docs.x.com/x-api) and docs.x.com "X API v2 authentication mapping":
    #   GET    /2/users/me (connect, account numbers)   tweet.read users.read
    #   POST   /2/tweets (post, thread parts, comment)  tweet.read tweet.write users.read
    #   DELETE /2/tweets/:id                            tweet.read tweet.write users.read
    #   GET    /2/tweets?ids= (metrics)                 tweet.read users.read
    #   GET    /2/users/:id/tweets (look-up, listing)   tweet.read users.read
    #   POST   /2/media/upload, /2/media/upload/        media.write
    #          initialize, {id}/append, {id}/finalize;
    #          GET /2/media/upload (status);
    #          POST /2/media/metadata (alt text)
    #   POST   /2/oauth2/token (refresh)                a refresh token, which X issues only
    #                                                   with offline.access (docs.x.com, "OAuth
    #                                                   2.0 Authorization Code Flow with PKCE")
    # OAuth 1.0a tokens carry no scopes: the app's read/write permission decides.
    scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    uses_pkce = True
    token_auth_basic = True  # confidential client
    recent_posts: ClassVar[int] = 20  # the look-up's one page when it has no not_before
    # The look-up pages back to the delivery's not_before, but never further than this many
    # pages of 100 (2,000 posts; start_time normally ends it within the first).
    lookup_max_pages: ClassVar[int] = 20
    request_token_endpoint: ClassVar[str] = "/oauth/request_token"
    oauth1_authorize_endpoint: ClassVar[str] = "https://api.x.com/oauth/authorize"
    access_token_endpoint: ClassVar[str] = "/oauth/access_token"

    def __init__(
        self,
        *,
        auth: str = "oauth2",
        consumer_key: str = "",
        consumer_secret: str = "",
        oauth1_authorize_url: str = "",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        auth = auth or "oauth2"
        if auth not in AUTH_MODES:
            raise ImproperlyConfigured(
                f"PUBLISHING_ADAPTERS['x'] OPTIONS auth must be one of {AUTH_MODES}, not {auth!r}"
            )
        self.auth = auth
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.oauth1_authorize_url = oauth1_authorize_url or self.oauth1_authorize_endpoint
        if auth == "oauth1":
            self.capabilities = dataclasses.replace(self.capabilities, auth="oauth1")
            # The platform chooser asks for a client id to know the app is set up; OAuth 2.0
            # channels connected before the switch keep their own client id for refreshing.
            self.client_id = self.client_id or consumer_key

    def __repr__(self) -> str:
        return f"<XAdapter auth={self.auth} base_url={self.base_url}>"

    # -- connecting: OAuth 1.0a -------------------------------------------------------------------

    def _require_consumer(self) -> None:
        if not (self.consumer_key and self.consumer_secret):
            raise ConnectError(
                Text(
                    gettext_noop(
                        "%(platform)s is not set up on this server yet: an administrator needs to "
                        "fill in its consumer key and secret."
                    ),
                    platform=self.label,
                )
            )

    def _oauth1_token(self, oauth: OAuth1Session, fetch: str, url: str) -> dict[str, str]:
        """A request or access token from X; refusals become ConnectError, nothing echoes a
        secret (requests-oauthlib puts the response body into its exception text)."""
        oauth.headers["User-Agent"] = http.USER_AGENT
        try:
            return dict(getattr(oauth, fetch)(url, timeout=self.timeout))
        except TokenRequestDenied as exc:
            error = self.error_for(exc.response, secrets=(self.consumer_secret,))
            if isinstance(error, TransientError):
                raise error from None
            raise ConnectError(
                Text(
                    gettext_noop("%(platform)s refused the authorization (%(reason)s)."),
                    platform=self.label,
                    reason=http.platform_error_text(exc.response),
                ),
                detail=error.detail,
                status=exc.response.status_code,
            ) from None
        except (TokenMissing, OAuth1Error, ValueError):
            raise ConnectError(
                Text(
                    gettext_noop(
                        "%(platform)s answered the sign-in with something we did not understand."
                    ),
                    platform=self.label,
                ),
                detail=f"unreadable token response from {url.split('?')[0]}",
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s could not be reached; try again later."),
                    platform=self.label,
                ),
                detail=type(exc).__name__,
            ) from None

    def authorization_url(
        self, *, redirect_uri: str, state: str, code_verifier: str, account: Account
    ) -> tuple[str, Account]:
        if self.auth != "oauth1":
            return super().authorization_url(
                redirect_uri=redirect_uri,
                state=state,
                code_verifier=code_verifier,
                account=account,
            )
        self._require_consumer()
        # X sends the user back with oauth_token + oauth_verifier only: the state rides along
        # in the callback URL so the callback can check it like any OAuth 2.0 answer.
        separator = "&" if "?" in redirect_uri else "?"
        callback = f"{redirect_uri}{separator}{urlencode({'state': state})}"
        oauth = OAuth1Session(
            self.consumer_key, client_secret=self.consumer_secret, callback_uri=callback
        )
        token = self._oauth1_token(
            oauth, "fetch_request_token", self.url(self.request_token_endpoint)
        )
        if str(token.get("oauth_callback_confirmed", "")).lower() != "true":
            raise ConnectError(
                Text(
                    gettext_noop("%(platform)s did not accept our callback address."),
                    platform=self.label,
                ),
                detail="oauth_callback_confirmed is not true",
            )
        request_token = token["oauth_token"]
        pending = dataclasses.replace(
            account,
            config={
                **account.config,
                REQUEST_TOKEN: request_token,
                REQUEST_SECRET: _Secret(token["oauth_token_secret"]),
            },
        )
        url = f"{self.oauth1_authorize_url}?{urlencode({'oauth_token': request_token})}"
        return url, pending

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str, account: Account
    ) -> ConnectResult:
        config = dict(account.config)
        request_token = config.pop(REQUEST_TOKEN, "")
        request_secret = config.pop(REQUEST_SECRET, "")
        account = dataclasses.replace(account, config=config)  # never stored on the channel
        if not request_token:
            return super().exchange_code(
                code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, account=account
            )
        self._require_consumer()
        oauth = OAuth1Session(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=request_token,
            resource_owner_secret=request_secret,
            verifier=code,
        )
        token = self._oauth1_token(
            oauth, "fetch_access_token", self.url(self.access_token_endpoint)
        )
        if not (token.get("oauth_token") and token.get("oauth_token_secret")):
            raise ConnectError(
                Text(
                    gettext_noop(
                        "%(platform)s answered the sign-in with something we did not understand."
                    ),
                    platform=self.label,
                ),
                detail="access token response without oauth_token/oauth_token_secret",
            )
        credentials = Credentials(
            access_token=token["oauth_token"],
            extra={"token_secret": token["oauth_token_secret"], "auth": "oauth1"},
        )  # no expires_at: OAuth 1.0a user tokens do not expire
        try:
            return self.identify(account=account, credentials=credentials, token={})
        except (AuthExpired, PermanentError) as exc:
            if isinstance(exc, AuthExpired) or not token.get("user_id"):
                raise ConnectError(exc.message, detail=exc.detail, status=exc.status) from None
        # users/me refused (e.g. an API tier without it): the token response names the account.
        screen_name = str(token.get("screen_name", ""))
        account = dataclasses.replace(
            account,
            account_id=str(token["user_id"]),
            handle=screen_name,
            name=screen_name,
            config={**account.config, "username": screen_name},
        )
        return ConnectResult(account=account, credentials=credentials)

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        if is_oauth1(credentials):
            return credentials  # OAuth 1.0a user tokens do not expire; a 401 means revoked
        return super().refresh(account=account, credentials=credentials)

    def credentials_from_token(
        self, token: dict[str, Any], *, previous: Credentials | None = None
    ) -> Credentials:
        credentials = super().credentials_from_token(token, previous=previous)
        # Mark OAuth 2.0 explicitly: a reconnect merges `extra` with what was stored, which may
        # be an OAuth 1.0a token secret from before.
        credentials.extra = {**credentials.extra, "auth": "oauth2"}
        return credentials

    # -- HTTP -------------------------------------------------------------------------------------

    def oauth1_auth(self, credentials: Credentials) -> OAuth1:
        return OAuth1(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=credentials.access_token,
            resource_owner_secret=credentials.extra.get("token_secret", ""),
        )

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        if is_oauth1(credentials):
            return {}  # signed per request in call()
        return super().auth_headers(credentials)

    def call(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None = None,
        ok=(),
        **kwargs: Any,
    ) -> requests.Response:
        """OAuth 2.0: the shared bearer call. OAuth 1.0a: the same, signed per request."""
        if credentials is None or not is_oauth1(credentials):
            return super().call(method, path, credentials=credentials, ok=ok, **kwargs)
        try:
            response = self.session.request(
                method, self.url(path), auth=self.oauth1_auth(credentials), **kwargs
            )
        except requests.RequestException as exc:  # never echo the request (it is signed)
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s could not be reached; try again later."),
                    platform=self.label,
                ),
                detail=type(exc).__name__,
            ) from None
        if response.status_code >= 400 and response.status_code not in set(ok):
            secrets = (
                credentials.access_token,
                credentials.extra.get("token_secret", ""),
                self.consumer_secret,
            )
            raise self.error_for(response, secrets=secrets)
        return response

    # -- connecting -------------------------------------------------------------------------------

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        data = self.call(
            "GET",
            "/2/users/me",
            credentials=credentials,
            params={"user.fields": "profile_image_url,username,name"},
        ).json()["data"]
        account = Account(
            account_id=str(data["id"]),
            handle=data.get("username", ""),
            name=data.get("name", ""),
            avatar_url=data.get("profile_image_url", ""),
            config={**account.config, "username": data.get("username", "")},
        )
        return ConnectResult(account=account, credentials=credentials)

    # -- errors -----------------------------------------------------------------------------------

    def error_for(self, response: requests.Response, *, secrets=()) -> AdapterError:
        error = super().error_for(response, secrets=secrets)
        if response.status_code == 403 and "duplicate" in error.detail.lower():
            return PermanentError(
                Text(
                    gettext_noop(
                        "X refused the post because the same text was already posted on this account."
                    )
                ),
                detail=error.detail,
                status=403,
            )
        return error

    # -- content ----------------------------------------------------------------------------------

    def post_url(self, account: Account, remote_id: str) -> str:
        username = account.config.get("username") or account.handle
        if username:
            return f"https://x.com/{username}/status/{remote_id}"
        return f"https://x.com/i/web/status/{remote_id}"

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        def main(parts: list[PublishedPart]) -> PublishedPart:
            media_ids = [self.upload(credentials, item) for item in request.media]
            body: dict[str, Any] = {"text": request.text}
            if media_ids:
                body["media"] = {"media_ids": media_ids}
            return self.create_post(account, credentials, body)

        def reply(text: str, to_index: int | None = None):
            def step(parts: list[PublishedPart]) -> PublishedPart:
                target = parts[-1] if to_index is None else parts[to_index]
                body = {"text": text, "reply": {"in_reply_to_tweet_id": target.remote_id}}
                return self.create_post(account, credentials, body)

            return step

        steps = [main, *(reply(text) for text in request.thread)]
        if request.first_comment.strip():
            steps.append(reply(request.first_comment, to_index=0))
        return self.publish_parts(request, steps, on_part)

    def create_post(
        self, account: Account, credentials: Credentials, body: dict[str, Any]
    ) -> PublishedPart:
        data = self.call("POST", "/2/tweets", credentials=credentials, json=body).json()["data"]
        remote_id = str(data["id"])
        return PublishedPart(remote_id=remote_id, url=self.post_url(account, remote_id))

    def upload(self, credentials: Credentials, item: MediaItem) -> str:
        """Images in one request; videos (and GIFs) chunked: initialize, append, finalize, poll."""
        if item.kind == "image" and item.mime_type != "image/gif":
            with item.open() as fh:
                data = self.call(
                    "POST",
                    "/2/media/upload",
                    credentials=credentials,
                    files={"media": (item.filename, fh, item.mime_type)},
                    data={"media_category": "tweet_image"},
                ).json()["data"]
            media_id = str(data["id"])
        else:
            media_id = self.upload_chunked(credentials, item)
        if item.alt_text:
            self.call(
                "POST",
                "/2/media/metadata",
                credentials=credentials,
                json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text[:1000]}}},
            )
        return media_id

    def upload_chunked(self, credentials: Credentials, item: MediaItem) -> str:
        category = "tweet_gif" if item.mime_type == "image/gif" else "tweet_video"
        init = self.call(
            "POST",
            "/2/media/upload/initialize",
            credentials=credentials,
            json={
                "media_type": item.mime_type,
                "total_bytes": item.size_bytes,
                "media_category": category,
            },
        ).json()["data"]
        media_id = str(init["id"])
        for index, chunk in enumerate(item.chunks(CHUNK_BYTES)):
            self.call(
                "POST",
                f"/2/media/upload/{media_id}/append",
                credentials=credentials,
                files={"media": ("chunk", chunk, "application/octet-stream")},
                data={"segment_index": str(index)},
            )
        data = self.call(
            "POST", f"/2/media/upload/{media_id}/finalize", credentials=credentials
        ).json()["data"]
        info = data.get("processing_info")
        for _attempt in range(self.poll_attempts):
            if not info or info.get("state") == "succeeded":
                return media_id
            if info.get("state") == "failed":
                reason = (info.get("error") or {}).get("message", "")
                raise PermanentError(
                    Text(
                        gettext_noop("X could not process %(name)s (%(reason)s)."),
                        name=item.filename,
                        reason=reason or Text(gettext_noop("unknown reason")),
                    ),
                    detail=f"processing failed: {reason}",
                )
            self.sleep(info.get("check_after_secs", self.poll_interval))
            info = (
                self.call(
                    "GET",
                    "/2/media/upload",
                    credentials=credentials,
                    params={"command": "STATUS", "media_id": media_id},
                )
                .json()
                .get("data", {})
                .get("processing_info")
            )
        raise TransientError(
            Text(
                gettext_noop("X is still processing %(name)s; try again later."), name=item.filename
            )
        )

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """X has no idempotency key: look for the main text among the account's posts (X
        rewrites links to t.co, so links are ignored in the comparison), created since
        `request.not_before`.

        With that bound the timeline is read back to it, so a post that went out before a busy
        stretch is still found: `start_time` (RFC 3339, whole seconds, inclusive) has X send
        only posts from then on, 100 a page (the most max_results allows), following
        meta.next_token, at most `lookup_max_pages` pages, ending at the match or at a page
        whose oldest post predates the bound. Without one, only the newest `recent_posts`
        are read, as before. X lists at most the 3,200 newest posts of a user this way."""
        params: dict[str, Any] = {"max_results": self.recent_posts, "tweet.fields": "created_at"}
        if request.not_before is not None:
            params["max_results"] = TIMELINE_PAGE
            params["start_time"] = rfc3339(request.not_before)
        pages = (
            body.get("data") or []
            for body in self.timeline_pages(account, credentials, params=params)
        )
        posts = walk_back_to(
            pages,
            request.not_before,
            time_of=lambda post: post.get("created_at"),
            max_pages=self.lookup_max_pages,
        )
        for post in posts:
            if self.same_text(post.get("text", ""), request.text) and created_since(
                post.get("created_at"), request.not_before
            ):
                remote_id = str(post["id"])
                part = PublishedPart(remote_id=remote_id, url=self.post_url(account, remote_id))
                return PublishResult(remote_id=remote_id, url=part.url, parts=[part])
        return None

    def timeline_pages(
        self, account: Account, credentials: Credentials, *, params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """The answers of GET /2/users/:id/tweets page by page (a generator: a page is asked
        for only when the one before is used up), each following meta.next_token as
        pagination_token, until X gives none (or repeats one)."""
        while True:
            body = http.json_or_empty(
                self.call(
                    "GET",
                    f"/2/users/{account.account_id}/tweets",
                    credentials=credentials,
                    params=params,
                )
            )
            body = body if isinstance(body, dict) else {}
            yield body
            token = (body.get("meta") or {}).get("next_token")
            if not token or token == params.get("pagination_token"):
                return
            params = {**params, "pagination_token": token}

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self.call("DELETE", f"/2/tweets/{remote_id}", credentials=credentials, ok=(404,))

    # -- metrics --------------------------------------------------------------------------------

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Up to 100 posts per call (GET /2/tweets?ids=). Posts younger than 30 days (their age
        is in the id) are asked for non-public metrics too (impressions, link clicks); older
        ones, and any X refuses those for, for public metrics only. Deleted posts are missing;
        video views come from the attached media."""
        now = dt.datetime.now(dt.UTC)
        recent, old = [], []
        for remote_id in remote_ids:
            created = created_at_of(remote_id)
            (recent if created is not None and now - created < NON_PUBLIC_MAX_AGE else old).append(
                remote_id
            )
        size = self.capabilities.metrics_batch_size
        snapshots: list[MetricsSnapshot] = []
        for ids, non_public in ((recent, True), (old, False)):
            for start in range(0, len(ids), size):
                batch = ids[start : start + size]
                try:
                    found, refused = self._lookup(credentials, batch, non_public)
                except PermanentError:
                    if not non_public:
                        raise
                    # The whole request refused for the non-public fields (access tier, a
                    # post just past 30 days): the public numbers are still worth having.
                    found, refused = [], batch
                snapshots += found
                for retry in range(0, len(refused), size):
                    snapshots += self._lookup(credentials, refused[retry : retry + size], False)[0]
        order = {remote_id: n for n, remote_id in enumerate(remote_ids)}
        return sorted(snapshots, key=lambda s: order.get(s.remote_id, len(order)))

    def _lookup(
        self, credentials: Credentials, ids: list[str], non_public: bool
    ) -> tuple[list[MetricsSnapshot], list[str]]:
        """One GET /2/tweets: the snapshots, and the ids X refused for a reason other than
        "not found" (e.g. non-public metrics no longer available) when non-public was asked."""
        fields = "public_metrics,non_public_metrics" if non_public else "public_metrics"
        body = self.call(
            "GET",
            "/2/tweets",
            credentials=credentials,
            params={
                "ids": ",".join(ids),
                "tweet.fields": fields,
                "expansions": "attachments.media_keys",
                "media.fields": "type,public_metrics",
            },
        ).json()
        media = media_by_key(body)
        snapshots = [snapshot_from(post, media) for post in body.get("data") or []]
        refused: list[str] = []
        if non_public:
            found = {s.remote_id for s in snapshots}
            for error in body.get("errors") or []:
                # Deleted or protected posts answer resource-not-found: they stay missing.
                remote_id = str(error.get("resource_id") or error.get("value") or "")
                if (
                    remote_id in ids
                    and remote_id not in found
                    and remote_id not in refused
                    and error.get("type") != NOT_FOUND_TYPE
                ):
                    refused.append(remote_id)
        return snapshots, refused

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Followers, following and posts of the connected user (public_metrics of users/me)."""
        data = (
            self.call(
                "GET",
                "/2/users/me",
                credentials=credentials,
                params={"user.fields": "public_metrics"},
            )
            .json()
            .get("data")
            or {}
        )
        public = data.get("public_metrics") or {}
        return AccountMetrics(
            values=counts(
                followers=public.get("followers_count"),
                following=public.get("following_count"),
                posts=public.get("tweet_count"),
            ),
            raw={"public_metrics": public},
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The user's own posts since `since` (GET /2/users/:id/tweets with start_time; reposts
        and replies, thread parts included, excluded by X), newest first, with public metrics,
        plus non-public ones when the whole window is younger than 30 days."""
        since = require_aware(since)
        non_public = dt.datetime.now(dt.UTC) - since < NON_PUBLIC_MAX_AGE
        fields = "created_at,public_metrics" + (",non_public_metrics" if non_public else "")

        params: dict[str, Any] = {
            "max_results": TIMELINE_PAGE,
            "exclude": "retweets,replies",
            "start_time": rfc3339(since),
            "tweet.fields": fields,
            "expansions": "attachments.media_keys",
            "media.fields": "type,public_metrics",
        }

        def listed(body: dict[str, Any]) -> list[ListedItem]:
            media = media_by_key(body)
            return [self._listed(account, post, media) for post in body.get("data") or []]

        pages = (listed(body) for body in self.timeline_pages(account, credentials, params=params))
        return collect_recent(pages, since=since, limit=limit)

    def _listed(
        self, account: Account, post: dict[str, Any], media: dict[str, dict[str, Any]]
    ) -> ListedItem:
        moment = parse_time(post.get("created_at")) or created_at_of(str(post.get("id", "")))
        if moment is None:
            return None, None
        remote_id = str(post["id"])
        return moment, RemotePostInfo(
            remote_id=remote_id,
            url=self.post_url(account, remote_id),
            text=excerpt(post.get("text")),
            published_at=moment,
            metrics=snapshot_from(post, media),
        )
