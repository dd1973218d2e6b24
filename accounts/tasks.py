"""Celery tasks for accounts: thin wrappers around services (default queue)."""

from celery import shared_task

from accounts import lockouts


@shared_task(ignore_result=True)
def sign_in_failures_purge() -> None:
    """Beat, daily: failed-login records older than lockouts.FAILURES_KEEP_DAYS go."""
    lockouts.sign_in_failures_purge()
