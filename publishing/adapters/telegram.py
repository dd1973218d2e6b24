"""Telegram: a bot token (from @BotFather) posting to a channel or group it administers.

The token travels in the URL path (/bot<token>/method), so every error detail is scrubbed of it
and no requests exception is ever chained. The Bot API has no idempotency key and no way to list
a channel's posts, so find_existing cannot work (the engine relies on its attempt records) and
there is no history to import; it exposes no per-message metrics (views need the MTProto client
API), only the number of subscribers (getChatMemberCount).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

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
    PlatformAdapter,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RateLimited,
    RemotePostInfo,
    TransientError,
)
from publishing.adapters.listing import counts

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_UPLOAD_BYTES = 50_000_000  # multipart uploads by bots
CHAT_LINK_RE = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/(?P<name>[A-Za-z0-9_]{4,})/?$")


def utf16_length(text: str) -> int:
    """Telegram counts message lengths in UTF-16 code units (an emoji is usually 2)."""
    return len(text.encode("utf-16-le")) // 2


def normalize_chat_id(value: str) -> str:
    """'-1001234', '@acme', 'acme', 't.me/acme' -> '-1001234' / '@acme'."""
    value = (value or "").strip()
    if match := CHAT_LINK_RE.match(value):
        return "@" + match["name"]
    if re.fullmatch(r"-?\d+", value):
        return value
    name = value.lstrip("@")
    return "@" + name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,}", name) else ""


def message_url(config: dict[str, Any], message_id: int | str) -> str:
    """https://t.me/<username>/<id> for public chats, https://t.me/c/<id>/<msg> for private
    channels and supergroups; basic groups have no message links ("")."""
    username = config.get("chat_username", "")
    if username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(config.get("chat_id", ""))
    if chat_id.startswith("-100"):
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return ""


class TelegramAdapter(PlatformAdapter):
    key = "telegram"
    capabilities = Capabilities(
        auth="bot_token",
        threads=True,  # further parts as replies to the previous message
        first_comment=True,  # a reply to the post
        idempotency_key=False,
        metrics=frozenset(),  # views need the MTProto client API, not the Bot API
        account_metrics=frozenset({"followers"}),  # subscribers / members
        lists_recent_posts=False,  # the Bot API cannot read a channel's history
    )
    default_base_url = "https://api.telegram.org"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.http = http.session(platform=self.key, timeout=self.timeout)

    # -- plumbing --------------------------------------------------------------------------------
    def _call(
        self,
        token: str,
        method: str,
        *,
        payload: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """One Bot API method; its `result`. Multipart when there are files (nested values are
        then JSON-encoded, as the Bot API expects)."""
        url = f"{self.base_url}/bot{token}/{method}"
        try:
            if files:
                data = {
                    k: json.dumps(v) if isinstance(v, dict | list) else str(v)
                    for k, v in (payload or {}).items()
                }
                response = self.http.post(url, data=data, files=files)
            else:
                response = self.http.post(url, json=payload or {})
        except AdapterError as exc:
            # The session's detail holds the path; make sure not even an odd token survives.
            raise TransientError(
                exc.message, detail=http.scrub(exc.detail, (token,)), status=exc.status
            ) from None
        except requests.RequestException:
            raise TransientError(
                Text(gettext_noop("Telegram could not be reached.")),
                detail=f"request error {method}",
            ) from None
        body = http.json_or_empty(response)
        if response.status_code < 300 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise self._error(response, body, token)

    def _error(self, response: requests.Response, body: Any, token: str) -> AdapterError:
        body = body if isinstance(body, dict) else {}
        status = int(body.get("error_code") or response.status_code)
        description = http.scrub(str(body.get("description", "")), (token,))[:300]
        detail = http.error_detail(response, (token,))
        parameters = body.get("parameters") or {}
        if status == 429:
            return RateLimited(
                Text(gettext_noop("Telegram asks us to slow down (rate limit).")),
                retry_after=float(parameters["retry_after"])
                if "retry_after" in parameters
                else http.retry_after_from(response),
                detail=detail,
                status=status,
            )
        if status in (401, 404):  # 404: the token is malformed, so the method "does not exist"
            return AuthExpired(
                Text(
                    gettext_noop(
                        "Telegram rejected the bot token. Create a new token with @BotFather and "
                        "reconnect the channel."
                    )
                ),
                detail=detail,
                status=status,
            )
        if status == 403:
            return PermanentError(
                Text(
                    gettext_noop(
                        "The bot may not post in this chat any more (it was removed, blocked or lost "
                        "its admin rights): %(reason)s"
                    ),
                    reason=description,
                ),
                detail=detail,
                status=status,
            )
        if "migrate_to_chat_id" in parameters:
            return PermanentError(
                Text(
                    gettext_noop("The group was upgraded to a supergroup. Reconnect the channel.")
                ),
                detail=detail,
                status=status,
            )
        if status >= 500:
            return TransientError(
                Text(
                    gettext_noop("Telegram had a temporary problem (HTTP %(status)s)."),
                    status=status,
                ),
                detail=detail,
                status=status,
            )
        return PermanentError(
            Text(
                gettext_noop("Telegram refused the message: %(reason)s"),
                reason=description or f"HTTP {status}",
            ),
            detail=detail,
            status=status,
        )

    @staticmethod
    def _chat_id(account: Account) -> str:
        return str(account.config.get("chat_id") or account.account_id)

    # -- connecting ------------------------------------------------------------------------------
    def connect_with_secret(self, *, account: Account, secret: str) -> ConnectResult:
        """`secret` is the bot token; config["chat_id"] the channel (@name, t.me link or -100…
        id). Checks the token (getMe), the chat (getChat) and that the bot may post there."""
        token = secret.strip()
        chat_id = normalize_chat_id(str(account.config.get("chat_id", "")))
        if not token or not chat_id:
            raise ConnectError(
                Text(gettext_noop("Enter the bot token and the channel (its @name or numeric id)."))
            )
        try:
            bot = self._call(token, "getMe")
        except AuthExpired as exc:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "Telegram did not accept this bot token. Copy it again from @BotFather."
                    )
                ),
                detail=exc.detail,
                status=exc.status,
            ) from None
        try:
            chat = self._call(token, "getChat", payload={"chat_id": chat_id})
            member = self._call(
                token, "getChatMember", payload={"chat_id": chat["id"], "user_id": bot["id"]}
            )
        except PermanentError as exc:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "The bot cannot see %(chat)s. Add @%(bot)s to the channel as an "
                        "administrator and check the channel's name."
                    ),
                    chat=chat_id,
                    bot=bot.get("username", ""),
                ),
                detail=exc.detail,
                status=exc.status,
            ) from None
        self._check_may_post(chat, member, bot)
        username = chat.get("username", "")
        return ConnectResult(
            account=Account(
                account_id=str(chat["id"]),
                handle=f"@{username}" if username else "",
                name=chat.get("title") or username or str(chat["id"]),
                # A chat photo is only reachable through a file URL containing the token.
                avatar_url="",
                config={
                    **account.config,
                    "chat_id": str(chat["id"]),
                    "chat_username": username,
                    "chat_type": chat.get("type", ""),
                    "bot_id": bot["id"],
                    "bot_username": bot.get("username", ""),
                },
            ),
            credentials=Credentials(access_token=token),
        )

    @staticmethod
    def _check_may_post(chat: dict, member: dict, bot: dict) -> None:
        status = member.get("status")
        is_admin = status in ("administrator", "creator")
        if chat.get("type") == "channel":
            may_post = is_admin and member.get("can_post_messages", True)
        else:
            may_post = is_admin or (
                status == "member" or (status == "restricted" and member.get("can_send_messages"))
            )
        if not may_post:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "@%(bot)s may not post in %(chat)s. Make it an administrator with the right "
                        "to post messages."
                    ),
                    bot=bot.get("username", ""),
                    chat=chat.get("title") or chat.get("id"),
                )
            )

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        return credentials  # bot tokens do not expire; a revoked one needs reconnecting

    # -- content ---------------------------------------------------------------------------------
    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        limit = CAPTION_LIMIT if request.media else MESSAGE_LIMIT
        used = utf16_length(request.text)
        if used > limit and len(request.text) <= limit:  # the base check counts code points
            problems.append(
                Text(
                    gettext_noop(
                        "The text is %(used)d characters long as Telegram counts them (most emoji "
                        "count twice); Telegram allows %(limit)d."
                    ),
                    used=used,
                    limit=limit,
                )
            )
        for number, text in enumerate(request.thread, start=2):
            if not text.strip():
                problems.append(
                    Text(gettext_noop("Part %(number)d of the thread is empty."), number=number)
                )
            elif (used := utf16_length(text)) > MESSAGE_LIMIT:
                problems.append(
                    Text(
                        gettext_noop(
                            "Part %(number)d of the thread is %(used)d characters long; Telegram "
                            "allows %(limit)d."
                        ),
                        number=number,
                        used=used,
                        limit=MESSAGE_LIMIT,
                    )
                )
        if (used := utf16_length(request.first_comment)) > MESSAGE_LIMIT:
            problems.append(
                Text(
                    gettext_noop(
                        "The first comment is %(used)d characters long; Telegram allows %(limit)d."
                    ),
                    used=used,
                    limit=MESSAGE_LIMIT,
                )
            )
        for item in request.media:
            if item.kind == "video" and item.size_bytes > MAX_UPLOAD_BYTES:
                problems.append(
                    Text(
                        gettext_noop(
                            "%(name)s is larger than the %(limit)d MB a Telegram bot can upload."
                        ),
                        name=item.filename,
                        limit=MAX_UPLOAD_BYTES // 1_000_000,
                    )
                )
        return problems

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        token = credentials.access_token
        chat_id = self._chat_id(account)
        texts = [request.text, *request.thread]
        comment_index = None
        if request.first_comment.strip():
            comment_index = len(texts)
            texts.append(request.first_comment)
        parts = list(request.done_parts)
        common: dict[str, Any] = {"chat_id": chat_id}
        if request.options.get("silent"):
            common["disable_notification"] = True
        if request.options.get("disable_link_preview"):
            common["link_preview_options"] = {"is_disabled": True}

        for index in range(len(parts), len(texts)):
            payload = dict(common)
            if index > 0:
                parent = parts[0 if index == comment_index else index - 1]
                payload["reply_parameters"] = {"message_id": _first_message_id(parent.remote_id)}
            if index == 0 and request.media:
                message_ids = self._send_media(token, payload, texts[0], request.media)
            else:
                message = self._call(
                    token, "sendMessage", payload={**payload, "text": texts[index]}
                )
                message_ids = [message["message_id"]]
            part = PublishedPart(
                ",".join(str(m) for m in message_ids), message_url(account.config, message_ids[0])
            )
            parts.append(part)
            if on_part:
                on_part(index, part)
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def _send_media(
        self, token: str, payload: dict[str, Any], caption: str, media: list[MediaItem]
    ) -> list[int]:
        payload.pop("link_preview_options", None)  # not a parameter of the media methods
        if len(media) == 1:
            item = media[0]
            field = "photo" if item.kind == "image" else "video"
            method = "sendPhoto" if item.kind == "image" else "sendVideo"
            if caption:
                payload["caption"] = caption
            message = self._call(token, method, payload=payload, files={field: _file(item)})
            return [message["message_id"]]
        album = []
        files = {}
        for n, item in enumerate(media):
            entry = {
                "type": "photo" if item.kind == "image" else "video",
                "media": f"attach://file{n}",
            }
            if n == 0 and caption:
                entry["caption"] = caption  # shown as the album's caption
            album.append(entry)
            files[f"file{n}"] = _file(item)
        messages = self._call(
            token, "sendMediaGroup", payload={**payload, "media": album}, files=files
        )
        return [m["message_id"] for m in messages]

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """Not possible with the Bot API (no history of a channel, no idempotency key)."""
        return None

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        """Deletes the message (all messages of an album). One already gone counts as deleted;
        Telegram refuses to delete some messages older than 48 hours (PermanentError)."""
        ids = [int(m) for m in remote_id.split(",") if m.strip().isdigit()]
        if not ids:
            raise PermanentError(
                Text(gettext_noop("This is not a Telegram message id: %(id)s"), id=remote_id[:100])
            )
        chat_id = self._chat_id(account)
        try:
            if len(ids) == 1:
                self._call(
                    credentials.access_token,
                    "deleteMessage",
                    payload={"chat_id": chat_id, "message_id": ids[0]},
                )
            else:
                self._call(
                    credentials.access_token,
                    "deleteMessages",
                    payload={"chat_id": chat_id, "message_ids": ids},
                )
        except PermanentError as exc:
            if "not found" not in exc.message:
                raise

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        return []  # the Bot API has no views or reactions per message

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Subscribers of the channel (members of a group), bots included, from
        getChatMemberCount."""
        count = self._call(
            credentials.access_token,
            "getChatMemberCount",
            payload={"chat_id": self._chat_id(account)},
        )
        return AccountMetrics(values=counts(followers=count), raw={"member_count": count})

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        raise PermanentError(
            Text(
                gettext_noop(
                    "Telegram bots cannot read a channel's earlier messages, so there is no history to import."
                )
            )
        )


def _first_message_id(remote_id: str) -> int:
    return int(remote_id.split(",")[0])


def _file(item: MediaItem) -> tuple[str, bytes, str]:
    with item.open() as fh:
        return (item.filename, fh.read(), item.mime_type)
