"""Celery tasks: one-line wrappers around services; the schedule lives in config/celery.py."""

import threading
import time

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections, connection
from django.db import connections as db_connections

from publishing import connections, dispatch, reconcile, services
from publishing.adapters.base import TransientError
from publishing.services import heartbeat_record

BEAT_HEARTBEAT = "beat"

# A connection that worked for a publish task less than this long ago, without errors, is used
# as it is: in a burst, a health check per task (`SELECT 1`) cost a round trip per post.
CONNECTION_CHECK_SECONDS = 1.0
# Per thread, like Django's connections (a threads pool runs one connection per thread).
_checked = threading.local()


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


# --- the publishing engine ------------------------------------------------------------------------


@shared_task(ignore_result=True)
def deliveries_dispatch_due() -> None:
    """Beat, every second: hand due deliveries to the publish queue."""
    dispatch.deliveries_dispatch_due()


@shared_task(ignore_result=True)
def deliveries_reconcile() -> None:
    """Beat: release deliveries a dead worker or a lost message left behind; escalate overdue
    manual posts."""
    reconcile.deliveries_reconcile_stuck()
    reconcile.deliveries_escalate_manual()


@shared_task(bind=True, ignore_result=True)
def publish_delivery(self, delivery_id: int, job: int) -> None:
    """Publish one delivery. Retries are not Celery's: the service reschedules the delivery
    (backoff in the database), so a retry survives a worker restart."""
    _connection_check()
    services.delivery_publish(delivery_id=delivery_id, job=job, worker=self.request.hostname or "")


def _connection_check() -> None:
    """Reuse the connection across tasks (CELERY_DB_REUSE_MAX), safely: `close_old_connections`
    honours CONN_MAX_AGE and drops a broken connection (health check). Skipped while the
    connection was checked less than CONNECTION_CHECK_SECONDS ago and has seen no error."""
    now = time.monotonic()
    last = getattr(_checked, "at", float("-inf"))
    if connection.errors_occurred or now - last >= CONNECTION_CHECK_SECONDS:
        close_old_connections()
        _checked.at = now


@worker_ready.connect
def release_on_restart(sender, **kwargs) -> None:
    """A node that starts again after a crash frees the deliveries it held (no lease wait)."""
    try:
        reconcile.deliveries_release_worker(worker=sender.hostname)
    finally:
        db_connections.close_all()  # the main process keeps no connection into forked children
