"""X (Twitter) API v2: OAuth 2.0 with PKCE, posts with media, threads by replying to oneself,
duplicate/rate-limit mapping and public + non-public metrics in batches of 100."""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from django.utils.translation import gettext as _

from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AdapterError,
    Capabilities,
    ConnectResult,
    Credentials,
    MediaItem,
    MetricsSnapshot,
    PartCallback,
    PermanentError,
    PublishedPart,
    PublishRequest,
    PublishResult,
    TransientError,
)
from publishing.adapters.oauth2 import OAuth2Adapter

CHUNK_BYTES = 4 * 1024 * 1024  # APPEND segments for chunked (video) uploads


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
    )
    default_base_url = "https://api.x.com"
    authorize_endpoint = "https://x.com/i/oauth2/authorize"
    token_endpoint = "/2/oauth2/token"
    scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    uses_pkce = True
    token_auth_basic = True  # confidential client
    recent_posts: ClassVar[int] = 20

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
                _("X refused the post because the same text was already posted on this account."),
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
                    _("X could not process %(name)s (%(reason)s).")
                    % {"name": item.filename, "reason": reason or _("unknown reason")},
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
            _("X is still processing %(name)s; try again later.") % {"name": item.filename}
        )

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """X has no idempotency key: look for the main text among the account's latest posts
        (X rewrites links to t.co, so links are ignored in the comparison)."""
        data = http.json_or_empty(
            self.call(
                "GET",
                f"/2/users/{account.account_id}/tweets",
                credentials=credentials,
                params={"max_results": self.recent_posts, "tweet.fields": "created_at"},
            )
        )
        for post in data.get("data") or []:
            if self.same_text(post.get("text", ""), request.text):
                remote_id = str(post["id"])
                part = PublishedPart(remote_id=remote_id, url=self.post_url(account, remote_id))
                return PublishResult(remote_id=remote_id, url=part.url, parts=[part])
        return None

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self.call("DELETE", f"/2/tweets/{remote_id}", credentials=credentials, ok=(404,))

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        snapshots: list[MetricsSnapshot] = []
        size = self.capabilities.metrics_batch_size
        for start in range(0, len(remote_ids), size):
            batch = remote_ids[start : start + size]
            data = self.call(
                "GET",
                "/2/tweets",
                credentials=credentials,
                params={
                    "ids": ",".join(batch),
                    "tweet.fields": "public_metrics,non_public_metrics",
                },
            ).json()
            # Posts older than 30 days have no non-public metrics; deleted ones land in "errors".
            for post in data.get("data") or []:
                public = post.get("public_metrics") or {}
                private = post.get("non_public_metrics") or {}
                values = {
                    "likes": public.get("like_count"),
                    "comments": public.get("reply_count"),
                    "shares": public.get("retweet_count"),
                    "quotes": public.get("quote_count"),
                    "saves": public.get("bookmark_count"),
                    "impressions": private.get("impression_count", public.get("impression_count")),
                    "clicks": private.get("url_link_clicks"),
                }
                snapshots.append(
                    MetricsSnapshot(
                        remote_id=str(post["id"]),
                        values={k: int(v) for k, v in values.items() if v is not None},
                        raw={"public_metrics": public, "non_public_metrics": private},
                    )
                )
        return snapshots
