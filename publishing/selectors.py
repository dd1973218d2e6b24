"""Reads on the delivery side: a post's publishing state derived from its deliveries, the
publishing log, and the health of the pieces publishing depends on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_app.channel_health import can_publish
from calendar_app.models import Workspace
from calendar_app.publication import Publication
from notifications.texts import render_text
from publishing.models import Attempt, Delivery, DeliveryState, WorkerHeartbeat

D = DeliveryState
# Deliveries that did not go out (or may not have) and wait for a person.
NEEDS_SOMEONE = frozenset({D.FAILED, D.MISSED, D.UNKNOWN})


class PostPublishState:
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    PUBLISHING = "publishing"
    WAITING = "waiting"


PUBLISH_STATE_LABELS = {
    PostPublishState.PUBLISHED: _("Published"),
    PostPublishState.PARTIALLY_PUBLISHED: _("Partially published"),
    PostPublishState.FAILED: _("Failed"),
    PostPublishState.PUBLISHING: _("Publishing"),
    PostPublishState.WAITING: _("Waiting"),
}


@dataclass
class PublishSummary:
    state: str
    reason: str = ""

    @property
    def label(self) -> str:
        return str(PUBLISH_STATE_LABELS[self.state])

    @property
    def is_problem(self) -> bool:
        return self.state in {PostPublishState.FAILED, PostPublishState.PARTIALLY_PUBLISHED}


def publish_summary(deliveries: Iterable[Delivery]) -> PublishSummary | None:
    """The post's overall publishing state, derived from its (non-cancelled) deliveries."""
    live = [d for d in deliveries if d.state != D.CANCELLED]
    if not live:
        return None
    states = {d.state for d in live}
    bad = [d for d in live if d.state in NEEDS_SOMEONE]
    reason = "; ".join(f"{d.channel.name}: {d.error_text}" for d in bad if d.error)
    if states == {D.PUBLISHED}:
        return PublishSummary(PostPublishState.PUBLISHED)
    if bad and D.PUBLISHED in states:
        return PublishSummary(PostPublishState.PARTIALLY_PUBLISHED, reason)
    if bad:
        return PublishSummary(PostPublishState.FAILED, reason)
    if states & {D.QUEUED, D.PUBLISHING, D.PUBLISHED}:
        return PublishSummary(PostPublishState.PUBLISHING)
    return PublishSummary(PostPublishState.WAITING)


def publish_summaries(post_ids: Iterable[int]) -> dict[int, PublishSummary]:
    """{post id: summary} for the posts that have deliveries, in one query (calendar chips)."""
    by_post: dict[int, list[Delivery]] = {}
    for delivery in Delivery.objects.filter(post_id__in=list(post_ids)).select_related("channel"):
        by_post.setdefault(delivery.post_id, []).append(delivery)
    return {
        pk: summary
        for pk, deliveries in by_post.items()
        if (summary := publish_summary(deliveries)) is not None
    }


def post_deliveries(post_id: int) -> list[Delivery]:
    return list(
        Delivery.objects.filter(post_id=post_id)
        .select_related("channel", "assignee")
        .order_by("channel__platform", "channel__name")
    )


def attempts_for_log(
    workspace: Workspace,
    *,
    channel_id: int | None = None,
    outcome: str = "",
    query: str = "",
    since: dt.datetime | None = None,
) -> QuerySet[Attempt]:
    """The workspace's publish attempts, newest first, filtered."""
    attempts = Attempt.objects.filter(workspace=workspace).select_related(
        "delivery__channel", "delivery__post"
    )
    if channel_id:
        attempts = attempts.filter(delivery__channel_id=channel_id)
    if outcome == "running":
        attempts = attempts.filter(finished_at__isnull=True)
    elif outcome:
        attempts = attempts.filter(outcome=outcome)
    if query:
        attempts = attempts.filter(
            Q(delivery__post__title__icontains=query) | Q(delivery__post__body__icontains=query)
        )
    if since is not None:
        attempts = attempts.filter(started_at__gte=since)
    return attempts.order_by("-started_at", "-id")


def deliveries_needing_attention(workspace: Workspace, *, limit: int = 20) -> list[Delivery]:
    """Failed, missed and unknown deliveries of the workspace, newest first (with "retry
    now", and for an unknown one the decision)."""
    return list(
        Delivery.objects.filter(workspace=workspace, state__in=list(NEEDS_SOMEONE))
        .select_related("channel", "post")
        .order_by("-updated_at")[:limit]
    )


# --- health --------------------------------------------------------------------------------------

BEAT_STALE_AFTER = dt.timedelta(seconds=90)  # three beat heartbeats missed


def health_report() -> tuple[bool, dict[str, dict]]:
    """(all healthy, {component: {"ok": bool, ...}}) for database, broker and beat."""
    report: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True}
    except Exception as exc:  # any failure is "down", with its class for the operator
        report["database"] = {"ok": False, "error": type(exc).__name__}
    report["broker"] = _broker_health()
    if report["database"]["ok"]:
        beat = WorkerHeartbeat.objects.filter(name="beat").first()
        if beat is None:
            report["beat"] = {"ok": False, "error": "never seen"}
        else:
            age = (timezone.now() - beat.last_seen).total_seconds()
            report["beat"] = {
                "ok": age <= BEAT_STALE_AFTER.total_seconds(),
                "last_seen": beat.last_seen.isoformat(),
                "age_seconds": round(age, 1),
            }
    else:
        report["beat"] = {"ok": False, "error": "database down"}
    return all(part["ok"] for part in report.values()), report


def _broker_health() -> dict:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return {"ok": True}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def publication_of_rows(rows: Iterable[tuple]) -> Publication:
    """A post's Publication from its deliveries as (channel id, state, error, channel name[,
    held]): `held` says the channel cannot publish (channel_health.can_publish)."""
    published, in_flight, waiting, held, failed, missed, names = (
        set(),
        set(),
        set(),
        set(),
        {},
        set(),
        {},
    )
    for channel_id, state, error, channel_name, *rest in rows:
        names[channel_id] = channel_name
        if state == D.PUBLISHED:
            published.add(channel_id)
        elif state in (D.QUEUED, D.PUBLISHING):
            in_flight.add(channel_id)
        elif state == D.PENDING:
            waiting.add(channel_id)
            if rest and rest[0]:
                held.add(channel_id)
        elif state in NEEDS_SOMEONE:  # an unknown outcome too: someone must look
            failed[channel_id] = error or str(D(state).label)
            if state == D.MISSED:
                missed.add(channel_id)
    return Publication(
        published=frozenset(published),
        in_flight=frozenset(in_flight),
        waiting=frozenset(waiting),
        failed=failed,
        channel_names=names,
        missed=frozenset(missed),
        held=frozenset(held),
    )


def post_publications(same_posts: Q) -> dict[int, Publication]:
    """What went out of each post selected by `same_posts` (a condition on `post_id`), for the
    editorial side's rulebook and calendar (settings.POST_PUBLICATION). One query."""
    by_post: dict[int, list] = {}
    rows = (
        Delivery.objects.filter(same_posts)
        .exclude(state=D.CANCELLED)
        .order_by()
        .values_list(
            "post_id",
            "channel_id",
            "state",
            "error",
            "error_data",
            "channel__name",
            "channel__state",
            "channel__platform",
        )
    )
    for post_id, channel_id, state, error, error_data, name, channel_state, platform in rows:
        reason = render_text(error_data, error)  # in the reader's language
        by_post.setdefault(post_id, []).append(
            (channel_id, state, reason, name, not can_publish(channel_state, platform))
        )
    return {post_id: publication_of_rows(found) for post_id, found in by_post.items()}
