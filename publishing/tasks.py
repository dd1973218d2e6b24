"""Celery tasks: one-line wrappers around services; the schedule lives in config/celery.py."""

from celery import shared_task

from publishing import connections
from publishing.adapters.base import TransientError
from publishing.services import heartbeat_record

BEAT_HEARTBEAT = "beat"


@shared_task(ignore_result=True)
def beat_heartbeat() -> None:
    """Proves that beat schedules and a worker runs: the row "beat" gets a fresh last_seen."""
    heartbeat_record(name=BEAT_HEARTBEAT)


@shared_task(ignore_result=True)
def credentials_refresh_due() -> None:
    """Beat: queue a refresh for every channel whose access token expires soon."""
    for channel_id in connections.credentials_refresh_due():
        credentials_refresh_channel.delay(channel_id)


@shared_task(
    ignore_result=True,
    autoretry_for=(TransientError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def credentials_refresh_channel(channel_id: int) -> None:
    """Refresh one channel's token (under its lock; a refused refresh marks it needs_reconnect)."""
    connections.credentials_refresh(channel_id)
