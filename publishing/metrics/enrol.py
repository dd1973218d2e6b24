"""Enrolment: published deliveries get a RemotePost on the schedule (beat, through the sweep), in
bounded batches; one INSERT ... SELECT per batch on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from calendar_app.models import Post, PostVariant
from calendar_app.platforms import Platform
from publishing.metrics.reads import adapter_or_none
from publishing.metrics.schedule import SCHEDULE, schedule_for, schedule_join
from publishing.models import Delivery, DeliveryState, RemotePost, RemotePostSource

logger = logging.getLogger(__name__)

# Published deliveries are enrolled while this young (a day more than the schedule lasts, so an
# outage of the sweep does not lose them); older ones have nothing left to pull.
ENROL_HORIZON = SCHEDULE[-1] + dt.timedelta(days=1)
ENROL_LIMIT = 100_000  # deliveries enrolled per sweep at most
ENROL_BATCH = 2000  # ... read in full and inserted this many at a time
TEXT_EXCERPT = 500  # characters of the post's text kept on the RemotePost


def _pulls_metrics(platform: str) -> bool:
    """Whether posts on `platform` have numbers to pull. An unconfigured platform counts as
    yes: its posts are held until it is configured again, not dropped."""
    if platform == Platform.MANUAL:
        return False
    adapter = adapter_or_none(platform)
    return adapter is None or bool(adapter.capabilities.metrics)


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
    steps = schedule_for(adapter_or_none(platform))
    step, next_pull_at = schedule_join(published_at=published_at, now=now, steps=steps)
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
