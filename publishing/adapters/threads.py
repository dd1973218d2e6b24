"""Threads API: containers (TEXT / IMAGE / VIDEO / CAROUSEL from public URLs) then
threads_publish; threads and the first comment as replies (reply_to_id); 500 characters and at
most 5 links; long-lived tokens extended by th_refresh_token; insights metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.utils.translation import gettext_noop

from calendar_app.counting import URL_RE
from notifications.texts import Text
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    Capabilities,
    ConnectResult,
    Credentials,
    MediaItem,
    PartCallback,
    PermanentError,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RemotePostInfo,
)
from publishing.adapters.facebook import insight_value
from publishing.adapters.instagram import InstagramAdapter
from publishing.adapters.listing import (
    ListedItem,
    as_count,
    collect_recent,
    counts,
    created_since,
    excerpt,
    parse_time,
    require_aware,
    walk_back_to,
)

MAX_LINKS = 5
INSIGHT_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")
# Our names for Threads' insights; "shares" is reposts plus shares (sent on), see metric_values.
METRIC_MAP = {
    "views": "impressions",
    "likes": "likes",
    "replies": "comments",
    "quotes": "quotes",
}
POST_FIELDS = "id,text,permalink,timestamp,media_type,is_quote_post"
LISTING_PAGE = 100
# User-level reads with since/until cannot reach before 2024-04-13 (1712991600).
EARLIEST_SINCE = dt.datetime.fromtimestamp(1712991600, tz=dt.UTC)


class ThreadsAdapter(InstagramAdapter):
    key = "threads"
    capabilities = Capabilities(
        auth="oauth2",
        threads=True,
        first_comment=True,  # a reply to the main post
        metrics=frozenset({*METRIC_MAP.values(), "shares"}),
        account_metrics=frozenset({"followers"}),
        lists_recent_posts=True,
        fetches_media_by_url=True,
    )
    default_base_url = "https://graph.threads.net/v1.0"
    authorize_endpoint = "https://threads.net/oauth/authorize"
    # What each call needs (all permissions of a row together), from developers.facebook.com/
    # docs/threads: "Get Started" (threads_basic for every endpoint, content_publish for
    # publishing, manage_replies for POSTs and read_replies for GETs of reply endpoints,
    # manage_insights for insights), "Long-Lived Tokens", "Retrieve and Manage Replies",
    # "Delete Posts":
    #   POST /oauth/access_token, GET /access_token none (app id and secret)
    #        th_exchange_token
    #   GET  /refresh_access_token th_refresh_token threads_basic
    #   GET  /me (connect), /{media}?fields=        threads_basic
    #        permalink, /{user}/threads (look-up,
    #        listing)
    #   POST /{user}/threads, /{user}/threads_      threads_basic threads_content_publish
    #        publish; GET /{container}?fields=status
    #   POST /{user}/threads with reply_to_id       threads_basic threads_content_publish
    #        (thread parts, first comment)          threads_manage_replies
    #   GET  /{user}/replies (look-up of replies)   threads_basic threads_read_replies
    #   GET  /{media}/insights (metrics),           threads_basic threads_manage_insights
    #        /{user}/threads_insights (followers)
    #   DELETE /{media}                             threads_basic threads_delete
    scopes = (
        "threads_basic",
        "threads_content_publish",
        "threads_manage_replies",
        "threads_read_replies",
        "threads_manage_insights",
        "threads_delete",
    )
    container_status_field: ClassVar[str] = "status"
    container_edge: ClassVar[str] = "threads"
    publish_edge: ClassVar[str] = "threads_publish"
    insight_metrics: ClassVar[tuple[str, ...]] = INSIGHT_METRICS
    metric_map: ClassVar[dict[str, str]] = METRIC_MAP
    fallback_fields: ClassVar[str] = ""  # a Threads post has no like/reply counts as fields
    # The Threads reference shows its listings' paging as cursors only, without a `next`
    # link ("Retrieve User Posts"): the `after` cursor leads on until a page comes back empty.
    paging_needs_next: ClassVar[bool] = False
    # The look-up reads each edge (posts, replies) back to the delivery's not_before, but
    # never further than this many pages of 100 an edge (`since` normally ends it at once).
    lookup_max_pages: ClassVar[int] = 20
    poll_interval = 2.0

    def __init__(self, *, token_url: str = "", **options: Any) -> None:
        super().__init__(**options)
        # The token endpoint is not versioned: https://graph.threads.net/oauth/access_token.
        self.token_url = token_url or f"{self.graph_root}/oauth/access_token"

    # -- connecting -------------------------------------------------------------------------------

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        long_lived = self.exchange_long_lived(
            f"{self.graph_root}/access_token", "th_exchange_token", credentials.access_token
        )
        credentials = self.credentials_from_token(long_lived)
        me = self.graph(
            "GET",
            "/me",
            credentials=credentials,
            params={"fields": "id,username,name,threads_profile_picture_url"},
        ).json()
        return ConnectResult(
            account=Account(
                account_id=str(me["id"]),
                handle=me.get("username", ""),
                name=me.get("name", "") or me.get("username", ""),
                avatar_url=me.get("threads_profile_picture_url", ""),
                config=dict(account.config),
            ),
            credentials=credentials,
        )

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        response = self.call(
            "GET",
            f"{self.graph_root}/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": credentials.access_token},
            ok=range(400, 600),
        )
        if response.status_code >= 400:
            raise self.token_error(response, secrets=(credentials.access_token,))
        return self.credentials_from_token(response.json(), previous=credentials)

    # -- content ----------------------------------------------------------------------------------

    def validate(self, request: PublishRequest) -> list[str]:
        # The shared rules (500 characters, emoji as bytes) plus public URLs and the link cap.
        problems = super(InstagramAdapter, self).validate(request)
        problems += self.missing_public_urls(request)
        for text in (request.text, *request.thread, request.first_comment):
            links = {m.group().rstrip(".,;:!?)") for m in URL_RE.finditer(text or "")}
            if len(links) > MAX_LINKS:
                problems.append(
                    Text(
                        gettext_noop(
                            "Threads allows at most %(max)d links per post; one part has %(count)d."
                        ),
                        max=MAX_LINKS,
                        count=len(links),
                    )
                )
                break
        return problems

    def media_params(self, item: MediaItem, *, in_carousel: bool) -> dict[str, str]:
        if item.kind == "video":
            params = {"media_type": "VIDEO", "video_url": item.public_url}
        else:
            params = {"media_type": "IMAGE", "image_url": item.public_url}
            if item.alt_text:
                params["alt_text"] = item.alt_text
        if in_carousel:
            params["is_carousel_item"] = "true"
        return params

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        problems = self.missing_public_urls(request)
        if problems:
            raise PermanentError(problems[0])

        def post(params: dict[str, str], text: str) -> PublishedPart:
            if text:
                params["text"] = text
            container = self.create_container(account, credentials, params)
            if self.wait_until_ready(credentials, container) == "PUBLISHED":
                return self.recover_published(
                    account, credentials, text, container, not_before=request.not_before
                )
            return self.publish_container(
                account, credentials, text, container, not_before=request.not_before
            )

        def main(parts: list[PublishedPart]) -> PublishedPart:
            media = request.media
            if not media:
                return post({"media_type": "TEXT"}, request.text)
            if len(media) == 1:
                return post(self.media_params(media[0], in_carousel=False), request.text)
            children = []
            for item in media:
                child = self.create_container(
                    account, credentials, self.media_params(item, in_carousel=True)
                )
                self.wait_until_ready(credentials, child)
                children.append(child)
            return post({"media_type": "CAROUSEL", "children": ",".join(children)}, request.text)

        def reply(text: str, to_index: int | None = None):
            def step(parts: list[PublishedPart]) -> PublishedPart:
                target = parts[-1] if to_index is None else parts[to_index]
                return post({"media_type": "TEXT", "reply_to_id": target.remote_id}, text)

            return step

        steps = [main, *(reply(text) for text in request.thread)]
        if request.first_comment.strip():
            steps.append(reply(request.first_comment, to_index=0))
        return self.publish_parts(request, steps, on_part)

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """No idempotency key: match the text among the posts, then among the replies (thread
        parts and first comments are replies); either created since `request.not_before`.

        With that bound each edge is read back to it, so a post that went out before a busy
        stretch is still found: `since` (unix seconds) has Threads send only posts from then
        on, 100 a page (the most `limit` allows), following the `after` cursor, at most
        `lookup_max_pages` pages an edge, ending at the match or at a page whose oldest post
        predates the bound. Without one, only the newest `recent_posts` of each, as before."""
        params: dict[str, Any] = {
            "fields": "id,text,permalink,timestamp",
            "limit": self.recent_posts,
        }
        if request.not_before is not None:
            params["limit"] = LISTING_PAGE
            # Threads refuses a `since` before its own earliest one; a bound that old is only
            # kept by the walk (rounded down: the window starts up to a second early).
            if request.not_before >= EARLIEST_SINCE:
                params["since"] = int(request.not_before.timestamp())
        for edge in ("threads", "replies"):
            posts = walk_back_to(
                self.graph_pages(
                    f"/{account.account_id}/{edge}",
                    credentials=credentials,
                    params=params,
                    item=lambda media: media,
                ),
                request.not_before,
                time_of=lambda media: media.get("timestamp"),
                max_pages=self.lookup_max_pages,
            )
            for media in posts:
                if self.same_text(media.get("text", ""), request.text) and created_since(
                    media.get("timestamp"), request.not_before
                ):
                    part = PublishedPart(remote_id=str(media["id"]), url=media.get("permalink", ""))
                    return PublishResult(remote_id=part.remote_id, url=part.url, parts=[part])
        return None

    # -- metrics ----------------------------------------------------------------------------------

    def metric_values(self, insights: dict[str, Any]) -> dict[str, int]:
        """Views (impressions), likes, replies (comments), quotes, and shares = reposts plus
        shares (both pass the post on); a number Threads did not report stays missing."""
        values = super().metric_values(insights)
        passed_on = [
            n for k in ("reposts", "shares") if (n := as_count(insights.get(k))) is not None
        ]
        if passed_on:
            values["shares"] = sum(passed_on)
        return values

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """The profile's followers (user insights `followers_count`, threads_manage_insights)."""
        data = self.graph(
            "GET",
            f"/{account.account_id}/threads_insights",
            credentials=credentials,
            params={"metric": "followers_count"},
        ).json()
        insights = {
            item["name"]: insight_value(item)
            for item in data.get("data") or []
            if isinstance(item, dict) and item.get("name")
        }
        return AccountMetrics(
            values=counts(followers=insights.get("followers_count")), raw=insights
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The profile's own posts since `since` (GET /{user}/threads; replies live elsewhere,
        reposts of others' posts are left out). The listing has no counts: the first pull
        reads their insights."""
        since = require_aware(since)
        since_param = max(since, EARLIEST_SINCE)

        pages = self.graph_pages(
            f"/{account.account_id}/threads",
            credentials=credentials,
            params={
                "fields": POST_FIELDS,
                "since": int(since_param.timestamp()),
                "limit": LISTING_PAGE,
            },
            item=self._listed,
        )
        return collect_recent(pages, since=since, limit=limit)

    def _listed(self, post: dict[str, Any]) -> ListedItem:
        moment = parse_time(post.get("timestamp"))
        if moment is None or not post.get("id") or post.get("media_type") == "REPOST_FACADE":
            return moment, None
        return moment, RemotePostInfo(
            remote_id=str(post["id"]),
            url=post.get("permalink", ""),
            text=excerpt(post.get("text")),
            published_at=moment,
        )
