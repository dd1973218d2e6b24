"""Secrets at rest: Fernet encryption with key rotation, and load/save of channel credentials and
per-instance OAuth apps.

settings.CREDENTIALS_KEYS is a list of Fernet keys: the first encrypts, all decrypt, so a new key
is put first and `manage.py rotate_credentials` re-encrypts every row with it before the old key
is dropped. Without keys (development), one is generated once into VAR_DIR/credentials_key (0600).
Nothing in here logs, renders or raises with a secret in it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.dispatch import receiver

from calendar_app.models import Channel
from publishing.adapters.base import Credentials
from publishing.models import ChannelCredentials, OAuthAppRegistration

KEY_FILE_NAME = "credentials_key"


class CredentialsUnreadable(Exception):
    """The stored ciphertext cannot be decrypted with any configured key."""


# --- keys -----------------------------------------------------------------------------------


def _development_key() -> str:
    path = Path(settings.VAR_DIR) / KEY_FILE_NAME
    if not path.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(Fernet.generate_key().decode())
    return path.read_text().strip()


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.CREDENTIALS_KEYS) or [_development_key()]
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEYS must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated, newest first."
        ) from exc


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in {"CREDENTIALS_KEYS", "VAR_DIR"}:
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with the configured CREDENTIALS_KEYS."
        ) from None


def rotate(ciphertext: str) -> str:
    """The same plaintext, encrypted with the first key."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with the configured CREDENTIALS_KEYS."
        ) from None


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
    """Re-encrypt every stored secret with the first key; returns how many rows were written."""
    written = 0
    for model, field in (
        (ChannelCredentials, "ciphertext"),
        (OAuthAppRegistration, "client_secret_ciphertext"),
    ):
        ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch_size):
            with transaction.atomic():
                rows = model.objects.select_for_update().filter(
                    pk__in=ids[start : start + batch_size]
                )
                for row in rows:
                    setattr(row, field, rotate(getattr(row, field)))
                    row.save(update_fields=[field])
                    written += 1
    return written
