"""The batch pull: one channel's claimed posts, their numbers fetched from the adapter (one
credentials refresh, the read bucket), and what each post does next: its next step, a retry with
backoff, or a stop."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.models import Channel, ChannelState
from publishing.adapters.base import (
    METRIC_NAMES,
    AdapterError,
    AuthExpired,
    MetricsSnapshot,
    PermanentError,
    RateLimited,
)

# The sweep's module, not its names: a test or bench that swaps sweep.pull_batches_send swaps it
# for the batches this module sends again too.
from publishing.metrics import sweep
from publishing.metrics.reads import adapter_or_none, metrics_rate_take, setting_seconds
from publishing.metrics.schedule import SCHEDULE, Schedule, schedule_for, schedule_next
from publishing.metrics.write import PullWrite, metric_values, pull_writes_store
from publishing.models import RemotePost

logger = logging.getLogger(__name__)

_READ_COLUMNS = (
    "pk",
    "remote_id",
    "step",
    "unchanged",
    "failures",
    "published_at",
    "last_pulled_at",
    "last_error",
    *METRIC_NAMES,
)


@dataclass
class _Row:
    """A claimed RemotePost as the pull needs it."""

    id: int
    remote_id: str
    step: int
    unchanged: int
    failures: int
    published_at: dt.datetime
    last_pulled_at: dt.datetime | None
    last_error: str
    values: tuple[int | None, ...]

    @classmethod
    def of(cls, row: Sequence[Any]) -> _Row:
        return cls(*row[:8], values=tuple(row[8:]))


def _after_pull(
    row: _Row, snapshot: MetricsSnapshot, now: dt.datetime, steps: Schedule
) -> PullWrite:
    values = metric_values(snapshot)
    same = row.last_pulled_at is not None and values == row.values
    unchanged = row.unchanged + 1 if same else 0
    step, next_pull_at = schedule_next(
        published_at=row.published_at, step=row.step, unchanged=unchanged, now=now, steps=steps
    )
    return PullWrite(
        id=row.id,
        step=step,
        next_pull_at=next_pull_at,
        unchanged=min(unchanged, 32767),
        failures=0,
        last_pulled_at=now,
        last_error="",
        values=values,
        snapshot=True,
        seq=row.step + 1,
        raw=snapshot.raw or {},
    )


def _after_missing(row: _Row, now: dt.datetime, steps: Schedule) -> PullWrite:
    """A post the platform left out of its answer. Stopping is for good, so one answer is not
    taken for it: the post is asked for again soon (as a failure, with backoff), and stops when
    that pull fails too (`failures` is reset by every pull that brought numbers)."""
    if row.failures == 0:
        return _retry_or_give_up(
            row, now, error=_("The platform did not return this post; asking again."), steps=steps
        )
    return _stopped(
        row, error=_("The platform no longer has this post (deleted or hidden): stopped.")
    )


def _after_failure(
    row: _Row, exc: Exception, now: dt.datetime, steps: Schedule = SCHEDULE
) -> PullWrite:
    message = getattr(exc, "message", "") or _("An unexpected error occurred.")
    detail = getattr(exc, "detail", "")  # adapters keep secrets out of it; str(exc) might not
    return _retry_or_give_up(
        row,
        now,
        error=f"{message} {detail}".strip()[:2000],
        retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
        give_up=isinstance(exc, PermanentError),
        steps=steps,
    )


def _retry_or_give_up(
    row: _Row,
    now: dt.datetime,
    *,
    error: str,
    retry_after: float | None = None,
    give_up: bool = False,
    steps: Schedule = SCHEDULE,
) -> PullWrite:
    """Try this step again after a backoff (never sooner than Retry-After); after
    METRICS_MAX_FAILURES failures, or when `give_up`, the step is lost and the post continues
    at its next one."""
    failures = row.failures + 1
    if give_up or failures >= settings.METRICS_MAX_FAILURES:
        step, next_pull_at = schedule_next(
            published_at=row.published_at, step=row.step, unchanged=0, now=now, steps=steps
        )
        failures = 0
    else:
        from publishing.services import backoff_seconds

        delay = backoff_seconds(failures, retry_after=retry_after)
        step, next_pull_at = row.step, now + dt.timedelta(seconds=delay)
    return PullWrite(
        id=row.id,
        step=step,
        next_pull_at=next_pull_at,
        unchanged=row.unchanged,
        failures=failures,
        last_pulled_at=row.last_pulled_at,
        last_error=error,
        values=row.values,
    )


def remote_posts_pull(
    *,
    channel_id: int,
    remote_post_ids: Iterable[int],
    lease: dt.datetime | str,
    reserved: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """The batch task: pull the numbers of one channel's claimed posts and store them.

    Works only on rows still at `lease` (a redelivered or overtaken task does nothing). Returns
    what happened, for logs and tests: skipped, held, waiting, pulled, failed, stopped."""
    from publishing.accounts import channel_account, credentials_refresh
    from publishing.credentials import credentials_read

    if isinstance(lease, str):
        lease = dt.datetime.fromisoformat(lease)
    now = now or timezone.now()
    ids = list(remote_post_ids)
    rows = [
        _Row.of(r)
        for r in RemotePost.objects.filter(pk__in=ids, channel_id=channel_id, next_pull_at=lease)
        .order_by()
        .values_list(*_READ_COLUMNS)
    ]
    if not rows:
        return "skipped"
    ids = [r.id for r in rows]
    channel = Channel.objects.select_related("credentials").filter(pk=channel_id).first()
    stored = getattr(channel, "credentials", None) if channel is not None else None
    adapter = adapter_or_none(channel.platform) if channel is not None else None
    if (
        channel is None
        or stored is None
        or adapter is None
        or channel.state != ChannelState.CONNECTED
    ):
        _hold(ids, lease, now)
        return "held"
    if not reserved:
        wait = metrics_rate_take(channel_id=channel_id, platform=channel.platform)
        if wait > 0:
            _wait(channel_id, ids, lease, now, wait)
            return "waiting"
    account = channel_account(channel)
    steps = schedule_for(adapter)
    remote_ids = list(dict.fromkeys(r.remote_id for r in rows))
    try:
        credentials, version = credentials_read(stored), stored.version
        try:
            snapshots = adapter.fetch_metrics(
                account=account, credentials=credentials, remote_ids=remote_ids
            )
        except AuthExpired:
            # Refresh once (under the credentials lock, shared with publishing) and try again.
            credentials = credentials_refresh(channel_id, stale_version=version)
            if credentials is None:  # refused: the channel now needs reconnecting
                _hold(ids, lease, now)
                return "held"
            snapshots = adapter.fetch_metrics(
                account=account, credentials=credentials, remote_ids=remote_ids
            )
    except NotImplementedError:
        pull_writes_store([_stopped_by_platform(r) for r in rows], lease)
        return "stopped"
    except AdapterError as exc:
        pull_writes_store([_after_failure(r, exc, now, steps) for r in rows], lease)
        return "failed"
    except Exception as exc:  # a bug or an unmapped library error: back off, keep the rest going
        logger.exception("Pulling metrics of channel %s failed unexpectedly", channel_id)
        pull_writes_store([_after_failure(r, exc, now, steps) for r in rows], lease)
        return "failed"
    found = {s.remote_id: s for s in snapshots}
    writes = [
        _after_pull(r, found[r.remote_id], now, steps)
        if r.remote_id in found
        else _after_missing(r, now, steps)
        for r in rows
    ]
    pull_writes_store(writes, lease)
    return "pulled"


def _stopped(row: _Row, *, error: str) -> PullWrite:
    """The row with no further pull, its numbers kept and `error` saying why."""
    return PullWrite(
        id=row.id,
        step=row.step,
        next_pull_at=None,
        unchanged=row.unchanged,
        failures=row.failures,
        last_pulled_at=row.last_pulled_at,
        last_error=error,
        values=row.values,
    )


def _stopped_by_platform(row: _Row) -> PullWrite:
    return _stopped(row, error=_("This platform does not report numbers for posts."))


def _hold(ids: list[int], lease: dt.datetime, now: dt.datetime) -> None:
    """Paused, needs reconnect, no credentials: look again later, no attempt burnt."""
    RemotePost.objects.filter(pk__in=ids, next_pull_at=lease).update(
        next_pull_at=now + setting_seconds("METRICS_HOLD_SECONDS")
    )


def _wait(channel_id: int, ids: list[int], lease: dt.datetime, now: dt.datetime, wait: float):
    """The read bucket is empty: a slot `wait` seconds ahead is reserved for this batch. It is
    sent again for then (without taking another token), under a lease that outlasts the wait
    (if that message is lost, the posts come back when it ends). A wait longer than the broker
    keeps a delayed message safely is left to the sweep."""
    if wait > settings.METRICS_MAX_COUNTDOWN_SECONDS:
        RemotePost.objects.filter(pk__in=ids, next_pull_at=lease).update(
            next_pull_at=now + dt.timedelta(seconds=wait)
        )
        return
    new_lease = now + dt.timedelta(seconds=wait) + setting_seconds("METRICS_LEASE_SECONDS")
    with transaction.atomic():
        if RemotePost.objects.filter(pk__in=ids, next_pull_at=lease).update(next_pull_at=new_lease):
            # Rows that were not at the lease any more are skipped by that task (its token).
            batch = sweep.PullBatch(channel_id, tuple(ids), new_lease)
            transaction.on_commit(lambda: sweep.pull_batches_send([batch], countdown=wait))
