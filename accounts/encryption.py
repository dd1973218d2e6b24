"""The keyring for secrets at rest (platform tokens, authenticator app keys): Fernet encryption
with key rotation, in the lowest app so that every side can use it.

settings.CREDENTIALS_KEYS is a list of Fernet keys: the first encrypts, all decrypt, so a new key
is put first and `manage.py rotate_credentials` re-encrypts every row with it before the old key
is dropped. Without keys (development), one is generated once into VAR_DIR/credentials_key (0600).
Nothing in here logs, renders or raises with a secret in it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from config.hooks import settings_cached

KEY_FILE_NAME = "credentials_key"


class SecretUnreadable(Exception):
    """A stored ciphertext cannot be decrypted with any configured key."""


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


@settings_cached("CREDENTIALS_KEYS", "VAR_DIR")
def keyring() -> MultiFernet:
    """The configured keys, newest first (read once; reset when the settings change)."""
    keys = list(settings.CREDENTIALS_KEYS) or [_development_key()]
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CREDENTIALS_KEYS must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated, newest first."
        ) from exc


def _unreadable() -> SecretUnreadable:
    return SecretUnreadable(
        "A stored secret cannot be decrypted with the configured CREDENTIALS_KEYS: the key it was "
        "encrypted with is not among them."
    )


def encrypt_text(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode()).decode()


def decrypt_text(ciphertext: str) -> str:
    try:
        return keyring().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise _unreadable() from None


def rotate(ciphertext: str) -> str:
    """The same plaintext, encrypted with the first key."""
    try:
        return keyring().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise _unreadable() from None


def ciphertexts_rotate(model: type[models.Model], field: str, *, batch_size: int = 200) -> int:
    """Re-encrypt `field` of every `model` row with the first key, a locked batch at a time;
    returns how many rows were written."""
    written = 0
    ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            rows = model.objects.select_for_update().filter(pk__in=ids[start : start + batch_size])
            for row in rows:
                setattr(row, field, rotate(getattr(row, field)))
                row.save(update_fields=[field])
                written += 1
    return written
