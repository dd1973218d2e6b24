"""Links that are their own proof (review links, workspace invitations): a token signed with the
site's key carrying a row's id and a random secret, shown once; the row keeps only a hash of the
secret, so neither a database dump nor a log line opens anything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.core import signing


class TokenInvalid(ValueError):
    """Tampered, truncated or otherwise unreadable token."""


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_new() -> tuple[str, str]:
    """A fresh random secret and the hash to store for it."""
    secret = secrets.token_urlsafe(24)
    return secret, secret_hash(secret)


def token_sign(*, salt: str, pk: int, secret: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(f"{pk}.{secret}")


def token_open(*, salt: str, token: str) -> tuple[int, str]:
    """The row id and secret inside `token`; TokenInvalid if it was not signed by us for `salt`."""
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token)
        pk, secret = value.split(".", 1)
        return int(pk), secret
    except (signing.BadSignature, ValueError):
        raise TokenInvalid from None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
