"""Two-factor authentication: an authenticator app (accounts.models.AuthenticatorDevice, a TOTP
device whose key is stored encrypted) and ten one-time recovery codes (RecoveryCodeDevice, each
code stored as a keyed hash and deleted when used). No secret is logged or stored in clear.

The services here decide and write; the views in accounts.two_factor_views only parse and mark
the session verified (django_otp.login). A refused code raises ValidationError with a message
for people, after the device's throttling (django-otp's ThrottlingMixin: each wrong code doubles
the wait before the next try) has been committed.
"""

from __future__ import annotations

import logging
import math
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device

from accounts.encryption import SecretUnreadable, ciphertexts_rotate
from accounts.models import (
    AuthenticatorDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    User,
    recovery_code_digest,
    recovery_code_new,
)

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# Device names, shown in the admin only.
AUTHENTICATOR_NAME = "authenticator app"
RECOVERY_CODES_NAME = "recovery codes"
# What an authenticator app shows: six digits (AuthenticatorDevice's default). Anything else
# typed into the code field is taken for a recovery code, so a recovery code never counts as a
# wrong authenticator code (and throttles the app) or the reverse.
AUTHENTICATOR_CODE = re.compile(r"^\d{6}$")


def two_factor_enabled(user) -> bool:
    """Whether the user has set up an authenticator app (a confirmed one)."""
    if not user.is_authenticated:
        return False
    return AuthenticatorDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def authenticator_pending(user: User) -> AuthenticatorDevice | None:
    """The authenticator app being set up (not yet confirmed with a first code), if any."""
    return (
        AuthenticatorDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-pk").first()
    )


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user_id=user.pk).count()


def _normalised(code: str) -> str:
    # People copy codes with the spaces or dashes an app or a printout groups them with.
    return re.sub(r"[\s-]", "", code or "").lower()


def _password_checked(user: User, password: str) -> None:
    if not user.check_password(password):
        raise ValidationError({"password": _("The password is not correct.")})


def _recovery_codes_replace(user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    RecoveryCodeDevice.objects.filter(user_id=user.pk).delete()
    device = RecoveryCodeDevice.objects.create(user_id=user.pk, name=RECOVERY_CODES_NAME)
    codes = [recovery_code_new() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes]
    )
    return codes


def _throttled(device: Device) -> ValidationError | None:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (details or {}).get("locked_until")
    seconds = (
        max(1, math.ceil((locked_until - timezone.now()).total_seconds())) if locked_until else 1
    )
    return ValidationError(
        {
            "code": ngettext(
                "Too many wrong codes. Wait %(seconds)d second, then try again.",
                "Too many wrong codes. Wait %(seconds)d seconds, then try again.",
                seconds,
            )
            % {"seconds": seconds}
        }
    )


def _verified(device: Device | None, code: str, wrong: str) -> ValidationError | None:
    """Check `code` on the locked `device`; the refusal, or None when it was right. Never raises:
    the caller's transaction must commit the throttling a wrong code adds."""
    if device is None:
        return ValidationError({"code": wrong})
    if refusal := _throttled(device):
        return refusal
    try:
        if device.verify_token(code):
            return None
    except SecretUnreadable:
        # The operator's keys changed without this key's (rotate_credentials first); the
        # person can still use a recovery code, which does not depend on them.
        logger.error(
            "The key of authenticator app %s (user %s) cannot be decrypted with the configured "
            "CREDENTIALS_KEYS.",
            device.pk,
            device.user_id,
        )
        return ValidationError(
            {
                "code": _(
                    "Codes from your authenticator app cannot be checked at the moment. Use a "
                    "recovery code, or ask the administrator."
                )
            }
        )
    return ValidationError({"code": wrong})


def two_factor_setup_start(*, user: User) -> AuthenticatorDevice:
    """Begin setting up an authenticator app: a new secret (an unconfirmed device) that
    replaces one whose setup was never finished. Refused while an app is already set up."""
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)  # one setup at a time per person
        if two_factor_enabled(user):
            raise ValidationError(_("Two-factor authentication is already on."))
        AuthenticatorDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        return AuthenticatorDevice.objects.create(
            user_id=user.pk, name=AUTHENTICATOR_NAME, confirmed=False
        )


def two_factor_setup_confirm(*, user: User, code: str) -> tuple[AuthenticatorDevice, list[str]]:
    """Finish the setup with the first code the app shows: the app is confirmed and ten
    recovery codes are made. Returns the device and the codes, to be shown once."""
    with transaction.atomic():
        device = (
            AuthenticatorDevice.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if device is None:
            raise ValidationError(_("No setup is in progress. Start it again."))
        refusal = _verified(
            device,
            _normalised(code),
            _(
                "This code is not correct. Check that the time on your phone is right and enter "
                "the code the app shows now."
            ),
        )
        if refusal is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _recovery_codes_replace(user)
    if refusal is not None:
        raise refusal
    return device, codes


def two_factor_verify(*, user: User, code: str) -> Device:
    """The device that accepts `code`: the authenticator app (six digits) or a recovery code,
    which is used up. ValidationError with a message for people when the code is wrong, was
    used before, or too many wrong codes came in a row."""
    code = _normalised(code)
    with transaction.atomic():
        if AUTHENTICATOR_CODE.match(code):
            device = (
                AuthenticatorDevice.objects.select_for_update()
                .filter(user_id=user.pk, confirmed=True)
                .first()
            )
            wrong = _("This code is not correct. Enter the code your authenticator app shows now.")
        else:
            device = (
                RecoveryCodeDevice.objects.select_for_update()
                .filter(user_id=user.pk, confirmed=True)
                .first()
            )
            wrong = _(
                "This recovery code is not correct or was already used: each works only once."
            )
        refusal = _verified(device, code, wrong)
    if refusal is not None:
        raise refusal
    return device


@transaction.atomic
def recovery_codes_regenerate(*, user: User, password: str) -> list[str]:
    """Ten new recovery codes, confirmed by the password; the old ones stop working."""
    _password_checked(user, password)
    if not two_factor_enabled(user):
        raise ValidationError(_("Two-factor authentication is off."))
    return _recovery_codes_replace(user)


@transaction.atomic
def two_factor_disable(*, user: User, password: str) -> None:
    """Turn two-factor authentication off, confirmed by the password: the app and the recovery
    codes are forgotten."""
    _password_checked(user, password)
    two_factor_forget_user(user=user)


def two_factor_forget_user(*, user: User) -> None:
    """Remove every second factor of `user` (turning it off, or deleting the account)."""
    AuthenticatorDevice.objects.filter(user_id=user.pk).delete()
    RecoveryCodeDevice.objects.filter(user_id=user.pk).delete()


def authenticator_keys_rotate(*, batch_size: int = 200) -> int:
    """Re-encrypt every authenticator app's key with the first of CREDENTIALS_KEYS (run by
    `manage.py rotate_credentials`); returns how many were written."""
    return ciphertexts_rotate(AuthenticatorDevice, "key_ciphertext", batch_size=batch_size)
