"""YouTube Data API v3: Google OAuth (offline access, PKCE), resumable video uploads in
256 KiB multiples that resume after a dropped connection, first comment via commentThreads,
quota errors retried after the next Pacific midnight, statistics in batches of 50."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import requests
from django.utils.translation import gettext_noop

from notifications.texts import Text
from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    AdapterError,
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
    RateLimited,
    RemotePostInfo,
    TransientError,
    lookup_incomplete,
)
from publishing.adapters.listing import (
    ListedItem,
    collect_recent,
    counts,
    created_since,
    excerpt,
    parse_time,
)
from publishing.adapters.oauth2 import OAuth2Adapter

UPLOAD_QUANTUM = 256 * 1024  # chunks must be multiples of this (except the last)
PRIVACY = ("public", "unlisted", "private")
PACIFIC = ZoneInfo("America/Los_Angeles")  # quotas reset at midnight Pacific time
DAILY_REASONS = {"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"}
SHORT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
METRICS_BATCH = 50  # ids per videos.list call (1 quota unit)
UPLOADS_PAGE = 50  # the most playlistItems.list returns (maxResults 0 to 50); 1 unit a page


def seconds_until_pacific_midnight(now: dt.datetime | None = None) -> float:
    now = (now or dt.datetime.now(dt.UTC)).astimezone(PACIFIC)
    tomorrow = (now + dt.timedelta(days=1)).date()
    midnight = dt.datetime.combine(tomorrow, dt.time(0), tzinfo=PACIFIC)
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall time (wrong on DST days).
    return (midnight.astimezone(dt.UTC) - now.astimezone(dt.UTC)).total_seconds()


class YouTubeAdapter(OAuth2Adapter):
    key = "youtube"
    capabilities = Capabilities(
        auth="oauth2",
        first_comment=True,
        metrics=frozenset({"video_views", "likes", "comments"}),
        metrics_batch_size=METRICS_BATCH,
        account_metrics=frozenset({"followers", "posts"}),
        lists_recent_posts=True,
    )
    default_base_url = "https://www.googleapis.com"
    authorize_endpoint = "https://accounts.google.com/o/oauth2/v2/auth"
    token_endpoint = "https://oauth2.googleapis.com/token"
    # What each call needs (any one scope of a row; every scope below is under
    # https://www.googleapis.com/auth/), from the "Authorization" section of each method on
    # developers.google.com/youtube/v3/docs:
    #   channels.list mine=true (connect, uploads   youtube.readonly, youtube, youtube.force-ssl,
    #       playlist, subscriber count)             youtubepartner
    #   videos.insert, resumable session PUTs       youtube.upload, youtube, youtube.force-ssl,
    #                                               youtubepartner
    #   commentThreads.insert (first comment)       youtube.force-ssl only
    #   playlistItems.list (look-up, listing)       youtube.readonly, youtube, youtube.force-ssl,
    #                                               youtubepartner
    #   videos.delete                               youtube, youtube.force-ssl, youtubepartner
    #   videos.list part=statistics (metrics)       youtube.readonly, youtube, youtube.force-ssl,
    #                                               youtubepartner
    #   oauth2.googleapis.com/token (refresh)       no scope; access_type=offline below
    # force-ssl alone would cover every row: upload and readonly add no access of their own
    # and are kept as they were.
    scopes = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.force-ssl",  # comments, delete
        "https://www.googleapis.com/auth/youtube.readonly",
    )
    uses_pkce = True
    # offline + consent: Google only issues a refresh token on a consent screen.
    authorize_params: ClassVar[dict[str, str]] = {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
    }
    chunk_size: int = 32 * UPLOAD_QUANTUM  # 8 MiB
    upload_retries: int = 5
    recent_posts: ClassVar[int] = 25  # the one page a look-up without not_before reads
    # A look-up with not_before pages back to it, at most this many pages of 50 (500 uploads:
    # five days at the 100 videos.insert calls a day the current quota allows). Kept modest:
    # each page costs 1 unit of the project's 10,000 a day, shared with uploads and metrics.
    lookup_max_pages: ClassVar[int] = 10

    # -- connecting -------------------------------------------------------------------------------

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        data = self.call(
            "GET",
            "/youtube/v3/channels",
            credentials=credentials,
            params={"part": "snippet,contentDetails", "mine": "true"},
        ).json()
        items = data.get("items") or []
        if not items:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "This Google account has no YouTube channel yet: create one, then connect again."
                    )
                )
            )
        channel = items[0]
        snippet = channel.get("snippet", {})
        thumbnails = snippet.get("thumbnails", {})
        uploads = (channel.get("contentDetails", {}).get("relatedPlaylists") or {}).get("uploads")
        return ConnectResult(
            account=Account(
                account_id=channel["id"],
                handle=snippet.get("customUrl", ""),
                name=snippet.get("title", ""),
                avatar_url=(thumbnails.get("default") or {}).get("url", ""),
                config={**account.config, "uploads_playlist": uploads or ""},
            ),
            credentials=credentials,
        )

    # -- errors -----------------------------------------------------------------------------------

    def error_for(self, response: requests.Response, *, secrets=()) -> AdapterError:
        error = super().error_for(response, secrets=secrets)
        body = http.json_or_empty(response)
        info = body.get("error") if isinstance(body, dict) else None
        reasons = set()
        if isinstance(info, dict):
            reasons = {e.get("reason") for e in info.get("errors", []) if isinstance(e, dict)}
        if reasons & DAILY_REASONS:
            return RateLimited(
                Text(
                    gettext_noop(
                        "The YouTube daily quota is used up; publishing resumes after midnight Pacific time."
                    )
                ),
                retry_after=seconds_until_pacific_midnight(),
                detail=f"{error.detail} ({', '.join(sorted(reasons & DAILY_REASONS))})",
                status=response.status_code,
            )
        if reasons & SHORT_REASONS:
            return RateLimited(
                Text(gettext_noop("YouTube asks us to slow down.")),
                retry_after=http.retry_after_from(response) or 60.0,
                detail=error.detail,
                status=response.status_code,
            )
        return error

    # -- content ----------------------------------------------------------------------------------

    def privacy(self, account: Account, request: PublishRequest) -> str:
        return request.options.get("privacy") or account.config.get("privacy") or "public"

    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        privacy = request.options.get("privacy")
        if privacy and privacy not in PRIVACY:
            problems.append(
                Text(
                    gettext_noop(
                        "YouTube privacy must be public, unlisted or private, not %(value)s."
                    ),
                    value=privacy,
                )
            )
        # The description's 5,000-byte cap is the editorial rule's (PlatformSpec.text_byte_limit).
        if any(c in request.title + request.text for c in "<>"):
            problems.append(
                Text(gettext_noop("YouTube does not allow < or > in titles and descriptions."))
            )
        return problems

    @staticmethod
    def video_url(video_id: str) -> str:
        return f"https://www.youtube.com/watch?v={video_id}"

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        videos = [m for m in request.media if m.kind == "video"]
        if not videos:
            raise PermanentError(Text(gettext_noop("YouTube needs a video.")))

        def main(parts: list[PublishedPart]) -> PublishedPart:
            resource = {
                "snippet": {
                    "title": request.title,
                    "description": request.text,
                    "categoryId": str(request.options.get("category_id", "22")),
                },
                "status": {
                    "privacyStatus": self.privacy(account, request),
                    "selfDeclaredMadeForKids": bool(request.options.get("made_for_kids", False)),
                },
            }
            if request.options.get("tags"):
                resource["snippet"]["tags"] = list(request.options["tags"])
            video = self.upload(credentials, videos[0], resource)
            return PublishedPart(remote_id=video["id"], url=self.video_url(video["id"]))

        def comment(parts: list[PublishedPart]) -> PublishedPart:
            data = self.call(
                "POST",
                "/youtube/v3/commentThreads",
                credentials=credentials,
                params={"part": "snippet"},
                json={
                    "snippet": {
                        "videoId": parts[0].remote_id,
                        "topLevelComment": {"snippet": {"textOriginal": request.first_comment}},
                    }
                },
            ).json()
            return PublishedPart(remote_id=data["id"], url=parts[0].url)

        steps = [main]
        if request.first_comment.strip():
            steps.append(comment)
        return self.publish_parts(request, steps, on_part)

    def upload(
        self, credentials: Credentials, item: MediaItem, resource: dict[str, Any]
    ) -> dict[str, Any]:
        """Resumable upload: initiate (session URI in Location), PUT chunks; after a dropped
        connection or a 5xx ask the session how far it got (bytes */total) and go on from there."""
        session = self.call(
            "POST",
            "/upload/youtube/v3/videos",
            credentials=credentials,
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=resource,
            headers={
                "X-Upload-Content-Length": str(item.size_bytes),
                "X-Upload-Content-Type": item.mime_type,
            },
        ).headers.get("Location")
        if not session:
            raise TransientError(
                Text(gettext_noop("YouTube did not open an upload session; try again later."))
            )
        total = item.size_bytes
        offset = 0
        failures = 0
        with item.open() as fh:
            while True:
                try:
                    if failures:
                        response = self.call(
                            "PUT",
                            session,
                            credentials=credentials,
                            data=b"",
                            headers={"Content-Range": f"bytes */{total}"},
                            ok=(308,),
                        )
                    else:
                        fh.seek(offset)
                        chunk = fh.read(self.chunk_size)
                        end = offset + len(chunk) - 1
                        response = self.call(
                            "PUT",
                            session,
                            credentials=credentials,
                            data=chunk,
                            headers={
                                "Content-Type": item.mime_type,
                                "Content-Range": f"bytes {offset}-{end}/{total}",
                            },
                            ok=(308,),
                        )
                except TransientError:
                    if failures >= self.upload_retries:
                        raise
                    failures += 1
                    self.sleep(min(2**failures, 30))  # exponential back-off, as Google advises
                    continue
                failures = 0
                if response.status_code in (200, 201):
                    return response.json()
                # 308 Resume Incomplete: Range "bytes=0-N" says what arrived (none: nothing).
                received = response.headers.get("Range", "")
                offset = int(received.rsplit("-", 1)[1]) + 1 if received else 0

    def uploads_playlist(self, account: Account, credentials: Credentials) -> str:
        if account.config.get("uploads_playlist"):
            return account.config["uploads_playlist"]
        data = self.call(
            "GET",
            "/youtube/v3/channels",
            credentials=credentials,
            params={"part": "contentDetails", "mine": "true"},
        ).json()
        items = data.get("items") or [{}]
        return (items[0].get("contentDetails", {}).get("relatedPlaylists") or {}).get("uploads", "")

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """An upload session does not survive the attempt, so a retry would create a second
        video: look for the title among the channel's uploads (1 quota unit a page, unlike
        search.list's 100). An item added to the uploads playlist (`snippet.publishedAt`, when
        it was uploaded) before `request.not_before` is not ours.

        With `not_before` the uploads playlist is read page by page (pageToken, 50 a page)
        until a page ends with an item added before it, at most `lookup_max_pages` pages;
        without it, only the newest `recent_posts`."""
        playlist = self.uploads_playlist(account, credentials)
        if not playlist:
            return None
        not_before = request.not_before
        pages = self._upload_pages(
            credentials,
            playlist,
            part="snippet",
            page_size=self.recent_posts if not_before is None else UPLOADS_PAGE,
        )
        # The range comes first: once the bound is reached, no further page is asked for.
        pages_read = 0
        for _number, entries in zip(range(self.lookup_max_pages), pages, strict=False):
            pages_read += 1  # noqa: SIM113 (read after the loop: was the bound reached?)
            for entry in entries:
                snippet = entry.get("snippet", {})
                if (
                    snippet.get("title") == request.title
                    and self.same_text(snippet.get("description", "") or request.text, request.text)
                    and created_since(snippet.get("publishedAt"), not_before)
                ):
                    video_id = snippet.get("resourceId", {}).get("videoId", "")
                    if video_id:
                        part = PublishedPart(remote_id=video_id, url=self.video_url(video_id))
                        return PublishResult(remote_id=video_id, url=part.url, parts=[part])
            if not_before is None:
                break  # one page, as without a bound before
            if entries:
                oldest = parse_time((entries[-1].get("snippet") or {}).get("publishedAt"))
                if oldest is None or oldest < not_before:
                    break  # every later page is older still
        else:  # no page reached not_before: read on, or say that it cannot be told
            if not_before is not None and pages_read >= self.lookup_max_pages:
                raise lookup_incomplete(self.lookup_max_pages)
        return None

    def _upload_pages(
        self, credentials: Credentials, playlist: str, *, part: str, page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """The uploads playlist page by page, newest first (playlistItems.list: 1 quota unit a
        page whatever its size), following nextPageToken until the answer has none (or repeats
        the one just used)."""
        params: dict[str, Any] = {"part": part, "playlistId": playlist, "maxResults": page_size}
        while True:
            data = self.call(
                "GET", "/youtube/v3/playlistItems", credentials=credentials, params=params
            ).json()
            yield data.get("items") or []
            token = data.get("nextPageToken")
            if not token or token == params.get("pageToken"):
                return
            params = {**params, "pageToken": token}

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self.call(
            "DELETE",
            "/youtube/v3/videos",
            credentials=credentials,
            params={"id": remote_id},
            ok=(404,),
        )

    # -- metrics --------------------------------------------------------------------------------

    @staticmethod
    def snapshot(video: dict[str, Any]) -> MetricsSnapshot:
        """Views, likes (missing when the channel hides them) and comments of one video."""
        stats = video.get("statistics") or {}
        return MetricsSnapshot(
            remote_id=video["id"],
            values=counts(
                video_views=stats.get("viewCount"),
                likes=stats.get("likeCount"),
                comments=stats.get("commentCount"),
            ),
            raw=stats,
        )

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Statistics of up to 50 videos per call (videos.list, 1 quota unit); deleted videos
        are missing from the answer and so from the result."""
        snapshots = []
        for start in range(0, len(remote_ids), METRICS_BATCH):
            data = self.call(
                "GET",
                "/youtube/v3/videos",
                credentials=credentials,
                params={
                    "part": "statistics",
                    "id": ",".join(remote_ids[start : start + METRICS_BATCH]),
                },
            ).json()
            snapshots += [self.snapshot(v) for v in data.get("items") or [] if v.get("id")]
        return snapshots

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Subscribers (missing when the channel hides the count) and public videos."""
        data = self.call(
            "GET",
            "/youtube/v3/channels",
            credentials=credentials,
            params={"part": "statistics", "mine": "true"},
        ).json()
        items = data.get("items") or []
        if not items:
            raise PermanentError(
                Text(gettext_noop("This Google account no longer has a YouTube channel."))
            )
        stats = items[0].get("statistics") or {}
        hidden = bool(stats.get("hiddenSubscriberCount"))
        return AccountMetrics(
            values=counts(
                followers=None if hidden else stats.get("subscriberCount"),
                posts=stats.get("videoCount"),
            ),
            raw=stats,
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The channel's public and unlisted uploads since `since` (the uploads playlist, 50
        per page, 1 unit each), with their statistics (one videos.list per 50, 1 unit each).
        Private and scheduled videos are left out."""
        playlist = self.uploads_playlist(account, credentials)
        if not playlist:
            return []

        pages = (
            [self._listed(item) for item in items]
            for items in self._upload_pages(
                credentials, playlist, part="snippet,contentDetails,status", page_size=UPLOADS_PAGE
            )
        )
        posts = collect_recent(pages, since=since, limit=limit)
        snapshots = {
            s.remote_id: s
            for s in self.fetch_metrics(
                account=account, credentials=credentials, remote_ids=[p.remote_id for p in posts]
            )
        }
        for post in posts:
            post.metrics = snapshots.get(post.remote_id)
        return posts

    def _listed(self, item: dict[str, Any]) -> ListedItem:
        details = item.get("contentDetails") or {}
        snippet = item.get("snippet") or {}
        video_id = details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId")
        # Deleted and private videos have no videoPublishedAt; scheduled ones are private.
        moment = parse_time(details.get("videoPublishedAt"))
        privacy = (item.get("status") or {}).get("privacyStatus")
        if moment is None or not video_id or privacy == "private":
            return moment, None
        return moment, RemotePostInfo(
            remote_id=video_id,
            url=self.video_url(video_id),
            text=excerpt(snippet.get("title")),
            published_at=moment,
        )
