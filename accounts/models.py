"""Users: Django's user plus the preferences the UI needs (language), and their second factors
(django-otp devices whose secrets are never stored in clear: accounts.two_factor uses them).

A deleted account keeps its row, pseudonymised (accounts.services.account_delete), so that
posts, comments, decisions and the audit trail keep pointing at one distinct, nameless person.
"""

import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from accounts.encryption import decrypt_text, encrypt_text


class User(AbstractUser):
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Language of the interface; empty follows the browser."),
    )
    # Set when the person deleted their account: names and address are gone, the row stays.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """How pages, history and notifications name this person."""
        if self.deleted_at is not None:
            return gettext("Deleted user")
        return self.get_full_name() or self.username


# --- second factors ---------------------------------------------------------------------------

# What a verification writes: never the key's ciphertext, which rotate_credentials may be
# re-encrypting (a full save from an instance read before would put the old one back).
_VERIFY_FIELDS = ["throttling_failure_timestamp", "throttling_failure_count", "last_used_at"]


def authenticator_key_new() -> str:
    """A new random TOTP key (20 bytes, as django-otp's TOTPDevice), encrypted."""
    return encrypt_text(random_hex(20))


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (TOTP, RFC 6238), as django-otp's TOTPDevice, but its key is stored
    only as Fernet ciphertext (accounts.encryption): the plain key exists in memory only, to
    check a code or to show the QR code and secret once during the setup."""

    key_ciphertext = models.TextField(default=authenticator_key_new, editable=False)
    step = models.PositiveSmallIntegerField(default=30)  # seconds per code
    t0 = models.BigIntegerField(default=0)  # the Unix time the steps count from
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)  # steps early or late accepted
    drift = models.SmallIntegerField(default=0)  # steps the app's clock is known to be off
    # The step of the last accepted code: only a later one is accepted (no replay).
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    @property
    def key(self) -> str:
        """The key, hex-encoded (decrypted; SecretUnreadable without the key it was encrypted
        with)."""
        return decrypt_text(self.key_ciphertext)

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """Whether `token` is the app's code now (within the tolerance) and later than the last
        accepted one; a wrong code adds to the throttling. As TOTPDevice.verify_token."""
        if not self.verify_is_allowed()[0]:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(token, self.tolerance, self.last_t + 1)
        if verified:
            self.last_t = totp.t()
            if getattr(settings, "OTP_TOTP_SYNC", True):
                self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save(update_fields=[*_VERIFY_FIELDS, "last_t", "drift"])
        else:
            self.throttle_increment(commit=False)
            self.save(update_fields=_VERIFY_FIELDS)
        return verified

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app reads from the QR code (Key Uri Format, as
        TOTPDevice.config_url; the issuer from settings.OTP_TOTP_ISSUER)."""
        label = str(self.user.get_username())
        params = urlencode(
            {
                "secret": b32encode(self.bin_key),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        issuer = getattr(settings, "OTP_TOTP_ISSUER", "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"  # RFC 3986 quoting, not quote_plus
        return f"otpauth://totp/{quote(label)}?{params}"


def recovery_code_new() -> str:
    """Eight lowercase base32 characters (40 random bits), as django-otp's static tokens."""
    return b32encode(secrets.token_bytes(5)).decode().lower()


def recovery_code_digest(code: str, *, secret: str | None = None) -> str:
    """The keyed hash a recovery code is stored as (HMAC-SHA256 under SECRET_KEY): a copy of
    the database alone does not give the codes away, even to a search of all 2^40."""
    return salted_hmac("accounts.RecoveryCode", code, secret=secret, algorithm="sha256").hexdigest()


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A person's one-time recovery codes, each stored as a keyed hash and deleted when used."""

    class Meta(Device.Meta):
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    def verify_token(self, token) -> bool:
        """Whether `token` is one of the codes, which is then used up; a wrong code adds to the
        throttling. Every stored hash is compared, in constant time."""
        if not self.verify_is_allowed()[0]:
            return False
        # The hash under each key SECRET_KEY has had, so that rotating it (with fallbacks)
        # keeps the codes working.
        digests = [
            recovery_code_digest(str(token), secret=secret)
            for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
        ]
        match = None
        for code in self.codes.all():
            found = False
            for digest in digests:
                found |= constant_time_compare(code.digest, digest)
            if found and match is None:
                match = code
        if match is not None:
            match.delete()
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
        else:
            self.throttle_increment(commit=False)
        self.save(update_fields=_VERIFY_FIELDS)
        return match is not None


class RecoveryCode(models.Model):
    """One unused recovery code, as its keyed hash (recovery_code_digest), never the code."""

    device = models.ForeignKey(RecoveryCodeDevice, related_name="codes", on_delete=models.CASCADE)
    digest = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"#{self.pk}"  # the digest is not shown either
