"""Bluesky (AT Protocol): an app-password session on the account's PDS; posts are written with
putRecord under a record key derived from the idempotency key, so a retry cannot double-post and
the reconciler finds a post with one getRecord.

Text counts in graphemes (300); links, mentions and hashtags become facets with UTF-8 byte
offsets; images and a video go up as blobs; the first link gets a card when there are no media.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
from typing import Any

import regex
from django.utils.translation import gettext_noop
from PIL import Image

from calendar_app.counting import Counting, count_text
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
    PlatformAdapter,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RemotePostInfo,
    TransientError,
)
from publishing.adapters.listing import ListedItem, collect_recent, counts, excerpt, parse_time
from publishing.urlsafety import check_server_url

DEFAULT_PDS = "https://bsky.social"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
MAX_TEXT_BYTES = 3000  # a post record's text, in UTF-8 (besides TEXT_LIMIT graphemes)
TEXT_LIMIT = 300  # graphemes
MAX_VIDEO_BYTES = 50_000_000  # PDS blob cap (the "simple" upload straight to the PDS)
METRICS_BATCH = 25  # app.bsky.feed.getPosts takes at most 25 URIs
FEED_PAGE = 100  # app.bsky.feed.getAuthorFeed returns at most 100 items

# XRPC errors meaning "this access/refresh token is no good any more".
TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}

# --- record keys -------------------------------------------------------------------------------

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_BASE_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z in microseconds
TID_SPAN_US = 1 << 45  # ~1.1 years: every derived key looks like a plausible past TID


def record_key_for(idempotency_key: str, part: int) -> str:
    """A valid TID (13 base32-sortable characters) derived only from the delivery's idempotency
    key and the part's index, so every retry writes to the same record. Its timestamp bits are
    not the posting time (createdAt carries that)."""
    digest = hashlib.sha256(f"{idempotency_key}\x00{part}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    micros = TID_BASE_US + (number >> 10) % TID_SPAN_US
    value = (micros << 10) | (number & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in range(12, -1, -1))


def _jwt_expiry(token: str) -> dt.datetime | None:
    """The `exp` claim of a JWT (not verified: we only use it to refresh ahead of time)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return dt.datetime.fromtimestamp(int(claims["exp"]), tz=dt.UTC)
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def _timestamp(value: dt.datetime | str | None) -> str:
    """createdAt: the given moment (the same on every retry makes putRecord a no-op), else now;
    always UTC with a Z, as the AppView expects."""
    if isinstance(value, str) and value:
        return value
    moment = value if isinstance(value, dt.datetime) else dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _split_uri(uri: str) -> tuple[str, str, str]:
    """at://did/collection/rkey -> (did, collection, rkey)."""
    if not uri.startswith("at://") or uri.count("/") != 4:
        raise PermanentError(
            Text(gettext_noop("This is not a Bluesky post id: %(id)s"), id=uri[:200]),
            detail=f"bad at-uri {uri[:200]}",
        )
    did, collection, rkey = uri[len("at://") :].split("/")
    return did, collection, rkey


# --- rich text ---------------------------------------------------------------------------------

URL_RE = regex.compile(r"https?://[^\s<>\"']+", regex.IGNORECASE)
MENTION_RE = regex.compile(
    r"(?<![\w@/])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
# Bluesky's own rule: a tag after start or whitespace, not only digits, trailing punctuation cut.
HASHTAG_RE = regex.compile(
    r"(?:^|(?<=\s))[#\uff03]((?!\ufe0f)[^\s#\uff03]*[^\d\s\p{P}][^\s#\uff03]*)"
)
TRAILING_PUNCTUATION = ".,;:!?'\")]}"


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _facet(text: str, start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": {"byteStart": _byte_offset(text, start), "byteEnd": _byte_offset(text, end)},
        "features": [feature],
    }


def link_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of every http(s) link, without trailing punctuation."""
    spans = []
    for match in URL_RE.finditer(text):
        url = match.group(0)
        while url and url[-1] in TRAILING_PUNCTUATION:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break  # keep the closing parenthesis of https://en.wikipedia.org/wiki/X_(Y)
            url = url[:-1]
        if len(url) > len("https://"):
            spans.append((match.start(), match.start() + len(url), url))
    return spans


# --- the adapter -------------------------------------------------------------------------------


class BlueskyAdapter(PlatformAdapter):
    """`base_url` is the default PDS (an account's own PDS comes from config["pds_url"]);
    `appview_url` (OPTIONS) is where public metrics are read."""

    key = "bluesky"
    capabilities = Capabilities(
        auth="app_password",
        threads=True,
        first_comment=True,
        idempotency_key=True,  # deterministic record keys
        metrics=frozenset({"likes", "comments", "shares", "quotes"}),
        metrics_batch_size=METRICS_BATCH,
        account_metrics=frozenset({"followers", "following", "posts"}),
        lists_recent_posts=True,
        needs_instance_url=True,
    )
    default_base_url = DEFAULT_PDS

    def __init__(self, *, appview_url: str = "", **options: Any) -> None:
        super().__init__(**options)
        self.appview_url = (appview_url or DEFAULT_APPVIEW).rstrip("/")
        # the PDS / site is typed in by users: refuse connections that land on private addresses
        self.http = http.session(platform=self.key, timeout=self.timeout, public_only=True)

    # -- plumbing --------------------------------------------------------------------------------
    def _pds(self, account: Account) -> str:
        return (account.config.get("pds_url") or self.base_url).rstrip("/")

    @staticmethod
    def _did(account: Account, credentials: Credentials) -> str:
        return credentials.extra.get("did") or account.account_id

    def _xrpc(
        self,
        method: str,
        base: str,
        nsid: str,
        *,
        token: str = "",
        tolerate: frozenset[str] = frozenset(),
        secrets: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """Call one XRPC method; the body as a dict, or None for an XRPC error in `tolerate`."""
        headers = kwargs.pop("headers", {})
        if token:
            headers = http.bearer(token, **headers)
        response = self.http.request(
            method, f"{base}/xrpc/{nsid}", headers=headers, allow_redirects=False, **kwargs
        )
        body = http.json_or_empty(response)
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code >= 400 and error in tolerate:
            return None
        secrets = (token, *secrets)
        if response.status_code in (400, 401) and error in TOKEN_ERRORS:
            raise AuthExpired(
                Text(gettext_noop("The Bluesky session has expired.")),
                detail=http.error_detail(response, secrets),
                status=response.status_code,
            )
        http.raise_for_platform(response, platform=self.key, secrets=secrets)
        if response.status_code >= 300:
            raise PermanentError(
                Text(
                    gettext_noop(
                        "The Bluesky server answered with a redirect; check the PDS address."
                    )
                ),
                detail=http.error_detail(response, secrets),
                status=response.status_code,
            )
        return body if isinstance(body, dict) else {}

    def _create_session(self, pds: str, identifier: str, password: str) -> dict[str, Any]:
        return self._xrpc(
            "POST",
            pds,
            "com.atproto.server.createSession",
            json={"identifier": identifier, "password": password},
            secrets=(password,),
        )

    @staticmethod
    def _credentials_from(session: dict[str, Any], *, app_password: str) -> Credentials:
        extra = {"did": session["did"]}
        if app_password:
            # Kept (encrypted) so a lost or expired refresh token never loses the channel.
            extra["app_password"] = app_password
        return Credentials(
            access_token=session["accessJwt"],
            refresh_token=session.get("refreshJwt", ""),
            expires_at=_jwt_expiry(session["accessJwt"]),
            extra=extra,
        )

    # -- connecting ------------------------------------------------------------------------------
    def connect_with_secret(self, *, account: Account, secret: str) -> ConnectResult:
        """`account.handle` (or config["identifier"]) is the handle or e-mail, `secret` an app
        password, config["pds_url"] the PDS (default bsky.social)."""
        pds = check_server_url(account.config.get("pds_url") or self.base_url)
        identifier = (account.handle or account.config.get("identifier", "")).strip().lstrip("@")
        if not identifier or not secret:
            raise ConnectError(Text(gettext_noop("Enter the Bluesky handle and an app password.")))
        try:
            session = self._create_session(pds, identifier, secret)
        except (AuthExpired, PermanentError) as exc:
            raise self._login_refused(exc) from None
        if session.get("active") is False:
            raise ConnectError(
                Text(
                    gettext_noop("This Bluesky account is deactivated or suspended (%(status)s)."),
                    status=session.get("status") or Text(gettext_noop("inactive")),
                )
            )
        credentials = self._credentials_from(session, app_password=secret)
        did = session["did"]
        handle = session.get("handle") or identifier
        profile: dict[str, Any] = {}
        # The name and avatar are nice to have; the connection works without them.
        with contextlib.suppress(AuthExpired, PermanentError, TransientError):
            profile = self._xrpc(
                "GET",
                pds,
                "app.bsky.actor.getProfile",
                token=credentials.access_token,
                params={"actor": did},
            )
        config = {**account.config, "pds_url": pds}
        config.pop("identifier", None)
        return ConnectResult(
            account=Account(
                account_id=did,
                handle=profile.get("handle") or handle,
                name=profile.get("displayName") or handle,
                avatar_url=profile.get("avatar", ""),
                config=config,
            ),
            credentials=credentials,
        )

    @staticmethod
    def _login_refused(exc: AdapterError) -> ConnectError:
        code = exc.detail
        if "AuthFactorTokenRequired" in code:
            message = Text(
                gettext_noop(
                    "This account asks for a sign-in code. Create an app password in Bluesky "
                    "(Settings → Privacy and security → App passwords) and use that instead."
                )
            )
        elif "AccountTakedown" in code:
            message = Text(gettext_noop("This Bluesky account has been taken down."))
        else:
            message = Text(
                gettext_noop(
                    "Bluesky did not accept this handle and app password. Check both; an app "
                    "password looks like xxxx-xxxx-xxxx-xxxx."
                )
            )
        return ConnectError(message, detail=exc.detail, status=exc.status)

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        """refreshSession rotates the refresh token: the new one is returned and must be stored.
        When the refresh token is no good any more, a new session from the stored app password."""
        pds = self._pds(account)
        app_password = credentials.extra.get("app_password", "")
        try:
            if not credentials.refresh_token:
                raise AuthExpired(Text(gettext_noop("The Bluesky session has expired.")))
            session = self._xrpc(
                "POST", pds, "com.atproto.server.refreshSession", token=credentials.refresh_token
            )
        except AuthExpired:
            if not app_password:
                raise AuthExpired(
                    Text(gettext_noop("The Bluesky session has expired. Reconnect the channel."))
                ) from None
            try:
                session = self._create_session(
                    pds, self._did(account, credentials) or account.handle, app_password
                )
            except (AuthExpired, PermanentError) as exc:
                raise AuthExpired(
                    Text(
                        gettext_noop(
                            "Bluesky no longer accepts the app password. Reconnect the channel."
                        )
                    ),
                    detail=exc.detail,
                    status=exc.status,
                ) from None
        refreshed = self._credentials_from(session, app_password=app_password)
        if not refreshed.refresh_token:  # never wipe one the server did not re-send
            refreshed.refresh_token = credentials.refresh_token
        return refreshed

    # -- content ---------------------------------------------------------------------------------
    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        # The record's cap (lexicon app.bsky.feed.post: text maxGraphemes 300, maxLength 3000
        # bytes of UTF-8): a text of emoji (a family is 18 bytes) reaches it first.
        # The text's own cap is the editorial rule's (PlatformSpec.text_byte_limit); the other
        # parts of a thread are checked here.
        parts = [
            (Text(gettext_noop("Part %(number)d of the thread"), number=n), t)
            for n, t in enumerate(request.thread, start=2)
        ]
        parts.append((Text(gettext_noop("The first comment")), request.first_comment))
        for name, text in parts:
            if (size := len(text.encode("utf-8"))) > MAX_TEXT_BYTES:
                problems.append(
                    Text(
                        gettext_noop(
                            "%(part)s takes %(size)d bytes; Bluesky stores at most %(limit)d "
                            "(an emoji takes 4 bytes or more, a family emoji 18): shorten it."
                        ),
                        part=name,
                        size=size,
                        limit=MAX_TEXT_BYTES,
                    )
                )
        for number, text in enumerate(request.thread, start=2):
            if not text.strip():
                problems.append(
                    Text(gettext_noop("Part %(number)d of the thread is empty."), number=number)
                )
            elif (used := count_text(text, Counting.GRAPHEMES)) > TEXT_LIMIT:
                problems.append(
                    Text(
                        gettext_noop(
                            "Part %(number)d of the thread is %(used)d characters long; Bluesky "
                            "allows %(limit)d."
                        ),
                        number=number,
                        used=used,
                        limit=TEXT_LIMIT,
                    )
                )
        if (used := count_text(request.first_comment, Counting.GRAPHEMES)) > TEXT_LIMIT:
            problems.append(
                Text(
                    gettext_noop(
                        "The first comment is %(used)d characters long; Bluesky allows %(limit)d."
                    ),
                    used=used,
                    limit=TEXT_LIMIT,
                )
            )
        for item in request.media:
            if item.kind == "video" and item.size_bytes > MAX_VIDEO_BYTES:
                problems.append(
                    Text(
                        gettext_noop(
                            "%(name)s is larger than the %(limit)d MB Bluesky accepts for videos."
                        ),
                        name=item.filename,
                        limit=MAX_VIDEO_BYTES // 1_000_000,
                    )
                )
        return problems

    def post_url(self, account: Account, uri: str) -> str:
        did, _collection, rkey = _split_uri(uri)
        return f"https://bsky.app/profile/{account.handle or did}/post/{rkey}"

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        pds = self._pds(account)
        did = self._did(account, credentials)
        token = credentials.access_token
        texts = [request.text, *request.thread]
        comment_index = None
        if request.first_comment.strip():
            comment_index = len(texts)
            texts.append(request.first_comment)

        parts = list(request.done_parts)
        refs: dict[int, dict[str, str]] = {}

        def ref(index: int) -> dict[str, str]:
            # A part from an earlier attempt: its cid is needed for reply references.
            if index not in refs:
                _did, _collection, rkey = _split_uri(parts[index].remote_id)
                found = self._get_post(pds, did, rkey)
                if found is None:
                    raise PermanentError(
                        Text(gettext_noop("An earlier part of this Bluesky thread was deleted.")),
                        detail=f"missing {parts[index].remote_id}",
                    )
                refs[index] = found
            return refs[index]

        for index in range(len(parts), len(texts)):
            record = self._post_record(pds, texts[index], request)
            if index == 0:
                if embed := self._embed(pds, token, request, record):
                    record["embed"] = embed
            else:
                parent = 0 if index == comment_index else index - 1
                record["reply"] = {"root": ref(0), "parent": ref(parent)}
            rkey = record_key_for(request.idempotency_key, index)
            refs[index] = self._put_post(pds, did, token, rkey, record)
            part = PublishedPart(refs[index]["uri"], self.post_url(account, refs[index]["uri"]))
            parts.append(part)
            if on_part:
                on_part(index, part)
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def _post_record(self, pds: str, text: str, request: PublishRequest) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": _timestamp(request.options.get("created_at")),
        }
        if facets := self._facets(pds, text):
            record["facets"] = facets
        if langs := request.options.get("langs"):
            record["langs"] = list(langs)[:3]
        return record

    def _facets(self, pds: str, text: str) -> list[dict[str, Any]]:
        facets = []
        taken: list[tuple[int, int]] = []
        for start, end, url in link_spans(text):
            facets.append(
                _facet(text, start, end, {"$type": "app.bsky.richtext.facet#link", "uri": url})
            )
            taken.append((start, end))

        def free(start: int, end: int) -> bool:
            return all(end <= a or start >= b for a, b in taken)

        for match in MENTION_RE.finditer(text):
            if not free(match.start(), match.end()):
                continue
            did = self._resolve_handle(pds, match.group(1).lower())
            if did:
                facets.append(
                    _facet(
                        text,
                        match.start(),
                        match.end(),
                        {"$type": "app.bsky.richtext.facet#mention", "did": did},
                    )
                )
        for match in HASHTAG_RE.finditer(text):
            tag = match.group(1)
            while tag and regex.match(r"\p{P}", tag[-1]):
                tag = tag[:-1]
            start = match.start()
            end = match.start(1) + len(tag)
            if tag and len(tag) <= 64 and free(start, end):
                facets.append(
                    _facet(text, start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
                )
        facets.sort(key=lambda f: f["index"]["byteStart"])
        return facets

    def _resolve_handle(self, pds: str, handle: str) -> str:
        """The DID of @handle, or "" when there is no such account (the text stays plain)."""
        try:
            body = self._xrpc(
                "GET", pds, "com.atproto.identity.resolveHandle", params={"handle": handle}
            )
        except PermanentError:
            return ""
        return body.get("did", "")

    def _embed(
        self, pds: str, token: str, request: PublishRequest, record: dict[str, Any]
    ) -> dict[str, Any] | None:
        images = [m for m in request.media if m.kind == "image"][:4]
        videos = [m for m in request.media if m.kind == "video"]
        if images:
            return {
                "$type": "app.bsky.embed.images",
                "images": [self._image(pds, token, item) for item in images],
            }
        if videos:
            data = self._read(videos[0])
            embed = {
                "$type": "app.bsky.embed.video",
                "video": self._upload_blob(pds, token, videos[0], data),
            }
            if videos[0].alt_text:
                embed["alt"] = videos[0].alt_text
            return embed
        link = request.link or next((url for _s, _e, url in link_spans(request.text)), "")
        if link:
            # A card from what the editor gave us; we never fetch arbitrary URLs.
            return {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": link,
                    "title": str(request.options.get("link_title", "")),
                    "description": str(request.options.get("link_description", "")),
                },
            }
        return None

    @staticmethod
    def _read(item: MediaItem) -> bytes:
        with item.open() as fh:
            return fh.read()

    def _image(self, pds: str, token: str, item: MediaItem) -> dict[str, Any]:
        data = self._read(item)
        image: dict[str, Any] = {
            "image": self._upload_blob(pds, token, item, data),
            "alt": item.alt_text,
        }
        try:
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
            image["aspectRatio"] = {"width": width, "height": height}
        except Exception:  # an unreadable header only costs the aspect ratio
            pass
        return image

    def _upload_blob(self, pds: str, token: str, item: MediaItem, data: bytes) -> dict[str, Any]:
        body = self._xrpc(
            "POST",
            pds,
            "com.atproto.repo.uploadBlob",
            token=token,
            data=data,
            headers={"Content-Type": item.mime_type},
        )
        if "blob" not in body:
            raise TransientError(
                Text(
                    gettext_noop("Bluesky did not confirm the upload of %(name)s."),
                    name=item.filename,
                ),
                detail="uploadBlob answered without a blob",
            )
        return body["blob"]

    def _put_post(
        self, pds: str, did: str, token: str, rkey: str, record: dict[str, Any]
    ) -> dict[str, str]:
        """Write the post under `rkey`. swapRecord null means "only if it does not exist yet":
        an identical record is a no-op, a different one (an earlier attempt) answers InvalidSwap
        and we take the existing post instead of overwriting it."""
        body = self._xrpc(
            "POST",
            pds,
            "com.atproto.repo.putRecord",
            token=token,
            tolerate=frozenset({"InvalidSwap"}),
            json={
                "repo": did,
                "collection": POST_COLLECTION,
                "rkey": rkey,
                "record": record,
                "swapRecord": None,
            },
        )
        if body is None:
            existing = self._get_post(pds, did, rkey)
            if existing is None:
                raise TransientError(
                    Text(
                        gettext_noop(
                            "Bluesky refused the post for a moment; it will be tried again."
                        )
                    ),
                    detail=f"InvalidSwap without a record at {rkey}",
                )
            return existing
        return {"uri": body["uri"], "cid": body["cid"]}

    def _get_post(self, pds: str, did: str, rkey: str) -> dict[str, str] | None:
        body = self._xrpc(
            "GET",
            pds,
            "com.atproto.repo.getRecord",
            params={"repo": did, "collection": POST_COLLECTION, "rkey": rkey},
            tolerate=frozenset({"RecordNotFound"}),
        )
        if body is None or not body.get("cid"):
            return None
        return {"uri": body["uri"], "cid": body["cid"]}

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """The post (and the thread parts) this delivery wrote, by their derived record keys."""
        pds = self._pds(account)
        did = self._did(account, credentials)
        count = 1 + len(request.thread) + (1 if request.first_comment.strip() else 0)
        parts = []
        for index in range(count):
            found = self._get_post(pds, did, record_key_for(request.idempotency_key, index))
            if found is None:
                break
            parts.append(PublishedPart(found["uri"], self.post_url(account, found["uri"])))
        if not parts:
            return None
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        did, collection, rkey = _split_uri(remote_id)
        self._xrpc(
            "POST",
            self._pds(account),
            "com.atproto.repo.deleteRecord",
            token=credentials.access_token,
            json={"repo": did, "collection": collection, "rkey": rkey},
        )

    # -- metrics ---------------------------------------------------------------------------------
    @staticmethod
    def _snapshot(post: dict[str, Any]) -> MetricsSnapshot:
        """A PostView's counts; a count the AppView left out stays missing."""
        keys = ("likeCount", "replyCount", "repostCount", "quoteCount")
        return MetricsSnapshot(
            remote_id=post["uri"],
            values=counts(
                likes=post.get("likeCount"),
                comments=post.get("replyCount"),
                shares=post.get("repostCount"),
                quotes=post.get("quoteCount"),
            ),
            raw={k: post[k] for k in keys if k in post},
        )

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Public counts from the AppView, 25 posts a call; deleted posts are simply missing."""
        snapshots = []
        for start in range(0, len(remote_ids), METRICS_BATCH):
            body = self._xrpc(
                "GET",
                self.appview_url,
                "app.bsky.feed.getPosts",
                params={"uris": remote_ids[start : start + METRICS_BATCH]},
            )
            snapshots += [self._snapshot(post) for post in body.get("posts", [])]
        return snapshots

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Followers, follows and posts from the AppView's profile of the account's DID."""
        profile = self._xrpc(
            "GET",
            self.appview_url,
            "app.bsky.actor.getProfile",
            params={"actor": self._did(account, credentials)},
        )
        keys = ("followersCount", "followsCount", "postsCount")
        return AccountMetrics(
            values=counts(
                followers=profile.get("followersCount"),
                following=profile.get("followsCount"),
                posts=profile.get("postsCount"),
            ),
            raw={k: profile[k] for k in keys if k in profile},
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The account's own top-level posts since `since` from its author feed (AppView,
        `posts_no_replies`), with their counts. Reposts, pinned items, replies and posts by
        others (quoted or in threads) are left out."""
        did = self._did(account, credentials)

        def pages():
            params: dict[str, Any] = {
                "actor": did,
                "limit": FEED_PAGE,
                "filter": "posts_no_replies",
            }
            while True:
                body = self._xrpc(
                    "GET", self.appview_url, "app.bsky.feed.getAuthorFeed", params=params
                )
                feed = body.get("feed") or []
                if not feed:
                    return
                yield [self._listed(account, did, item) for item in feed]
                cursor = body.get("cursor")
                if not cursor or cursor == params.get("cursor"):
                    return
                params = {**params, "cursor": cursor}

        return collect_recent(pages(), since=since, limit=limit)

    def _listed(self, account: Account, did: str, item: dict[str, Any]) -> ListedItem:
        post = item.get("post") or {}
        record = post.get("record") or {}
        reason = item.get("reason")
        if reason:  # a repost (listed at the time of reposting) or a pinned post
            return parse_time(reason.get("indexedAt")), None
        moment = parse_time(record.get("createdAt")) or parse_time(post.get("indexedAt"))
        own = (
            moment is not None
            and (post.get("author") or {}).get("did") == did
            and not record.get("reply")
            and str(post.get("uri", "")).startswith(f"at://{did}/{POST_COLLECTION}/")
        )
        if not own:
            return moment, None
        return moment, RemotePostInfo(
            remote_id=post["uri"],
            url=self.post_url(account, post["uri"]),
            text=excerpt(record.get("text")),
            published_at=moment,
            metrics=self._snapshot(post),
        )
