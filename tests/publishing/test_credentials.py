"""Credentials at rest: encrypted with Fernet, readable with any configured key, re-encrypted
with the newest by rotate_credentials; a refresh token not re-sent is never wiped."""

from __future__ import annotations

import datetime as dt
import io
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from publishing import credentials as store
from publishing.adapters.base import Credentials
from publishing.models import ChannelCredentials, OAuthAppRegistration

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
EXPIRES = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def raw_column(channel_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ciphertext FROM publishing_channelcredentials WHERE channel_id = %s",
            [channel_id],
        )
        return cursor.fetchone()[0]


@override_settings(CREDENTIALS_KEYS=[OLD_KEY])
def test_given_credentials_when_saved_then_column_holds_no_secret_and_loads_back(channel):
    creds = Credentials(
        access_token="acc-SECRET-1",
        refresh_token="ref-SECRET-2",
        expires_at=EXPIRES,
        extra={"did": "did:plc:xyz"},
    )

    row = store.credentials_save(channel=channel, credentials=creds)

    raw = raw_column(channel.pk)
    for secret in ("acc-SECRET-1", "ref-SECRET-2", "did:plc:xyz"):
        assert secret not in raw
    loaded = store.credentials_load(channel)
    assert (loaded.access_token, loaded.refresh_token, loaded.expires_at, loaded.extra) == (
        "acc-SECRET-1",
        "ref-SECRET-2",
        EXPIRES,
        {"did": "did:plc:xyz"},
    )
    assert row.expires_at == EXPIRES
    assert row.version == 1


@override_settings(CREDENTIALS_KEYS=[OLD_KEY])
def test_given_stored_refresh_token_when_saving_without_one_then_kept(channel):
    store.credentials_save(channel=channel, credentials=Credentials("a1", "r1", extra={"k": 1}))

    row = store.credentials_save(channel=channel, credentials=Credentials("a2", "", extra={"j": 2}))

    loaded = store.credentials_load(channel)
    assert (loaded.access_token, loaded.refresh_token) == ("a2", "r1")
    assert loaded.extra == {"k": 1, "j": 2}
    assert row.version == 2


def test_given_credentials_when_repr_then_no_secret():
    assert "tok" not in repr(Credentials(access_token="tok", refresh_token="tok2"))


def test_given_key_rotation_when_new_key_first_then_old_rows_still_readable_and_rotated(channel):
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]):
        store.credentials_save(channel=channel, credentials=Credentials("acc-1", "ref-1"))
        OAuthAppRegistration.objects.create(
            platform="mastodon",
            instance="https://m.example",
            redirect_uri="https://app/connect/callback/",
            client_id="cid",
            client_secret_ciphertext=store.encrypt("client-secret-1"),
        )
        before = raw_column(channel.pk)

    with override_settings(CREDENTIALS_KEYS=[NEW_KEY, OLD_KEY]):
        assert store.credentials_load(channel).access_token == "acc-1"  # old key still decrypts
        out = io.StringIO()
        call_command("rotate_credentials", stdout=out)
        after = raw_column(channel.pk)

    assert after != before
    assert "Re-encrypted 2 secret(s)" in out.getvalue()
    with override_settings(CREDENTIALS_KEYS=[NEW_KEY]):  # the old key can now be dropped
        assert store.credentials_load(channel).refresh_token == "ref-1"
        app = OAuthAppRegistration.objects.get()
        assert store.decrypt(app.client_secret_ciphertext) == "client-secret-1"
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]), pytest.raises(store.CredentialsUnreadable):
        store.credentials_load(channel)


@override_settings(CREDENTIALS_KEYS=["not-a-fernet-key"])
def test_given_malformed_key_when_encrypting_then_improperly_configured():
    with pytest.raises(ImproperlyConfigured, match="CREDENTIALS_KEYS"):
        store.encrypt("x")


def test_given_no_keys_when_encrypting_then_dev_key_generated_once_private(tmp_path):
    with override_settings(CREDENTIALS_KEYS=[], VAR_DIR=tmp_path):
        token = store.encrypt("hello")
        key_file = tmp_path / store.KEY_FILE_NAME
        first_key = key_file.read_text()
        store._fernet.cache_clear()
        assert store.decrypt(token) == "hello"  # same key re-read from the file

    assert key_file.read_text() == first_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_given_registration_missing_when_getting_app_then_registered_once(db):
    calls = []

    def register():
        calls.append(1)
        return "cid-1", "csecret-1"

    args = {
        "platform": "mastodon",
        "instance": "https://m.example",
        "redirect_uri": "https://a/cb/",
    }
    first = store.oauth_app_get_or_register(**args, register=register)
    second = store.oauth_app_get_or_register(**args, register=register)

    assert first == second == ("cid-1", "csecret-1")
    assert len(calls) == 1
    assert "csecret-1" not in OAuthAppRegistration.objects.get().client_secret_ciphertext


def test_given_rows_when_listing_model_then_ciphertext_only(channel):
    store.credentials_save(channel=channel, credentials=Credentials("plain-token"))

    assert "plain-token" not in str(ChannelCredentials.objects.values().get())


def test_given_admin_when_listing_credentials_then_no_ciphertext_or_token(client, channel):
    from tests.factories import UserFactory

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    store.credentials_save(channel=channel, credentials=Credentials("admin-visible-token?"))
    row = ChannelCredentials.objects.get()
    client.force_login(admin_user)

    pages = [
        client.get("/admin/publishing/channelcredentials/"),
        client.get(f"/admin/publishing/channelcredentials/{row.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert "admin-visible-token?" not in html
        assert row.ciphertext not in html


def test_given_app_registered_for_other_scopes_when_getting_app_then_registered_again(db):
    calls = []

    def register():
        calls.append(1)
        return f"cid-{len(calls)}", f"csecret-{len(calls)}"

    args = {
        "platform": "mastodon",
        "instance": "https://m.example",
        "redirect_uri": "https://a/cb/",
    }
    first = store.oauth_app_get_or_register(**args, register=register, scopes="read write:x")
    again = store.oauth_app_get_or_register(**args, register=register, scopes="read write:x")
    wider = store.oauth_app_get_or_register(**args, register=register, scopes="read write")

    assert first == again == ("cid-1", "csecret-1")
    assert wider == ("cid-2", "csecret-2")
    assert OAuthAppRegistration.objects.get().scopes == "read write"
