"""The X adapter with OAuth 1.0a user context (OPTIONS auth="oauth1"): request token, authorize,
access token, every API call signed with HMAC-SHA1, no refresh; plus the connect flow through
our views. X is played by `responses`."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings
from oauthlib.oauth1 import Client

from calendar_app.models import Channel, ChannelState
from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    MediaItem,
    PublishRequest,
)
from publishing.adapters.x import XAdapter
from publishing.connections import pending_open
from publishing.credentials import credentials_load
from tests.conftest import login

API = "https://api.x.test"
AUTHORIZE = "https://api.x.test/oauth/authorize"
CONSUMER_KEY = "consumer-key-abc"
CONSUMER_SECRET = "consumer-secret-def"
REQUEST_TOKEN = "request-token-111"
REQUEST_SECRET = "request-secret-222"
TOKEN = "42-access-token-333"
TOKEN_SECRET = "access-token-secret-444"
CALLBACK = "http://testserver/connect/callback/"
OPTIONS = {
    "base_url": API,
    "auth": "oauth1",
    "consumer_key": CONSUMER_KEY,
    "consumer_secret": CONSUMER_SECRET,
    "oauth1_authorize_url": AUTHORIZE,
}


@pytest.fixture
def adapter():
    adapter = XAdapter(**OPTIONS)
    adapter.poll_interval = 0
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="42", handle="acme", config={"username": "acme"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN, extra={"token_secret": TOKEN_SECRET, "auth": "oauth1"})


def authorization(request) -> str:
    header = request.headers["Authorization"]  # requests-oauthlib leaves it bytes at times
    return header.decode() if isinstance(header, bytes) else header


def oauth_params(request) -> dict[str, str]:
    header = authorization(request)
    assert header.startswith("OAuth ")
    return {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}


def assert_signed(request, *, token: str = TOKEN, secret: str = TOKEN_SECRET, **client) -> None:
    """The request carries a valid HMAC-SHA1 signature made with the consumer secret and the
    token secret (we sign it again with the same nonce and timestamp and compare)."""
    params = oauth_params(request)
    assert "Bearer" not in authorization(request)
    assert params["oauth_consumer_key"] == CONSUMER_KEY
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    form = request.headers.get("Content-Type", "") == "application/x-www-form-urlencoded"
    _uri, headers, _body = Client(
        CONSUMER_KEY,
        client_secret=CONSUMER_SECRET,
        resource_owner_key=token or None,
        resource_owner_secret=secret or None,
        nonce=params["oauth_nonce"],
        timestamp=params["oauth_timestamp"],
        **client,
    ).sign(
        request.url,
        request.method,
        body=request.body if form else None,
        headers={"Content-Type": request.headers["Content-Type"]} if form else None,
    )
    assert (
        oauth_params(type("R", (), {"headers": headers}))["oauth_signature"]
        == (params["oauth_signature"])
    )


def request_token_ok(api, callback_confirmed="true"):
    api.post(
        f"{API}/oauth/request_token",
        body=f"oauth_token={REQUEST_TOKEN}&oauth_token_secret={REQUEST_SECRET}"
        f"&oauth_callback_confirmed={callback_confirmed}",
        content_type="application/x-www-form-urlencoded",
    )


def access_token_ok(api):
    api.post(
        f"{API}/oauth/access_token",
        body=f"oauth_token={TOKEN}&oauth_token_secret={TOKEN_SECRET}&user_id=42&screen_name=acme",
        content_type="application/x-www-form-urlencoded",
    )


def users_me_ok(api):
    api.get(
        f"{API}/2/users/me",
        json={
            "data": {
                "id": "42",
                "username": "acme",
                "name": "Acme Corp",
                "profile_image_url": "https://pbs.example/acme.png",
            }
        },
    )


# --- connecting -------------------------------------------------------------------------------


def test_given_oauth1_when_starting_then_request_token_carries_callback_with_state(adapter, api):
    request_token_ok(api)

    url, pending = adapter.authorization_url(
        redirect_uri=CALLBACK, state="the-state", code_verifier="unused", account=Account()
    )

    call = api.calls[0].request
    assert_signed(call, token="", secret="", callback_uri=f"{CALLBACK}?state=the-state")
    assert oauth_params(call)["oauth_callback"] == f"{CALLBACK}?state=the-state"
    assert url == f"{AUTHORIZE}?oauth_token={REQUEST_TOKEN}"
    assert pending.config["oauth1_request_token"] == REQUEST_TOKEN
    assert pending.config["oauth1_request_secret"] == REQUEST_SECRET
    assert REQUEST_SECRET not in repr(pending)
    assert adapter.capabilities.auth == "oauth1"


def test_given_callback_not_confirmed_when_starting_then_connect_error(adapter, api):
    request_token_ok(api, callback_confirmed="false")

    with pytest.raises(ConnectError, match="did not accept our callback"):
        adapter.authorization_url(
            redirect_uri=CALLBACK, state="s", code_verifier="v", account=Account()
        )


def test_given_x_refuses_the_consumer_when_starting_then_connect_error_without_secrets(
    adapter, api
):
    api.post(
        f"{API}/oauth/request_token",
        status=401,
        json={"errors": [{"code": 32, "message": "Could not authenticate you."}]},
    )

    with pytest.raises(ConnectError) as caught:
        adapter.authorization_url(
            redirect_uri=CALLBACK, state="s", code_verifier="v", account=Account()
        )

    text = f"{caught.value} {caught.value.message} {caught.value.detail}"
    assert "Could not authenticate you" in caught.value.message
    assert CONSUMER_SECRET not in text and CONSUMER_KEY not in text


def test_given_no_consumer_key_when_starting_then_connect_error_names_the_setup(api):
    adapter = XAdapter(base_url=API, auth="oauth1")

    with pytest.raises(ConnectError, match="consumer key and secret"):
        adapter.authorization_url(
            redirect_uri=CALLBACK, state="s", code_verifier="v", account=Account()
        )
    assert len(api.calls) == 0


def test_given_verifier_when_exchanging_then_credentials_with_token_secret_and_no_expiry(
    adapter, api
):
    access_token_ok(api)
    users_me_ok(api)
    pending = Account(
        config={"oauth1_request_token": REQUEST_TOKEN, "oauth1_request_secret": REQUEST_SECRET}
    )

    result = adapter.exchange_code(
        code="the-verifier", redirect_uri=CALLBACK, code_verifier="unused", account=pending
    )

    exchange, me = (c.request for c in api.calls)
    assert_signed(exchange, token=REQUEST_TOKEN, secret=REQUEST_SECRET, verifier="the-verifier")
    assert oauth_params(exchange)["oauth_verifier"] == "the-verifier"
    assert_signed(me)
    credentials = result.credentials
    assert credentials.access_token == TOKEN
    assert credentials.extra == {"token_secret": TOKEN_SECRET, "auth": "oauth1"}
    assert credentials.expires_at is None
    assert credentials.refresh_token == ""
    assert result.account.account_id == "42"
    assert result.account.handle == "acme"
    assert result.account.name == "Acme Corp"
    assert result.account.config == {"username": "acme"}  # the request token is gone


def test_given_users_me_refused_when_exchanging_then_account_from_the_token_response(adapter, api):
    access_token_ok(api)
    api.get(f"{API}/2/users/me", status=403, json={"detail": "Your tier has no access."})
    pending = Account(
        config={"oauth1_request_token": REQUEST_TOKEN, "oauth1_request_secret": REQUEST_SECRET}
    )

    result = adapter.exchange_code(
        code="v", redirect_uri=CALLBACK, code_verifier="", account=pending
    )

    assert (result.account.account_id, result.account.handle) == ("42", "acme")
    assert result.account.config == {"username": "acme"}


def test_given_a_bad_verifier_when_exchanging_then_connect_error(adapter, api):
    api.post(f"{API}/oauth/access_token", status=401, body="Invalid request token.")
    pending = Account(
        config={"oauth1_request_token": REQUEST_TOKEN, "oauth1_request_secret": REQUEST_SECRET}
    )

    with pytest.raises(ConnectError) as caught:
        adapter.exchange_code(code="bad", redirect_uri=CALLBACK, code_verifier="", account=pending)

    assert REQUEST_SECRET not in f"{caught.value.message} {caught.value.detail}"


def test_given_an_unknown_auth_option_then_improperly_configured():
    with pytest.raises(ImproperlyConfigured, match="auth"):
        XAdapter(base_url=API, auth="oauth3")


# --- calls ------------------------------------------------------------------------------------


def test_given_oauth1_credentials_when_publishing_then_every_call_is_signed_not_bearer(
    adapter, api, account, creds
):
    api.post(f"{API}/2/media/upload", json={"data": {"id": "m1"}})
    api.post(f"{API}/2/tweets", json={"data": {"id": "100"}})
    image = MediaItem(
        kind="image",
        mime_type="image/png",
        filename="a.png",
        size_bytes=4,
        open=lambda: io.BytesIO(b"\x89PNG"),
    )

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(idempotency_key="k", text="Hallo", media=[image]),
    )

    assert result.remote_id == "100"
    assert result.url == "https://x.com/acme/status/100"
    upload, post = (c.request for c in api.calls)
    for request in (upload, post):
        assert authorization(request).startswith("OAuth ")
        assert "oauth_signature=" in authorization(request)
        assert "Bearer" not in authorization(request)
        assert_signed(request)
    assert oauth_params(post)["oauth_token"] == TOKEN
    assert json.loads(post.body) == {"text": "Hallo", "media": {"media_ids": ["m1"]}}


@pytest.mark.parametrize(
    ("method", "url", "action"),
    [
        (
            "GET",
            f"{API}/2/tweets",
            lambda a, acc, c: a.fetch_metrics(account=acc, credentials=c, remote_ids=["1"]),
        ),
        (
            "DELETE",
            f"{API}/2/tweets/1",
            lambda a, acc, c: a.delete(account=acc, credentials=c, remote_id="1"),
        ),
        (
            "GET",
            f"{API}/2/users/42/tweets",
            lambda a, acc, c: a.find_existing(
                account=acc,
                credentials=c,
                request=PublishRequest(idempotency_key="k", text="Hallo"),
            ),
        ),
    ],
)
def test_given_oauth1_credentials_when_reading_or_deleting_then_signed(
    adapter, api, account, creds, method, url, action
):
    api.add(method, url, json={"data": []})

    action(adapter, account, creds)

    assert_signed(api.calls[0].request)


def test_given_oauth2_credentials_in_oauth1_mode_then_still_bearer(adapter, api, account):
    api.post(f"{API}/2/tweets", json={"data": {"id": "7"}})
    bearer = Credentials(access_token="oauth2-token", extra={"auth": "oauth2"})

    adapter.publish(
        account=account, credentials=bearer, request=PublishRequest(idempotency_key="k", text="Hi")
    )

    assert api.calls[0].request.headers["Authorization"] == "Bearer oauth2-token"


def test_given_oauth1_credentials_when_refreshing_then_unchanged_without_asking_x(
    adapter, api, account, creds
):
    assert adapter.refresh(account=account, credentials=creds) is creds
    assert len(api.calls) == 0


def test_given_a_revoked_token_when_publishing_then_auth_expired_without_secrets(
    adapter, api, account, creds
):
    api.post(
        f"{API}/2/tweets",
        status=401,
        json={"title": "Unauthorized", "detail": f"Unauthorized token {TOKEN}"},
    )

    with pytest.raises(AuthExpired) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(idempotency_key="k", text="Hi"),
        )

    text = f"{caught.value} {caught.value.message} {caught.value.detail} {caught.value!r}"
    for secret in (TOKEN, TOKEN_SECRET, CONSUMER_SECRET):
        assert secret not in text
    assert TOKEN_SECRET not in repr(creds) and TOKEN not in repr(creds)
    assert CONSUMER_SECRET not in repr(adapter)


def test_given_oauth2_token_response_then_credentials_are_marked_oauth2():
    # A reconnect merges `extra` with the stored one: an old OAuth 1.0a mark must not survive.
    adapter = XAdapter(base_url=API, client_id="cid", client_secret="cs")

    credentials = adapter.credentials_from_token(
        {"access_token": "a", "refresh_token": "r", "expires_in": 7200},
        previous=Credentials(access_token="old", extra={"auth": "oauth1", "token_secret": "s"}),
    )

    assert credentials.extra["auth"] == "oauth2"


# --- the connect flow through our views -----------------------------------------------------------


@pytest.fixture
def x_oauth1_settings(settings):
    settings.PUBLISHING_ADAPTERS = {
        **settings.PUBLISHING_ADAPTERS,
        "x": {"BACKEND": "publishing.adapters.x.XAdapter", "OPTIONS": OPTIONS},
    }
    with override_settings(CREDENTIALS_KEYS=[]):
        yield


def raw_credentials_column() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM publishing_channelcredentials")
        return " ".join(row[0] for row in cursor.fetchall())


def test_given_manager_when_connecting_x_with_oauth1_then_channel_with_encrypted_credentials(
    client, manager, api, x_oauth1_settings
):
    login(client, manager)
    request_token_ok(api)
    access_token_ok(api)
    users_me_ok(api)

    page = client.get("/w/acme/settings/channels/connect/x/")
    assert REQUEST_SECRET not in page.content.decode()
    start = client.post("/w/acme/settings/channels/connect/x/", {})
    assert start.status_code == 302, start.content.decode()[:2000]
    assert start["Location"] == f"{AUTHORIZE}?oauth_token={REQUEST_TOKEN}"
    sealed = client.session["publishing.connect"]
    assert REQUEST_SECRET not in sealed and REQUEST_TOKEN not in sealed  # encrypted
    callback = urlsplit(oauth_params(api.calls[0].request)["oauth_callback"])
    state = parse_qs(callback.query)["state"][0]
    assert state == pending_open(sealed)["state"]
    # X sends the user back to the callback it was given, plus the token and the verifier.
    response = client.get(
        callback.path,
        {"state": state, "oauth_token": REQUEST_TOKEN, "oauth_verifier": "the-verifier"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/w/acme/settings/channels/"
    assert_signed(
        api.calls[1].request, token=REQUEST_TOKEN, secret=REQUEST_SECRET, verifier="the-verifier"
    )
    channel = Channel.objects.get(workspace=manager.workspace, platform="x")
    assert (channel.account_id, channel.handle, channel.name) == ("42", "acme", "Acme Corp")
    assert channel.state == ChannelState.CONNECTED
    assert "oauth1_request_token" not in channel.config
    assert "oauth1_request_secret" not in channel.config
    stored = credentials_load(channel)
    assert stored.access_token == TOKEN
    assert stored.extra == {"token_secret": TOKEN_SECRET, "auth": "oauth1"}
    assert stored.expires_at is None
    column = raw_credentials_column()
    for secret in (TOKEN, TOKEN_SECRET, REQUEST_SECRET):
        assert secret not in column
        assert secret not in str(channel.config)
    channels_page = client.get("/w/acme/settings/channels/").content.decode()
    assert TOKEN not in channels_page and TOKEN_SECRET not in channels_page


def test_given_a_wrong_state_when_x_calls_back_then_refused_and_no_access_token_asked(
    client, manager, api, x_oauth1_settings
):
    login(client, manager)
    request_token_ok(api)
    client.post("/w/acme/settings/channels/connect/x/", {})

    response = client.get(
        "/connect/callback/",
        {"state": "forged", "oauth_token": REQUEST_TOKEN, "oauth_verifier": "v"},
        follow=True,
    )

    assert "does not belong to this sign-in" in response.content.decode()
    assert len(api.calls) == 1
    assert not Channel.objects.filter(platform="x").exists()
