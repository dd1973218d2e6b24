"""Pinterest API v5: OAuth with HTTP Basic at the token endpoint, Pins on a board from a public
image URL (else the image inline as base64) or an uploaded video, board pin scan for
find_existing, pin analytics (impressions, saves, outbound clicks) as metrics."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

from django.utils.translation import gettext_noop

from notifications.texts import Text
from publishing.adapters.base import (
    Account,
    AccountMetrics,
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

LISTING_PAGE = 100  # pins per page of GET /v5/pins (the API allows up to 250)
# Pins per page of a look-up: v5 pagination's most (page_size default 25, maximum 250), as
# requests, not pins, are what the rate limits count.
LOOKUP_PAGE = 250


def pin_snapshot(pin: dict[str, Any]) -> MetricsSnapshot:
    """A pin's lifetime numbers (`pin_metrics.lifetime_metrics`; the last 90 days where
    Pinterest has no lifetime numbers, which for our pins, all younger than that, is the same):
    impressions, saves, outbound clicks (clicks to the pin's link), reactions (likes) and
    comments. A number Pinterest did not send stays missing."""
    metrics = pin.get("pin_metrics") or {}
    numbers = metrics.get("lifetime_metrics") or metrics.get("90d") or {}
    return MetricsSnapshot(
        remote_id=str(pin["id"]),
        values=counts(
            impressions=numbers.get("impression"),
            saves=numbers.get("save"),
            clicks=numbers.get("outbound_click", numbers.get("clickthrough")),
            likes=numbers.get("reaction"),
            comments=numbers.get("comment"),
        ),
        raw=metrics,
    )


class PinterestAdapter(OAuth2Adapter):
    key = "pinterest"
    capabilities = Capabilities(
        auth="oauth2",
        metrics=frozenset({"impressions", "saves", "clicks", "likes", "comments"}),
        # One pin per request: the multi-pin analytics endpoint is a beta not open to all apps.
        metrics_batch_size=1,
        account_metrics=frozenset({"followers", "following", "posts"}),
        lists_recent_posts=True,
        # Pinterest fetches a public image URL when there is one, but inline base64 works too:
        # a missing PUBLIC_MEDIA_BASE_URL must not block pins.
        fetches_media_by_url=False,
    )
    default_base_url = "https://api.pinterest.com"
    authorize_endpoint = "https://www.pinterest.com/oauth/"
    token_endpoint = "/v5/oauth/token"
    # What each call needs (all scopes of a row together), from the pinterest_oauth2 security
    # of each operation in Pinterest's OpenAPI description (github.com/pinterest/api-
    # description, v5/openapi.yaml; the same lists as developers.pinterest.com/docs/api/v5):
    #   POST /v5/oauth/token (code, refresh)        none (HTTP Basic with the app id/secret)
    #   GET  /v5/user_account (connect, numbers)    user_accounts:read
    #   GET  /v5/boards (connect)                   boards:read
    #   POST /v5/pins                               boards:read boards:write pins:read pins:write
    #   POST /v5/media (register a video)           pins:read pins:write
    #   POST upload_url (pre-signed storage)        none (sent without our token)
    #   GET  /v5/media/{id} (processing status)     pins:read
    #   GET  /v5/boards/{board}/pins (look-up)      boards:read pins:read
    #   DELETE /v5/pins/{id}                        boards:read boards:write pins:read pins:write
    #   GET  /v5/pins/{id} (metrics), /v5/pins      boards:read pins:read
    #        (listing)
    scopes = ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read")
    scope_separator = ","
    token_auth_basic = True
    recent_posts: ClassVar[int] = 25  # the one page a look-up without not_before reads
    # A look-up with not_before pages back to it, at most this many pages of LOOKUP_PAGE
    # (2,500 pins of the board; a trial app has 1,000 requests a day in all).
    lookup_max_pages: ClassVar[int] = 10
    poll_interval = 3.0

    # -- connecting -------------------------------------------------------------------------------

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        """The user, and their boards: all listed in config["boards"], the one in
        account.config["board_id"] (else the first) is where pins go unless a post says
        otherwise (options["board_id"])."""
        me = self.call("GET", "/v5/user_account", credentials=credentials).json()
        boards = [
            {"id": str(b["id"]), "name": b.get("name", "")}
            for b in self.call(
                "GET", "/v5/boards", credentials=credentials, params={"page_size": 100}
            )
            .json()
            .get("items", [])
        ]
        if not boards:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "This Pinterest account has no board yet: create one, then connect again."
                    )
                )
            )
        wanted = str(account.config.get("board_id", ""))
        board = next((b for b in boards if b["id"] == wanted), boards[0])
        return ConnectResult(
            account=Account(
                account_id=str(me.get("id") or me["username"]),
                handle=me.get("username", ""),
                name=me.get("business_name") or me.get("username", ""),
                avatar_url=me.get("profile_image", ""),
                config={**account.config, "boards": boards, "board_id": board["id"]},
            ),
            credentials=credentials,
        )

    # -- content ----------------------------------------------------------------------------------

    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        if len(request.link) > 2048:
            problems.append(
                Text(gettext_noop("Pinterest links may be at most 2,048 characters long."))
            )
        if any(len(m.alt_text) > 500 for m in request.media):
            problems.append(
                Text(gettext_noop("Pinterest alt texts may be at most 500 characters long."))
            )
        return problems

    @staticmethod
    def pin_url(pin_id: str) -> str:
        return f"https://www.pinterest.com/pin/{pin_id}/"

    def board(self, account: Account, request: PublishRequest) -> str:
        board = request.options.get("board_id") or account.config.get("board_id")
        if not board:
            raise PermanentError(
                Text(
                    gettext_noop(
                        "No Pinterest board is chosen for this channel; reconnect it or pick a board."
                    )
                )
            )
        return str(board)

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        if not request.media:
            raise PermanentError(Text(gettext_noop("Pinterest needs an image or a video.")))
        board = self.board(account, request)

        def main(parts: list[PublishedPart]) -> PublishedPart:
            item = request.media[0]
            body: dict[str, Any] = {
                "board_id": board,
                "media_source": self.media_source(credentials, item),
            }
            if request.title:
                body["title"] = request.title
            if request.text:
                body["description"] = request.text
            if request.link:
                body["link"] = request.link
            if item.alt_text:
                body["alt_text"] = item.alt_text
            if request.options.get("board_section_id"):
                body["board_section_id"] = request.options["board_section_id"]
            pin = self.call("POST", "/v5/pins", credentials=credentials, json=body).json()
            return PublishedPart(remote_id=str(pin["id"]), url=self.pin_url(str(pin["id"])))

        return self.publish_parts(request, [main], on_part)

    def media_source(self, credentials: Credentials, item: MediaItem) -> dict[str, Any]:
        if item.kind == "video":
            return {
                "source_type": "video_id",
                "media_id": self.upload_video(credentials, item),
                "cover_image_key_frame_time": 0,
            }
        if item.public_url:
            return {"source_type": "image_url", "url": item.public_url}
        with item.open() as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        return {"source_type": "image_base64", "content_type": item.mime_type, "data": data}

    def upload_video(self, credentials: Credentials, item: MediaItem) -> str:
        """Register the upload, post the file to the given upload URL with its parameters,
        then wait until Pinterest has processed it."""
        registered = self.call(
            "POST", "/v5/media", credentials=credentials, json={"media_type": "video"}
        ).json()
        with item.open() as fh:
            # The upload URL is pre-signed storage: it must not get our Authorization header.
            self.call(
                "POST",
                registered["upload_url"],
                data=registered.get("upload_parameters", {}),
                files={"file": (item.filename, fh, item.mime_type)},
            )
        media_id = str(registered["media_id"])
        for attempt in range(self.poll_attempts):
            status = self.call("GET", f"/v5/media/{media_id}", credentials=credentials).json()
            if status.get("status") == "succeeded":
                return media_id
            if status.get("status") == "failed":
                raise PermanentError(
                    Text(gettext_noop("Pinterest could not process %(name)s."), name=item.filename),
                    detail=f"media {media_id} failed",
                )
            if attempt + 1 < self.poll_attempts:
                self.sleep(self.poll_interval)
        raise TransientError(
            Text(
                gettext_noop("Pinterest is still processing %(name)s; try again later."),
                name=item.filename,
            )
        )

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """No idempotency key: match title/description among the board's pins created since
        `request.not_before` (`created_at`, naive UTC).

        With `not_before` the board's pins are read page by page (the `bookmark` cursor, 250
        a page) until a page ends with a pin created before it, at most `lookup_max_pages`
        pages; without it, only the newest `recent_posts`. The v5 reference does not say in
        which order a board lists its pins; newest first is what the stop assumes."""
        board = request.options.get("board_id") or account.config.get("board_id")
        if not board:
            return None
        not_before = request.not_before
        pages = self._pin_pages(
            credentials,
            f"/v5/boards/{board}/pins",
            {"page_size": self.recent_posts if not_before is None else LOOKUP_PAGE},
        )
        # The range comes first: once the bound is reached, no further page is asked for.
        pages_read = 0
        for _number, pins in zip(range(self.lookup_max_pages), pages, strict=False):
            pages_read += 1  # noqa: SIM113 (read after the loop: was the bound reached?)
            for pin in pins:
                same_description = self.same_text(pin.get("description") or "", request.text)
                same_title = bool(request.title) and (pin.get("title") or "") == request.title
                recent = created_since(pin.get("created_at"), not_before)
                if recent and (same_description or (same_title and not request.text)):
                    pin_id = str(pin["id"])
                    part = PublishedPart(remote_id=pin_id, url=self.pin_url(pin_id))
                    return PublishResult(remote_id=part.remote_id, url=part.url, parts=[part])
            if not_before is None:
                break  # one page, as without a bound before
            if pins:
                oldest = parse_time(pins[-1].get("created_at"))
                if oldest is None or oldest < not_before:
                    break  # every later page is older still
        else:  # no page reached not_before: read on, or say that it cannot be told
            if not_before is not None and pages_read >= self.lookup_max_pages:
                raise lookup_incomplete(self.lookup_max_pages)
        return None

    def _pin_pages(
        self, credentials: Credentials, path: str, params: dict[str, Any]
    ) -> Iterator[list[dict[str, Any]]]:
        """Pins page by page, following v5's `bookmark` cursor: each answer's `bookmark` asks
        for the next page; none (or the one just used) means there is no more."""
        while True:
            body = self.call("GET", path, credentials=credentials, params=params).json()
            yield body.get("items") or []
            bookmark = body.get("bookmark")
            if not bookmark or bookmark == params.get("bookmark"):
                return
            params = {**params, "bookmark": bookmark}

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self.call("DELETE", f"/v5/pins/{remote_id}", credentials=credentials, ok=(404,))

    # -- metrics --------------------------------------------------------------------------------

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Per pin (GET /v5/pins/{id}?pin_metrics=true): its lifetime numbers. A deleted pin
        (404) is missing from the result."""
        snapshots = []
        for remote_id in remote_ids:
            response = self.call(
                "GET",
                f"/v5/pins/{remote_id}",
                credentials=credentials,
                params={"pin_metrics": "true"},
                ok=(404,),
            )
            if response.status_code == 404:
                continue
            pin = response.json()
            snapshots.append(pin_snapshot({**pin, "id": pin.get("id") or remote_id}))
        return snapshots

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Followers, following and pins of the user account."""
        keys = ("follower_count", "following_count", "pin_count", "monthly_views")
        me = self.call("GET", "/v5/user_account", credentials=credentials).json()
        return AccountMetrics(
            values=counts(
                followers=me.get("follower_count"),
                following=me.get("following_count"),
                posts=me.get("pin_count"),
            ),
            raw={k: me[k] for k in keys if k in me},
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The user's own pins since `since` (GET /v5/pins, newest first, with their metrics),
        following the bookmark. Pins saved from someone else's pin are left out."""

        pages = (
            [self._listed(pin) for pin in pins]
            for pins in self._pin_pages(
                credentials, "/v5/pins", {"page_size": LISTING_PAGE, "pin_metrics": "true"}
            )
        )
        return collect_recent(pages, since=since, limit=limit)

    def _listed(self, pin: dict[str, Any]) -> ListedItem:
        moment = parse_time(pin.get("created_at"))  # naive, in UTC
        own = (
            moment is not None
            and pin.get("id")
            and pin.get("is_owner") is not False
            and not pin.get("parent_pin_id")
        )
        if not own:
            return moment, None
        pin_id = str(pin["id"])
        return moment, RemotePostInfo(
            remote_id=pin_id,
            url=self.pin_url(pin_id),
            text=excerpt(pin.get("title") or pin.get("description")),
            published_at=moment,
            metrics=pin_snapshot(pin),
        )
