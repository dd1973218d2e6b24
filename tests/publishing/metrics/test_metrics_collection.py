"""Metrics collection (publishing.metrics) with the recording adapter: enrolment of published
deliveries, the due sweep (claims, leases, batches per channel, held channels), the batch pull
(snapshots, idempotency, the quiet rule, failures and their isolation, rate limits, token
refresh, deleted posts), with exact query counts for the sweep's and the pull's writes.
Plain functions, real database (run on PostgreSQL too) and the real Redis limiter."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.db import connection

from calendar_app.models import ChannelState, PostVariant
from publishing.adapters.base import (
    AuthExpired,
    Capabilities,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishing.adapters.recording import RecordingAdapter
from publishing.metrics import sweep as sweep_module
from publishing.metrics.enrol import TEXT_EXCERPT, remote_posts_enrol
from publishing.metrics.pull import remote_posts_pull
from publishing.metrics.reads import metrics_rate_reset, metrics_rate_take
from publishing.metrics.sweep import PullBatch
from publishing.models import (
    ChannelCredentials,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
)
from tests.factories import ChannelFactory
from tests.publishing_helpers import RECORDING, connected_channel, due_post

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
LEASE = dt.timedelta(seconds=900)


class NoMetricsAdapter(RecordingAdapter):
    key = "telegram"
    capabilities = Capabilities(auth="bot_token", metrics=frozenset())


class RefusingRefresh(RecordingAdapter):
    def refresh(self, *, account, credentials):
        raise AuthExpired("The access was revoked.")


class Exploding(RecordingAdapter):
    def fetch_metrics(self, *, account, credentials, remote_ids):
        raise KeyError("data")  # an unmapped library error


@pytest.fixture(autouse=True)
def engine(settings):
    settings.PUBLISHING_ADAPTERS = {
        "mastodon": RECORDING,
        "x": RECORDING,
        "bluesky": RECORDING,
        "telegram": {"BACKEND": f"{__name__}.NoMetricsAdapter"},
    }
    settings.METRICS_RATE_LIMITS = {"default": (1000, 1000)}
    settings.METRICS_MAX_FAILURES = 3
    settings.PUBLISHING_BACKOFF_SECONDS = 30
    settings.PUBLISHING_BACKOFF_MAX_SECONDS = 1800
    RecordingAdapter.reset()
    yield
    RecordingAdapter.reset()


@pytest.fixture
def sent(monkeypatch):
    """Batch tasks the sweep (or a waiting batch) sends, as (batch, countdown)."""
    messages: list[tuple[PullBatch, float | None]] = []

    def record(batches, *, countdown=None):
        messages.extend((b, countdown) for b in batches)

    monkeypatch.setattr(sweep_module, "pull_batches_send", record)
    return messages


@pytest.fixture
def mastodon(workspace):
    channel = connected_channel(workspace, name="Acme Mastodon")
    metrics_rate_reset(channel_id=channel.pk)
    return channel


@pytest.fixture
def sweep(sent, django_capture_on_commit_callbacks):
    """One sweep at `now`; returns the batches it sent."""

    def run(now: dt.datetime = NOW) -> list[PullBatch]:
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            sweep_module.metrics_sweep(now=now)
        return [batch for batch, _countdown in sent]

    return run


def pull(batch: PullBatch, *, now: dt.datetime = NOW, reserved: bool = False) -> str:
    return remote_posts_pull(
        channel_id=batch.channel_id,
        remote_post_ids=batch.remote_post_ids,
        lease=batch.lease.isoformat(),  # as the task gets it
        reserved=reserved,
        now=now,
    )


def published(workspace, channel, *, at: dt.datetime, remote_id: str, body="Hello", **kwargs):
    """A delivery published at `at` with `remote_id` (state written directly)."""
    post = due_post(workspace, [channel], at=at, body=body)
    return Delivery.objects.create(
        post=post,
        channel=channel,
        workspace=workspace,
        state=DeliveryState.PUBLISHED,
        due_at=at,
        run_at=at,
        idempotency_key=f"key-{remote_id}-{channel.pk}",
        remote_id=remote_id,
        url=f"https://social.example/{remote_id}",
        published_at=at,
        **kwargs,
    )


def followed(channel, remote_id: str, *, published_at=NOW - H, due=NOW, step=1, **fields):
    """A RemotePost on the schedule, due at `due`."""
    return RemotePost.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        source=RemotePostSource.IMPORTED,
        remote_id=remote_id,
        published_at=published_at,
        next_pull_at=due,
        step=step,
        **fields,
    )


# --- enrolment ----------------------------------------------------------------------------------


def test_given_a_published_delivery_when_swept_then_it_is_followed_from_15_minutes_after_publishing(
    workspace, mastodon, sweep
):
    delivery = published(
        workspace, mastodon, at=NOW - 5 * M, remote_id="111", body="Grand opening!"
    )

    sweep()

    post = RemotePost.objects.get()
    assert post.delivery == delivery
    assert post.source == RemotePostSource.APP
    assert (post.workspace_id, post.channel_id) == (workspace.pk, mastodon.pk)
    assert (post.remote_id, post.url) == ("111", "https://social.example/111")
    assert post.published_at == NOW - 5 * M
    assert post.text == "Grand opening!"
    assert (post.step, post.next_pull_at) == (0, NOW + 10 * M)


def test_given_the_variant_has_its_own_text_then_the_excerpt_is_the_variants(
    workspace, mastodon, sweep
):
    delivery = published(workspace, mastodon, at=NOW - 5 * M, remote_id="111", body="Master")
    PostVariant.objects.filter(post=delivery.post).update(body_override="x" * 900)

    sweep()

    assert RemotePost.objects.get().text == "x" * TEXT_EXCERPT


def test_given_an_enrolled_delivery_when_swept_again_then_nothing_new(workspace, mastodon, sweep):
    published(workspace, mastodon, at=NOW - 5 * M, remote_id="111")
    sweep()

    assert remote_posts_enrol(now=NOW + M) == 0
    assert RemotePost.objects.count() == 1


def test_given_a_delivery_published_hours_ago_then_it_joins_at_the_first_step_ahead(
    workspace, mastodon, sweep
):
    published(workspace, mastodon, at=NOW - 2 * H, remote_id="111")

    sweep()

    assert RemotePost.objects.values_list("step", "next_pull_at").get() == (2, NOW + 4 * H)


@pytest.mark.parametrize(
    ("platform", "state", "age", "remote_id"),
    [
        ("mastodon", DeliveryState.PUBLISHING, 5 * M, "111"),  # not published (yet)
        ("mastodon", DeliveryState.PUBLISHED, 32 * D, "111"),  # older than the schedule
        ("mastodon", DeliveryState.PUBLISHED, 5 * M, ""),  # no remote id
        ("manual", DeliveryState.PUBLISHED, 5 * M, "https://xing.example/p/1"),  # by hand
    ],
)
def test_deliveries_that_are_not_enrolled(workspace, sweep, platform, state, age, remote_id):
    channel = connected_channel(workspace, platform=platform)
    delivery = published(workspace, channel, at=NOW - age, remote_id=remote_id or "x")
    Delivery.objects.filter(pk=delivery.pk).update(state=state, remote_id=remote_id)

    sweep()

    assert not RemotePost.objects.exists()


def test_given_a_platform_without_post_numbers_then_followed_without_a_schedule(workspace, sweep):
    telegram = connected_channel(workspace, platform="telegram")
    published(workspace, telegram, at=NOW - 5 * M, remote_id="55")

    sweep()

    assert RemotePost.objects.values_list("next_pull_at", flat=True).get() is None


def test_given_the_backfill_found_the_post_first_then_enrolment_links_it_to_the_delivery(
    workspace, mastodon, sweep
):
    found = followed(mastodon, "111", due=NOW + H)
    delivery = published(workspace, mastodon, at=NOW - 5 * M, remote_id="111")

    assert remote_posts_enrol(now=NOW) == 1

    found.refresh_from_db()
    assert (found.delivery, found.source) == (delivery, RemotePostSource.APP)
    assert RemotePost.objects.count() == 1


def test_enrolment_query_count_does_not_grow_with_the_deliveries(
    workspace, mastodon, django_assert_num_queries
):
    for i in range(25):
        published(workspace, mastodon, at=NOW - 5 * M, remote_id=f"{i}")

    # which deliveries; on PostgreSQL SAVEPOINT, one INSERT ... SELECT, RELEASE; elsewhere
    # them in full, SAVEPOINT, INSERT the posts, which were enrolled, RELEASE
    with django_assert_num_queries(4 if connection.vendor == "postgresql" else 6):
        assert remote_posts_enrol(now=NOW) == 25
    with django_assert_num_queries(1):  # nothing left: one bounded read
        assert remote_posts_enrol(now=NOW) == 0


# --- the due sweep --------------------------------------------------------------------------------


def test_given_due_and_not_yet_due_posts_then_only_due_ones_are_claimed_under_a_lease(
    workspace, mastodon, sweep
):
    due = followed(mastodon, "1", due=NOW - M)
    on_time = followed(mastodon, "2", due=NOW)
    later = followed(mastodon, "3", due=NOW + M)

    (batch,) = sweep()

    assert batch.channel_id == mastodon.pk
    assert sorted(batch.remote_post_ids) == [due.pk, on_time.pk]
    assert batch.lease == NOW + LEASE
    assert set(RemotePost.objects.values_list("pk", "next_pull_at")) == {
        (due.pk, NOW + LEASE),
        (on_time.pk, NOW + LEASE),
        (later.pk, NOW + M),
    }


def test_given_claimed_posts_then_the_next_sweep_does_not_send_them_again(
    workspace, mastodon, sweep
):
    followed(mastodon, "1")
    assert len(sweep()) == 1

    assert sweep(NOW + M) == []


def test_given_a_task_that_never_ran_then_its_posts_come_back_when_the_lease_ends(
    workspace, mastodon, sweep
):
    post = followed(mastodon, "1")
    (lost,) = sweep()

    (again,) = sweep(NOW + LEASE)

    assert again.remote_post_ids == (post.pk,)
    assert again.lease == NOW + 2 * LEASE
    assert pull(lost, now=NOW + LEASE) == "skipped"  # the old message, if it turns up, is void
    assert pull(again, now=NOW + LEASE) == "pulled"


def test_given_posts_on_several_channels_then_batches_per_channel_of_the_adapters_size(
    workspace, mastodon, sweep, monkeypatch
):
    monkeypatch.setattr(
        RecordingAdapter,
        "capabilities",
        dataclasses.replace(RecordingAdapter.capabilities, metrics_batch_size=3),
    )
    x = connected_channel(workspace, platform="x")
    ours = [followed(mastodon, f"m{i}").pk for i in range(7)]
    theirs = [followed(x, f"x{i}").pk for i in range(2)]

    batches = sweep()

    by_channel = {}
    for batch in batches:
        assert len(batch.remote_post_ids) <= 3
        by_channel.setdefault(batch.channel_id, []).extend(batch.remote_post_ids)
    assert sorted(by_channel[mastodon.pk]) == ours
    assert sorted(by_channel[x.pk]) == theirs
    assert sorted(len(b.remote_post_ids) for b in batches) == [1, 2, 3, 3]
    for batch in batches:
        assert pull(batch) == "pulled"
    assert sorted(len(call) for call in RecordingAdapter.metrics_calls) == [1, 2, 3, 3]


@pytest.mark.parametrize("state", [ChannelState.PAUSED, ChannelState.NEEDS_RECONNECT])
def test_given_a_held_channel_then_its_due_posts_wait_without_burning_attempts(
    workspace, mastodon, sweep, settings, state
):
    mastodon.state = state
    mastodon.save()
    post = followed(mastodon, "1")

    assert sweep() == []

    post.refresh_from_db()
    assert post.next_pull_at == NOW + dt.timedelta(seconds=settings.METRICS_HOLD_SECONDS)
    assert (post.failures, post.step, post.last_error) == (0, 1, "")


def test_given_a_channel_without_credentials_then_its_posts_wait(workspace, mastodon, sweep):
    ChannelCredentials.objects.filter(channel=mastodon).delete()
    followed(mastodon, "1")

    assert sweep() == []
    assert RemotePost.objects.get().next_pull_at > NOW


def test_given_a_platform_that_is_not_configured_any_more_then_its_posts_wait(
    workspace, sweep, settings
):
    threads = ChannelFactory(workspace=workspace, platform="threads")
    ChannelCredentials.objects.create(channel=threads, ciphertext="x")
    followed(threads, "1")

    assert sweep() == []
    assert RemotePost.objects.get().next_pull_at == NOW + dt.timedelta(
        seconds=settings.METRICS_HOLD_SECONDS
    )


def test_the_sweep_claims_at_most_its_limit_per_pass(workspace, mastodon, sweep, settings):
    settings.METRICS_SWEEP_LIMIT = 4
    for i in range(6):
        followed(mastodon, f"{i}", due=NOW - (6 - i) * M)

    first = sweep()

    assert sum(len(b.remote_post_ids) for b in first) == 4
    assert sum(len(b.remote_post_ids) for b in sweep(NOW + M)) == 2


def test_claim_query_count_does_not_grow_with_the_posts(
    workspace, mastodon, django_assert_num_queries, django_capture_on_commit_callbacks, sent
):
    x = connected_channel(workspace, platform="x")
    for i in range(30):
        followed(mastodon if i % 2 else x, f"{i}")

    # PostgreSQL: one statement (lock the due rows, move them to the lease); elsewhere
    # SAVEPOINT, the due rows, the lease UPDATE, RELEASE
    expected = 1 if connection.vendor == "postgresql" else 4
    with (
        django_assert_num_queries(expected),
        django_capture_on_commit_callbacks(execute=True),
    ):
        batches = sweep_module.remote_posts_claim_due(now=NOW)
    assert sum(len(b.remote_post_ids) for b in batches) == 30
    assert len(sent) == len(batches) == 4  # 15 per channel, batches of 10


# --- the batch pull -------------------------------------------------------------------------------


def test_given_a_claimed_batch_when_pulled_then_a_snapshot_per_post_and_the_latest_numbers(
    workspace, mastodon, sweep
):
    a = followed(mastodon, "a", published_at=NOW - 15 * M, step=0)
    b = followed(mastodon, "b", published_at=NOW - 15 * M, step=0)
    RecordingAdapter.post_metrics = {
        "a": {"likes": 4, "comments": 1, "shares": 2, "impressions": 90},
        "b": {"likes": 0},
    }
    (batch,) = sweep()

    assert pull(batch) == "pulled"

    a.refresh_from_db()
    assert (a.likes, a.comments, a.shares, a.impressions, a.clicks) == (4, 1, 2, 90, None)
    assert (a.step, a.next_pull_at, a.last_pulled_at) == (1, NOW + 45 * M, NOW)
    assert (a.unchanged, a.failures, a.last_error) == (0, 0, "")
    snapshot = MetricSnapshot.objects.get(remote_post=a)
    assert (snapshot.seq, snapshot.taken_at) == (1, NOW)
    assert (snapshot.likes, snapshot.impressions, snapshot.saves) == (4, 90, None)
    assert snapshot.raw == {"id": "a", "likes": 4, "comments": 1, "shares": 2, "impressions": 90}
    assert MetricSnapshot.objects.get(remote_post=b).likes == 0
    assert RecordingAdapter.metrics_calls == [["a", "b"]] or RecordingAdapter.metrics_calls == [
        ["b", "a"]
    ]


def test_given_the_same_batch_twice_then_one_snapshot(workspace, mastodon, sweep):
    post = followed(mastodon, "a")
    (batch,) = sweep()

    assert pull(batch) == "pulled"
    assert pull(batch, now=NOW + M) == "skipped"  # redelivered: the lease has moved on

    assert MetricSnapshot.objects.filter(remote_post=post).count() == 1
    assert len(RecordingAdapter.metrics_calls) == 1


def test_given_two_runs_of_a_batch_at_once_then_only_one_writes(
    workspace, mastodon, sweep, monkeypatch
):
    """Both read the claimed rows before either wrote (a redelivery while the first still
    runs): the write's compare-and-set on the lease lets only one through."""
    post = followed(mastodon, "a")
    (batch,) = sweep()
    inner: list[str] = []
    fetch = RecordingAdapter.fetch_metrics

    def racing(self, **kwargs):
        if not inner:  # while the first run is at the platform, the second one runs fully
            inner.append("running")
            inner.append(pull(batch, now=NOW + M))
        return fetch(self, **kwargs)

    monkeypatch.setattr(RecordingAdapter, "fetch_metrics", racing)

    assert pull(batch) == "pulled"

    assert inner == ["running", "pulled"]
    assert MetricSnapshot.objects.filter(remote_post=post).count() == 1
    post.refresh_from_db()
    assert post.last_pulled_at == NOW + M  # the inner run's write; the outer one wrote nothing
    assert post.step == 2


def test_given_numbers_that_do_not_change_then_the_post_is_pulled_less_often(
    workspace, mastodon, sweep
):
    published_at = NOW - 15 * M
    post = followed(mastodon, "a", published_at=published_at, step=0)
    RecordingAdapter.post_metrics = {"a": {"likes": 3}}
    pulled_at = []
    now = NOW
    while True:
        batches = sweep(now)
        if not batches:
            break
        pulled_at.append(now - published_at)
        assert pull(batches[0], now=now) == "pulled"
        post.refresh_from_db()
        if post.next_pull_at is None:
            break
        now = post.next_pull_at

    assert pulled_at == [15 * M, H, 6 * H, 3 * D, 30 * D]
    seqs = list(MetricSnapshot.objects.filter(remote_post=post).values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 5, 7]
    assert (post.step, post.next_pull_at, post.unchanged) == (7, None, 4)


def test_given_numbers_that_change_then_every_step_is_pulled_and_then_it_stops(
    workspace, mastodon, sweep
):
    published_at = NOW - 15 * M
    post = followed(mastodon, "a", published_at=published_at, step=0)
    now, pulls = NOW, 0
    while post.next_pull_at is not None:
        pulls += 1
        RecordingAdapter.post_metrics = {"a": {"likes": pulls}}
        (batch,) = sweep(now)
        pull(batch, now=now)
        post.refresh_from_db()
        now = post.next_pull_at or now

    assert pulls == 7
    assert post.likes == 7
    assert sweep(now + 365 * D) == []


def test_given_the_platform_no_longer_has_a_post_then_asked_once_more_and_then_stopped(
    workspace, mastodon, sweep
):
    kept = followed(mastodon, "a")
    deleted = followed(mastodon, "b", likes=12)
    RecordingAdapter.gone = {"b"}
    (batch,) = sweep()

    assert pull(batch) == "pulled"

    deleted.refresh_from_db()
    assert deleted.failures == 1
    assert NOW + 15 * S <= deleted.next_pull_at <= NOW + 30 * S  # asked again soon
    assert "did not return this post" in deleted.last_error
    assert MetricSnapshot.objects.filter(remote_post=kept).count() == 1

    later = deleted.next_pull_at
    (again,) = sweep(later)
    assert again.remote_post_ids == (deleted.pk,)
    assert pull(again, now=later) == "pulled"

    deleted.refresh_from_db()
    assert deleted.next_pull_at is None
    assert "no longer has this post" in deleted.last_error
    assert deleted.likes == 12  # the last numbers we saw stay
    assert not MetricSnapshot.objects.filter(remote_post=deleted).exists()


def test_given_a_post_left_out_once_then_back_then_it_carries_on(workspace, mastodon, sweep):
    post = followed(mastodon, "a")
    RecordingAdapter.gone = {"a"}
    (batch,) = sweep()
    pull(batch)
    RecordingAdapter.gone = set()
    post.refresh_from_db()
    later = post.next_pull_at

    (again,) = sweep(later)
    assert pull(again, now=later) == "pulled"

    post.refresh_from_db()
    assert (post.failures, post.last_error, post.step) == (0, "", 2)
    assert post.snapshots.count() == 1


@pytest.mark.parametrize(
    ("error", "low", "high"),
    [
        (TransientError("The platform did not answer in time."), 15, 30),
        (RateLimited("Too many requests.", retry_after=600), 600, 605),  # Retry-After honoured
    ],
)
def test_given_a_transient_failure_then_the_batch_is_retried_later_with_backoff(
    workspace, mastodon, sweep, error, low, high
):
    post = followed(mastodon, "a")
    RecordingAdapter.faults = [error]
    (batch,) = sweep()

    assert pull(batch) == "failed"

    post.refresh_from_db()
    assert NOW + dt.timedelta(seconds=low) <= post.next_pull_at <= NOW + dt.timedelta(seconds=high)
    assert (post.failures, post.step) == (1, 1)
    assert error.message in post.last_error
    assert not MetricSnapshot.objects.exists()

    (retry,) = sweep(post.next_pull_at)
    assert pull(retry, now=post.next_pull_at) == "pulled"
    post.refresh_from_db()
    assert (post.failures, post.last_error, post.step) == (0, "", 2)


def test_given_failures_until_the_budget_is_spent_then_that_step_is_given_up_and_the_next_follows(
    workspace, mastodon, sweep
):
    post = followed(mastodon, "a", published_at=NOW - H, step=1)
    now = NOW
    for attempt in range(1, 4):
        RecordingAdapter.faults = [TransientError("Down.")]
        (batch,) = sweep(now)
        assert pull(batch, now=now) == "failed"
        post.refresh_from_db()
        now = post.next_pull_at
        if attempt < 3:
            assert (post.failures, post.step) == (attempt, 1)

    assert (post.failures, post.step) == (0, 2)  # the 1-hour step is lost, 6 h is next
    assert post.next_pull_at == post.published_at + 6 * H
    assert "Down." in post.last_error


def test_given_a_permanent_error_then_the_step_is_given_up_at_once(workspace, mastodon, sweep):
    post = followed(mastodon, "a", published_at=NOW - H, step=1)
    RecordingAdapter.faults = [PermanentError("Missing permission to read insights.")]
    (batch,) = sweep()

    assert pull(batch) == "failed"

    post.refresh_from_db()
    assert (post.step, post.next_pull_at, post.failures) == (2, NOW + 5 * H, 0)
    assert "Missing permission" in post.last_error


def test_given_an_unexpected_error_then_the_batch_backs_off_like_a_transient_one(
    workspace, sweep, settings
):
    settings.PUBLISHING_ADAPTERS = {"mastodon": {"BACKEND": f"{__name__}.Exploding"}}
    channel = connected_channel(workspace)
    post = followed(channel, "a")
    (batch,) = sweep()

    assert pull(batch) == "failed"

    post.refresh_from_db()
    assert post.failures == 1
    assert post.next_pull_at > NOW


def test_given_one_channel_failing_then_the_others_are_pulled(workspace, mastodon, sweep):
    x = connected_channel(workspace, platform="x")
    failing = followed(mastodon, "m", due=NOW - 2 * M)
    healthy = followed(x, "x", due=NOW - M)
    RecordingAdapter.faults = [TransientError("Mastodon is down.")]
    batches = sweep()
    assert [b.channel_id for b in batches] == [mastodon.pk, x.pk]  # due order

    assert [pull(b) for b in batches] == ["failed", "pulled"]

    failing.refresh_from_db()
    healthy.refresh_from_db()
    assert failing.failures == 1 and failing.last_pulled_at is None
    assert healthy.last_pulled_at == NOW and healthy.failures == 0


def test_given_an_expired_token_then_refreshed_once_and_pulled(workspace, mastodon, sweep):
    followed(mastodon, "a")
    RecordingAdapter.faults = [AuthExpired("The access token expired.")]
    version = ChannelCredentials.objects.get(channel=mastodon).version
    (batch,) = sweep()

    assert pull(batch) == "pulled"

    assert ChannelCredentials.objects.get(channel=mastodon).version == version + 1
    assert len(RecordingAdapter.metrics_calls) == 2
    assert MetricSnapshot.objects.count() == 1


def test_given_a_refresh_the_platform_refuses_then_the_channel_needs_reconnecting_and_posts_wait(
    workspace, manager, sweep, settings
):
    settings.PUBLISHING_ADAPTERS = {"mastodon": {"BACKEND": f"{__name__}.RefusingRefresh"}}
    channel = connected_channel(workspace)
    post = followed(channel, "a")
    RecordingAdapter.faults = [AuthExpired("The access token expired.")]
    (batch,) = sweep()

    assert pull(batch) == "held"

    channel.refresh_from_db()
    post.refresh_from_db()
    assert channel.state == ChannelState.NEEDS_RECONNECT
    assert post.failures == 0
    assert post.next_pull_at == NOW + dt.timedelta(seconds=settings.METRICS_HOLD_SECONDS)


def test_given_a_channel_paused_after_the_claim_then_the_batch_is_held(
    workspace, mastodon, sweep, settings
):
    post = followed(mastodon, "a")
    (batch,) = sweep()
    mastodon.state = ChannelState.PAUSED
    mastodon.save()

    assert pull(batch) == "held"

    post.refresh_from_db()
    assert post.failures == 0
    assert post.next_pull_at == NOW + dt.timedelta(seconds=settings.METRICS_HOLD_SECONDS)
    assert RecordingAdapter.metrics_calls == []


def test_given_an_empty_read_bucket_then_the_batch_waits_for_its_slot_instead_of_failing(
    workspace, mastodon, sweep, sent, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_RATE_LIMITS = {"default": (1, 0.01)}  # one call, then one per 100 s
    first = followed(mastodon, "a", due=NOW - M)
    second = followed(mastodon, "b", due=NOW)
    settings_batch = dataclasses.replace(RecordingAdapter.capabilities, metrics_batch_size=1)
    RecordingAdapter.capabilities = settings_batch
    try:
        batches = sweep()
        assert len(batches) == 2
        assert pull(batches[0]) == "pulled"
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert pull(batches[1]) == "waiting"
    finally:
        RecordingAdapter.capabilities = dataclasses.replace(settings_batch, metrics_batch_size=10)

    ((again, countdown),) = sent
    assert 90 <= countdown <= 100
    second.refresh_from_db()
    assert second.failures == 0 and second.last_error == ""
    assert second.next_pull_at == again.lease
    assert again.lease >= NOW + dt.timedelta(seconds=countdown) + LEASE - dt.timedelta(seconds=1)
    assert len(RecordingAdapter.metrics_calls) == 1
    # When its slot comes, it goes without taking another token.
    assert pull(again, reserved=True, now=NOW + dt.timedelta(seconds=countdown)) == "pulled"
    assert MetricSnapshot.objects.filter(remote_post__in=[first, second]).count() == 2


def test_given_a_very_long_wait_then_the_batch_goes_back_to_the_sweep(
    workspace, mastodon, sweep, sent, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_RATE_LIMITS = {"default": (1, 0.0001)}
    settings.METRICS_MAX_COUNTDOWN_SECONDS = 60
    followed(mastodon, "a")
    post = followed(mastodon, "b")
    metrics_rate_take(channel_id=mastodon.pk, platform="mastodon")  # the bucket is empty
    (batch,) = sweep()
    sent.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert pull(batch) == "waiting"

    assert sent == []
    post.refresh_from_db()
    assert post.next_pull_at >= NOW + dt.timedelta(seconds=9000)
    assert post.failures == 0


def test_the_read_bucket_is_not_the_publishing_bucket(workspace, mastodon, settings):
    from publishing import ratelimit

    settings.PUBLISHING_RATE_LIMITS = {"default": (1, 0.001)}
    settings.METRICS_RATE_LIMITS = {"default": (1, 0.001)}
    ratelimit.rate_reset(channel_id=mastodon.pk)

    assert metrics_rate_take(channel_id=mastodon.pk, platform="mastodon") == 0
    # Reading used the read bucket only: publishing still has its token.
    assert ratelimit.rate_take(channel_id=mastodon.pk, platform="mastodon") == 0
    assert metrics_rate_take(channel_id=mastodon.pk, platform="mastodon") > 0
    ratelimit.rate_reset(channel_id=mastodon.pk)


def test_given_a_platform_that_cannot_report_numbers_then_the_schedule_stops(
    workspace, sweep, settings
):
    class Mute(RecordingAdapter):
        def fetch_metrics(self, **kwargs):
            raise NotImplementedError

    globals()["Mute"] = Mute
    settings.PUBLISHING_ADAPTERS = {"mastodon": {"BACKEND": f"{__name__}.Mute"}}
    try:
        channel = connected_channel(workspace)
        post = followed(channel, "a")
        (batch,) = sweep()
        assert pull(batch) == "stopped"
    finally:
        del globals()["Mute"]
    post.refresh_from_db()
    assert post.next_pull_at is None
    assert post.last_error


@pytest.mark.parametrize("size", [1, 10])
def test_pull_query_count_does_not_grow_with_the_batch(
    workspace, mastodon, sweep, django_assert_num_queries, size
):
    for i in range(size):
        followed(mastodon, f"{i}")
    (batch,) = sweep()

    # the claimed rows, the channel with its credentials, then the write: one statement on
    # PostgreSQL; elsewhere SAVEPOINT, the compare-and-set read, UPDATE (one statement run
    # for each row), INSERT, RELEASE
    expected = 3 if connection.vendor == "postgresql" else 7
    with django_assert_num_queries(expected):
        assert pull(batch) == "pulled"
    assert MetricSnapshot.objects.count() == size


def test_a_batch_whose_lease_is_gone_costs_one_query(
    workspace, mastodon, sweep, django_assert_num_queries
):
    followed(mastodon, "a")
    (batch,) = sweep()
    pull(batch)

    with django_assert_num_queries(1):
        assert pull(batch) == "skipped"


def test_given_a_sweep_that_claims_in_several_chunks_then_a_channels_posts_still_fill_its_batches(
    workspace, mastodon, sweep, monkeypatch
):
    monkeypatch.setattr(sweep_module, "CLAIM_BATCH", 4)
    x = connected_channel(workspace, platform="x")
    for i in range(12):  # due in turns, so every chunk of 4 has two posts of each channel
        followed(mastodon if i % 2 else x, f"{i}", due=NOW - (12 - i) * M)

    batches = sweep()

    assert sorted((b.channel_id, len(b.remote_post_ids)) for b in batches) == sorted(
        [(mastodon.pk, 6), (x.pk, 6)]
    )
    assert {b.lease for b in batches} == {NOW + LEASE}
