"""Facebook Pages (Graph API): Facebook Login, long-lived user token -> Page token, posts with
photos (one, or several attached unpublished), videos, first comment, Graph error codes mapped,
reactions/comments/shares as metrics. `GraphAPIAdapter` is shared with Instagram and Threads."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import requests
from django.utils.translation import gettext_noop

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
    PermissionMissing,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RateLimited,
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

GRAPH_VERSION = "v25.0"  # released 2026-02-18, available until 2028-07-29
# Graph error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
TOKEN_CODES = {102, 190}
# "Application does not have permission for this action" (10); 200-299 are "permission
# errors" (Graph API "Handling Errors": the token lacks a permission the call needs).
PERMISSION_CODES = {10}
THROTTLE_CODES = {4, 17, 32, 341, 613} | set(range(80001, 80015))
TRANSIENT_CODES = {1, 2}
DUPLICATE_CODES = {506}
# "Does not exist (or cannot be loaded)": code 100 with subcode 33, and 803 for unknown aliases.
GONE_CODES = {803}
GONE_SUBCODES = {33}
GRAPH_BATCH = 50  # requests per Graph API batch call
# Counts every post has, and the insights that replaced impressions ("views", Nov 2025) plus
# clicks. Insights need a Page with 100+ likes and the ANALYZE task; without them the post is
# read again without insights rather than not at all.
POST_COUNTS = (
    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
POST_INSIGHTS = "insights.metric(post_media_view,post_clicks)"
LISTING_PAGE = 100


def insight_value(item: dict[str, Any]) -> Any:
    """The value of one insights entry: `total_value.value` (Instagram, Threads) or the last of
    `values` (lifetime metrics); a breakdown (a dict) is not a count and comes back as such."""
    if isinstance(item.get("total_value"), dict):
        return item["total_value"].get("value")
    values = item.get("values") or [{}]
    last = values[-1] if isinstance(values[-1], dict) else {}
    return last.get("value")


def summary_count(post: dict[str, Any], edge: str) -> Any:
    return ((post.get(edge) or {}).get("summary") or {}).get("total_count")


class GraphAPIAdapter(OAuth2Adapter):
    """Meta's Graph APIs (Facebook, Instagram, Threads): the token travels as the
    `access_token` parameter, errors come as {"error": {"code", "error_subcode", "message"}}
    with HTTP 400 for almost everything, so the code decides the mapping."""

    scope_separator = ","
    # Whether a listing goes on only while Meta sends a `next` link (see next_page_params).
    paging_needs_next: ClassVar[bool] = True

    @property
    def graph_root(self) -> str:
        """base_url without its /vNN.N version segment (for unversioned token endpoints)."""
        return re.sub(r"/v\d+(\.\d+)?$", "", self.base_url)

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        return {}

    def graph(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials,
        ok: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> requests.Response:
        key = "data" if method.upper() == "POST" else "params"
        kwargs[key] = {**(kwargs.get(key) or {}), "access_token": credentials.access_token}
        return self.call(method, path, credentials=credentials, ok=ok, **kwargs)

    def error_for(self, response: requests.Response, *, secrets=()) -> AdapterError:
        error = super().error_for(response, secrets=secrets)
        body = http.json_or_empty(response)
        info = body.get("error") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            return error
        code = int(info.get("code") or 0)
        subcode = info.get("error_subcode")
        message = http.scrub(str(info.get("error_user_msg") or info.get("message") or ""), secrets)
        detail = f"{error.detail} (code {code}, subcode {subcode})"
        params = {"platform": self.label, "reason": message}
        if code in TOKEN_CODES:
            return AuthExpired(
                Text(
                    gettext_noop("%(platform)s no longer accepts the saved sign-in (%(reason)s)."),
                    **params,
                ),
                detail=detail,
                status=response.status_code,
            )
        if code in THROTTLE_CODES:
            return RateLimited(
                Text(gettext_noop("%(platform)s asks us to slow down (%(reason)s)."), **params),
                retry_after=http.retry_after_from(response) or self.usage_retry_after(response),
                detail=detail,
                status=response.status_code,
            )
        if code in PERMISSION_CODES or 200 <= code < 300:  # Graph API "permission errors"
            return PermissionMissing(
                Text(
                    gettext_noop(
                        "%(platform)s refused the request because the connection lacks a "
                        "permission: %(reason)s"
                    ),
                    **params,
                ),
                detail=detail,
                status=response.status_code,
            )
        if code in DUPLICATE_CODES:
            return PermanentError(
                Text(
                    gettext_noop(
                        "%(platform)s refused the post as a duplicate of the previous one."
                    ),
                    **params,
                ),
                detail=detail,
                status=response.status_code,
            )
        if code in TRANSIENT_CODES or info.get("is_transient"):
            return TransientError(
                Text(gettext_noop("%(platform)s had a temporary problem (%(reason)s)."), **params),
                detail=detail,
                status=response.status_code,
            )
        if isinstance(error, PermanentError):
            return PermanentError(
                Text(gettext_noop("%(platform)s refused the request: %(reason)s"), **params),
                detail=detail,
                status=response.status_code,
            )
        return error

    @staticmethod
    def usage_retry_after(response: requests.Response) -> float | None:
        """Minutes until access returns, from the Business Use Case usage header."""
        raw = response.headers.get("X-Business-Use-Case-Usage")
        if not raw:
            return None
        try:
            usage = json.loads(raw)
        except ValueError:
            return None
        minutes = [
            entry.get("estimated_time_to_regain_access", 0)
            for entries in usage.values()
            for entry in (entries if isinstance(entries, list) else [])
        ]
        return max(minutes) * 60.0 if minutes and max(minutes) > 0 else None

    @staticmethod
    def is_gone(response: requests.Response) -> bool:
        """The object no longer exists (deleted post or media) as far as the Graph API says."""
        if response.status_code == 404:
            return True
        body = http.json_or_empty(response)
        info = body.get("error") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            return False
        code = int(info.get("code") or 0)
        return code in GONE_CODES or (code == 100 and info.get("error_subcode") in GONE_SUBCODES)

    def graph_pages(
        self, path: str, *, credentials: Credentials, params: dict[str, Any], item
    ) -> Iterator[list[Any]]:
        """The pages of a Graph listing (GET `path`), each mapped through `item`, as long as
        Meta points to a next page (see next_page_params)."""
        while True:
            body = self.graph("GET", path, credentials=credentials, params=params).json()
            data = body.get("data") or []
            yield [item(entry) for entry in data]
            following = self.next_page_params(body.get("paging") or {}, params, empty=not data)
            if following is None:
                return
            params = following

    def next_page_params(
        self, paging: dict[str, Any], params: dict[str, Any], *, empty: bool
    ) -> dict[str, Any] | None:
        """The parameters of the next page's request, or None at the end. Cursor paging:
        our own request again with `after` (paging.cursors.after). Time-based paging (a
        `next` link without cursors, e.g. until and __paging_token): the link's parameters
        on our own request, its access_token left out. The link itself is never requested,
        and one on another host than our API ends the walk. Meta's rule is that a missing
        `next` means the last page ("Paginated Results", Graph API docs); platforms that
        document their paging with cursors only (`paging_needs_next` False) go on with the
        cursor after a page that was not empty. A repeated cursor ends the walk too."""
        link = str(paging.get("next") or "")
        after = (paging.get("cursors") or {}).get("after")
        if after:
            if not link and (self.paging_needs_next or empty):
                return None
            following = {**params, "after": after}
        elif link:
            parts, ours = urlsplit(link), urlsplit(self.base_url)
            if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
                return None
            query = {k: v for k, v in parse_qsl(parts.query) if k != "access_token"}
            if not query:
                return None
            following = {**params, **query}
        else:
            return None
        return None if following == params else following

    def graph_batch(
        self, credentials: Credentials, relative_urls: list[str]
    ) -> list[requests.Response | None]:
        """Up to 50 GETs in one call (Graph API batch requests). Each answer comes back as a
        Response of its own, so one deleted post fails only its own request; None for a request
        Meta did not complete in time. A failure of the call itself raises as usual."""
        batch = [{"method": "GET", "relative_url": url} for url in relative_urls]
        answers = self.graph(
            "POST",
            "/",
            credentials=credentials,
            data={"batch": json.dumps(batch), "include_headers": "false"},
        ).json()
        if not isinstance(answers, list) or len(answers) != len(relative_urls):
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s answered a batch request incompletely."),
                    platform=self.label,
                ),
                detail=f"batch of {len(relative_urls)} answered with "
                f"{len(answers) if isinstance(answers, list) else type(answers).__name__}",
            )
        results: list[requests.Response | None] = []
        for url, answer in zip(relative_urls, answers, strict=True):
            if not isinstance(answer, dict) or not answer.get("code"):
                results.append(None)
                continue
            response = requests.Response()
            response.status_code = int(answer["code"])
            body = answer.get("body")
            response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
            response.encoding = "utf-8"
            response.url = self.url("/" + url.split("?", 1)[0])
            results.append(response)
        return results

    def exchange_long_lived(self, path: str, grant_type: str, short_token: str) -> dict:
        """Short-lived (1 h) token -> long-lived (~60 days) one."""
        params = {
            "grant_type": grant_type,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        params["fb_exchange_token" if grant_type == "fb_exchange_token" else "access_token"] = (
            short_token
        )
        response = self.call(
            "GET", path, params=params, ok=range(400, 600)
        )  # token errors mapped below, never with the token in them
        if response.status_code >= 400:
            raise self.token_error(response, secrets=(short_token,))
        return response.json()


class FacebookAdapter(GraphAPIAdapter):
    key = "facebook"
    capabilities = Capabilities(
        auth="oauth2",
        first_comment=True,
        metrics=frozenset({"likes", "comments", "shares", "impressions", "clicks"}),
        metrics_batch_size=GRAPH_BATCH,
        account_metrics=frozenset({"followers"}),
        lists_recent_posts=True,
    )
    default_base_url = f"https://graph.facebook.com/{GRAPH_VERSION}"
    authorize_endpoint = f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"
    token_endpoint = "/oauth/access_token"
    # What each call needs (all permissions of a row together), from developers.facebook.com:
    # the Pages API guides "Posts", "Comments and @mentions", "Manage a Page", the Insights
    # "Get Started" guide and the Graph API reference for Page, Post and Page Insights:
    #   GET  /oauth/access_token fb_exchange_token  none (app id and secret)
    #   GET  /me/accounts (connect: Pages, tokens)  pages_show_list
    #   GET  /me/permissions (connect: what was     none (a user token reads its own)
    #        granted)
    #   GET  /me (refresh: is the Page token alive) none
    #   POST /{page}/feed, /{page}/photos           pages_manage_posts pages_read_engagement
    #   POST /{page}/videos                         pages_manage_posts publish_video ("Posts":
    #                                               publish_video "if you are publishing a
    #                                               video to the Page")
    #   POST /{post}/comments (first comment)       pages_manage_engagement pages_read_engagement
    #   GET  /{page}/posts (look-up),               pages_read_engagement (a Page token reads
    #        /{page}/published_posts (listing)      every post of its Page)
    #   DELETE /{post}                              pages_manage_posts
    #   POST / batch of GET /{post}?fields=         pages_read_engagement; the batch call needs
    #        shares,reactions,comments (metrics)    nothing beyond its requests' own
    #   ...  insights.metric(post_media_view,       read_insights pages_read_engagement (Insights
    #        post_clicks) in the same batch         "Get Started"; refused: read again without)
    #   GET  /{page}?fields=followers_count         pages_read_engagement
    scopes = (
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "pages_manage_engagement",
        "publish_video",
        "read_insights",
    )
    recent_posts: ClassVar[int] = 25  # the look-up's one page when it has no not_before
    # The look-up pages back to the delivery's not_before, but never further than this many
    # pages of 100 (2,000 posts; `since` normally ends it within the first).
    lookup_max_pages: ClassVar[int] = 20

    # -- connecting -------------------------------------------------------------------------------

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        """Short-lived user token -> long-lived user token -> the Pages it manages, each with
        a Page token that does not expire. Several Pages: all are listed in config["pages"]
        and the one in account.config["page_id"] (else the first) is connected; connecting
        another Page of the same login is a reconnect with that page_id."""
        user = self.exchange_long_lived(
            "/oauth/access_token", "fb_exchange_token", credentials.access_token
        )
        user_creds = Credentials(access_token=user["access_token"])
        pages = (
            self.graph(
                "GET",
                "/me/accounts",
                credentials=user_creds,
                params={"fields": "id,name,username,access_token,picture{url},tasks"},
            )
            .json()
            .get("data", [])
        )
        postable = [p for p in pages if "CREATE_CONTENT" in p.get("tasks", ["CREATE_CONTENT"])]
        if not postable:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "This Facebook login manages no Page it may post to. Ask a Page admin to "
                        "give you content access, then connect again."
                    )
                )
            )
        wanted = str(account.config.get("page_id", ""))
        page = next((p for p in postable if str(p["id"]) == wanted), postable[0])
        # The token response does not say what was granted; /me/permissions does (a person
        # can untick permissions in the consent dialog).
        try:
            granted = self.graph("GET", "/me/permissions", credentials=user_creds).json()
        except AdapterError:  # an aid, not a condition of connecting: unknown is no warning
            granted = {}
        granted = granted.get("data", []) if isinstance(granted, dict) else []
        allowed = {
            str(p.get("permission"))
            for p in granted
            if isinstance(p, dict) and p.get("status") == "granted"
        }
        config = {
            **account.config,
            "page_id": str(page["id"]),
            "pages": [{"id": str(p["id"]), "name": p.get("name", "")} for p in postable],
        }
        return ConnectResult(
            account=Account(
                account_id=str(page["id"]),
                handle=page.get("username", ""),
                name=page.get("name", ""),
                avatar_url=((page.get("picture") or {}).get("data") or {}).get("url", ""),
                config=config,
            ),
            credentials=Credentials(
                access_token=page["access_token"],
                # The long-lived user token lets a later page switch skip the consent screen.
                extra={"user_token": user_creds.access_token},
            ),
            missing_permissions=tuple(s for s in self.scopes_for(account) if s not in allowed)
            if granted
            else (),
        )

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        """Page tokens from a long-lived user token do not expire and cannot be refreshed;
        check it still works so a revoked one is reported (AuthExpired) for reconnecting."""
        self.graph("GET", "/me", credentials=credentials, params={"fields": "id"})
        return credentials

    # -- content ----------------------------------------------------------------------------------

    @staticmethod
    def post_url(remote_id: str) -> str:
        page, _sep, post = remote_id.partition("_")
        if post:
            return f"https://www.facebook.com/{page}/posts/{post}"
        return f"https://www.facebook.com/{remote_id}"

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        page = account.config.get("page_id") or account.account_id

        def main(parts: list[PublishedPart]) -> PublishedPart:
            videos = [m for m in request.media if m.kind == "video"]
            images = [m for m in request.media if m.kind == "image"]
            if videos:
                return self.post_video(credentials, page, videos[0], request)
            if len(images) == 1:
                data = self.post_photo(credentials, page, images[0], request.text, published=True)
                remote_id = data.get("post_id") or data["id"]
                return PublishedPart(remote_id=remote_id, url=self.post_url(remote_id))
            body: dict[str, Any] = {"message": request.text}
            if request.link:
                body["link"] = request.link
            for index, image in enumerate(images):
                photo = self.post_photo(credentials, page, image, "", published=False)
                body[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo["id"]})
            remote_id = self.graph("POST", f"/{page}/feed", credentials=credentials, data=body)
            remote_id = remote_id.json()["id"]
            return PublishedPart(remote_id=remote_id, url=self.post_url(remote_id))

        def comment(parts: list[PublishedPart]) -> PublishedPart:
            data = self.graph(
                "POST",
                f"/{parts[0].remote_id}/comments",
                credentials=credentials,
                data={"message": request.first_comment},
            ).json()
            return PublishedPart(remote_id=data["id"], url=parts[0].url)

        steps = [main]
        if request.first_comment.strip():
            steps.append(comment)
        return self.publish_parts(request, steps, on_part)

    def post_photo(
        self, credentials: Credentials, page: str, item: MediaItem, caption: str, *, published: bool
    ) -> dict[str, Any]:
        data = {"published": "true" if published else "false"}
        if caption:
            data["caption"] = caption
        if item.alt_text:
            data["alt_text_custom"] = item.alt_text
        if item.public_url:  # Facebook fetches it itself: no upload through us
            data["url"] = item.public_url
            return self.graph("POST", f"/{page}/photos", credentials=credentials, data=data).json()
        with item.open() as fh:
            return self.graph(
                "POST",
                f"/{page}/photos",
                credentials=credentials,
                data=data,
                files={"source": (item.filename, fh, item.mime_type)},
            ).json()

    def post_video(
        self, credentials: Credentials, page: str, item: MediaItem, request: PublishRequest
    ) -> PublishedPart:
        data = {"description": request.text}
        if request.title:
            data["title"] = request.title
        with item.open() as fh:
            video = self.graph(
                "POST",
                f"/{page}/videos",
                credentials=credentials,
                data=data,
                files={"source": (item.filename, fh, item.mime_type)},
            ).json()
        return PublishedPart(
            remote_id=str(video["id"]), url=f"https://www.facebook.com/{page}/videos/{video['id']}"
        )

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """No idempotency key on Graph: look for the message among the Page's posts created
        since `request.not_before`.

        With that bound the Page's posts are read back to it, so a post that went out before
        a busy stretch is still found: `since` (unix seconds) has Graph send only posts from
        then on, 100 a page, following the paging (see next_page_params), at most
        `lookup_max_pages` pages, ending at the match or at a page whose oldest post
        predates the bound. Without one, only the newest `recent_posts`, as before."""
        page = account.config.get("page_id") or account.account_id
        params: dict[str, Any] = {
            "fields": "id,message,permalink_url,created_time",
            "limit": self.recent_posts,
        }
        if request.not_before is not None:
            # Whole seconds, rounded down: the window starts up to a second early, never late.
            params |= {"since": int(request.not_before.timestamp()), "limit": LISTING_PAGE}
        posts = walk_back_to(
            self.graph_pages(
                f"/{page}/posts", credentials=credentials, params=params, item=lambda p: p
            ),
            request.not_before,
            time_of=lambda post: post.get("created_time"),
            max_pages=self.lookup_max_pages,
        )
        for post in posts:
            if self.same_text(post.get("message", ""), request.text) and created_since(
                post.get("created_time"), request.not_before
            ):
                url = post.get("permalink_url") or self.post_url(post["id"])
                part = PublishedPart(remote_id=post["id"], url=url)
                return PublishResult(remote_id=post["id"], url=url, parts=[part])
        return None

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self.graph("DELETE", f"/{remote_id}", credentials=credentials, ok=(404,))

    # -- metrics --------------------------------------------------------------------------------

    @staticmethod
    def snapshot(remote_id: str, post: dict[str, Any]) -> MetricsSnapshot:
        insights = {
            item.get("name"): insight_value(item)
            for item in (post.get("insights") or {}).get("data") or []
            if isinstance(item, dict)
        }
        shares = (post.get("shares") or {}).get("count")
        if shares is None and ("reactions" in post or "comments" in post):
            shares = 0  # Graph leaves `shares` out of a post nobody has shared
        values = counts(
            likes=summary_count(post, "reactions"),
            comments=summary_count(post, "comments"),
            shares=shares,
            impressions=insights.get("post_media_view"),
            clicks=insights.get("post_clicks"),
        )
        return MetricsSnapshot(remote_id=remote_id, values=values, raw=post)

    def _read_posts(
        self, credentials: Credentials, ids: list[str], *, insights: bool
    ) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
        """One batch call: (posts by id, ids whose insights were refused, ids not answered in
        time). Deleted posts are in none of them; any other error raises, mapped."""
        fields = f"{POST_COUNTS},{POST_INSIGHTS}" if insights else POST_COUNTS
        answers = self.graph_batch(credentials, [f"{i}?fields={fields}" for i in ids])
        posts: dict[str, dict[str, Any]] = {}
        refused: list[str] = []
        late: list[str] = []
        for remote_id, response in zip(ids, answers, strict=True):
            if response is None:
                late.append(remote_id)
            elif response.status_code < 400:
                body = http.json_or_empty(response)
                if isinstance(body, dict) and body:
                    posts[remote_id] = body
            elif not self.is_gone(response):
                error = self.error_for(response, secrets=(credentials.access_token,))
                if insights and isinstance(error, PermanentError):
                    refused.append(remote_id)
                else:
                    raise error
        return posts, refused, late

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Reactions (likes), comments, shares, views (impressions) and clicks, 50 posts per
        Graph batch call. Deleted posts are missing from the result."""
        snapshots: list[MetricsSnapshot] = []
        for start in range(0, len(remote_ids), GRAPH_BATCH):
            batch = remote_ids[start : start + GRAPH_BATCH]
            posts, refused, late = self._read_posts(credentials, batch, insights=True)
            if late:  # Meta did not finish these in time: once more, then give up for now
                more, more_refused, late = self._read_posts(credentials, late, insights=True)
                posts.update(more)
                refused += more_refused
            if refused:
                more, _refused, still_late = self._read_posts(credentials, refused, insights=False)
                posts.update(more)
                late += still_late
            if late:
                raise TransientError(
                    Text(
                        gettext_noop("%(platform)s did not answer for every post in time."),
                        platform=self.label,
                    ),
                    detail=f"batch requests unanswered: {len(late)}",
                )
            snapshots += [self.snapshot(i, posts[i]) for i in batch if i in posts]
        return snapshots

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """The Page's followers (`followers_count`; `fan_count`, its likes, stays in raw)."""
        page = account.config.get("page_id") or account.account_id
        data = self.graph(
            "GET",
            f"/{page}",
            credentials=credentials,
            params={"fields": "followers_count,fan_count"},
        ).json()
        return AccountMetrics(
            values=counts(followers=data.get("followers_count")),
            raw={k: data[k] for k in ("followers_count", "fan_count") if k in data},
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The Page's own published posts since `since` (GET /{page}/published_posts, 100 per
        page, following the `after` cursor), with reactions, comments and shares."""
        since = require_aware(since)
        page = account.config.get("page_id") or account.account_id

        pages = self.graph_pages(
            f"/{page}/published_posts",
            credentials=credentials,
            params={
                "fields": f"id,message,created_time,permalink_url,{POST_COUNTS}",
                "since": int(since.timestamp()),
                "limit": LISTING_PAGE,
            },
            item=self._listed,
        )
        return collect_recent(pages, since=since, limit=limit)

    def _listed(self, post: dict[str, Any]) -> ListedItem:
        moment = parse_time(post.get("created_time"))
        if moment is None or not post.get("id"):
            return moment, None
        remote_id = str(post["id"])
        return moment, RemotePostInfo(
            remote_id=remote_id,
            url=post.get("permalink_url") or self.post_url(remote_id),
            text=excerpt(post.get("message")),
            published_at=moment,
            metrics=self.snapshot(remote_id, post),
        )
