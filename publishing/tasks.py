"""Celery tasks: one-line wrappers around services; the schedule lives in config/celery.py."""

from celery import shared_task

from publishing.services import heartbeat_record

BEAT_HEARTBEAT = "beat"


@shared_task(ignore_result=True)
def beat_heartbeat() -> None:
    """Proves that beat schedules and a worker runs: the row "beat" gets a fresh last_seen."""
    heartbeat_record(name=BEAT_HEARTBEAT)
