"""Telegram numbers: the Bot API gives a channel's subscriber count and nothing per message or
from its history; against responses shaped like the Bot API (the `responses` library)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses

from publishing.adapters.base import (
    Account,
    AuthExpired,
    Credentials,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishing.adapters.telegram import TelegramAdapter

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
        config={"chat_id": CHAT, "chat_username": "acme_news", "chat_type": "channel"},
    )


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def url(method: str) -> str:
    return f"{API}/bot{TOKEN}/{method}"


def test_given_a_channel_when_fetching_account_metrics_then_subscribers(
    adapter, api, account, creds
):
    api.post(url("getChatMemberCount"), json={"ok": True, "result": 1523})

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 1523}
    assert json.loads(api.calls[0].request.body) == {"chat_id": CHAT}


@pytest.mark.parametrize(
    ("status_code", "body", "expected"),
    [
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, AuthExpired),
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
            RateLimited,
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, TransientError),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked"},
            PermanentError,
        ),
    ],
)
def test_given_an_error_when_fetching_account_metrics_then_mapped_and_no_token_in_it(
    adapter, api, account, creds, status_code, body, expected
):
    api.post(url("getChatMemberCount"), status=status_code, json=body)

    with pytest.raises(expected) as info:
        adapter.fetch_account_metrics(account=account, credentials=creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    assert "AAHsecretBotToken" not in error.detail
    if expected is RateLimited:
        assert error.retry_after == 7


def test_given_the_bot_api_when_listing_history_then_permanent_with_the_reason_and_no_call(
    adapter, api, account, creds
):
    with pytest.raises(PermanentError, match="cannot read a channel's earlier messages"):
        adapter.list_recent_posts(
            account=account, credentials=creds, since=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        )

    assert len(api.calls) == 0


def test_given_the_capabilities_then_only_subscribers_are_declared():
    capabilities = TelegramAdapter.capabilities
    assert capabilities.metrics == frozenset()
    assert capabilities.account_metrics == frozenset({"followers"})
    assert capabilities.lists_recent_posts is False
