"""Channel credentials and per-instance OAuth apps at rest: load/save, encrypted with the keyring
of accounts.encryption (CREDENTIALS_KEYS; the first key encrypts, all decrypt), and rotation.

Nothing in here logs, renders or raises with a secret in it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction

from accounts import encryption
from accounts.encryption import SecretUnreadable
from calendar_app.models import Channel
from publishing.adapters.base import Credentials
from publishing.models import ChannelCredentials, OAuthAppRegistration

# The keyring's names, kept here for this module's callers and tests (which reset the cache).
KEY_FILE_NAME = encryption.KEY_FILE_NAME
_fernet = encryption.keyring

UNREADABLE = "Stored credentials cannot be decrypted with the configured CREDENTIALS_KEYS."


class CredentialsUnreadable(SecretUnreadable):
    """The stored ciphertext cannot be decrypted with any configured key."""


# --- encryption -----------------------------------------------------------------------------


def encrypt(plaintext: str) -> str:
    return encryption.encrypt_text(plaintext)


def decrypt(ciphertext: str) -> str:
    try:
        return encryption.decrypt_text(ciphertext)
    except SecretUnreadable:
        raise CredentialsUnreadable(UNREADABLE) from None


# --- (de)serialising base.Credentials -------------------------------------------------------


def credentials_to_json(credentials: Credentials) -> str:
    return json.dumps(
        {
            "access_token": credentials.access_token,
            "refresh_token": credentials.refresh_token,
            "expires_at": credentials.expires_at.isoformat() if credentials.expires_at else None,
            "extra": credentials.extra,
        }
    )


def credentials_from_json(text: str) -> Credentials:
    data = json.loads(text)
    expires_at = data.get("expires_at")
    return Credentials(
        access_token=data.get("access_token", ""),
        refresh_token=data.get("refresh_token", ""),
        expires_at=dt.datetime.fromisoformat(expires_at) if expires_at else None,
        extra=data.get("extra") or {},
    )


def merge_credentials(old: Credentials | None, new: Credentials) -> Credentials:
    """`new`, keeping what the platform did not re-send: a refresh token is never wiped by a
    reconnect or refresh that came without one (likewise for `extra` keys)."""
    if old is None:
        return new
    return Credentials(
        access_token=new.access_token or old.access_token,
        refresh_token=new.refresh_token or old.refresh_token,
        expires_at=new.expires_at,
        extra={**old.extra, **new.extra},
    )


# --- channel credentials --------------------------------------------------------------------


def credentials_read(row: ChannelCredentials) -> Credentials:
    return credentials_from_json(decrypt(row.ciphertext))


def credentials_load(channel: Channel | int) -> Credentials | None:
    """The decrypted credentials of a channel, or None when it has none."""
    channel_id = channel if isinstance(channel, int) else channel.pk
    row = ChannelCredentials.objects.filter(channel_id=channel_id).first()
    return credentials_read(row) if row else None


@transaction.atomic
def credentials_save(
    *, channel: Channel, credentials: Credentials, merge: bool = True
) -> ChannelCredentials:
    """Store (encrypted) the credentials of `channel`, locking its row; with `merge`, what the
    new credentials lack (e.g. a refresh token not re-sent) is kept from the stored ones."""
    row = ChannelCredentials.objects.select_for_update().filter(channel=channel).first()
    if row is None:
        row = ChannelCredentials(channel=channel, version=0)
    elif merge:
        credentials = merge_credentials(credentials_read(row), credentials)
    row.ciphertext = encrypt(credentials_to_json(credentials))
    row.expires_at = credentials.expires_at
    row.version += 1
    row.save()
    return row


# --- per-instance OAuth apps ----------------------------------------------------------------


def oauth_app_get_or_register(
    *,
    platform: str,
    instance: str,
    redirect_uri: str,
    register: Callable[[], tuple[str, str]],
    scopes: str = "",
) -> tuple[str, str]:
    """(client_id, client_secret) of our app on `instance`, calling `register()` (which talks to
    the instance and returns the pair) the first time only, and again when the app was
    registered for other `scopes` than the adapter asks for now (an instance refuses to
    authorize a scope its app was not registered with)."""
    found = OAuthAppRegistration.objects.filter(
        platform=platform, instance=instance, redirect_uri=redirect_uri
    ).first()
    if found is not None and found.scopes == scopes:
        return found.client_id, decrypt(found.client_secret_ciphertext)
    if found is not None:
        found.delete()
    client_id, client_secret = register()
    try:
        with transaction.atomic():
            OAuthAppRegistration.objects.create(
                platform=platform,
                instance=instance,
                redirect_uri=redirect_uri,
                scopes=scopes,
                client_id=client_id,
                client_secret_ciphertext=encrypt(client_secret),
            )
    except IntegrityError:
        # Someone registered at the same moment; theirs is stored, use it (ours stays unused).
        found = OAuthAppRegistration.objects.get(
            platform=platform, instance=instance, redirect_uri=redirect_uri
        )
        return found.client_id, decrypt(found.client_secret_ciphertext)
    return client_id, client_secret


def oauth_app_forget(*, platform: str, instance: str, redirect_uri: str) -> None:
    """Drop a registration the instance no longer knows (e.g. after an admin deleted it)."""
    OAuthAppRegistration.objects.filter(
        platform=platform, instance=instance, redirect_uri=redirect_uri
    ).delete()


# --- rotation -------------------------------------------------------------------------------


def credentials_rotate_all(*, batch_size: int = 200) -> int:
    """Re-encrypt every stored channel secret with the first key; returns how many rows were
    written."""
    return sum(
        encryption.ciphertexts_rotate(model, field, batch_size=batch_size)
        for model, field in (
            (ChannelCredentials, "ciphertext"),
            (OAuthAppRegistration, "client_secret_ciphertext"),
        )
    )
