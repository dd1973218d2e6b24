"""Connecting with a secret (app password, bot token), the platform chooser, the channels page's
connect buttons, and the rules of channel_connect."""

from __future__ import annotations

import pytest
from django.test import override_settings

from calendar_app.models import Channel, ChannelState
from publishing import connections
from publishing.adapters.base import (
    Account,
    Capabilities,
    ConnectError,
    ConnectResult,
    Credentials,
    PlatformAdapter,
    TransientError,
)
from publishing.credentials import credentials_load, credentials_save
from tests.conftest import login
from tests.factories import ChannelFactory

BOT_TOKEN = "123456:AAH-very-secret-bot-token"


class FakeTelegramAdapter(PlatformAdapter):
    """Accepts BOT_TOKEN for chat @acme_news; anything else is refused like Telegram would."""

    key = "telegram"
    capabilities = Capabilities(auth="bot_token")
    seen: list[tuple[Account, str]] = []

    def connect_with_secret(self, *, account, secret):
        self.seen.append((account, secret))
        if secret == "flaky":
            raise TransientError("Telegram could not be reached.")
        if secret != BOT_TOKEN:
            raise ConnectError("Telegram did not accept this bot token.")
        return ConnectResult(
            account=Account(
                account_id="-100123",
                handle="@acme_news",
                name="Acme News",
                config={"chat_id": "-100123", "chat_username": "acme_news"},
            ),
            credentials=Credentials(access_token=secret),
        )


class FakeOAuthAdapter(PlatformAdapter):
    key = "x"
    capabilities = Capabilities(auth="oauth2")


ADAPTERS = {
    "telegram": {"BACKEND": "tests.publishing.test_connections.FakeTelegramAdapter", "OPTIONS": {}},
    "x": {
        "BACKEND": "tests.publishing.test_connections.FakeOAuthAdapter",
        "OPTIONS": {"client_id": ""},
    },
    "wordpress": {"BACKEND": "publishing.adapters.nowhere.Missing", "OPTIONS": {}},
}
CONNECT = "/w/acme/settings/channels/connect/telegram/"


@pytest.fixture(autouse=True)
def adapters():
    FakeTelegramAdapter.seen = []
    with override_settings(PUBLISHING_ADAPTERS=ADAPTERS, CREDENTIALS_KEYS=[]):
        yield


def test_given_manager_when_connecting_telegram_then_channel_and_encrypted_token(client, manager):
    login(client, manager)

    response = client.post(CONNECT, {"chat_id": "@acme_news", "bot_token": BOT_TOKEN})

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/channels/"
    channel = Channel.objects.get(platform="telegram")
    assert (channel.name, channel.handle, channel.account_id) == (
        "Acme News",
        "@acme_news",
        "-100123",
    )
    assert channel.config["chat_id"] == "-100123"
    assert credentials_load(channel).access_token == BOT_TOKEN
    account, _secret = FakeTelegramAdapter.seen[0]
    assert account.config == {"chat_id": "@acme_news"}
    page = client.get("/w/acme/settings/channels/").content.decode()
    assert "Acme News (@acme_news) is connected." in page
    assert BOT_TOKEN not in page


def test_given_wrong_token_when_connecting_then_message_no_channel_and_secret_not_rerendered(
    client, manager
):
    login(client, manager)

    response = client.post(CONNECT, {"chat_id": "@acme_news", "bot_token": "wrong-secret-xyz"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Telegram did not accept this bot token." in page
    assert "wrong-secret-xyz" not in page
    assert 'value="@acme_news"' in page  # the non-secret input is kept
    assert not Channel.objects.filter(platform="telegram").exists()


def test_given_platform_unreachable_when_connecting_then_message_and_nothing_created(
    client, manager
):
    login(client, manager)

    response = client.post(CONNECT, {"chat_id": "@acme_news", "bot_token": "flaky"})

    assert "Telegram could not be reached." in response.content.decode()
    assert not Channel.objects.filter(platform="telegram").exists()


def test_given_missing_fields_when_connecting_then_form_errors_and_adapter_not_called(
    client, manager
):
    login(client, manager)

    response = client.post(CONNECT, {"chat_id": "", "bot_token": ""})

    assert response.status_code == 400
    assert FakeTelegramAdapter.seen == []


def test_given_same_account_connected_again_when_connecting_then_one_channel_updated(
    workspace, manager
):
    first = connections.connection_connect_with_secret(
        membership=manager, platform="telegram", secret=BOT_TOKEN, config={"chat_id": "@a"}
    )
    Channel.objects.filter(pk=first.pk).update(state=ChannelState.NEEDS_RECONNECT, name="Mine")

    again = connections.connection_connect_with_secret(
        membership=manager, platform="telegram", secret=BOT_TOKEN, config={"chat_id": "@a"}
    )

    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.state, again.name) == (ChannelState.CONNECTED, "Mine")
    assert again.credentials.version == 2


def test_given_paused_channel_when_reconnected_then_stays_paused(workspace, manager):
    channel = ChannelFactory(
        workspace=workspace,
        platform="telegram",
        account_id="-100123",
        state=ChannelState.PAUSED,
        state_before_pause=ChannelState.NEEDS_RECONNECT,
    )

    connections.connection_connect_with_secret(
        membership=manager,
        platform="telegram",
        secret=BOT_TOKEN,
        config={"chat_id": "@a"},
        channel_id=channel.pk,
    )

    channel.refresh_from_db()
    assert channel.state == ChannelState.PAUSED
    assert channel.state_before_pause == ChannelState.CONNECTED  # resuming finds it working


def test_given_hand_made_channel_when_connected_through_it_then_adopts_the_account(
    workspace, manager
):
    channel = ChannelFactory(workspace=workspace, platform="telegram", name="News", account_id="")

    connections.connection_connect_with_secret(
        membership=manager,
        platform="telegram",
        secret=BOT_TOKEN,
        config={"chat_id": "@a"},
        channel_id=channel.pk,
    )

    channel.refresh_from_db()
    assert (channel.account_id, channel.name) == ("-100123", "News")


def test_given_account_already_another_channel_when_connecting_through_a_third_then_refused(
    workspace, manager
):
    ChannelFactory(workspace=workspace, platform="telegram", account_id="-100123")
    spare = ChannelFactory(workspace=workspace, platform="telegram", account_id="")

    with pytest.raises(ConnectError, match="already connected as another channel"):
        connections.connection_connect_with_secret(
            membership=manager,
            platform="telegram",
            secret=BOT_TOKEN,
            config={"chat_id": "@a"},
            channel_id=spare.pk,
        )


def test_given_stored_refresh_token_when_connect_result_lacks_one_then_kept(workspace, manager):
    channel = ChannelFactory(workspace=workspace, platform="telegram", account_id="-100123")
    credentials_save(channel=channel, credentials=Credentials("old", "refresh-1"))

    connections.channel_connect(
        membership=manager,
        platform="telegram",
        result=ConnectResult(Account(account_id="-100123"), Credentials("new")),
    )

    stored = credentials_load(channel)
    assert (stored.access_token, stored.refresh_token) == ("new", "refresh-1")


def test_given_oauth_platform_when_connecting_with_secret_then_refused(manager):
    with pytest.raises(ConnectError, match="connected by signing in"):
        connections.connection_connect_with_secret(
            membership=manager, platform="x", secret="whatever"
        )


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_given_editor_or_viewer_when_connecting_then_403_and_adapter_not_called(
    client, members, role
):
    membership = next(m for r, m in members.items() if r.value == role)
    login(client, membership)

    for response in (
        client.get("/w/acme/settings/channels/connect/"),
        client.post(CONNECT, {"chat_id": "@acme_news", "bot_token": BOT_TOKEN}),
    ):
        assert response.status_code == 403
        assert "Only managers and owners may manage channels." in response.content.decode()
    assert FakeTelegramAdapter.seen == []
    assert not Channel.objects.filter(platform="telegram").exists()


def test_given_other_workspace_channel_when_reconnecting_then_404(client, manager, other_workspace):
    foreign = other_workspace.channels.get()
    login(client, manager)

    response = client.post(
        CONNECT, {"chat_id": "@a", "bot_token": BOT_TOKEN, "channel": str(foreign.pk)}
    )

    assert response.status_code == 404
    assert FakeTelegramAdapter.seen == []


def test_given_chooser_when_rendered_then_unconfigured_platforms_explained(client, manager):
    login(client, manager)

    page = client.get("/w/acme/settings/channels/connect/").content.decode()

    assert 'data-testid="connect-telegram"' in page
    assert 'data-testid="unavailable-x"' in page  # OAuth without a developer app
    assert "X_CLIENT_ID" in page
    assert 'data-testid="unavailable-wordpress"' in page  # adapter cannot be loaded
    assert 'data-testid="connect-manual"' in page


def test_given_channels_page_when_manager_then_connect_and_reconnect_buttons(
    client, manager, workspace
):
    broken = ChannelFactory(
        workspace=workspace,
        platform="telegram",
        account_id="-1",
        state=ChannelState.NEEDS_RECONNECT,
    )
    login(client, manager)

    page = client.get("/w/acme/settings/channels/").content.decode()

    assert 'href="/w/acme/settings/channels/connect/"' in page
    assert f'href="/w/acme/settings/channels/connect/telegram/?channel={broken.pk}"' in page


def test_given_channels_page_when_viewer_then_no_connect_buttons(client, viewer, workspace):
    ChannelFactory(workspace=workspace, platform="telegram", state=ChannelState.NEEDS_RECONNECT)
    login(client, viewer)

    page = client.get("/w/acme/settings/channels/").content.decode()

    assert "/settings/channels/connect/" not in page
