"""Writes on the delivery side. Tasks are thin wrappers around these functions.

A delivery's state changes only through `delivery_move` (a compare-and-set on state and job, of
a move publishing.workflow.DELIVERY_MOVES allows), so two workers, the dispatcher and the
reconciler can never both act on the same hand-over; the claim's and the result's statements
for PostgreSQL write the `DeliveryMove`s `CLAIM` and `PUBLISH_RESULT`, checked against the table.
The worker's path is `delivery_publish`: claim (queued -> publishing) and record the attempt in
one transaction, call the platform outside any transaction, record the result in one more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import logging
import random
import threading
from collections.abc import Iterable
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.db.models.query import get_related_populators
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from calendar_app.access import access_post
from calendar_app.channel_health import UNNAMED_PERMISSION, channel_problem
from calendar_app.external_urls import external_url_problem, is_external_url, url_scheme
from calendar_app.models import (
    Channel,
    ChannelState,
    MediaAsset,
    Membership,
    PostMedia,
    PostVariant,
)
from calendar_app.permissions import Action, managers_of, require
from calendar_app.platforms import Platform
from calendar_app.workflow import PostAction, PostStatus
from links.services import links_prepare_text
from notifications.texts import Text, text_data
from publishing import prepared, ratelimit
from publishing.adapters.base import (
    CLOCK_SKEW,
    AdapterError,
    AuthExpired,
    Credentials,
    MediaItem,
    PermanentError,
    PermissionMissing,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RateLimited,
)
from publishing.adapters.registry import get_adapter
from publishing.models import (
    Attempt,
    AttemptOutcome,
    ChannelCredentials,
    Delivery,
    DeliveryState,
    WorkerHeartbeat,
)
from publishing.workflow import (
    MARKABLE_DONE_STATES,
    RETRYABLE_STATES,
    DeliveryMove,
    check_move,
    sources_of,
)

logger = logging.getLogger(__name__)
D = DeliveryState
# Reasons a worker records and people read later, each in their own language (notifications.texts).
TOO_LATE = gettext_noop("It could not go out in time and was not published late.")
NOT_RENEWED = gettext_noop("The channel's access expired and could not be renewed: reconnect it.")

# The moves the PostgreSQL statements below write by themselves (delivery_move writes the rest).
CLAIM = DeliveryMove.into(D.PUBLISHING, from_=[D.QUEUED])  # a worker takes a queued delivery
PUBLISH_RESULT = DeliveryMove.into(D.PUBLISHED, from_=[D.PUBLISHING])  # and it went out


@transaction.atomic
def heartbeat_record(*, name: str) -> WorkerHeartbeat:
    """Upsert the heartbeat row `name` with the current time."""
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen": timezone.now()}
    )
    return heartbeat


# --- the one writer of Delivery.state -------------------------------------------------------------


def delivery_move(
    delivery_id: int, *, job: int, to: str, from_states: Iterable[str] | None = None, **fields
) -> bool:
    """Move a delivery to `to` if it is still at `job` in one of `from_states` (default: every
    state the table lets move to `to`); whether it did. Every move starts a new job, so a task
    sent for the old one does nothing. An `error` that is a notifications.texts.Text is kept as
    such too (`error_data`), to be read in the reader's language.

    A move publishing.workflow.DELIVERY_MOVES does not list raises MoveNotAllowed (a
    ValueError): a caller's mistake, refused before anything is written."""
    sources = sources_of(to) if from_states is None else from_states
    sources = check_move(sources, to)
    if "error" in fields:
        fields["error_data"] = text_data(fields["error"])
    return bool(
        Delivery.objects.filter(pk=delivery_id, job=job, state__in=sorted(sources)).update(
            state=to, job=F("job") + 1, updated_at=timezone.now(), **fields
        )
    )


def lateness_window() -> dt.timedelta:
    """How long after its time a post may still go out (PUBLISHING_LATENESS_SECONDS); later it
    is missed, never posted late."""
    return dt.timedelta(seconds=settings.PUBLISHING_LATENESS_SECONDS)


def backoff_seconds(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (between half and all of base * 2^(attempt-1), capped);
    never sooner than the platform's Retry-After."""
    ceiling = min(
        settings.PUBLISHING_BACKOFF_MAX_SECONDS,
        settings.PUBLISHING_BACKOFF_SECONDS * 2 ** max(0, attempt - 1),
    )
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after + random.uniform(0, min(5.0, retry_after * 0.1)))
    return delay


# --- notifications ---------------------------------------------------------------------------------


def notify_failed(delivery: Delivery, *, reason: str, managers: bool = True) -> None:
    """Tell the author (and the workspace managers) that a delivery will not go out."""
    from notifications.services import notify

    recipients = [delivery.post.author] + (managers_of(delivery.workspace_id) if managers else [])
    notify(
        kind="publish_failed",
        recipients=recipients,
        workspace=delivery.post.workspace,
        post=delivery.post,
        params={
            "channel": delivery.channel.name,
            "detail": str(reason),
            "detail_data": text_data(reason),
        },
    )


def notify_unknown(delivery: Delivery, *, reason: str) -> None:
    """Tell the author and the workspace managers that a delivery may already be live, and
    that they decide."""
    from notifications.services import notify

    notify(
        kind="publish_unknown",
        recipients=[delivery.post.author, *managers_of(delivery.workspace_id)],
        workspace=delivery.post.workspace,
        post=delivery.post,
        params={
            "channel": delivery.channel.name,
            "detail": str(reason),
            "detail_data": text_data(reason),
        },
    )


# --- building the request ----------------------------------------------------------------------


def _media_item(asset: MediaAsset) -> MediaItem:
    base = settings.PUBLIC_MEDIA_BASE_URL
    return MediaItem(
        kind=asset.kind,
        mime_type=asset.mime_type,
        filename=asset.original_name,
        size_bytes=asset.size_bytes,
        open=lambda: asset.file.open("rb"),
        public_url=urljoin(base.rstrip("/") + "/", asset.file.name) if base else "",
        alt_text=asset.alt_text,
    )


def publish_request_for(delivery: Delivery, variant: PostVariant) -> PublishRequest:
    """The PublishRequest of a delivery: its variant's text and media, its stable key, and the
    parts that already went out in an earlier attempt."""
    post = delivery.post
    # The hot path reads the variant with `has_override` / `has_post_media` (see
    # `_variant_of`), so a post without media costs no media query at all.
    assets = list(variant.media_override.all()) if getattr(variant, "has_override", True) else []
    if not assets and getattr(variant, "has_post_media", True):
        assets = [pm.media for pm in post.post_media.select_related("media")]
    options: dict = {}
    if delivery.channel.platform == Platform.BLUESKY:
        # A stable createdAt: the same record on every retry, dated at the post's time.
        options["created_at"] = delivery.due_at
    return PublishRequest(
        text=links_prepare_text(
            variant.effective_body,
            workspace=post.workspace,
            channel=delivery.channel,
            post=post,
            has_media=bool(assets),
        ),
        title=variant.effective_title,
        idempotency_key=delivery.idempotency_key,
        media=[_media_item(a) for a in assets],
        first_comment=links_prepare_text(
            variant.first_comment, workspace=post.workspace, channel=delivery.channel, post=post
        ),
        options=options,
        done_parts=[PublishedPart(p["remote_id"], p.get("url", "")) for p in delivery.parts],
        # Every attempt, however often the row was retried or revived, came after its creation.
        not_before=delivery.created_at - CLOCK_SKEW,
    )


# --- the worker's path ---------------------------------------------------------------------------


def _refusal(delivery: Delivery, now: dt.datetime) -> tuple[str, str] | None:
    """Why a queued delivery must not be published now: (state to move to, reason) or None."""
    from calendar_app.services.review import post_cleared_for_publishing

    post = delivery.post
    if post.scheduled_at != delivery.due_at and post.status == PostStatus.SCHEDULED:
        return D.PENDING, ""  # moved after it was queued: the dispatcher hands it over again
    if not post_cleared_for_publishing(post):
        return D.CANCELLED, Text(gettext_noop("The post is no longer scheduled or approved."))
    if delivery.channel.state != ChannelState.CONNECTED:
        return D.PENDING, ""  # paused or needs reconnect: held
    # Too late, unless an earlier attempt may have gone out: that one looks itself up first,
    # and is missed only if nothing of it is out (delivery_publish).
    if (
        not delivery.late_ok
        and not delivery.reconcile
        and delivery.due_at < now - lateness_window()
    ):
        return D.MISSED, Text(TOO_LATE)
    return None


def _finish_attempt(attempt_id: int, outcome: str, *, error: str = "", status=None) -> None:
    """End an attempt. An `error` that starts with a notifications.texts.Text (the message for
    people, then the platform's own words) keeps that Text to be read in the reader's language."""
    data = {}
    if isinstance(error, Text):
        data = text_data(error)
    Attempt.objects.filter(pk=attempt_id).update(
        finished_at=timezone.now(),
        outcome=outcome,
        error=error[:2000],
        error_data=data,
        http_status=status,
    )


# What publishing never reads of the claimed rows: left out, the claim's statement stays short
# enough for psycopg to cache its parsing, and each row converts fewer values.
_CLAIM_UNREAD = (
    *("remote_id", "url", "error", "error_data", "assignee", "escalated_at", "published_at"),
    "updated_at",
    *("post__note", "post__version", "post__created_at", "post__updated_at"),
    "post__workspace__created_at",
    *(
        "post__workspace__approval_policy__reminder_hours",
        "post__workspace__approval_policy__updated_at",
    ),
    *("channel__avatar", "channel__state_before_pause", "channel__created_at"),
    *("channel__credentials__expires_at", "channel__credentials__updated_at"),
)


def _claim_queryset(delivery_id: int):
    # Only what publishing reads: the author is read when someone must be told. By primary key
    # only: the compare-and-set around it checks job and state.
    return (
        Delivery.objects.select_related("post__workspace__approval_policy", "channel__credentials")
        .defer(*_CLAIM_UNREAD)
        .annotate(variant_json=_variant_json())
        .filter(pk=delivery_id)
        .order_by()
    )


# PostgreSQL: the claim in one statement. The compare-and-set (queued -> publishing), the
# attempt's row and the read of the delivery with everything publishing it needs (the ORM's
# compiled read, appended below). All parts of one statement share its snapshot, so the read
# sees the delivery as it was just before the claim (its earlier reconcile flag, queue time and
# token); it returns a row only when the compare-and-set moved it. From the claim until the
# result is recorded the outcome is unknown: reconcile = TRUE.
#
# The row is found by its primary key; the state is compared as `state || ''`, which no index
# serves. Compared plainly, PostgreSQL took the (state, run_at) index whenever its statistics
# said few rows were queued (always, a moment into a burst, or in a large table) and walked
# every queued row's entry for each claim: 0.4 ms of server time with 5,000 queued, growing
# with the backlog.
_CLAIM_SQL = """
WITH claimed AS (
    UPDATE {delivery}
       SET state = %s, job = job + 1, updated_at = %s, claimed_at = %s,
           attempts = attempts + 1, reconcile = TRUE, rate_reserved = FALSE
     WHERE id = %s AND job = %s AND state || '' = %s
    RETURNING id, workspace_id, idempotency_key
), started AS (
    INSERT INTO {attempt} (delivery_id, workspace_id, started_at, worker, outcome, error,
                           error_data, idempotency_key)
    SELECT id, workspace_id, %s, %s, '', '', '{{}}'::jsonb, idempotency_key FROM claimed
    RETURNING id
)
SELECT queued.*, started.id FROM ({read}) AS queued CROSS JOIN started
"""


class _CompiledClaim:
    """The claim (`_CLAIM_SQL` around the read of `_claim_queryset`), compiled by the ORM once
    per process and connection, then run with new parameters: building and compiling the
    queryset cost more worker time than running it. Rows become model instances the way the
    ORM's own ModelIterable does it."""

    # A placeholder (in range: an out-of-range integer would compile to "no rows"), found again
    # in the compiled parameters.
    ID = 2_147_483_001

    def __init__(self, alias: str) -> None:
        compiler = _claim_queryset(self.ID).query.get_compiler(using=alias)
        read, params = compiler.as_sql()
        self.params = list(params)
        if self.params.count(self.ID) != 1:
            raise ValueError("the claim's read did not compile as expected")
        self.id_at = self.params.index(self.ID)
        self.sql = _CLAIM_SQL.format(
            delivery=Delivery._meta.db_table, attempt=Attempt._meta.db_table, read=read
        )
        select, klass_info = compiler.select, compiler.klass_info
        self.columns = compiler.col_count
        self.converters = compiler.get_converters([s[0] for s in select[: self.columns]])
        self.compiler = compiler
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.fields = (start, end)
        self.init_list = [f[0].target.attname for f in select[start:end]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = dict(compiler.annotation_col_map)
        self.alias = alias

    def run(self, delivery_id: int, job: int, worker: str, now: dt.datetime):
        """(the delivery as it was when queued, the attempt's id), or None."""
        read = list(self.params)
        read[self.id_at] = delivery_id
        claim = [CLAIM.to, now, now, delivery_id, job, CLAIM.source, now, worker]
        with prepared.cursor() as cursor:
            cursor.execute(self.sql, claim + read)
            row = cursor.fetchone()
        if row is None:
            return None
        return self.delivery(row[: self.columns]), row[-1]

    def delivery(self, row) -> Delivery:
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        start, end = self.fields
        delivery = Delivery.from_db(self.alias, self.init_list, row[start:end])
        for populator in self.populators:
            populator.populate(row, delivery)
        for name, at in self.annotations.items():
            setattr(delivery, name, row[at])
        return delivery


# Per thread, like Django's connections (the compiler keeps the connection it compiled for).
_compiled_claims = threading.local()


def _claim_and_read(delivery_id: int, job: int, worker: str, now: dt.datetime):
    """queued -> publishing with a compare-and-set, the attempt's row, and the delivery with its
    post, workspace, approval policy, channel, credentials and variant (`variant_json`) as they
    were before the claim. (delivery, attempt id), or None when someone else moved it first."""
    if connection.vendor == "postgresql":
        claims = _compiled_claims.__dict__
        key = (connection.alias, connection.vendor)
        claim = claims.get(key)
        if claim is None:
            claim = claims[key] = _CompiledClaim(connection.alias)
        return claim.run(delivery_id, job, worker, now)
    delivery = _claim_queryset(delivery_id).first()
    if delivery is None or (delivery.state, delivery.job) != (CLAIM.source, job):
        return None
    with transaction.atomic():
        if not delivery_move(
            delivery_id,
            job=job,
            from_states=CLAIM.sources,
            to=CLAIM.to,
            claimed_at=now,
            attempts=F("attempts") + 1,
            reconcile=True,  # from here until we record the result, the outcome is unknown
            rate_reserved=False,
        ):
            return None
        attempt = Attempt.objects.create(
            delivery_id=delivery_id,
            workspace_id=delivery.workspace_id,
            started_at=now,
            worker=worker,
            idempotency_key=delivery.idempotency_key,
        )
    return delivery, attempt.pk


def _unclaim(delivery: Delivery, attempt_id: int, to: str, *, notify: bool = False, **fields):
    """Undo a claim that must not publish: the delivery moves on to `to` as if it had never
    been claimed (its earlier reconcile flag and attempt count), the attempt's row goes."""
    with transaction.atomic():
        moved = delivery_move(
            delivery.pk,
            job=delivery.job + 1,
            from_states=[D.PUBLISHING],
            to=to,
            attempts=delivery.attempts,
            reconcile=delivery.reconcile,
            **fields,
        )
        Attempt.objects.filter(pk=attempt_id).delete()
        if moved and notify:
            notify_failed(delivery, reason=fields.get("error", ""), managers=False)


def delivery_claim(
    delivery_id: int, job: int, worker: str
) -> tuple[Delivery, Attempt, bool] | None:
    """Claim a queued delivery for publishing: (delivery, attempt, look_first), or None when
    there is nothing to do.

    The claim comes first (one statement on PostgreSQL), the checks after it on what it read:
    a delivery that must not go out now (moved, unscheduled, paused, too late, no rate-limit
    token) is put back, which is rare and costs one more transaction."""
    now = timezone.now()
    worker = worker[:200]
    claimed = _claim_and_read(delivery_id, job, worker, now)
    if claimed is None:
        return None  # another worker, the dispatcher or an edit got there first
    delivery, attempt_id = claimed
    refusal = _refusal(delivery, now)
    if refusal is not None:
        to, reason = refusal
        fields = {"error": reason} if reason else {}
        if to == D.PENDING:
            fields |= {"due_at": delivery.post.scheduled_at or delivery.due_at}
            fields |= {"run_at": delivery.post.scheduled_at or delivery.run_at}
        _unclaim(delivery, attempt_id, to, notify=to == D.MISSED, **fields)
        return None
    # The dispatcher took a token when it queued the delivery; one kept waiting too long in the
    # queue is no longer good, so take another (or reserve the next slot and come back then).
    if not (delivery.rate_reserved and ratelimit.token_fresh(delivery.claimed_at, now)):
        wait = ratelimit.rate_take(
            channel_id=delivery.channel_id, platform=delivery.channel.platform
        )
        if wait > 0:
            _unclaim(
                delivery,
                attempt_id,
                D.PENDING,
                run_at=now + dt.timedelta(seconds=wait),
                rate_reserved=True,
            )
            return None
    look_first = delivery.reconcile
    delivery.job = job + 1
    delivery.attempts += 1
    delivery.state = CLAIM.to
    delivery.reconcile = True
    delivery.rate_reserved = False
    delivery.claimed_at = now
    attempt = Attempt(
        pk=attempt_id,
        delivery=delivery,
        workspace_id=delivery.workspace_id,
        started_at=now,
        worker=worker,
        idempotency_key=delivery.idempotency_key,
    )
    attempt._state.adding = False
    attempt._state.db = connection.alias
    return delivery, attempt, look_first


def _variant_json() -> Subquery:
    """The delivery's variant as one JSON value of the claim's read (no query of its own), with
    whether it (or else the post) has media: media is read only for posts that have some."""
    through = PostVariant.media_override.through
    variant = PostVariant.objects.filter(
        post_id=OuterRef("post_id"), channel_id=OuterRef("channel_id")
    ).order_by()
    return Subquery(
        variant.values(
            json=JSONObject(
                id="id",
                body_override="body_override",
                title_override="title_override",
                first_comment="first_comment",
                has_override=Exists(through.objects.filter(postvariant_id=OuterRef("pk"))),
                has_post_media=Exists(PostMedia.objects.filter(post_id=OuterRef("post_id"))),
            )
        )[:1]
    )


def _variant_of(delivery: Delivery) -> PostVariant | None:
    """The variant read with the claim (`variant_json`), or None when the channel was removed."""
    data = delivery.variant_json
    if isinstance(data, str):  # SQLite returns the JSON as text
        data = json.loads(data)
    if not data:
        return None
    variant = PostVariant(
        id=data["id"],
        post=delivery.post,
        channel_id=delivery.channel_id,
        body_override=data["body_override"],
        title_override=data["title_override"],
        first_comment=data["first_comment"],
    )
    variant._state.adding = False
    variant._state.db = connection.alias
    variant.has_override = bool(data["has_override"])
    variant.has_post_media = bool(data["has_post_media"])
    return variant


def _link_to_store(delivery: Delivery, url: str) -> str:
    """The platform's address of `delivery`'s post when we may store it and link to it
    (calendar_app.external_urls), else "" with a warning naming the delivery and the scheme
    only: the rest of what a platform answered may be anything."""
    if not url:
        return ""
    problem = external_url_problem(url)
    if not problem:
        return url
    logger.warning(
        "delivery %s (%s): the platform answered a link we do not store (scheme %s: %s); "
        "stored without it",
        delivery.pk,
        delivery.channel.platform,
        url_scheme(url),
        problem,
    )
    return ""


def _result_to_store(delivery: Delivery, result: PublishResult) -> PublishResult:
    """`result` with every address we may not store emptied (each refused one logged once)."""
    checked: dict[str, str] = {}

    def link(url: str) -> str:
        if url not in checked:
            checked[url] = _link_to_store(delivery, url)
        return checked[url]

    return dataclasses.replace(
        result,
        url=link(result.url),
        parts=[dataclasses.replace(p, url=link(p.url)) for p in result.parts],
    )


def _store_part(delivery: Delivery, index: int, part: PublishedPart) -> None:
    """Record a part as soon as it is live, so a retry resumes after it."""
    part = dataclasses.replace(part, url=_link_to_store(delivery, part.url))
    parts = [*list(delivery.parts[:index]), {"remote_id": part.remote_id, "url": part.url}]
    delivery.parts = parts
    Delivery.objects.filter(pk=delivery.pk, job=delivery.job, state=D.PUBLISHING).update(
        parts=parts, remote_id=parts[0]["remote_id"], url=parts[0]["url"]
    )


def _record_published(
    delivery: Delivery, attempt: Attempt, result: PublishResult, outcome: str
) -> bool:
    result = _result_to_store(delivery, result)
    parts = [{"remote_id": p.remote_id, "url": p.url} for p in result.parts] or delivery.parts
    if connection.vendor == "postgresql":
        return _record_published_sql(delivery, attempt, result, outcome, parts)
    with transaction.atomic():
        moved = delivery_move(
            delivery.pk,
            job=delivery.job,
            from_states=PUBLISH_RESULT.sources,
            to=PUBLISH_RESULT.to,
            remote_id=result.remote_id,
            url=result.url,
            parts=parts,
            published_at=timezone.now(),
            reconcile=False,
            error="",
        )
        _finish_attempt(attempt.pk, outcome)
    return moved


# The result and the attempt's end: one statement, so one round trip and atomic on its own.
# On its own (not inside a caller's transaction) it is committed without waiting for the WAL
# flush (`synchronous_commit` off for this statement only): should PostgreSQL itself crash in
# the next fraction of a second and lose it, the delivery is back in publishing with
# reconcile = TRUE, and the reconciler looks the post up on the platform before any retry,
# exactly as after a worker killed at that instant. The claim above stays a durable commit: it
# is what makes the next attempt look first. The state is compared as in the claim, unindexed.
_PUBLISHED_SQL = """
WITH moved AS (
    UPDATE {delivery}
       SET state = %(to)s, job = job + 1, updated_at = %(now)s, remote_id = %(remote_id)s,
           url = %(url)s, parts = %(parts)s::jsonb, published_at = %(now)s, reconcile = FALSE,
           error = '', error_data = '{{}}'::jsonb
     WHERE id = %(id)s AND job = %(job)s AND state || '' = %(from)s
    RETURNING id
), ended AS (
    UPDATE {attempt}
       SET finished_at = %(now)s, outcome = %(outcome)s, error = '', error_data = '{{}}'::jsonb,
           http_status = NULL
     WHERE id = %(attempt_id)s
    RETURNING id
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM ended){commit}
"""
_ASYNC_COMMIT = ", set_config('synchronous_commit', 'off', true)"


def _record_published_sql(
    delivery: Delivery, attempt: Attempt, result: PublishResult, outcome: str, parts: list
) -> bool:
    sql = _PUBLISHED_SQL.format(
        delivery=Delivery._meta.db_table,
        attempt=Attempt._meta.db_table,
        commit="" if connection.in_atomic_block else _ASYNC_COMMIT,
    )
    params = {
        "to": PUBLISH_RESULT.to,
        "from": PUBLISH_RESULT.source,
        "now": timezone.now(),
        "remote_id": result.remote_id,
        "url": result.url,
        "parts": json.dumps(parts),
        "id": delivery.pk,
        "job": delivery.job,
        "outcome": outcome,
        "attempt_id": attempt.pk,
    }
    with prepared.cursor() as cursor:
        cursor.execute(sql, params)
        moved, _ended = cursor.fetchone()[:2]
    return bool(moved)


# A platform that keeps saying "slow down" without saying how long: waited out this often (the
# backoff's cap makes that about a day), then the delivery fails like any other.
MAX_RATE_LIMITED_WAITS = 50


def _rate_limited_streak(delivery_id: int, attempt_id: int) -> int:
    """How many of the delivery's latest attempts in a row (before `attempt_id`) the platform
    refused with "slow down". Any other outcome ends the streak, so "retry now" after a
    delivery gave up waiting starts a fresh one."""
    outcomes = (
        Attempt.objects.filter(delivery_id=delivery_id)
        .exclude(pk=attempt_id)
        .order_by("-started_at", "-id")
        .values_list("outcome", flat=True)[:MAX_RATE_LIMITED_WAITS]
    )
    return sum(1 for _ in itertools.takewhile(lambda o: o == AttemptOutcome.RATE_LIMITED, outcomes))


def _record_failure(
    delivery: Delivery, attempt: Attempt, exc: Exception, *, uncertain: bool = False
) -> str:
    """Retry later (transient, within the attempt budget) or fail for good, telling people.

    A platform's "slow down" (RateLimited) is no failure of the post: it costs nothing of the
    attempt budget, holds the channel's other posts as long (`ratelimit.rate_hold`), and is
    waited out, by the lateness window's end at the latest (then the delivery is missed).
    `uncertain`: an earlier attempt's outcome is still unknown (it was not looked up), which a
    refusal now must not make the next attempt forget."""
    message = getattr(exc, "message", "") or Text(gettext_noop("An unexpected error occurred."))
    detail = getattr(exc, "detail", "") or str(exc)
    status = getattr(exc, "status", None)
    rate_limited = isinstance(exc, RateLimited)
    transient = not isinstance(exc, PermanentError | AuthExpired)
    waits = 0
    if rate_limited:
        waits = _rate_limited_streak(delivery.pk, attempt.pk) + 1
        retry = waits <= MAX_RATE_LIMITED_WAITS
    else:
        retry = transient and delivery.attempts < settings.PUBLISHING_MAX_ATTEMPTS
    delay = 0.0
    with transaction.atomic():
        if retry:
            fields = {}
            if rate_limited:
                delay = backoff_seconds(waits, retry_after=exc.retry_after)
                fields["attempts"] = delivery.attempts - 1  # this try does not count
            else:
                delay = backoff_seconds(delivery.attempts)
            delivery_move(
                delivery.pk,
                job=delivery.job,
                from_states=[D.PUBLISHING],
                to=D.PENDING,
                run_at=timezone.now() + dt.timedelta(seconds=delay),
                error=message,
                # A 429 created nothing; any other failure may have (a timeout after sending).
                reconcile=uncertain or not rate_limited,
                **fields,
            )
            outcome = AttemptOutcome.RATE_LIMITED if rate_limited else AttemptOutcome.RETRY
        else:
            if delivery_move(
                delivery.pk,
                job=delivery.job,
                from_states=[D.PUBLISHING],
                to=D.FAILED,
                error=message,
                reconcile=uncertain or (transient and not rate_limited),
            ):
                logger.warning(
                    "delivery %s (%s) failed: %s %s",
                    delivery.pk,
                    delivery.channel.platform,
                    message,
                    detail if detail != message else "",
                )
                notify_failed(delivery, reason=message)
            outcome = AttemptOutcome.FAILED
        # The message for people (read in the reader's language), then the platform's words.
        said = Text("%(message)s %(detail)s", message=message, detail=detail) if detail else message
        _finish_attempt(attempt.pk, outcome, error=said, status=status)
    if isinstance(exc, PermissionMissing):
        # The channel's health warns (editor, channel list, delivery rows) until a reconnect
        # grants it: the next posts there would be refused the same way.
        Channel.objects.filter(pk=delivery.channel_id).update(
            missing_permissions=list(exc.permissions) or [UNNAMED_PERMISSION]
        )
    if rate_limited and delay:
        ratelimit.rate_hold(
            channel_id=delivery.channel_id, platform=delivery.channel.platform, seconds=delay
        )
        if (exc.retry_after or 0) >= settings.PUBLISHING_QUOTA_HOLD_SECONDS:
            # A wait this long is a quota used up (a daily limit): the channel's health says so
            # until it is over, in the editor, the channel list and on the delivery rows.
            Channel.objects.filter(pk=delivery.channel_id).update(
                quota_until=timezone.now() + dt.timedelta(seconds=exc.retry_after)
            )
    return outcome


def delivery_publish(*, delivery_id: int, job: int, worker: str = "") -> str:
    """Publish one queued delivery (the publish task). Returns what happened, for logs/tests."""
    claimed = delivery_claim(delivery_id, job, worker)
    if claimed is None:
        return "skipped"
    delivery, attempt, look_first = claimed
    from publishing.accounts import channel_account, credentials_refresh
    from publishing.credentials import credentials_read

    uncertain = look_first  # an earlier attempt may have posted: not known until looked up
    try:
        variant = _variant_of(delivery)
        if variant is None:
            raise PermanentError(Text(gettext_noop("The channel was removed from the post.")))
        request = publish_request_for(delivery, variant)
        adapter = get_adapter(delivery.channel.platform)
        account = channel_account(delivery.channel)
        try:
            stored = delivery.channel.credentials  # read with the claim, no query of its own
        except ChannelCredentials.DoesNotExist:
            if adapter.capabilities.auth != "none":
                raise PermanentError(
                    Text(gettext_noop("The channel is not connected: reconnect it."))
                ) from None
            stored = None  # a platform that needs no sign-in (the test network)
        if stored is None:
            credentials, version = Credentials(access_token=""), 0
        else:
            credentials, version = credentials_read(stored), stored.version
        if look_first:
            try:
                try:
                    found = _find_existing(adapter, account, credentials, request)
                except AuthExpired:
                    credentials = credentials_refresh(delivery.channel_id, stale_version=version)
                    if credentials is None:
                        raise PermanentError(Text(NOT_RENEWED)) from None
                    found = _find_existing(adapter, account, credentials, request)
            except Exception as exc:  # the look-up is an aid, never a verdict
                if not key_still_guards(adapter, delivery):
                    return _record_lookup_failure(delivery, attempt, exc)
                # The platform's idempotency key still holds: posting again under it cannot
                # make a second post (the outcome stays uncertain until it answers).
                logger.warning(
                    "delivery %s (%s): the look-up could not answer (%s); posting again under "
                    "the same idempotency key",
                    delivery.pk,
                    delivery.channel.platform,
                    _reason_of(exc),
                )
                found = None
            else:
                if found is not None:
                    found = _result_to_store(delivery, found)
                if found is not None and _complete(found, request):
                    _record_published(delivery, attempt, found, AttemptOutcome.FOUND)
                    return "found"
                if found is not None:
                    request.done_parts = found.parts
                    delivery.parts = [{"remote_id": p.remote_id, "url": p.url} for p in found.parts]
                else:
                    uncertain = False  # looked: nothing of it is out
                    if (
                        not delivery.late_ok
                        and timezone.now() > delivery.due_at + lateness_window()
                    ):
                        return _record_missed_after_lookup(delivery, attempt)

        last_part = len(request.thread) + (1 if request.first_comment.strip() else 0)

        def on_part(index: int, part: PublishedPart) -> None:
            if index < last_part:  # the last part is stored with the result, one write less
                _store_part(delivery, index, part)

        try:
            result = adapter.publish(
                account=account, credentials=credentials, request=request, on_part=on_part
            )
        except AuthExpired:
            # Refresh once (under the credentials lock) and try again with the new token.
            credentials = credentials_refresh(delivery.channel_id, stale_version=version)
            if credentials is None:
                raise PermanentError(Text(NOT_RENEWED)) from None
            request.done_parts = [
                PublishedPart(p["remote_id"], p.get("url", "")) for p in delivery.parts
            ]
            result = adapter.publish(
                account=account, credentials=credentials, request=request, on_part=on_part
            )
    except AdapterError as exc:
        return _record_failure(delivery, attempt, exc, uncertain=uncertain)
    except Exception as exc:  # a bug or an unmapped library error: retry, but look first
        logger.exception("Publishing delivery %s failed unexpectedly", delivery_id)
        return _record_failure(delivery, attempt, exc, uncertain=uncertain)
    _record_published(delivery, attempt, result, AttemptOutcome.PUBLISHED)
    return "published"


# How long before the platform forgets an idempotency key we stop relying on it (the first
# attempt's start is what we know; the platform counts from the call, a little later).
KEY_MARGIN = dt.timedelta(minutes=10)


def key_still_guards(adapter, delivery: Delivery) -> bool:
    """Whether posting `delivery` again is safe without a look-up: the platform honours an
    idempotency key (`adapter.idempotency_window`) and still remembers the delivery's key,
    which its first attempt sent."""
    window = getattr(adapter, "idempotency_window", None)
    if window is None:
        return False
    first = (
        Attempt.objects.filter(delivery_id=delivery.pk)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return first is not None and timezone.now() - first < window - KEY_MARGIN


def _reason_of(exc: Exception) -> str:
    """What went wrong, for the log (in the language the worker runs in)."""
    return str(getattr(exc, "message", "") or exc or exc.__class__.__name__)


def _record_lookup_failure(delivery: Delivery, attempt: Attempt, exc: Exception) -> str:
    """The look-up could not tell whether an earlier attempt went out (an error, a refusal, an
    endpoint the platform does not have). That is no verdict on the post: the look-up is tried
    again with backoff (a "slow down" does not count), and once the attempts are used up the
    delivery's outcome is unknown: the author and the managers are told and decide ("it is
    live" with its link, or "post it again"). Nothing is posted again on a guess."""
    reason = _reason_of(exc)
    platform = delivery.channel.platform
    message = Text(
        gettext_noop(
            "It could not be checked whether an earlier attempt already went out on "
            "%(channel)s: %(reason)s"
        ),
        channel=delivery.channel.name,
        reason=getattr(exc, "message", "") or reason,
    )
    status = getattr(exc, "status", None)
    rate_limited = isinstance(exc, RateLimited)
    logger.warning(
        "delivery %s (%s): the look-up could not answer: %s", delivery.pk, platform, reason
    )
    with transaction.atomic():
        if rate_limited or delivery.attempts < settings.PUBLISHING_MAX_ATTEMPTS:
            delay = backoff_seconds(
                delivery.attempts, retry_after=getattr(exc, "retry_after", None)
            )
            delivery_move(
                delivery.pk,
                job=delivery.job,
                from_states=[D.PUBLISHING],
                to=D.PENDING,
                run_at=timezone.now() + dt.timedelta(seconds=delay),
                error=message,
                reconcile=True,
                **({"attempts": delivery.attempts - 1} if rate_limited else {}),
            )
            outcome = AttemptOutcome.RATE_LIMITED if rate_limited else AttemptOutcome.RETRY
        else:
            if delivery_move(
                delivery.pk,
                job=delivery.job,
                from_states=[D.PUBLISHING],
                to=D.UNKNOWN,
                error=message,
                reconcile=True,
            ):
                logger.warning(
                    "delivery %s (%s): outcome unknown, it may already be live: %s",
                    delivery.pk,
                    platform,
                    reason,
                )
                notify_unknown(delivery, reason=message)
            outcome = AttemptOutcome.UNKNOWN
        _finish_attempt(attempt.pk, outcome, error=message, status=status)
    return outcome


def _record_missed_after_lookup(delivery: Delivery, attempt: Attempt) -> str:
    """The look-up found nothing out, and the post's time is past the lateness window: it is
    missed (never posted late), as the dispatcher marks pending deliveries."""
    reason = Text(TOO_LATE)
    with transaction.atomic():
        if delivery_move(
            delivery.pk,
            job=delivery.job,
            from_states=[D.PUBLISHING],
            to=D.MISSED,
            error=reason,
            reconcile=False,
        ):
            notify_failed(delivery, reason=reason, managers=False)
        _finish_attempt(attempt.pk, AttemptOutcome.FAILED, error=reason)
    return "missed"


def _find_existing(adapter, account, credentials, request) -> PublishResult | None:
    try:
        return adapter.find_existing(account=account, credentials=credentials, request=request)
    except NotImplementedError:
        return None  # the platform cannot tell (e.g. Telegram): the retry relies on luck


def _complete(found: PublishResult, request: PublishRequest) -> bool:
    expected = 1 + len(request.thread) + (1 if request.first_comment.strip() else 0)
    return len(found.parts or [None]) >= expected


# --- people's actions ----------------------------------------------------------------------------


def _delivery_of(membership: Membership, delivery_id: int) -> Delivery:
    delivery = (
        Delivery.objects.select_related("post__workspace", "post__author", "channel")
        .filter(pk=delivery_id, workspace_id=membership.workspace_id)
        .first()
    )
    if delivery is None:
        from django.http import Http404

        raise Http404
    return delivery


@transaction.atomic
def delivery_publish_now(*, membership: Membership, delivery_id: int) -> Delivery:
    """Hand a delivery to a worker at once, ignoring its time and the lateness window
    ("publish now", and "retry now" after a failure)."""
    delivery = _delivery_of(membership, delivery_id)
    # The post's rulebook: who may, and only a scheduled post (also after some channels went out).
    access_post(membership, delivery.post_id, action=PostAction.PUBLISH_NOW, lock=False)
    if delivery.channel.platform == Platform.MANUAL:
        raise ValidationError(_("Manual channels are posted by hand."))
    if delivery.state not in RETRYABLE_STATES:
        raise ValidationError(
            _("This delivery is %(state)s and cannot be published now.")
            % {"state": delivery.get_state_display().lower()}
        )
    problem = channel_problem(delivery.channel, workspace_slug=membership.workspace.slug)
    if problem is not None and problem.blocks:
        raise ValidationError(f"{problem.message} {problem.fix}.")
    now = timezone.now()
    delivery_move(
        delivery.pk,
        job=delivery.job,
        from_states=RETRYABLE_STATES,
        to=D.PENDING,
        run_at=now,
        late_ok=True,
        attempts=0,
        error="",
    )
    delivery.refresh_from_db()
    return delivery


def _decision_on_unknown(membership: Membership, delivery_id: int) -> Delivery:
    delivery = _delivery_of(membership, delivery_id)
    access_post(membership, delivery.post_id, action=PostAction.PUBLISH_NOW, lock=False)
    if delivery.state != D.UNKNOWN:
        raise ValidationError(
            _("This delivery is %(state)s: there is nothing to decide.")
            % {"state": delivery.get_state_display().lower()}
        )
    return delivery


def _record_decision(delivery: Delivery, membership: Membership, what: str) -> None:
    """The person's decision, in the delivery's attempts (its audit trail)."""
    now = timezone.now()
    Attempt.objects.create(
        delivery=delivery,
        workspace_id=delivery.workspace_id,
        started_at=now,
        finished_at=now,
        worker=f"{membership.user.get_username()}"[:200],
        outcome=AttemptOutcome.DECIDED,
        error=what,
        idempotency_key=delivery.idempotency_key,
    )


@transaction.atomic
def delivery_confirm_live(*, membership: Membership, delivery_id: int, url: str) -> Delivery:
    """ "It is live, here is the link": a delivery whose outcome was unknown went out; it is
    marked published with its public address (and, where the address tells, its remote id, so
    its numbers are followed like any other)."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        url = ""
    if not is_external_url(url):
        raise ValidationError(_("Enter the public address (https://…) of the post."))
    delivery = _decision_on_unknown(membership, delivery_id)
    remote_id = get_adapter(delivery.channel.platform).remote_id_from_url(url) or ""
    if not delivery_move(
        delivery.pk,
        job=delivery.job,
        from_states=[D.UNKNOWN],
        to=D.PUBLISHED,
        url=url,
        remote_id=remote_id,
        parts=[{"remote_id": remote_id, "url": url}],
        published_at=timezone.now(),
        reconcile=False,
        error="",
    ):
        raise ValidationError(_("Someone else decided first: reload the page."))
    _record_decision(
        delivery,
        membership,
        _("%(name)s confirmed it is live: %(url)s") % {"name": membership.user, "url": url},
    )
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def delivery_post_again(*, membership: Membership, delivery_id: int) -> Delivery:
    """ "Post it again": a person checked that a delivery whose outcome was unknown is not live,
    and it goes out now without another look-up (recorded with their name: if it was live
    after all, this makes the duplicate on their word, not on a guess)."""
    delivery = _decision_on_unknown(membership, delivery_id)
    if delivery.channel.state == ChannelState.PAUSED:
        raise ValidationError(_("The channel is paused: resume it first."))
    if not delivery_move(
        delivery.pk,
        job=delivery.job,
        from_states=[D.UNKNOWN],
        to=D.PENDING,
        run_at=timezone.now(),
        late_ok=True,
        attempts=0,
        reconcile=False,
        error="",
    ):
        raise ValidationError(_("Someone else decided first: reload the page."))
    _record_decision(
        delivery,
        membership,
        _("%(name)s checked it is not live and had it posted again") % {"name": membership.user},
    )
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def delivery_mark_done(*, membership: Membership, delivery_id: int, url: str) -> Delivery:
    """A manual channel's post was made by hand: record its public URL."""
    if not is_external_url(url):
        raise ValidationError(_("Enter the public address (https://…) of the post."))
    delivery = _delivery_of(membership, delivery_id)
    if delivery.channel.platform != Platform.MANUAL:
        raise ValidationError(_("Only manual channels are marked done by hand."))
    if membership.user_id != delivery.assignee_id:
        require(membership, Action.POST_RESCHEDULE)
    if delivery.state == D.PUBLISHED:
        raise ValidationError(_("This post is already marked done."))
    if delivery.state not in MARKABLE_DONE_STATES:
        raise PermissionDenied(_("This delivery cannot be marked done."))
    now = timezone.now()
    delivery_move(
        delivery.pk,
        job=delivery.job,
        from_states=[delivery.state],
        to=D.PUBLISHED,
        url=url,
        remote_id=url,
        published_at=now,
        error="",
    )
    delivery.refresh_from_db()
    return delivery


def channel_is_held(channel: Channel) -> bool:
    return channel.state != ChannelState.CONNECTED
