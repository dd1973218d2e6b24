"""System checks of the delivery side's configuration."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def credentials_keys_check(app_configs, **kwargs) -> list[Error]:
    """Production keeps platform tokens under keys it is given (CREDENTIALS_KEYS), never under
    one generated next to the database (development only): a backup of both would give the
    tokens away, and a lost key file loses every connection."""
    if settings.DEBUG or settings.CREDENTIALS_KEYS:
        return []
    return [
        Error(
            "CREDENTIALS_KEYS is not set while DEBUG is off: platform tokens would be encrypted "
            "with a key generated into VAR_DIR, next to the database.",
            hint=(
                'Generate a key with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`, set CREDENTIALS_KEYS to it, and keep '
                "it apart from the database's backups (README, Production)."
            ),
            id="publishing.E001",
        )
    ]
