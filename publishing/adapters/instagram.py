"""Instagram professional accounts (Instagram API with Instagram Login): media containers that
Meta fills from public URLs, polled until FINISHED, then media_publish; carousels of 2-10, reels,
first comment, a PUBLISHED-container check before any second media_publish, insights metrics."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.utils.translation import gettext_noop

from notifications.texts import Text
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    Capabilities,
    ConnectResult,
    Credentials,
    LookupIncomplete,
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
from publishing.adapters.facebook import GRAPH_VERSION, GraphAPIAdapter, insight_value
from publishing.adapters.listing import (
    ListedItem,
    collect_recent,
    counts,
    created_since,
    excerpt,
    parse_time,
    walk_back_to,
)

INSIGHT_METRICS = ("views", "reach", "likes", "comments", "shares", "saved")
# Our metric names for Instagram's insight names (reach stays in raw).
METRIC_MAP = {
    "views": "impressions",
    "likes": "likes",
    "comments": "comments",
    "shares": "shares",
    "saved": "saves",
}
MEDIA_FIELDS = (
    "id,caption,permalink,timestamp,media_type,media_product_type,like_count,comments_count"
)
LISTING_PAGE = 50


class InstagramAdapter(GraphAPIAdapter):
    key = "instagram"
    capabilities = Capabilities(
        auth="oauth2",
        first_comment=True,
        metrics=frozenset(METRIC_MAP.values()),
        account_metrics=frozenset({"followers", "following", "posts"}),
        lists_recent_posts=True,
        fetches_media_by_url=True,
    )
    default_base_url = f"https://graph.instagram.com/{GRAPH_VERSION}"
    # A long-lived token is refreshed with itself (refresh_access_token), 60 days at a time.
    renews_with_access_token = True
    authorize_endpoint = "https://www.instagram.com/oauth/authorize"
    token_endpoint = "https://api.instagram.com/oauth/access_token"
    # What each call needs with Instagram Login (all permissions of a row together), from the
    # "Instagram API with Instagram Login" column of developers.facebook.com/docs/instagram-
    # platform: the guides "Content Publishing", "Comment Moderation", "Insights" and the
    # references "IG User", "IG Media", "IG Container", "Instagram Media Insights":
    #   POST api.instagram.com/oauth/access_token,  none (app id and secret)
    #        GET /access_token ig_exchange_token
    #   GET  /refresh_access_token ig_refresh_token instagram_business_basic (Business Login
    #                                               for Instagram, long-lived tokens)
    #   GET  /me, /{ig-user}?fields=followers_count instagram_business_basic
    #   POST /{ig-user}/media, /{ig-user}/media_    instagram_business_basic
    #        publish; GET /{container}?fields=        instagram_business_content_publish
    #        status_code
    #   GET  /{media}?fields=permalink|like_count,  instagram_business_basic
    #        /{ig-user}/media (look-up, listing)
    #   POST /{media}/comments (first comment)      instagram_business_basic
    #                                               instagram_business_manage_comments
    #   GET  /{media}/insights (metrics)            instagram_business_basic
    #                                               instagram_business_manage_insights
    #   DELETE /{media}                             instagram_business_basic
    #                                               instagram_business_content_publish
    #                                               (not in the stored copy of "IG Media":
    #                                               unverified)
    scopes = (
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_comments",
        "instagram_business_manage_insights",
    )
    container_status_field: ClassVar[str] = "status_code"
    container_edge: ClassVar[str] = "media"  # POST /{user}/<edge> creates a container
    publish_edge: ClassVar[str] = "media_publish"
    insight_metrics: ClassVar[tuple[str, ...]] = INSIGHT_METRICS
    metric_map: ClassVar[dict[str, str]] = METRIC_MAP
    # Fields read instead when a media's insights are refused (too few viewers, an album's
    # item...): likes and comments at least. Empty: no such fallback.
    fallback_fields: ClassVar[str] = "like_count,comments_count"
    recent_posts: ClassVar[int] = 25  # the look-up's one page when it has no not_before
    # The look-up pages back to the delivery's not_before, but never further than this many
    # pages of 50 (1,000 media).
    lookup_max_pages: ClassVar[int] = 20
    poll_interval = 3.0
    poll_attempts = 100  # videos can take a few minutes

    # -- connecting -------------------------------------------------------------------------------

    def normalize_token(self, data: dict[str, Any]) -> dict[str, Any]:
        # Business Login answers {"data": [{"access_token", "user_id", "permissions"}]}.
        if "access_token" not in data and isinstance(data.get("data"), list) and data["data"]:
            data = dict(data["data"][0])
        if "scope" not in data and data.get("permissions"):
            # The permissions granted, comma-separated (or a list): OAuth's `scope`.
            granted = data["permissions"]
            data["scope"] = granted if isinstance(granted, str) else ",".join(map(str, granted))
        data.setdefault("token_type", "bearer")
        return data

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        """Short-lived (1 h) token -> long-lived (60 days) one, then who this account is."""
        long_lived = self.exchange_long_lived(
            f"{self.graph_root}/access_token", "ig_exchange_token", credentials.access_token
        )
        credentials = self.credentials_from_token(long_lived)
        me = self.graph(
            "GET",
            "/me",
            credentials=credentials,
            params={"fields": "user_id,username,name,profile_picture_url,account_type"},
        ).json()
        user_id = str(me.get("user_id") or me["id"])
        return ConnectResult(
            account=Account(
                account_id=user_id,
                handle=me.get("username", ""),
                name=me.get("name", "") or me.get("username", ""),
                avatar_url=me.get("profile_picture_url", ""),
                config={**account.config, "account_type": me.get("account_type", "")},
            ),
            credentials=credentials,
        )

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        """Long-lived tokens (>= 24 h old, unexpired) are extended by another 60 days; there is
        no refresh token."""
        response = self.call(
            "GET",
            f"{self.graph_root}/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": credentials.access_token},
            ok=range(400, 600),
        )
        if response.status_code >= 400:
            raise self.token_error(response, secrets=(credentials.access_token,))
        return self.credentials_from_token(response.json(), previous=credentials)

    # -- content ----------------------------------------------------------------------------------

    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        problems += self.missing_public_urls(request)
        if len(request.media) > 10:
            problems.append(
                Text(
                    gettext_noop(
                        "Instagram carousels hold at most 10 items; this post has %(count)d."
                    ),
                    count=len(request.media),
                )
            )
        return problems

    def media_params(self, item: MediaItem, *, in_carousel: bool) -> dict[str, str]:
        if item.kind == "video":
            params = {
                "media_type": "VIDEO" if in_carousel else "REELS",
                "video_url": item.public_url,
            }
        else:
            params = {"image_url": item.public_url}
            if item.alt_text:
                params["alt_text"] = item.alt_text
        if in_carousel:
            params["is_carousel_item"] = "true"
        return params

    def create_container(
        self, account: Account, credentials: Credentials, params: dict[str, str]
    ) -> str:
        data = self.graph(
            "POST",
            f"/{account.account_id}/{self.container_edge}",
            credentials=credentials,
            data=params,
        ).json()
        return str(data["id"])

    def container_status(self, credentials: Credentials, container: str) -> str:
        data = self.graph(
            "GET",
            f"/{container}",
            credentials=credentials,
            params={"fields": self.container_status_field},
        ).json()
        return data.get(self.container_status_field, "")

    def wait_until_ready(self, credentials: Credentials, container: str) -> str:
        """Poll the container until Meta has fetched and processed the media."""
        for attempt in range(self.poll_attempts):
            status = self.container_status(credentials, container)
            if status in ("FINISHED", "PUBLISHED"):
                return status
            if status in ("ERROR", "EXPIRED"):
                raise PermanentError(
                    Text(
                        gettext_noop(
                            "%(platform)s could not process the media (%(status)s). Check that the "
                            "files are reachable at their public URL and meet the format rules."
                        ),
                        platform=self.label,
                        status=status,
                    ),
                    detail=f"container {container} {status}",
                )
            if attempt + 1 < self.poll_attempts:
                self.sleep(self.poll_interval)
        raise TransientError(
            Text(
                gettext_noop("%(platform)s is still processing the media; try again later."),
                platform=self.label,
            ),
            detail=f"container {container} not ready",
        )

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

        def main(parts: list[PublishedPart]) -> PublishedPart:
            if len(request.media) == 1:
                params = self.media_params(request.media[0], in_carousel=False)
            else:
                children = []
                for item in request.media:
                    child = self.create_container(
                        account, credentials, self.media_params(item, in_carousel=True)
                    )
                    self.wait_until_ready(credentials, child)
                    children.append(child)
                params = {"media_type": "CAROUSEL", "children": ",".join(children)}
            if request.text:
                params["caption"] = request.text
            container = self.create_container(account, credentials, params)
            if self.wait_until_ready(credentials, container) == "PUBLISHED":
                return self.recover_published(
                    account, credentials, request.text, container, not_before=request.not_before
                )
            return self.publish_container(
                account, credentials, request.text, container, not_before=request.not_before
            )

        def comment(parts: list[PublishedPart]) -> PublishedPart:
            data = self.graph(
                "POST",
                f"/{parts[0].remote_id}/comments",
                credentials=credentials,
                data={"message": request.first_comment},
            ).json()
            return PublishedPart(remote_id=str(data["id"]), url=parts[0].url)

        steps = [main]
        if request.first_comment.strip():
            steps.append(comment)
        return self.publish_parts(request, steps, on_part)

    def publish_container(
        self,
        account: Account,
        credentials: Credentials,
        text: str,
        container: str,
        *,
        not_before: dt.datetime | None = None,
    ) -> PublishedPart:
        try:
            data = self.graph(
                "POST",
                f"/{account.account_id}/{self.publish_edge}",
                credentials=credentials,
                data={"creation_id": container},
            ).json()
        except TransientError:
            # The answer got lost, but the post may be live: never publish a container twice.
            if self.container_status(credentials, container) == "PUBLISHED":
                return self.recover_published(
                    account, credentials, text, container, not_before=not_before
                )
            raise
        media_id = str(data["id"])
        return PublishedPart(remote_id=media_id, url=self.permalink(credentials, media_id))

    def recover_published(
        self,
        account: Account,
        credentials: Credentials,
        text: str,
        container: str,
        *,
        not_before: dt.datetime | None = None,
    ) -> PublishedPart:
        """The media a container we saw PUBLISHED became, found by its text (never an older
        post with the same text: `not_before` is the delivery's)."""
        try:
            found = self.find_existing(
                account=account,
                credentials=credentials,
                request=PublishRequest(text=text, idempotency_key=container, not_before=not_before),
            )
        except LookupIncomplete:  # it is out (the container says so), just not found yet
            found = None
        if found is None:
            raise TransientError(
                Text(
                    gettext_noop(
                        "%(platform)s published the post but it is not listed yet; checking again later."
                    ),
                    platform=self.label,
                ),
                detail=f"container {container} PUBLISHED, media not found",
            )
        return found.parts[0]

    def permalink(self, credentials: Credentials, media_id: str) -> str:
        data = self.graph(
            "GET", f"/{media_id}", credentials=credentials, params={"fields": "permalink"}
        ).json()
        return data.get("permalink", "")

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """No idempotency key: match the caption among the account's media created since
        `request.not_before`.

        With that bound the media are read back to it, so a post that went out before a busy
        stretch is still found: pages of 50, newest first, following the `after` cursor, at
        most `lookup_max_pages` pages, ending at the match or at a page whose oldest media
        predates the bound. The edge is not asked to filter by time: the reference of
        GET /{ig-user-id}/media for the Instagram API names no since/until (only the retired
        Basic Display API's media edge had them), so the walk alone stops at the bound.
        Without one, only the newest `recent_posts`, as before."""
        params: dict[str, Any] = {
            "fields": "id,caption,permalink,timestamp",
            "limit": self.recent_posts if request.not_before is None else LISTING_PAGE,
        }
        media_items = walk_back_to(
            self.graph_pages(
                f"/{account.account_id}/media",
                credentials=credentials,
                params=params,
                item=lambda media: media,
            ),
            request.not_before,
            time_of=lambda media: media.get("timestamp"),
            max_pages=self.lookup_max_pages,
        )
        for media in media_items:
            if self.same_text(media.get("caption", ""), request.text) and created_since(
                media.get("timestamp"), request.not_before
            ):
                part = PublishedPart(remote_id=str(media["id"]), url=media.get("permalink", ""))
                return PublishResult(remote_id=part.remote_id, url=part.url, parts=[part])
        return None

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        # The Instagram API has deleted media since 2025; older apps get a PermanentError.
        self.graph("DELETE", f"/{remote_id}", credentials=credentials, ok=(404,))

    # -- metrics --------------------------------------------------------------------------------

    def metric_values(self, insights: dict[str, Any]) -> dict[str, int]:
        """Our numbers from the insights by name; one Meta did not report stays missing."""
        return counts(**{ours: insights.get(theirs) for theirs, ours in self.metric_map.items()})

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Insights per media (the API has no batch for them). Deleted media are missing; media
        whose insights are refused (too few viewers, carousel items) get their like and comment
        counts from the media's fields instead."""
        snapshots = []
        for remote_id in remote_ids:
            response = self.graph(
                "GET",
                f"/{remote_id}/insights",
                credentials=credentials,
                params={"metric": ",".join(self.insight_metrics)},
                ok=(400, 403, 404),
            )
            if response.status_code < 400:
                insights = {
                    item["name"]: insight_value(item)
                    for item in response.json().get("data") or []
                    if isinstance(item, dict) and item.get("name")
                }
                snapshots.append(
                    MetricsSnapshot(
                        remote_id=remote_id, values=self.metric_values(insights), raw=insights
                    )
                )
                continue
            if self.is_gone(response):
                continue
            error = self.error_for(response, secrets=(credentials.access_token,))
            if not isinstance(error, PermanentError) or not self.fallback_fields:
                raise error
            if snapshot := self.fetch_field_counts(credentials, remote_id):
                snapshots.append(snapshot)
        return snapshots

    def fetch_field_counts(
        self, credentials: Credentials, remote_id: str
    ) -> MetricsSnapshot | None:
        """Likes and comments from the media object itself; None when it is gone."""
        response = self.graph(
            "GET",
            f"/{remote_id}",
            credentials=credentials,
            params={"fields": self.fallback_fields},
            ok=(400, 403, 404),
        )
        if response.status_code >= 400:
            if self.is_gone(response):
                return None
            raise self.error_for(response, secrets=(credentials.access_token,))
        return self.field_snapshot(remote_id, response.json())

    @staticmethod
    def field_snapshot(remote_id: str, media: dict[str, Any]) -> MetricsSnapshot:
        keys = ("like_count", "comments_count")
        return MetricsSnapshot(
            remote_id=remote_id,
            values=counts(likes=media.get("like_count"), comments=media.get("comments_count")),
            raw={k: media[k] for k in keys if k in media},
        )

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Followers, follows and media count of the professional account."""
        keys = ("followers_count", "follows_count", "media_count")
        data = self.graph(
            "GET",
            f"/{account.account_id}",
            credentials=credentials,
            params={"fields": ",".join(keys)},
        ).json()
        return AccountMetrics(
            values=counts(
                followers=data.get("followers_count"),
                following=data.get("follows_count"),
                posts=data.get("media_count"),
            ),
            raw={k: data[k] for k in keys if k in data},
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The account's own media since `since` (GET /{user}/media, newest first, following
        the `after` cursor), with like and comment counts (insights come with the first pull)."""

        pages = self.graph_pages(
            f"/{account.account_id}/media",
            credentials=credentials,
            params={"fields": MEDIA_FIELDS, "limit": LISTING_PAGE},
            item=self._listed,
        )
        return collect_recent(pages, since=since, limit=limit)

    def _listed(self, media: dict[str, Any]) -> ListedItem:
        moment = parse_time(media.get("timestamp"))
        if moment is None or not media.get("id"):
            return moment, None
        remote_id = str(media["id"])
        return moment, RemotePostInfo(
            remote_id=remote_id,
            url=media.get("permalink", ""),
            text=excerpt(media.get("caption")),
            published_at=moment,
            metrics=self.field_snapshot(remote_id, media),
        )
