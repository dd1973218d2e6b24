"""Re-encrypt all stored secrets (channel credentials, OAuth app secrets, authenticator app
keys) with the first key in CREDENTIALS_KEYS (key rotation: put the new key first, run this,
then drop the old key)."""

from django.core.management.base import BaseCommand

from accounts.two_factor import authenticator_keys_rotate
from publishing.credentials import credentials_rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt all stored channel credentials, OAuth app secrets and authenticator app keys "
        "with the newest key."
    )

    def handle(self, *args, **options) -> None:
        written = credentials_rotate_all() + authenticator_keys_rotate()
        self.stdout.write(f"Re-encrypted {written} secret(s) with the first key.")
