"""Celery tasks: one-line wrappers around services; the schedule lives in config/celery.py."""

import logging
import threading
import time

from celery import shared_task
from celery.signals import worker_ready
from django.db import close_old_connections, connection
from django.db import connections as db_connections

from publishing import accounts, dispatch, reconcile, services
from publishing.adapters.base import AdapterError, TransientError
from publishing.metrics import accounts as metrics_accounts
from publishing.metrics import backfill, pull, sweep
from publishing.metrics.reads import PullLater
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
    for channel_id in accounts.credentials_refresh_due():
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
    accounts.credentials_refresh(channel_id)


# --- the publishing engine ------------------------------------------------------------------------


@shared_task(ignore_result=True)
def deliveries_dispatch_due(follow_seconds: float = 0.0) -> None:
    """Beat, every second: hand due deliveries to the publish queue, each at its time (the
    sweep follows for `follow_seconds`, until the next one; see config/celery.py)."""
    dispatch.deliveries_dispatch_due(follow_seconds=follow_seconds)


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


# --- engagement metrics (publishing.metrics) ------------------------------------------------------
# Every task here is named metrics_* and so routed to the metrics queue (CELERY_TASK_ROUTES):
# bulk work that may lag, never in the way of the dispatcher or the publish queue.

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def metrics_sweep() -> None:
    """Beat, every minute: enrol newly published deliveries, hand due pulls over in batches."""
    _connection_check()
    sweep.metrics_sweep()


@shared_task(ignore_result=True)
def metrics_pull_batch(
    channel_id: int, remote_post_ids: list[int], lease: str, reserved: bool = False
) -> None:
    """Pull one channel's batch. Retries are rows in the database (backoff on next_pull_at),
    not Celery's; `lease` makes a redelivered message do nothing."""
    _connection_check()
    pull.remote_posts_pull(
        channel_id=channel_id, remote_post_ids=remote_post_ids, lease=lease, reserved=reserved
    )


@shared_task(ignore_result=True)
def metrics_account_snapshots_due() -> None:
    """Beat, hourly: queue the day's account snapshot of every channel that has none yet."""
    _connection_check()
    for channel_id in metrics_accounts.account_snapshots_due():
        metrics_account_snapshot.delay(channel_id)


@shared_task(bind=True, ignore_result=True, max_retries=5)
def metrics_account_snapshot(self, channel_id: int) -> None:
    """Take one channel's account snapshot for today (an upsert). Transient failures are tried
    again with backoff; the hourly sweep asks again anyway while today's row is missing."""
    _connection_check()
    try:
        metrics_accounts.account_snapshot_take(channel_id=channel_id)
    except PullLater as wait:
        raise self.retry(countdown=wait.seconds) from None
    except TransientError as exc:
        raise self.retry(countdown=60 * 2**self.request.retries, exc=exc) from None


@shared_task(bind=True, ignore_result=True, max_retries=5)
def metrics_backfill_channel(self, channel_id: int) -> None:
    """A newly connected channel's recent history (publishing.metrics.backfill)."""
    _connection_check()
    try:
        backfill.remote_posts_backfill(channel_id=channel_id)
    except PullLater as wait:
        raise self.retry(countdown=wait.seconds) from None
    except TransientError as exc:
        raise self.retry(countdown=60 * 2**self.request.retries, exc=exc) from None
    except AdapterError as exc:  # refused (a missing permission...): `manage.py metrics_backfill`
        logger.warning("History backfill of channel %s refused: %s", channel_id, exc.detail)
