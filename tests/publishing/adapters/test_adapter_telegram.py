"""The Telegram adapter against responses shaped like the Bot API (`responses`)."""

from __future__ import annotations

import io
import json

import pytest
import requests
import responses

from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
    RateLimited,
    TransientError,
)
from publishing.adapters.telegram import TelegramAdapter, message_url, normalize_chat_id

API = "https://telegram.test"
TOKEN = "123456789:AAHsecretBotToken_abcdefghijklmnop"
CHAT = "-1001234567890"


@pytest.fixture
def adapter():
    return TelegramAdapter(base_url=API)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(
        account_id=CHAT,
        handle="@acme_news",
        name="Acme News",
        config={"chat_id": CHAT, "chat_username": "acme_news", "chat_type": "channel"},
    )


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def method(name: str) -> str:
    return f"{API}/bot{TOKEN}/{name}"


def ok(result) -> dict:
    return {"ok": True, "result": result}


def failed(code: int, description: str, **parameters) -> dict:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def message(message_id: int) -> dict:
    return {"message_id": message_id, "chat": {"id": int(CHAT), "type": "channel"}, "date": 0}


def media(kind="image", mime="image/jpeg", data=b"jpeg-bytes", name="a.jpg"):
    return MediaItem(
        kind=kind,
        mime_type=mime,
        filename=name,
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
    )


def sent(api, name: str) -> list:
    return [c.request for c in api.calls if c.request.url == method(name)]


def no_token_in(error: Exception) -> bool:
    text = str(error) + getattr(error, "detail", "") + repr(error.args)
    return TOKEN not in text and "AAHsecretBotToken" not in text


# --- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entered", "chat_id"),
    [
        ("@acme_news", "@acme_news"),
        ("acme_news", "@acme_news"),
        ("https://t.me/acme_news", "@acme_news"),
        ("t.me/acme_news/", "@acme_news"),
        (" -1001234567890 ", "-1001234567890"),
        ("not a channel!", ""),
    ],
)
def test_given_entered_channel_when_normalizing_then_chat_id(entered, chat_id):
    assert normalize_chat_id(entered) == chat_id


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ({"chat_username": "acme_news", "chat_id": CHAT}, "https://t.me/acme_news/7"),
        ({"chat_username": "", "chat_id": CHAT}, "https://t.me/c/1234567890/7"),
        ({"chat_id": "-4711"}, ""),  # basic group: no message links
    ],
)
def test_given_chat_when_building_message_url_then_public_or_private_link(config, url):
    assert message_url(config, 7) == url


# --- connecting ------------------------------------------------------------------------------


def test_given_token_and_channel_where_bot_is_admin_when_connecting_then_account_filled(
    adapter, api
):
    api.post(method("getMe"), json=ok({"id": 99, "is_bot": True, "username": "acme_bot"}))
    api.post(
        method("getChat"),
        json=ok(
            {"id": int(CHAT), "type": "channel", "title": "Acme News", "username": "acme_news"}
        ),
    )
    api.post(
        method("getChatMember"),
        json=ok({"status": "administrator", "can_post_messages": True, "user": {"id": 99}}),
    )

    result = adapter.connect_with_secret(
        account=Account(config={"chat_id": "https://t.me/acme_news"}), secret=f" {TOKEN} "
    )

    assert json.loads(sent(api, "getChat")[0].body) == {"chat_id": "@acme_news"}
    assert json.loads(sent(api, "getChatMember")[0].body) == {"chat_id": int(CHAT), "user_id": 99}
    assert result.account == Account(
        account_id=CHAT,
        handle="@acme_news",
        name="Acme News",
        avatar_url="",
        config={
            "chat_id": CHAT,
            "chat_username": "acme_news",
            "chat_type": "channel",
            "bot_id": 99,
            "bot_username": "acme_bot",
        },
    )
    assert result.credentials.access_token == TOKEN
    assert TOKEN not in repr(result)


@pytest.mark.parametrize(
    "member",
    [
        {"status": "member"},
        {"status": "administrator", "can_post_messages": False},
        {"status": "left"},
    ],
)
def test_given_bot_without_post_right_in_channel_when_connecting_then_refused(adapter, api, member):
    api.post(method("getMe"), json=ok({"id": 99, "username": "acme_bot"}))
    api.post(method("getChat"), json=ok({"id": int(CHAT), "type": "channel", "title": "Acme"}))
    api.post(method("getChatMember"), json=ok(member))

    with pytest.raises(ConnectError, match="Make it an administrator"):
        adapter.connect_with_secret(account=Account(config={"chat_id": CHAT}), secret=TOKEN)


def test_given_wrong_token_when_connecting_then_connect_error_without_token(adapter, api):
    api.post(method("getMe"), status=401, json=failed(401, "Unauthorized"))

    with pytest.raises(ConnectError, match="did not accept this bot token") as caught:
        adapter.connect_with_secret(account=Account(config={"chat_id": "@acme_news"}), secret=TOKEN)

    assert no_token_in(caught.value)


def test_given_chat_the_bot_cannot_see_when_connecting_then_hint_to_add_bot(adapter, api):
    api.post(method("getMe"), json=ok({"id": 99, "username": "acme_bot"}))
    api.post(method("getChat"), status=400, json=failed(400, "Bad Request: chat not found"))

    with pytest.raises(ConnectError, match="Add @acme_bot to the channel") as caught:
        adapter.connect_with_secret(account=Account(config={"chat_id": "@acme_news"}), secret=TOKEN)

    assert no_token_in(caught.value)


def test_given_missing_channel_when_connecting_then_asked_for_it(adapter):
    with pytest.raises(ConnectError, match="bot token and the channel"):
        adapter.connect_with_secret(account=Account(config={}), secret=TOKEN)


def test_given_credentials_when_refreshing_then_unchanged(adapter, account, creds):
    assert adapter.refresh(account=account, credentials=creds) is creds


# --- publishing ------------------------------------------------------------------------------


def test_given_text_when_publishing_then_send_message_and_public_url(adapter, api, account, creds):
    api.post(method("sendMessage"), json=ok(message(41)))
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Hallo <b>Welt</b> & https://example.com",
            idempotency_key="k",
            options={"silent": True},
        ),
        on_part=lambda index, part: seen.append((index, part.remote_id)),
    )

    assert json.loads(sent(api, "sendMessage")[0].body) == {
        "chat_id": CHAT,
        "text": "Hallo <b>Welt</b> & https://example.com",  # plain text: no parse_mode
        "disable_notification": True,
    }
    assert (result.remote_id, result.url) == ("41", "https://t.me/acme_news/41")
    assert seen == [(0, "41")]


def test_given_one_photo_when_publishing_then_send_photo_with_caption(adapter, api, account, creds):
    api.post(method("sendPhoto"), json=ok(message(42)))

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Bildunterschrift", idempotency_key="k", media=[media()]),
    )

    body = sent(api, "sendPhoto")[0].body
    assert b'name="photo"; filename="a.jpg"' in body
    assert b"jpeg-bytes" in body
    assert b'name="caption"\r\n\r\nBildunterschrift' in body
    assert b'name="chat_id"\r\n\r\n' + CHAT.encode() in body
    assert result.remote_id == "42"


def test_given_one_video_when_publishing_then_send_video(adapter, api, account, creds):
    api.post(method("sendVideo"), json=ok(message(43)))

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="", idempotency_key="k", media=[media("video", "video/mp4", name="v.mp4")]
        ),
    )

    body = sent(api, "sendVideo")[0].body
    assert b'name="video"; filename="v.mp4"' in body
    assert b'name="caption"' not in body


def test_given_three_photos_when_publishing_then_media_group_with_caption_on_first(
    adapter, api, account, creds
):
    api.post(method("sendMediaGroup"), json=ok([message(50), message(51), message(52)]))

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Album", idempotency_key="k", media=[media(name=f"{n}.jpg") for n in range(3)]
        ),
    )

    body = sent(api, "sendMediaGroup")[0].body.decode("latin-1")
    album = json.loads(body.split('name="media"\r\n\r\n')[1].split("\r\n--")[0])
    assert album == [
        {"type": "photo", "media": "attach://file0", "caption": "Album"},
        {"type": "photo", "media": "attach://file1"},
        {"type": "photo", "media": "attach://file2"},
    ]
    assert all(f'name="file{n}"; filename="{n}.jpg"' in body for n in range(3))
    assert result.remote_id == "50,51,52"
    assert result.url == "https://t.me/acme_news/50"


def test_given_thread_and_first_comment_when_publishing_then_replies(adapter, api, account, creds):
    for message_id in (60, 61, 62, 63):
        api.post(method("sendMessage"), json=ok(message(message_id)))

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Teil 1",
            thread=["Teil 2", "Teil 3"],
            first_comment="Kommentar",
            idempotency_key="k",
        ),
    )

    bodies = [json.loads(r.body) for r in sent(api, "sendMessage")]
    assert [b["text"] for b in bodies] == ["Teil 1", "Teil 2", "Teil 3", "Kommentar"]
    assert "reply_parameters" not in bodies[0]
    assert [b["reply_parameters"]["message_id"] for b in bodies[1:]] == [60, 61, 60]
    assert [p.remote_id for p in result.parts] == ["60", "61", "62", "63"]


def test_given_done_album_when_resuming_then_only_the_comment_is_sent(adapter, api, account, creds):
    api.post(method("sendMessage"), json=ok(message(70)))

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Album",
            first_comment="Kommentar",
            media=[media(), media()],
            idempotency_key="k",
            done_parts=[PublishedPart("50,51", "https://t.me/acme_news/50")],
        ),
    )

    assert len(api.calls) == 1
    assert json.loads(api.calls[0].request.body)["reply_parameters"] == {"message_id": 50}
    assert [p.remote_id for p in result.parts] == ["50,51", "70"]
    assert result.remote_id == "50,51"


def test_given_rate_limited_when_publishing_then_retry_after_from_parameters(
    adapter, api, account, creds
):
    api.post(
        method("sendMessage"),
        status=429,
        json=failed(429, "Too Many Requests: retry after 17", retry_after=17),
    )

    with pytest.raises(RateLimited) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="x", idempotency_key="k"),
        )

    assert caught.value.retry_after == 17
    assert no_token_in(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "error_type", "message_part"),
    [
        (404, failed(404, "Not Found"), AuthExpired, "rejected the bot token"),
        (
            403,
            failed(403, "Forbidden: bot is not a member of the channel chat"),
            PermanentError,
            "bot is not a member",
        ),
        (
            400,
            failed(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-100999),
            PermanentError,
            "upgraded to a supergroup",
        ),
        (400, failed(400, "Bad Request: message is too long"), PermanentError, "too long"),
        (502, {}, TransientError, "temporary problem (HTTP 502)"),
    ],
)
def test_given_api_error_when_publishing_then_mapped_without_token(
    adapter, api, account, creds, status, body, error_type, message_part
):
    api.post(method("sendMessage"), status=status, json=body)

    with pytest.raises(error_type) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="x", idempotency_key="k"),
        )

    assert type(caught.value) is error_type
    assert message_part in caught.value.message
    assert no_token_in(caught.value)
    assert "bot***" in caught.value.detail  # the path is kept, the token is not


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError(f"Max retries exceeded with url: /bot{TOKEN}/sendMessage"),
        requests.ReadTimeout(f"/bot{TOKEN}/sendMessage"),
    ],
)
def test_given_network_failure_when_publishing_then_transient_without_token(
    adapter, api, account, creds, exc
):
    api.post(method("sendMessage"), body=exc)

    with pytest.raises(TransientError) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="x", idempotency_key="k"),
        )

    assert no_token_in(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# --- reconciling, deleting, metrics ----------------------------------------------------------


def test_given_any_request_when_finding_existing_then_none_without_calls(
    adapter, api, account, creds
):
    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="x", idempotency_key="k"),
        )
        is None
    )
    assert adapter.capabilities.idempotency_key is False
    assert len(api.calls) == 0


def test_given_message_when_deleting_then_delete_message(adapter, api, account, creds):
    api.post(method("deleteMessage"), json=ok(True))

    adapter.delete(account=account, credentials=creds, remote_id="41")

    assert json.loads(api.calls[0].request.body) == {"chat_id": CHAT, "message_id": 41}


def test_given_album_when_deleting_then_delete_messages(adapter, api, account, creds):
    api.post(method("deleteMessages"), json=ok(True))

    adapter.delete(account=account, credentials=creds, remote_id="50,51,52")

    assert json.loads(api.calls[0].request.body) == {"chat_id": CHAT, "message_ids": [50, 51, 52]}


def test_given_message_already_gone_when_deleting_then_fine(adapter, api, account, creds):
    api.post(
        method("deleteMessage"),
        status=400,
        json=failed(400, "Bad Request: message to delete not found"),
    )

    adapter.delete(account=account, credentials=creds, remote_id="41")


def test_given_old_message_when_deleting_then_permanent(adapter, api, account, creds):
    api.post(
        method("deleteMessage"),
        status=400,
        json=failed(400, "Bad Request: message can't be deleted"),
    )

    with pytest.raises(PermanentError, match="can't be deleted"):
        adapter.delete(account=account, credentials=creds, remote_id="41")


def test_given_posts_when_fetching_metrics_then_none_and_declared_empty(
    adapter, api, account, creds
):
    assert adapter.capabilities.metrics == frozenset()
    assert adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["41"]) == []
    assert len(api.calls) == 0


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_kwargs", "problem"),
    [
        ({"text": "x" * 4096}, None),
        ({"text": "x" * 4097}, "4097 characters long; Telegram allows 4096"),
        ({"text": "😀" * 2049}, "4098 characters long as Telegram counts them"),
        ({"text": "x" * 1025, "media": [media()]}, "1025 characters long; Telegram allows 1024"),
        ({"text": "ok", "thread": ["y" * 4097]}, "Part 2 of the thread is 4097 characters long"),
        ({"text": "ok", "thread": [""]}, "Part 2 of the thread is empty"),
        ({"text": "ok", "first_comment": "z" * 4097}, "first comment is 4097 characters long"),
        ({"text": "ok", "media": [media() for _ in range(11)]}, "at most 10"),
        (
            {"text": "ok", "media": [media("video", "video/mp4", data=b"v" * 50_000_001)]},
            "larger than the 50 MB a Telegram bot can upload",
        ),
    ],
)
def test_given_variant_when_validating_then_problems_listed(adapter, request_kwargs, problem):
    problems = adapter.validate(PublishRequest(idempotency_key="k", **request_kwargs))

    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_given_settings_when_getting_adapter_then_telegram_with_overridable_base_url(settings):
    from publishing.adapters.registry import get_adapter

    settings.PUBLISHING_ADAPTERS = {
        "telegram": {
            "BACKEND": "publishing.adapters.telegram.TelegramAdapter",
            "OPTIONS": {"base_url": "", "client_id": "", "client_secret": ""},
        }
    }
    assert get_adapter("telegram").base_url == "https://api.telegram.org"

    settings.PUBLISHING_ADAPTERS = {
        "telegram": {
            "BACKEND": "publishing.adapters.telegram.TelegramAdapter",
            "OPTIONS": {"base_url": API + "/"},
        }
    }
    adapter = get_adapter("telegram")

    assert isinstance(adapter, TelegramAdapter)
    assert adapter.base_url == API
