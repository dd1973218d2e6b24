"""The OAuth connect flow end to end: our views, the real MastodonAdapter, and the local fake
Mastodon server as the authorisation server (app registration, consent, PKCE, token)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from django.db import connection
from django.test import override_settings

from calendar_app.models import Channel, ChannelState
from publishing.adapters.base import Credentials
from publishing.credentials import credentials_load, credentials_save, encrypt
from publishing.models import OAuthAppRegistration
from tests.conftest import login
from tests.factories import ChannelFactory
from tests.fakes.mastodon import FakeMastodon

pytestmark = pytest.mark.usefixtures("allow_local_servers")
CONNECT = "/w/acme/settings/channels/connect/mastodon/"


@pytest.fixture
def allow_local_servers():
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True, CREDENTIALS_KEYS=[]):
        yield


@pytest.fixture
def fake_mastodon():
    with FakeMastodon() as server:
        yield server


def start(client, fake, **extra):
    """POST the instance form; returns the authorize URL we were sent to."""
    response = client.post(CONNECT, {"instance_url": fake.url, **extra})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def consent(authorize_url: str) -> tuple[str, dict]:
    """The user agrees on the fake server: returns (callback path, query) it redirects to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    return location.path, {k: v[0] for k, v in parse_qs(location.query).items()}


def raw_credentials_column() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM publishing_channelcredentials")
        return " ".join(row[0] for row in cursor.fetchall())


def test_given_manager_when_connecting_mastodon_then_channel_connected_and_tokens_encrypted(
    client, manager, fake_mastodon
):
    login(client, manager)

    authorize_url = start(client, fake_mastodon)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{fake_mastodon.url}/oauth/authorize?")
    # The token must read the account (verify_credentials) as well as post: a real instance
    # answers 403 to verify_credentials without read:accounts (or profile, or read).
    assert query["scope"] == ["read:accounts read:statuses write:statuses write:media"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://testserver/connect/callback/"]
    sealed = client.session["publishing.connect"]
    path, params = consent(authorize_url)
    response = client.get(path, params)

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/channels/"
    channel = Channel.objects.get(workspace=manager.workspace, platform="mastodon")
    assert channel.account_id == fake_mastodon.account["id"]
    assert channel.handle == f"@acme@{fake_mastodon.url.split('://')[1]}"
    assert channel.name == "Acme Corp"
    assert channel.state == ChannelState.CONNECTED
    assert channel.config["instance_url"] == fake_mastodon.url
    assert channel.config["avatar_url"] == fake_mastodon.account["avatar"]
    assert channel.config["max_characters"] == 500
    token = credentials_load(channel).access_token
    assert token in fake_mastodon.tokens
    assert token not in raw_credentials_column()
    assert token not in str(channel.config)
    # PKCE: the fake server checked the verifier against the challenge.
    exchange = fake_mastodon.requests_to("POST", "/oauth/token")[0]
    assert exchange.form["grant_type"] == ["authorization_code"]
    verifier = exchange.form["code_verifier"][0]
    assert len(verifier) >= 43
    assert verifier not in sealed  # the session keeps the pending sign-in encrypted
    assert params["state"] not in sealed
    page = client.get("/w/acme/settings/channels/")
    assert token not in page.content.decode()
    assert "is connected" in page.content.decode()


def test_given_state_mismatch_when_callback_then_refused_and_code_not_exchanged(
    client, manager, fake_mastodon
):
    login(client, manager)
    path, params = consent(start(client, fake_mastodon))

    response = client.get(path, {**params, "state": params["state"] + "x"}, follow=True)

    assert "does not belong to this sign-in" in response.content.decode()
    assert fake_mastodon.requests_to("POST", "/oauth/token") == []
    assert not Channel.objects.filter(platform="mastodon").exists()


def test_given_callback_replayed_when_called_twice_then_second_refused(
    client, manager, fake_mastodon
):
    login(client, manager)
    path, params = consent(start(client, fake_mastodon))
    client.get(path, params)

    response = client.get(path, params, follow=True)

    assert "No connection was started from this browser" in response.content.decode()
    assert len(fake_mastodon.requests_to("POST", "/oauth/token")) == 1


def test_given_sign_in_too_slow_when_callback_then_refused(client, manager, fake_mastodon):
    login(client, manager)
    path, params = consent(start(client, fake_mastodon))

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)):
        response = client.get(path, params, follow=True)

    assert "took too long" in response.content.decode()
    assert not Channel.objects.filter(platform="mastodon").exists()


def test_given_user_denies_when_callback_then_nothing_connected(client, manager, fake_mastodon):
    login(client, manager)
    path, params = consent(start(client, fake_mastodon))

    response = client.get(path, {"error": "access_denied", "state": params["state"]}, follow=True)

    assert "did not grant access" in response.content.decode()
    assert not Channel.objects.filter(platform="mastodon").exists()


def test_given_second_connection_when_starting_then_app_registered_only_once(
    client, manager, fake_mastodon
):
    login(client, manager)
    start(client, fake_mastodon)
    start(client, fake_mastodon)

    assert len(fake_mastodon.requests_to("POST", "/api/v1/apps")) == 1
    registration = OAuthAppRegistration.objects.get()
    assert registration.client_secret_ciphertext not in {
        app["client_secret"] for app in fake_mastodon.apps.values()
    }


def test_given_channel_needing_reconnect_when_reconnected_then_same_channel_and_refresh_kept(
    client, manager, fake_mastodon
):
    channel = ChannelFactory(
        workspace=manager.workspace,
        platform="mastodon",
        name="Our Mastodon",
        account_id=fake_mastodon.account["id"],
        state=ChannelState.NEEDS_RECONNECT,
    )
    credentials_save(channel=channel, credentials=Credentials("old-access", "kept-refresh"))
    login(client, manager)

    path, params = consent(start(client, fake_mastodon, channel=channel.pk))
    client.get(path, params)

    channel.refresh_from_db()
    assert channel.state == ChannelState.CONNECTED
    assert channel.name == "Our Mastodon"  # the team's own name survives
    stored = credentials_load(channel)
    assert stored.access_token != "old-access"
    assert stored.refresh_token == "kept-refresh"
    assert Channel.objects.filter(platform="mastodon").count() == 1


def test_given_other_account_when_reconnecting_channel_then_refused(client, manager, fake_mastodon):
    channel = ChannelFactory(
        workspace=manager.workspace, platform="mastodon", account_id="someone-else"
    )
    login(client, manager)

    path, params = consent(start(client, fake_mastodon, channel=channel.pk))
    response = client.get(path, params, follow=True)

    assert "belongs to another account" in response.content.decode()
    channel.refresh_from_db()
    assert channel.account_id == "someone-else"
    assert not hasattr(channel, "credentials") or channel.credentials is None


def test_given_token_endpoint_fails_when_callback_then_message_and_nothing_created(
    client, manager, fake_mastodon
):
    login(client, manager)
    path, params = consent(start(client, fake_mastodon))
    fake_mastodon.fail_next("POST", "/oauth/token", status=503)

    response = client.get(path, params, follow=True)

    assert "temporary problem" in response.content.decode()
    assert not Channel.objects.filter(platform="mastodon").exists()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_given_editor_or_viewer_when_starting_then_403_and_nothing_registered(
    client, members, fake_mastodon, role
):
    membership = next(m for r, m in members.items() if r.value == role)
    login(client, membership)

    response = client.post(CONNECT, {"instance_url": fake_mastodon.url})

    assert response.status_code == 403
    assert fake_mastodon.requests == []


def test_given_other_workspace_when_connecting_then_404(client, manager, other_workspace):
    login(client, manager)

    assert client.get("/w/other/settings/channels/connect/mastodon/").status_code == 404
    assert client.get("/w/other/settings/channels/connect/").status_code == 404


def test_given_manager_demoted_during_sign_in_when_callback_then_refused(
    client, manager, fake_mastodon
):
    login(client, manager)
    path, params = consent(start(client, fake_mastodon))
    manager.role = "editor"
    manager.save()

    response = client.get(path, params, follow=True)

    assert "Only managers and owners may manage channels." in response.content.decode()
    assert not Channel.objects.filter(platform="mastodon").exists()


@override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=False)
def test_given_private_instance_url_when_starting_then_form_error(client, manager):
    login(client, manager)

    response = client.post(CONNECT, {"instance_url": "https://127.0.0.1"})

    assert response.status_code == 400
    assert "not on the public internet" in response.content.decode()


def test_given_app_registered_for_older_scopes_when_connecting_then_registered_again_and_connected(
    client, manager, fake_mastodon
):
    """An app registered before read:accounts was asked for: a real instance refuses to
    authorize scopes its app lacks (invalid_scope), so the app is registered again."""
    old = requests.post(
        f"{fake_mastodon.url}/api/v1/apps",
        data={
            "client_name": "Content Calendar",
            "redirect_uris": "http://testserver/connect/callback/",
            "scopes": "read:statuses write:statuses write:media",
        },
        timeout=5,
    ).json()
    OAuthAppRegistration.objects.create(
        platform="mastodon",
        instance=fake_mastodon.url,
        redirect_uri="http://testserver/connect/callback/",
        client_id=old["client_id"],
        client_secret_ciphertext=encrypt(old["client_secret"]),
    )
    login(client, manager)

    authorize_url = start(client, fake_mastodon)
    path, params = consent(authorize_url)
    response = client.get(path, params)

    assert parse_qs(urlsplit(authorize_url).query)["client_id"] != [old["client_id"]]
    assert response.status_code == 302
    channel = Channel.objects.get(workspace=manager.workspace, platform="mastodon")
    assert channel.state == ChannelState.CONNECTED
    registration = OAuthAppRegistration.objects.get()
    assert registration.scopes == "read:accounts read:statuses write:statuses write:media"


def test_given_instance_granting_only_the_old_scopes_when_connecting_then_the_refusal_is_explained(
    client, manager, fake_mastodon, monkeypatch
):
    """What users saw before: without read:accounts the instance answers 403 to
    verify_credentials. The fake enforces it, so this stays a tested path, not a guess."""
    monkeypatch.setattr(
        "publishing.adapters.mastodon.SCOPES", "read:statuses write:statuses write:media"
    )
    login(client, manager)

    path, params = consent(start(client, fake_mastodon))
    response = client.get(path, params, follow=True)

    page = response.content.decode()
    assert "outside the authorized scopes" in page
    assert not Channel.objects.filter(state=ChannelState.CONNECTED, platform="mastodon").exists()
