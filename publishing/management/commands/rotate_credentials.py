"""Re-encrypt all stored credentials with the first key in CREDENTIALS_KEYS (key rotation:
put the new key first, run this, then drop the old key)."""

from django.core.management.base import BaseCommand

from publishing.credentials import credentials_rotate_all


class Command(BaseCommand):
    help = "Re-encrypt all stored channel credentials and OAuth app secrets with the newest key."

    def handle(self, *args, **options) -> None:
        written = credentials_rotate_all()
        self.stdout.write(f"Re-encrypted {written} secret(s) with the first key.")
