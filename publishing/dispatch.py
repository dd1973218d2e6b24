"""Hands due deliveries to workers, like Zulip's scheduled-message sweep: beat calls
`deliveries_dispatch_due()` every second.

One pass: bring deliveries in line with their posts (create, move, cancel; created a short
look-ahead before they are due), mark the hopelessly late ones missed, tell people about manual
posts that are due, then lock a batch of due rows in due-time order (SKIP LOCKED on PostgreSQL, a
per-row compare-and-set elsewhere), move them to queued and send their publish tasks on commit.

Tasks are sent when due, never ahead with an ETA: Redis redelivers an unacknowledged ETA'd
message after the visibility timeout (a classic double post), and measured here a solo worker
fires ETA'd tasks from its timer at only ~30/s. Instead each sweep, once done, follows until the
next one: it sleeps until the next delivery falls due and hands it over then, so a post goes to
a worker at its time to within a few milliseconds, not up to a second later.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from calendar_app.models import ChannelState, PostVariant
from calendar_app.platforms import Platform
from calendar_app.workflow import PostStatus
from config import task_registry
from links.services import links_prepare_text
from notifications.texts import Text
from publishing.models import Delivery, DeliveryState
from publishing.ratelimit import rate_take_many
from publishing.services import TOO_LATE, delivery_move, lateness_window, notify_failed
from publishing.workflow import REVIVABLE_STATES, WAITING_STATES, DeliveryMove

logger = logging.getLogger(__name__)
D = DeliveryState
BATCH = 500
# Scheduled posts older than this that never got a delivery (e.g. created while the engine was
# off) are not looked at any more.
SYNC_HORIZON_PAST = dt.timedelta(days=7)
# The hand-over's bulk update (PostgreSQL): due rows to queued, from what the table allows.
HAND_OVER = DeliveryMove.into(D.QUEUED)


def _lookahead() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PUBLISHING_LOOKAHEAD_SECONDS)


def deliveries_sync(*, now: dt.datetime | None = None) -> int:
    """Create or revive deliveries of scheduled, publishable posts due within the look-ahead,
    and move or cancel waiting ones whose post was moved, unscheduled or lost the channel.
    Returns how many rows changed."""
    from calendar_app.services.review import post_cleared_for_publishing

    now = now or timezone.now()
    changed = 0
    # 1. Waiting deliveries whose post changed: the post is the truth.
    variant_exists = PostVariant.objects.filter(
        post_id=OuterRef("post_id"), channel_id=OuterRef("channel_id")
    )
    waiting = Delivery.objects.filter(state__in=sorted(WAITING_STATES))
    gone = waiting.filter(
        Q(post__scheduled_at__isnull=True)
        | ~Q(post__status=PostStatus.SCHEDULED)
        | ~Exists(variant_exists)
    )
    for pk, job in gone.values_list("pk", "job"):
        changed += delivery_move(pk, job=job, from_states=WAITING_STATES, to=D.CANCELLED)
    moved = waiting.filter(post__status=PostStatus.SCHEDULED).exclude(
        post__scheduled_at=F("due_at")
    )
    for pk, job, when in moved.values_list("pk", "job", "post__scheduled_at"):
        if when is not None:
            changed += delivery_move(
                pk,
                job=job,
                from_states=WAITING_STATES,
                to=D.PENDING,
                due_at=when,
                run_at=when,
                late_ok=False,
            )
    # 2. Variants of posts due soon without a live delivery for their current time. Their ids
    # first: in a burst every post in the window has its delivery, and joining post, workspace,
    # policy, author and channel to thousands of rows only to drop them all cost ~40 ms a pass.
    live = Delivery.objects.filter(post_id=OuterRef("post_id"), channel_id=OuterRef("channel_id"))
    ordering = ("post__scheduled_at", "post_id")
    missing = (
        PostVariant.objects.filter(
            post__status=PostStatus.SCHEDULED,
            post__scheduled_at__lte=now + _lookahead(),
            post__scheduled_at__gte=now - SYNC_HORIZON_PAST,
        )
        .exclude(
            Exists(
                live.filter(
                    # an unknown outcome may be live: never a second delivery beside it
                    Q(state__in=[D.PENDING, D.QUEUED, D.PUBLISHING, D.PUBLISHED, D.UNKNOWN])
                    | Q(state__in=[D.FAILED, D.MISSED], due_at=OuterRef("post__scheduled_at"))
                )
            )
        )
        .order_by(*ordering)
        .values_list("pk", flat=True)
    )
    missing_ids = list(missing[: BATCH * 10])
    variants = (
        list(
            PostVariant.objects.filter(pk__in=missing_ids)
            # The policy comes along, so post_cleared_for_publishing asks nothing more without approval.
            .select_related("post__workspace__approval_policy", "post__author", "channel")
            .order_by(*ordering)
        )
        if missing_ids
        else []
    )
    if not variants:
        return changed
    earlier = {
        (d.post_id, d.channel_id): d
        for d in Delivery.objects.filter(
            post_id__in={v.post_id for v in variants},
            state__in=sorted(REVIVABLE_STATES),
        )
    }
    publishable: dict[int, bool] = {}
    new: list[Delivery] = []
    for variant in variants:
        post = variant.post
        if post.pk not in publishable:
            publishable[post.pk] = post_cleared_for_publishing(post)
        if not publishable[post.pk]:
            continue
        existing = earlier.get((post.pk, variant.channel_id))
        if existing is None:
            new.append(
                Delivery(
                    post=post,
                    channel=variant.channel,
                    workspace_id=post.workspace_id,
                    due_at=post.scheduled_at,
                    run_at=post.scheduled_at,
                    idempotency_key=uuid.uuid4().hex,
                    assignee=post.author if variant.channel.platform == Platform.MANUAL else None,
                )
            )
        else:  # cancelled, or failed/missed at an earlier time: the post was scheduled again
            changed += delivery_move(
                existing.pk,
                job=existing.job,
                from_states=REVIVABLE_STATES,
                to=D.PENDING,
                due_at=post.scheduled_at,
                run_at=post.scheduled_at,
                late_ok=False,
                attempts=0,
                error="",
                escalated_at=None,
            )
    if new:
        Delivery.objects.bulk_create(new, ignore_conflicts=True)
        changed += len(new)
        _refresh_statistics(len(new))
    return changed


# Autovacuum's default: a table's statistics are stale once 50 rows + 10% of it changed.
STALE_ROWS, STALE_FRACTION = 50, 0.1


def _refresh_statistics(inserted: int) -> None:
    """ANALYZE the delivery table at once when a burst of new deliveries made its statistics
    stale. Autovacuum would, but only on its next round (up to a minute later), and until then
    PostgreSQL plans for the old size: measured with 5,000 deliveries created in a table that
    held none, the next dispatcher passes nested-looped 5,000 x 5,000 rows, 1.4 s instead of
    70 ms, once a second throughout the burst. Skipped inside a caller's transaction (the lock
    would be held to its end), when another ANALYZE or VACUUM holds the table (the wait is
    short), and when the database is not PostgreSQL."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or inserted < STALE_ROWS:
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    # reltuples: the rows at its last ANALYZE or VACUUM; -1 when it never had one.
    before = max(0.0, row[0] if row else 0.0)
    if inserted < STALE_ROWS + STALE_FRACTION * before:
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
            cursor.execute(f"ANALYZE {table}")
    except OperationalError:
        logger.info("Statistics of %s not refreshed: the table is busy", table)


def deliveries_mark_missed(*, now: dt.datetime | None = None) -> int:
    """Pending deliveries whose time is longer ago than the lateness window become missed (never
    a burst of stale posts after an outage); their authors are told. Not one whose earlier
    attempt may have gone out (reconcile): it is handed over to look itself up first, and is
    missed only if nothing of it is out (services.delivery_publish)."""
    now = now or timezone.now()
    late = (
        Delivery.objects.filter(
            state=D.PENDING, late_ok=False, reconcile=False, due_at__lt=now - lateness_window()
        )
        .exclude(channel__platform=Platform.MANUAL)
        .select_related("post__workspace", "post__author", "channel")
    )
    count = 0
    reason = Text(TOO_LATE)
    for delivery in late[:BATCH]:
        with transaction.atomic():
            if delivery_move(
                delivery.pk, job=delivery.job, from_states=[D.PENDING], to=D.MISSED, error=reason
            ):
                notify_failed(delivery, reason=reason, managers=False)
                count += 1
    return count


def deliveries_manual_due(*, now: dt.datetime | None = None) -> int:
    """Manual channels: at the post's time the assignee gets the copy-ready text; the delivery
    waits in "publishing" until someone marks it done with the public URL."""
    from notifications.services import notify

    now = now or timezone.now()
    due = Delivery.objects.filter(
        state=D.PENDING, channel__platform=Platform.MANUAL, run_at__lte=now
    ).select_related("post__workspace", "post__author", "channel", "assignee")
    count = 0
    for delivery in due[:BATCH]:
        variant = PostVariant.objects.filter(
            post_id=delivery.post_id, channel_id=delivery.channel_id
        ).first()
        with transaction.atomic():
            if not delivery_move(
                delivery.pk,
                job=delivery.job,
                from_states=[D.PENDING],
                to=D.PUBLISHING,
                claimed_at=now,
            ):
                continue
            notify(
                kind="manual_post_due",
                recipients=[delivery.assignee or delivery.post.author],
                workspace=delivery.post.workspace,
                post=delivery.post,
                params={
                    "channel": delivery.channel.name,
                    # the text as it should go out: with the workspace's link tracking
                    "detail": links_prepare_text(
                        variant.effective_body if variant else delivery.post.body,
                        workspace=delivery.post.workspace,
                        channel=delivery.channel,
                        post=delivery.post,
                    ),
                },
            )
            count += 1
    return count


def _waiting():
    """Pending deliveries a worker publishes (not manual), on channels that are not held."""
    return Delivery.objects.filter(state=D.PENDING, channel__state=ChannelState.CONNECTED).exclude(
        channel__platform=Platform.MANUAL
    )


def _claim_batch(now: dt.datetime) -> tuple[list[tuple[int, int, dt.datetime]], bool]:
    """Lock up to BATCH due deliveries in due-time order and move them to queued, each with a
    rate-limit token (taken here for the whole batch in one round trip to Redis); those whose
    channel has no token left wait in pending for the slot reserved for them. Returns
    (id, new job, run_at) of those this call queued, and whether the batch was full (more may
    be due)."""
    due = _waiting().filter(run_at__lte=now).order_by("run_at", "id")
    columns = ("pk", "job", "run_at", "rate_reserved", "channel_id", "channel__platform")
    locking = connection.features.has_select_for_update_skip_locked
    taken: list[tuple[int, int, dt.datetime]] = []
    with transaction.atomic():
        if locking:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.values_list(*columns)[:BATCH])
        go, later = _tokens(rows, now)
        if locking:
            # The rows are locked: nobody else can move them before we commit.
            Delivery.objects.filter(
                pk__in=[pk for pk, _job, _run_at in go], state__in=sorted(HAND_OVER.sources)
            ).update(
                state=HAND_OVER.to,
                job=F("job") + 1,
                updated_at=now,
                claimed_at=now,
                rate_reserved=True,
            )
            taken = [(pk, job + 1, run_at) for pk, job, run_at in go]
        else:  # SQLite: writers are serialized; each row moves only if nobody moved it first
            for pk, job, run_at in go:
                if delivery_move(
                    pk,
                    job=job,
                    from_states=HAND_OVER.sources,
                    to=HAND_OVER.to,
                    claimed_at=now,
                    rate_reserved=True,
                ):
                    taken.append((pk, job + 1, run_at))
        for pk, job, wait in later:
            delivery_move(
                pk,
                job=job,
                from_states=[D.PENDING],
                to=D.PENDING,
                run_at=now + dt.timedelta(seconds=wait),
                rate_reserved=True,
            )
        if taken:
            transaction.on_commit(lambda: deliveries_send(taken, now))
    return taken, len(rows) == BATCH


def _tokens(rows: list[tuple], now: dt.datetime) -> tuple[list[tuple], list[tuple]]:
    """Split due rows into those that go now, (id, job, run_at), and those that wait for their
    channel's next free slot, (id, job, seconds). A row that already holds a reserved slot goes
    without taking another token."""
    need = [row for row in rows if not row[3]]
    tokens = rate_take_many([(row[4], row[5]) for row in need])
    waits = {row[0]: wait for row, wait in zip(need, tokens, strict=True)}
    go, later = [], []
    for pk, job, run_at, _reserved, _channel, _platform in rows:
        wait = waits.get(pk, 0.0)
        if wait > 0:
            later.append((pk, job, wait))
        else:
            go.append((pk, job, run_at))
    return go, later


def deliveries_send(taken: list[tuple[int, int, dt.datetime]], now: dt.datetime) -> None:
    """Hand the taken deliveries to the publish workers, one task each (on commit). Tests and
    benchmarks swap this seam to run or record the tasks themselves."""
    publish_delivery = task_registry.task("publishing.tasks", "publish_delivery")
    for pk, job, _run_at in taken:
        publish_delivery.apply_async((pk, job))


def deliveries_dispatch_due(
    *, now: dt.datetime | None = None, max_batches: int = 20, follow_seconds: float = 0.0
) -> int:
    """The beat's sweep: sync, missed, manual, then hand due deliveries to workers. Returns how
    many were handed over.

    `follow_seconds`: afterwards, hand over each delivery that falls due within this many
    seconds at its time, sleeping in between (beat passes it the time until its next sweep).
    A post due at 09:00:00 then goes to a worker at 09:00:00, not up to a second later."""
    started = now or timezone.now()
    deliveries_sync(now=started)
    deliveries_mark_missed(now=started)
    deliveries_manual_due(now=started)
    total = _hand_over(started, max_batches)
    until = started + dt.timedelta(seconds=follow_seconds)
    after = started
    while follow_seconds > 0:
        # Due later than the last hand-over: an earlier one still pending is locked by another
        # sweep or waits for a rate-limit slot, and is not ours to wait for.
        next_due = (
            _waiting()
            .filter(run_at__gt=after, run_at__lt=until)
            .aggregate(first=Min("run_at"))["first"]
        )
        if next_due is None:
            break
        pause = (next_due - timezone.now()).total_seconds()
        if pause > 0:
            time.sleep(pause)
        after = max(next_due, timezone.now())
        total += _hand_over(after, max_batches)
    return total


def _hand_over(now: dt.datetime, max_batches: int) -> int:
    total = 0
    for _batch in range(max_batches):
        taken, full = _claim_batch(now)
        total += len(taken)
        if not full:
            break
    return total
