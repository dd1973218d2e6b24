"""The due sweep: claims due posts under a lease (SKIP LOCKED on PostgreSQL) and hands them to the
metrics queue in per-channel batches, sent on commit; `metrics_sweep` is the beat's entry point."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from calendar_app.models import Channel, ChannelState
from config import task_registry
from publishing.adapters.registry import configured_platforms, get_adapter
from publishing.metrics.enrol import remote_posts_enrol
from publishing.metrics.reads import adapter_or_none, setting_seconds
from publishing.models import ChannelCredentials, RemotePost

CLAIM_BATCH = 5000


@dataclass(frozen=True)
class PullBatch:
    """One batch task: posts of one channel, claimed until `lease` (also the task's token)."""

    channel_id: int
    remote_post_ids: tuple[int, ...]
    lease: dt.datetime

    def task_args(self) -> tuple[int, list[int], str]:
        return self.channel_id, list(self.remote_post_ids), self.lease.isoformat()


def _is_ready(state: str, has_credentials: bool) -> bool:
    return state == ChannelState.CONNECTED and has_credentials


def remote_posts_claim_due(
    *, now: dt.datetime | None = None, limit: int = CLAIM_BATCH
) -> list[PullBatch]:
    """Claim up to `limit` due posts in due order and hand them to the metrics queue.

    Claimed posts move to a lease (now + METRICS_LEASE_SECONDS), so a crashed task's posts come
    back; they are grouped per channel in batches of the adapter's metrics_batch_size, one task
    per batch, sent on commit. Posts of held channels (paused, needs reconnect, no credentials,
    platform not configured) move on by METRICS_HOLD_SECONDS with no failure counted; posts of
    a platform without metrics stop."""
    now = now or timezone.now()
    batcher = _Batcher(now + setting_seconds("METRICS_LEASE_SECONDS"))
    _claim_due(now=now, limit=limit, batcher=batcher)
    batches = batcher.take(everything=True)
    if batches:
        transaction.on_commit(lambda: pull_batches_send(batches))
    return batches


class _Batcher:
    """Claimed posts per channel, cut into batches of the adapter's metrics_batch_size. The
    chunks one sweep claims share its lease, so a channel's posts from several chunks fill the
    same batches (claimed in due order, a channel's posts are spread over the chunks)."""

    def __init__(self, lease: dt.datetime) -> None:
        self.lease = lease
        self.open: dict[int, list[int]] = {}
        self.sizes: dict[int, int] = {}

    def add(self, channel_id: int, platform: str, ids: list[int]) -> None:
        if channel_id not in self.sizes:
            self.sizes[channel_id] = max(1, get_adapter(platform).capabilities.metrics_batch_size)
        self.open.setdefault(channel_id, []).extend(ids)

    def take(self, *, everything: bool = False) -> list[PullBatch]:
        """The full batches (and with `everything`, the partly filled ones too)."""
        batches = []
        for channel_id, ids in self.open.items():
            size = self.sizes[channel_id]
            cut = len(ids) if everything else len(ids) - len(ids) % size
            for start in range(0, cut, size):
                batches.append(
                    PullBatch(channel_id, tuple(ids[start : min(start + size, cut)]), self.lease)
                )
            self.open[channel_id] = ids[cut:]
        return batches


def _claim_due(*, now: dt.datetime, limit: int, batcher: _Batcher) -> int:
    """One claim transaction (see remote_posts_claim_due); returns the due rows looked at.
    The claimed posts go to `batcher`; the caller sends its batches once this committed."""
    lease = batcher.lease
    if connection.vendor == "postgresql":
        return _claim_due_pg(now=now, limit=limit, batcher=batcher)
    due = RemotePost.objects.filter(next_pull_at__lte=now).order_by("next_pull_at")
    columns = ("pk", "channel_id", "channel__platform", "channel__state", "channel__credentials")
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        if skip_locked:
            locked = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(locked.values_list(*columns)[:limit])
        else:
            rows = list(due.values_list(*columns)[:limit])
        if not rows:
            return 0
        ready: dict[int, list[int]] = defaultdict(list)
        held: list[int] = []
        stopped: list[int] = []
        platforms: dict[int, str] = {}
        for pk, channel_id, platform, state, credentials_id in rows:
            adapter = adapter_or_none(platform)
            if adapter is not None and not adapter.capabilities.metrics:
                stopped.append(pk)
            elif adapter is None or not _is_ready(state, credentials_id is not None):
                held.append(pk)
            else:
                ready[channel_id].append(pk)
                platforms[channel_id] = platform
        claimed = [pk for ids in ready.values() for pk in ids]
        if claimed:
            moved = RemotePost.objects.filter(pk__in=claimed, next_pull_at__lte=now).update(
                next_pull_at=lease
            )
            if not skip_locked and moved != len(claimed):
                # Compare-and-set: keep only the rows this call moved (nobody else's lease).
                mine = set(
                    RemotePost.objects.filter(pk__in=claimed, next_pull_at=lease).values_list(
                        "pk", flat=True
                    )
                )
                ready = {c: [pk for pk in ids if pk in mine] for c, ids in ready.items()}
        if held:
            RemotePost.objects.filter(pk__in=held, next_pull_at__lte=now).update(
                next_pull_at=now + setting_seconds("METRICS_HOLD_SECONDS")
            )
        if stopped:
            RemotePost.objects.filter(pk__in=stopped).update(next_pull_at=None)
    for channel_id, ids in ready.items():
        batcher.add(channel_id, platforms[channel_id], ids)
    return len(rows)


# PostgreSQL: the claim in one statement. The due rows are locked in due order (SKIP LOCKED:
# two sweeps never take the same row) and each moves to the lease, to the hold (channel not
# connected or without credentials, platform not configured) or stops (platform without
# metrics); the claimed ones come back in due order.
_PG_CLAIM = """
WITH due AS (
    SELECT id, next_pull_at AS was FROM {remote_post}
     WHERE next_pull_at <= %(now)s
     ORDER BY next_pull_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE {remote_post} AS rp
       SET next_pull_at = CASE
               WHEN ch.platform <> ALL(%(configured)s::text[]) THEN %(hold)s
               WHEN ch.platform <> ALL(%(pulling)s::text[]) THEN NULL
               WHEN ch.state = %(connected)s
                    AND EXISTS (SELECT 1 FROM {credentials} c WHERE c.channel_id = ch.id)
                    THEN %(lease)s
               ELSE %(hold)s
           END
      FROM due, {channel} AS ch
     WHERE rp.id = due.id AND ch.id = rp.channel_id
    RETURNING rp.id, rp.channel_id, ch.platform, rp.next_pull_at = %(lease)s AS claimed
)
SELECT moved.id, moved.channel_id, moved.platform, moved.claimed
  FROM moved JOIN due ON due.id = moved.id
 ORDER BY due.was, due.id
"""


def _claim_due_pg(*, now: dt.datetime, limit: int, batcher: _Batcher) -> int:
    configured = [p for p in configured_platforms() if adapter_or_none(p) is not None]
    pulling = [p for p in configured if get_adapter(p).capabilities.metrics]
    sql = _PG_CLAIM.format(
        remote_post=RemotePost._meta.db_table,
        channel=Channel._meta.db_table,
        credentials=ChannelCredentials._meta.db_table,
    )
    params = {
        "now": now,
        "limit": limit,
        "configured": configured,
        "pulling": pulling,
        "connected": ChannelState.CONNECTED.value,
        "lease": batcher.lease,
        "hold": now + setting_seconds("METRICS_HOLD_SECONDS"),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ready: dict[int, list[int]] = defaultdict(list)
    platforms: dict[int, str] = {}
    for pk, channel_id, platform, claimed in rows:
        if claimed:
            ready[channel_id].append(pk)
            platforms[channel_id] = platform
    for channel_id, ids in ready.items():
        batcher.add(channel_id, platforms[channel_id], ids)
    return len(rows)


def pull_batches_send(batches: Sequence[PullBatch], *, countdown: float | None = None) -> None:
    """One metrics_pull_batch task per batch; with `countdown`, for a slot already reserved in the
    read bucket (`reserved`: the task takes no token)."""
    metrics_pull_batch = task_registry.task("publishing.tasks", "metrics_pull_batch")
    for batch in batches:
        metrics_pull_batch.apply_async(
            batch.task_args(),
            kwargs={"reserved": countdown is not None},
            countdown=countdown,
        )


@dataclass
class SweepResult:
    enrolled: int = 0
    claimed: int = 0
    batches: int = 0


def metrics_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """The beat's sweep (every minute): enrol new deliveries, then claim what is due, at most
    METRICS_SWEEP_LIMIT posts a pass (more waits for the next pass: the queue never floods)."""
    now = now or timezone.now()
    result = SweepResult()
    result.enrolled = remote_posts_enrol(now=now)
    budget = settings.METRICS_SWEEP_LIMIT
    batcher = _Batcher(now + setting_seconds("METRICS_LEASE_SECONDS"))
    while budget > 0:
        seen = _claim_due(now=now, limit=min(CLAIM_BATCH, budget), batcher=batcher)
        budget -= seen
        last = seen < CLAIM_BATCH or budget <= 0
        batches = batcher.take(everything=last)
        if batches:
            result.claimed += sum(len(b.remote_post_ids) for b in batches)
            result.batches += len(batches)
            transaction.on_commit(partial(pull_batches_send, batches))
        if last:
            break
    return result
