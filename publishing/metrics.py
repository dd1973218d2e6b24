"""Engagement numbers into the database: which published posts we follow (enrolment and history
backfill), when their numbers are due (the decaying schedule), the due sweep that hands them to
the metrics queue in per-channel batches, the batch pull itself, and daily account snapshots.

The pull schedule, in one place (`SCHEDULE`): 15 min, 1 h, 6 h, 24 h, 3 d, 7 d and 30 d after a
post was published, then it stops (`next_pull_at` NULL). `RemotePost.step` is the index of the
step `next_pull_at` stands for. Rules:
- A pull that comes late (a backlog, a paused channel) or a post that joins late (enrolled after
  an outage, found by the history backfill) continues at the first step still in the future;
  steps in the past are not pulled one after another.
- Quiet posts are pulled less often: after `QUIET_AFTER` (2) pulls in a row that brought the same
  numbers, the next step is skipped. The last step is never skipped, so every post gets its
  30-day count.
- A failed pull (transient, rate limited) is retried with backoff (Retry-After honoured) without
  moving on; after `METRICS_MAX_FAILURES` failures, or at once when retrying cannot help
  (PermanentError), that step is given up and the post continues at its next step with the
  error kept in `last_error`. A post the platform leaves out of its answer is asked for again
  soon; left out again, it stops (deleted on the platform), with `last_error`.
- A channel that is paused, needs reconnecting or has no credentials is held: its posts come
  back after `METRICS_HOLD_SECONDS`, with no failure counted.

Idempotency: the due sweep claims posts by moving `next_pull_at` to a lease (SKIP LOCKED on
PostgreSQL, a compare-and-set elsewhere) and the batch task carries that lease; it writes only
rows still at it (a compare-and-set: on PostgreSQL in the same statement as the write, on SQLite
inside its write transaction), so a task that runs twice or after its lease was taken over
writes nothing. Snapshots are numbered by the schedule step
they were taken for (`seq` = step + 1; a backfilled post's first snapshot, from the listing, gets
the step it joins at): (remote_post, seq) is unique, a second insert is ignored.

Rate limits: pulls take tokens from the engine's per-channel token bucket (publishing.ratelimit's
script, Redis) but from a bucket of their own (`METRICS_RATE_LIMITS`): platforms limit reads
apart from writes (X, Meta and LinkedIn per endpoint), and a metrics backlog sharing the
publishing bucket would push scheduled posts back. The two defaults together stay within
Mastodon's 300 calls per 5 minutes, where one budget covers both. A batch whose bucket is empty
keeps its reserved slot and is sent again for then (waiting, not failing).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.external_urls import external_url_problem, url_scheme
from calendar_app.models import Channel, ChannelState, Post, PostVariant
from calendar_app.platforms import Platform
from config import task_registry
from publishing import ratelimit
from publishing.adapters.base import (
    ACCOUNT_METRIC_NAMES,
    METRIC_NAMES,
    AdapterError,
    AuthExpired,
    MetricsSnapshot,
    PermanentError,
    PlatformAdapter,
    RateLimited,
    RemotePostInfo,
)
from publishing.adapters.registry import AdapterNotConfigured, configured_platforms, get_adapter
from publishing.models import (
    AccountSnapshot,
    ChannelCredentials,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
)

logger = logging.getLogger(__name__)

# --- the schedule ---------------------------------------------------------------------------------

SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(minutes=15),
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
    dt.timedelta(hours=24),
    dt.timedelta(days=3),
    dt.timedelta(days=7),
    dt.timedelta(days=30),
)
LAST_STEP = len(SCHEDULE) - 1
QUIET_AFTER = 2  # unchanged pulls in a row after which the next step is skipped

# Published deliveries are enrolled while this young (a day more than the schedule lasts, so an
# outage of the sweep does not lose them); older ones have nothing left to pull.
ENROL_HORIZON = SCHEDULE[-1] + dt.timedelta(days=1)
ENROL_LIMIT = 100_000  # deliveries enrolled per sweep at most
ENROL_BATCH = 2000  # ... read in full and inserted this many at a time
CLAIM_BATCH = 5000
TEXT_EXCERPT = 500  # characters of the post's text kept on the RemotePost


def _first_step_after(published_at: dt.datetime, step: int, now: dt.datetime) -> int:
    """The first step at or after `step` whose time is still in the future (len: none left)."""
    while step <= LAST_STEP and published_at + SCHEDULE[step] <= now:
        step += 1
    return step


def schedule_join(*, published_at: dt.datetime, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(step, next_pull_at) of a post entering the schedule now: the first step still ahead."""
    step = _first_step_after(published_at, 0, now)
    return (step, published_at + SCHEDULE[step]) if step <= LAST_STEP else (step, None)


def schedule_next(
    *, published_at: dt.datetime, step: int, unchanged: int, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """(step, next_pull_at) after the pull (or the given-up attempt) for `step`.

    `unchanged` counts the pulls in a row, this one included, that brought the same numbers:
    from QUIET_AFTER on, the next step is skipped (never the last one)."""
    following = step + 1
    if unchanged >= QUIET_AFTER and following < LAST_STEP:
        following += 1
    following = _first_step_after(published_at, following, now)
    if following > LAST_STEP:
        return len(SCHEDULE), None
    return following, published_at + SCHEDULE[following]


# --- settings -------------------------------------------------------------------------------------


def _seconds(name: str) -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, name)))


def _read_limits(platform: str) -> tuple[float, float]:
    table = settings.METRICS_RATE_LIMITS
    return tuple(table.get(platform, table["default"]))  # type: ignore[return-value]


def read_bucket_key(channel_id: int) -> str:
    # Apart from the publishing bucket (ratelimit.bucket_key); the database name keeps
    # installations and test databases on one Redis apart, as there.
    return f"publishing:metrics-bucket:{settings.DATABASES['default']['NAME']}:{channel_id}"


def metrics_rate_take(*, channel_id: int, platform: str) -> float:
    """Take (or reserve) one read token of the channel; the seconds to wait for it (0: go).
    The engine's token bucket script, on the channel's read bucket."""
    burst, rate = _read_limits(platform)
    return ratelimit.bucket_take(read_bucket_key(channel_id), burst=burst, rate=rate)


def metrics_rate_reset(*, channel_id: int) -> None:
    ratelimit.bucket_reset(read_bucket_key(channel_id))


def _adapter_or_none(platform: str) -> PlatformAdapter | None:
    try:
        return get_adapter(platform)
    except AdapterNotConfigured:
        return None


def _pulls_metrics(platform: str) -> bool:
    """Whether posts on `platform` have numbers to pull. An unconfigured platform counts as
    yes: its posts are held until it is configured again, not dropped."""
    if platform == Platform.MANUAL:
        return False
    adapter = _adapter_or_none(platform)
    return adapter is None or bool(adapter.capabilities.metrics)


# --- enrolment ------------------------------------------------------------------------------------


def remote_posts_enrol(*, now: dt.datetime | None = None, limit: int = ENROL_LIMIT) -> int:
    """Give published deliveries that have none a RemotePost on the schedule (beat, through
    `metrics_sweep`; never on the publish path). Returns how many were enrolled.

    Bounded and index-backed: one lean read finds published deliveries run within
    ENROL_HORIZON (the delivery's (state, run_at) index) without a RemotePost (its unique
    delivery index), oldest first, at most `limit`; they are then enrolled ENROL_BATCH at a
    time (on PostgreSQL one INSERT ... SELECT each). Idempotent: (channel, remote_id) and delivery are unique, conflicts
    are skipped; a post found by the history backfill before the delivery was enrolled is
    linked to it."""
    now = now or timezone.now()
    rows = list(
        Delivery.objects.filter(
            state=DeliveryState.PUBLISHED,
            run_at__gte=now - ENROL_HORIZON,
            remote_post__isnull=True,
            published_at__isnull=False,
        )
        .exclude(remote_id="")
        .exclude(channel__platform=Platform.MANUAL)
        .order_by("run_at")
        .values_list("pk", "published_at", "channel__platform")[:limit]
    )
    enrol = _enrol_pg if connection.vendor == "postgresql" else _enrol
    return sum(
        enrol(rows[start : start + ENROL_BATCH], now) for start in range(0, len(rows), ENROL_BATCH)
    )


def _schedule_of(
    published_at: dt.datetime, platform: str, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    step, next_pull_at = schedule_join(published_at=published_at, now=now)
    return step, (next_pull_at if _pulls_metrics(platform) else None)


# PostgreSQL: the chunk's RemotePosts in one INSERT ... SELECT (the text excerpt is the
# variant's own text, else the post's, as PostVariant.effective_body); conflicts are skipped
# and the enrolled deliveries returned.
_PG_ENROL = """
INSERT INTO {remote_post} (workspace_id, channel_id, delivery_id, source, remote_id, url, text,
                           published_at, next_pull_at, step, unchanged, failures, last_error)
SELECT d.workspace_id, d.channel_id, d.id, %(source)s, left(d.remote_id, 500), d.url,
       left(coalesce(nullif(v.body_override, ''), p.body, ''), %(excerpt)s), d.published_at,
       s.next_pull_at, s.step, 0, 0, ''
  FROM jsonb_to_recordset(%(rows)s::jsonb) AS s(id bigint, step smallint, next_pull_at timestamptz)
  JOIN {delivery} d ON d.id = s.id
  JOIN {post} p ON p.id = d.post_id
  LEFT JOIN {variant} v ON v.post_id = d.post_id AND v.channel_id = d.channel_id
ON CONFLICT DO NOTHING
RETURNING delivery_id
"""


def _enrol_pg(rows: list[tuple[int, dt.datetime, str]], now: dt.datetime) -> int:
    chunk = []
    for pk, published_at, platform in rows:
        step, next_pull_at = _schedule_of(published_at, platform, now)
        chunk.append(
            {
                "id": pk,
                "step": step,
                "next_pull_at": next_pull_at.isoformat() if next_pull_at else None,
            }
        )
    sql = _PG_ENROL.format(
        remote_post=RemotePost._meta.db_table,
        delivery=Delivery._meta.db_table,
        post=Post._meta.db_table,
        variant=PostVariant._meta.db_table,
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                {
                    "source": RemotePostSource.APP.value,
                    "excerpt": TEXT_EXCERPT,
                    "rows": json.dumps(chunk),
                },
            )
            enrolled = {row[0] for row in cursor.fetchall()}
        missing = [pk for pk, _published_at, _platform in rows if pk not in enrolled]
        if missing:
            enrolled |= _link_found(missing)
    return len(enrolled)


def _link_found(delivery_ids: list[int]) -> set[int]:
    """Deliveries whose post the backfill found on the account before they were enrolled: the
    RemotePost becomes theirs. Returns the deliveries linked."""
    linked = set()
    found = Delivery.objects.filter(pk__in=delivery_ids).values_list(
        "pk", "channel_id", "remote_id"
    )
    for pk, channel_id, remote_id in found:
        if RemotePost.objects.filter(
            channel_id=channel_id, remote_id=remote_id[:500], delivery__isnull=True
        ).update(delivery_id=pk, source=RemotePostSource.APP):
            linked.add(pk)
        else:
            logger.warning(
                "Delivery %s could not be enrolled: remote id %r is taken on channel %s",
                pk,
                remote_id,
                channel_id,
            )
    return linked


def _enrol(rows: list[tuple[int, dt.datetime, str]], now: dt.datetime) -> int:
    """Elsewhere (SQLite): the same through the ORM, bulk_create ignoring conflicts."""
    variant_body = PostVariant.objects.filter(
        post_id=OuterRef("post_id"), channel_id=OuterRef("channel_id")
    ).values("body_override")[:1]
    found = (
        Delivery.objects.filter(pk__in=[r[0] for r in rows])
        .annotate(own_body=Subquery(variant_body))
        .values_list(
            "pk",
            "workspace_id",
            "channel_id",
            "channel__platform",
            "remote_id",
            "url",
            "published_at",
            "post__body",
            "own_body",
        )
    )
    posts = []
    for pk, workspace_id, channel_id, platform, remote_id, url, published_at, body, own in found:
        step, next_pull_at = _schedule_of(published_at, platform, now)
        posts.append(
            RemotePost(
                workspace_id=workspace_id,
                channel_id=channel_id,
                delivery_id=pk,
                source=RemotePostSource.APP,
                remote_id=remote_id[:500],
                url=url,
                text=(own or body or "")[:TEXT_EXCERPT],
                published_at=published_at,
                step=step,
                next_pull_at=next_pull_at,
            )
        )
    if not posts:
        return 0
    with transaction.atomic():
        RemotePost.objects.bulk_create(posts, ignore_conflicts=True)
        ids = [p.delivery_id for p in posts]
        enrolled = set(
            RemotePost.objects.filter(delivery_id__in=ids).values_list("delivery_id", flat=True)
        )
        missing = [pk for pk in ids if pk not in enrolled]
        if missing:
            enrolled |= _link_found(missing)
    return len(enrolled)


# --- the due sweep --------------------------------------------------------------------------------


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
    batcher = _Batcher(now + _seconds("METRICS_LEASE_SECONDS"))
    _claim_due(now=now, limit=limit, batcher=batcher)
    batches = batcher.take(everything=True)
    if batches:
        transaction.on_commit(lambda: _send(batches))
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
            adapter = _adapter_or_none(platform)
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
                next_pull_at=now + _seconds("METRICS_HOLD_SECONDS")
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
    configured = [p for p in configured_platforms() if _adapter_or_none(p) is not None]
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
        "hold": now + _seconds("METRICS_HOLD_SECONDS"),
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


def _send(batches: Sequence[PullBatch], *, countdown: float | None = None) -> None:
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
    batcher = _Batcher(now + _seconds("METRICS_LEASE_SECONDS"))
    while budget > 0:
        seen = _claim_due(now=now, limit=min(CLAIM_BATCH, budget), batcher=batcher)
        budget -= seen
        last = seen < CLAIM_BATCH or budget <= 0
        batches = batcher.take(everything=last)
        if batches:
            result.claimed += sum(len(b.remote_post_ids) for b in batches)
            result.batches += len(batches)
            transaction.on_commit(partial(_send, batches))
        if last:
            break
    return result


# --- the batch pull -------------------------------------------------------------------------------

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


@dataclass
class _Write:
    """What the pull writes for one RemotePost (and its snapshot when `snapshot`)."""

    id: int
    step: int
    next_pull_at: dt.datetime | None
    unchanged: int
    failures: int
    last_pulled_at: dt.datetime | None
    last_error: str
    values: tuple[int | None, ...]
    snapshot: bool = False
    seq: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


def _values_of(snapshot: MetricsSnapshot) -> tuple[int | None, ...]:
    found = snapshot.values or {}
    out: list[int | None] = []
    for name in METRIC_NAMES:
        value = found.get(name)
        try:
            out.append(None if value is None else int(value))
        except (TypeError, ValueError):
            out.append(None)
    return tuple(out)


def _after_pull(row: _Row, snapshot: MetricsSnapshot, now: dt.datetime) -> _Write:
    values = _values_of(snapshot)
    same = row.last_pulled_at is not None and values == row.values
    unchanged = row.unchanged + 1 if same else 0
    step, next_pull_at = schedule_next(
        published_at=row.published_at, step=row.step, unchanged=unchanged, now=now
    )
    return _Write(
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


def _after_missing(row: _Row, now: dt.datetime) -> _Write:
    """A post the platform left out of its answer. Stopping is for good, so one answer is not
    taken for it: the post is asked for again soon (as a failure, with backoff), and stops when
    that pull fails too (`failures` is reset by every pull that brought numbers)."""
    if row.failures == 0:
        return _retry_or_give_up(
            row, now, error=_("The platform did not return this post; asking again.")
        )
    return _Write(
        id=row.id,
        step=row.step,
        next_pull_at=None,
        unchanged=row.unchanged,
        failures=row.failures,
        last_pulled_at=row.last_pulled_at,
        last_error=_("The platform no longer has this post (deleted or hidden): stopped."),
        values=row.values,
    )


def _after_failure(row: _Row, exc: Exception, now: dt.datetime) -> _Write:
    message = getattr(exc, "message", "") or _("An unexpected error occurred.")
    detail = getattr(exc, "detail", "")  # adapters keep secrets out of it; str(exc) might not
    return _retry_or_give_up(
        row,
        now,
        error=f"{message} {detail}".strip()[:2000],
        retry_after=exc.retry_after if isinstance(exc, RateLimited) else None,
        give_up=isinstance(exc, PermanentError),
    )


def _retry_or_give_up(
    row: _Row,
    now: dt.datetime,
    *,
    error: str,
    retry_after: float | None = None,
    give_up: bool = False,
) -> _Write:
    """Try this step again after a backoff (never sooner than Retry-After); after
    METRICS_MAX_FAILURES failures, or when `give_up`, the step is lost and the post continues
    at its next one."""
    failures = row.failures + 1
    if give_up or failures >= settings.METRICS_MAX_FAILURES:
        step, next_pull_at = schedule_next(
            published_at=row.published_at, step=row.step, unchanged=0, now=now
        )
        failures = 0
    else:
        from publishing.services import backoff_seconds

        delay = backoff_seconds(failures, retry_after=retry_after)
        step, next_pull_at = row.step, now + dt.timedelta(seconds=delay)
    return _Write(
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
    adapter = _adapter_or_none(channel.platform) if channel is not None else None
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
        _write([_stopped_by_platform(r) for r in rows], lease)
        return "stopped"
    except AdapterError as exc:
        _write([_after_failure(r, exc, now) for r in rows], lease)
        return "failed"
    except Exception as exc:  # a bug or an unmapped library error: back off, keep the rest going
        logger.exception("Pulling metrics of channel %s failed unexpectedly", channel_id)
        _write([_after_failure(r, exc, now) for r in rows], lease)
        return "failed"
    found = {s.remote_id: s for s in snapshots}
    writes = [
        _after_pull(r, found[r.remote_id], now) if r.remote_id in found else _after_missing(r, now)
        for r in rows
    ]
    _write(writes, lease)
    return "pulled"


def _stopped_by_platform(row: _Row) -> _Write:
    return _Write(
        id=row.id,
        step=row.step,
        next_pull_at=None,
        unchanged=row.unchanged,
        failures=row.failures,
        last_pulled_at=row.last_pulled_at,
        last_error=_("This platform does not report numbers for posts."),
        values=row.values,
    )


def _hold(ids: list[int], lease: dt.datetime, now: dt.datetime) -> None:
    """Paused, needs reconnect, no credentials: look again later, no attempt burnt."""
    RemotePost.objects.filter(pk__in=ids, next_pull_at=lease).update(
        next_pull_at=now + _seconds("METRICS_HOLD_SECONDS")
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
    new_lease = now + dt.timedelta(seconds=wait) + _seconds("METRICS_LEASE_SECONDS")
    with transaction.atomic():
        if RemotePost.objects.filter(pk__in=ids, next_pull_at=lease).update(next_pull_at=new_lease):
            # Rows that were not at the lease any more are skipped by that task (its token).
            batch = PullBatch(channel_id, tuple(ids), new_lease)
            transaction.on_commit(lambda: _send([batch], countdown=wait))


# The write of one batch: one statement on PostgreSQL, the batch's rows as one JSON parameter
# (jsonb_to_recordset): the compare-and-set UPDATE of the RemotePosts still at the lease, and
# the INSERT of the snapshots of exactly those rows (a second run finds none; a duplicate seq
# is ignored anyway).
_PG_WRITE = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
        id bigint, step smallint, next_pull_at timestamptz, unchanged smallint,
        failures smallint, last_pulled_at timestamptz, last_error text, {metric_types},
        snapshot boolean, seq integer, raw jsonb
    )
), moved AS (
    UPDATE {remote_post} AS rp
       SET step = v.step, next_pull_at = v.next_pull_at, unchanged = v.unchanged,
           failures = v.failures, last_pulled_at = v.last_pulled_at, last_error = v.last_error,
           {metric_set}
      FROM v
     WHERE rp.id = v.id AND rp.next_pull_at = %(lease)s
    RETURNING rp.id
), stored AS (
    INSERT INTO {snapshot} (remote_post_id, seq, taken_at, {metrics}, raw)
    SELECT v.id, v.seq, v.last_pulled_at, {v_metrics}, coalesce(v.raw, '{{}}'::jsonb)
      FROM v JOIN moved ON moved.id = v.id
     WHERE v.snapshot
    ON CONFLICT (remote_post_id, seq) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM stored)
""".format(
    metric_types=", ".join(f"{m} bigint" for m in METRIC_NAMES),
    metrics=", ".join(METRIC_NAMES),
    v_metrics=", ".join(f"v.{m}" for m in METRIC_NAMES),
    metric_set=", ".join(f"{m} = v.{m}" for m in METRIC_NAMES),
    remote_post=RemotePost._meta.db_table,
    snapshot=MetricSnapshot._meta.db_table,
)

_WRITE_FIELDS = [
    "step",
    "next_pull_at",
    "unchanged",
    "failures",
    "last_pulled_at",
    "last_error",
    *METRIC_NAMES,
]


def _write(writes: list[_Write], lease: dt.datetime) -> tuple[int, int]:
    """Store a batch's results on the rows still at `lease`: (rows updated, snapshots stored)."""
    if not writes:
        return 0, 0
    if connection.vendor == "postgresql":
        return _write_pg(writes, lease)
    return _write_orm(writes, lease)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _write_pg(writes: list[_Write], lease: dt.datetime) -> tuple[int, int]:
    rows = [
        {
            "id": w.id,
            "step": w.step,
            "next_pull_at": _iso(w.next_pull_at),
            "unchanged": w.unchanged,
            "failures": w.failures,
            "last_pulled_at": _iso(w.last_pulled_at),
            "last_error": w.last_error,
            "snapshot": w.snapshot,
            "seq": w.seq,
            "raw": w.raw if w.snapshot else None,
            **dict(zip(METRIC_NAMES, w.values, strict=True)),
        }
        for w in writes
    ]
    params = {"rows": json.dumps(rows, cls=DjangoJSONEncoder), "lease": lease}
    with connection.cursor() as cursor:
        cursor.execute(_PG_WRITE, params)
        moved, stored = cursor.fetchone()
    return int(moved), int(stored)


def _write_orm(writes: list[_Write], lease: dt.datetime) -> tuple[int, int]:
    """Elsewhere (SQLite): the same in one transaction (SQLite's IMMEDIATE transactions
    serialise the writers, so the compare-and-set read holds until the commit): the rows still
    at the lease, one UPDATE statement run for each of them (executemany: Django's bulk_update
    built its CASE expressions at ~5 ms a row), and one bulk insert of their snapshots."""
    with transaction.atomic():
        mine = set(
            RemotePost.objects.filter(
                pk__in=[w.id for w in writes], next_pull_at=lease
            ).values_list("pk", flat=True)
        )
        writes = [w for w in writes if w.id in mine]
        if not writes:
            return 0, 0
        quote = connection.ops.quote_name
        adapt = connection.ops.adapt_datetimefield_value
        sql = "UPDATE {table} SET {columns} WHERE {pk} = %s".format(
            table=quote(RemotePost._meta.db_table),
            columns=", ".join(f"{quote(name)} = %s" for name in _WRITE_FIELDS),
            pk=quote("id"),
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                sql,
                [
                    (
                        w.step,
                        adapt(w.next_pull_at),
                        w.unchanged,
                        w.failures,
                        adapt(w.last_pulled_at),
                        w.last_error,
                        *w.values,
                        w.id,
                    )
                    for w in writes
                ],
            )
        snapshots = [
            MetricSnapshot(
                remote_post_id=w.id,
                seq=w.seq,
                taken_at=w.last_pulled_at,
                raw=w.raw,
                **dict(zip(METRIC_NAMES, w.values, strict=True)),
            )
            for w in writes
            if w.snapshot
        ]
        if snapshots:
            MetricSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
    return len(writes), len(snapshots)


# --- account snapshots ----------------------------------------------------------------------------


def _account_platforms() -> list[str]:
    """Platforms whose adapter reports account numbers (followers...)."""
    found = []
    for platform in configured_platforms():
        adapter = _adapter_or_none(platform)
        if adapter is not None and adapter.capabilities.account_metrics:
            found.append(platform)
    return found


def _local_day(now: dt.datetime, tz_name: str) -> dt.date:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(tz_name)).date()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC).date()


def account_snapshots_due(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of connected channels (whose platform reports account numbers) without a snapshot for
    their workspace's current day. Beat asks every hour, so each channel's numbers are taken in
    the first hour of its local day, and a failed pull is tried again the next hour."""
    now = now or timezone.now()
    channels = list(
        Channel.objects.filter(
            state=ChannelState.CONNECTED,
            platform__in=_account_platforms(),
            credentials__isnull=False,
        )
        .order_by("pk")
        .values_list("pk", "workspace__timezone")
    )
    if not channels:
        return []
    today = {pk: _local_day(now, tz) for pk, tz in channels}
    taken = set(
        AccountSnapshot.objects.filter(
            channel_id__in=list(today), day__in=set(today.values())
        ).values_list("channel_id", "day")
    )
    return [pk for pk, day in today.items() if (pk, day) not in taken]


class PullLater(Exception):
    """The channel's read bucket (or the platform) says wait `seconds`; nothing was written."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"try again in {seconds:.0f} s")
        self.seconds = seconds


def _connected(channel_id: int) -> tuple[Channel, ChannelCredentials, PlatformAdapter] | None:
    channel = Channel.objects.select_related("credentials", "workspace").filter(pk=channel_id)
    channel = channel.first()
    if channel is None or channel.state != ChannelState.CONNECTED:
        return None
    stored = getattr(channel, "credentials", None)
    adapter = _adapter_or_none(channel.platform)
    if stored is None or adapter is None:
        return None
    return channel, stored, adapter


def _call_with_refresh(channel: Channel, stored: ChannelCredentials, call):
    """`call(credentials)`; on AuthExpired, refresh once through the engine's refresh service
    and call again. None when the refresh was refused (the channel now needs reconnecting)."""
    from publishing.accounts import credentials_refresh
    from publishing.credentials import credentials_read

    try:
        try:
            return call(credentials_read(stored))
        except AuthExpired:
            credentials = credentials_refresh(channel.pk, stale_version=stored.version)
            return None if credentials is None else call(credentials)
    except RateLimited as exc:
        raise PullLater(exc.retry_after or 60.0) from exc


def account_snapshot_take(
    *, channel_id: int, now: dt.datetime | None = None
) -> AccountSnapshot | None:
    """Pull a channel's account numbers and store them as its snapshot for the workspace's
    current day: a second pull that day updates the row (one upsert), never adds one. None
    when the channel is not connected or its platform reports no account numbers.
    Raises PullLater (rate limited) and TransientError (try later); a refusal (PermanentError)
    is logged and nothing stored."""
    from publishing.accounts import channel_account

    now = now or timezone.now()
    found = _connected(channel_id)
    if found is None:
        return None
    channel, stored, adapter = found
    if not adapter.capabilities.account_metrics:
        return None
    wait = metrics_rate_take(channel_id=channel.pk, platform=channel.platform)
    if wait > 0:
        raise PullLater(wait)
    account = channel_account(channel)
    try:
        metrics = _call_with_refresh(
            channel,
            stored,
            lambda credentials: adapter.fetch_account_metrics(
                account=account, credentials=credentials
            ),
        )
    except NotImplementedError:
        return None
    except PermanentError as exc:  # e.g. a missing permission: asked again in an hour
        logger.warning(
            "Account numbers of channel %s refused: %s", channel.pk, exc.detail or exc.message
        )
        return None
    if metrics is None:
        return None
    values = {}
    for name in ACCOUNT_METRIC_NAMES:
        value = (metrics.values or {}).get(name)
        values[name] = None if value is None else int(value)
    snapshot = AccountSnapshot(
        workspace_id=channel.workspace_id,
        channel_id=channel.pk,
        day=_local_day(now, channel.workspace.timezone),
        taken_at=now,
        raw=metrics.raw or {},
        **values,
    )
    AccountSnapshot.objects.bulk_create(
        [snapshot],
        update_conflicts=True,
        unique_fields=["channel", "day"],
        update_fields=["taken_at", "raw", *ACCOUNT_METRIC_NAMES],
    )
    return snapshot


# --- history backfill -----------------------------------------------------------------------------


def backfill_problem(channel: Channel) -> str:
    """Why the history of `channel` cannot be backfilled now ("" when it can)."""
    if channel.state != ChannelState.CONNECTED:
        return _("The channel is not connected (paused or waiting for a reconnect).")
    if not ChannelCredentials.objects.filter(channel_id=channel.pk).exists():
        return _("The channel has no connected account.")
    adapter = _adapter_or_none(channel.platform)
    if adapter is None or not adapter.capabilities.lists_recent_posts:
        return _("%(platform)s does not list an account's posts.") % {
            "platform": channel.get_platform_display()
        }
    return ""


def remote_posts_backfill(
    *, channel_id: int, days: int | None = None, now: dt.datetime | None = None
) -> int:
    """Find the channel's posts of the last `days` (METRICS_BACKFILL_DAYS) on the platform,
    including ones not made with this app, and follow them: a RemotePost per post (linked to
    our delivery when the remote id is one of ours, else source=imported), its first snapshot
    from the listing's numbers when it has some, then the normal schedule (joining at the first
    step still ahead). Posts already followed are left alone, so running it again is safe.
    Returns how many posts were added. Raises PullLater (rate limited), TransientError (try
    later) and PermanentError (refused, e.g. a missing permission)."""
    from publishing.accounts import channel_account

    now = now or timezone.now()
    days = settings.METRICS_BACKFILL_DAYS if days is None else days
    found = _connected(channel_id)
    if found is None:
        return 0
    channel, stored, adapter = found
    if not adapter.capabilities.lists_recent_posts:
        return 0
    wait = metrics_rate_take(channel_id=channel.pk, platform=channel.platform)
    if wait > 0:
        raise PullLater(wait)
    since = now - dt.timedelta(days=days)
    account = channel_account(channel)
    try:
        listed = _call_with_refresh(
            channel,
            stored,
            lambda credentials: adapter.list_recent_posts(
                account=account,
                credentials=credentials,
                since=since,
                limit=settings.METRICS_BACKFILL_LIMIT,
            ),
        )
    except NotImplementedError:
        return 0
    if not listed:
        return 0
    return _backfill_store(
        channel, listed, since=since, now=now, pulls=bool(adapter.capabilities.metrics)
    )


def _link_to_store(channel: Channel, remote_id: str, url: str) -> str:
    """A listed post's address when we may store and link to it (calendar_app.external_urls),
    else "" with a warning naming the post and the scheme only."""
    if not url:
        return ""
    problem = external_url_problem(url)
    if not problem:
        return url
    logger.warning(
        "channel %s (%s), post %r: the platform listed a link we do not store (scheme %s: %s)",
        channel.pk,
        channel.platform,
        remote_id,
        url_scheme(url),
        problem,
    )
    return ""


def _backfill_store(
    channel: Channel,
    listed: list[RemotePostInfo],
    *,
    since: dt.datetime,
    now: dt.datetime,
    pulls: bool,
) -> int:
    posts: dict[str, RemotePostInfo] = {}
    for info in listed:
        if info.remote_id and info.published_at >= since and info.published_at <= now:
            posts.setdefault(str(info.remote_id)[:500], info)
    if not posts:
        return 0
    with transaction.atomic():
        known = set(
            RemotePost.objects.filter(channel_id=channel.pk, remote_id__in=list(posts)).values_list(
                "remote_id", flat=True
            )
        )
        new = {rid: info for rid, info in posts.items() if rid not in known}
        if not new:
            return 0
        ours = dict(
            Delivery.objects.filter(
                channel_id=channel.pk,
                state=DeliveryState.PUBLISHED,
                remote_id__in=list(new),
                remote_post__isnull=True,
            ).values_list("remote_id", "pk")
        )
        rows = []
        for rid, info in new.items():
            step, next_pull_at = schedule_join(published_at=info.published_at, now=now)
            values = _values_of(info.metrics) if info.metrics else (None,) * len(METRIC_NAMES)
            rows.append(
                RemotePost(
                    workspace_id=channel.workspace_id,
                    channel_id=channel.pk,
                    delivery_id=ours.get(rid),
                    source=RemotePostSource.APP if rid in ours else RemotePostSource.IMPORTED,
                    remote_id=rid,
                    url=_link_to_store(channel, rid, info.url),
                    text=(info.text or "")[:TEXT_EXCERPT],
                    published_at=info.published_at,
                    step=step,
                    next_pull_at=next_pull_at if pulls else None,
                    # The listing's numbers are the first pull: the time marks our rows below.
                    last_pulled_at=now if info.metrics else None,
                    **dict(zip(METRIC_NAMES, values, strict=True)),
                )
            )
        RemotePost.objects.bulk_create(rows, ignore_conflicts=True)
        with_numbers = [rid for rid, info in new.items() if info.metrics]
        if with_numbers:
            created = RemotePost.objects.filter(
                channel_id=channel.pk, remote_id__in=with_numbers, last_pulled_at=now
            ).values_list("pk", "remote_id", "step")
            MetricSnapshot.objects.bulk_create(
                [
                    MetricSnapshot(
                        remote_post_id=pk,
                        seq=step,  # the pull for `step` gets step + 1
                        taken_at=now,
                        raw=new[rid].metrics.raw or {},
                        **dict(zip(METRIC_NAMES, _values_of(new[rid].metrics), strict=True)),
                    )
                    for pk, rid, step in created
                ],
                ignore_conflicts=True,
            )
    return len(new)


def remote_posts_backfill_on_commit(*, channel_id: int, platform: str) -> None:
    """After a channel was connected: queue its history backfill once the transaction commits
    (only when its platform can list posts). A broker that is down must not undo the connect,
    so a failure to queue is logged, not raised; `manage.py metrics_backfill` can run it."""
    adapter = _adapter_or_none(platform)
    if adapter is None or not adapter.capabilities.lists_recent_posts:
        return

    def send() -> None:
        task_registry.task("publishing.tasks", "metrics_backfill_channel").delay(channel_id)

    transaction.on_commit(send, robust=True)
