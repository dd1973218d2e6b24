"""Daily account snapshots (followers...) and the history backfill of a connected channel
(publishing.metrics), with the recording adapter; the connect hook and the management command."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calendar_app.models import ChannelState
from publishing.adapters.base import (
    Account,
    AuthExpired,
    Capabilities,
    ConnectResult,
    Credentials,
    MetricsSnapshot,
    PermanentError,
    RateLimited,
    RemotePostInfo,
    TransientError,
)
from publishing.adapters.recording import RecordingAdapter
from publishing.connections import channel_connect
from publishing.metrics import sweep
from publishing.metrics.accounts import account_snapshot_take, account_snapshots_due
from publishing.metrics.backfill import remote_posts_backfill
from publishing.metrics.enrol import remote_posts_enrol
from publishing.metrics.pull import remote_posts_pull
from publishing.metrics.reads import PullLater, metrics_rate_reset
from publishing.models import (
    AccountSnapshot,
    ChannelCredentials,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
)
from tests.factories import WorkspaceFactory
from tests.publishing_helpers import RECORDING, connected_channel, due_post

NOW = dt.datetime(2026, 3, 2, 11, 30, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


class Silent(RecordingAdapter):
    """A platform without account numbers or a history listing (like Telegram)."""

    key = "telegram"
    capabilities = Capabilities(auth="bot_token", metrics=frozenset())


@pytest.fixture(autouse=True)
def engine(settings):
    settings.PUBLISHING_ADAPTERS = {
        "mastodon": RECORDING,
        "x": RECORDING,
        "telegram": {"BACKEND": f"{__name__}.Silent"},
    }
    settings.METRICS_RATE_LIMITS = {"default": (1000, 1000)}
    RecordingAdapter.reset()
    yield
    RecordingAdapter.reset()


@pytest.fixture(autouse=True)
def no_connection_check(monkeypatch):
    """Tasks called in-process keep the test's connection (the worker's health check would
    close a connection inside a transaction)."""
    from publishing import tasks

    monkeypatch.setattr(tasks, "_connection_check", lambda: None)


@pytest.fixture
def mastodon(workspace):
    channel = connected_channel(workspace, name="Acme Mastodon")
    metrics_rate_reset(channel_id=channel.pk)
    return channel


# --- account snapshots ------------------------------------------------------------------------------


def test_given_a_connected_channel_when_its_account_is_pulled_then_a_row_for_the_local_day(
    workspace, mastodon
):
    RecordingAdapter.account_values = {"followers": 1200, "following": 80, "posts": 310}

    account_snapshot_take(channel_id=mastodon.pk, now=NOW)

    row = AccountSnapshot.objects.get()
    assert (row.workspace, row.channel) == (workspace, mastodon)
    assert (row.day, row.taken_at) == (dt.date(2026, 3, 2), NOW)
    assert (row.followers, row.following, row.posts) == (1200, 80, 310)
    assert row.raw == {"followers": 1200, "following": 80, "posts": 310}


def test_given_a_second_pull_the_same_day_then_the_row_is_updated_not_doubled(workspace, mastodon):
    RecordingAdapter.account_values = {"followers": 1200}
    account_snapshot_take(channel_id=mastodon.pk, now=NOW)
    RecordingAdapter.account_values = {"followers": 1215}

    account_snapshot_take(channel_id=mastodon.pk, now=NOW + 3 * H)

    row = AccountSnapshot.objects.get()
    assert (row.followers, row.taken_at, row.following) == (1215, NOW + 3 * H, None)


def test_given_the_next_day_then_a_second_row(workspace, mastodon):
    RecordingAdapter.account_values = {"followers": 1200}
    account_snapshot_take(channel_id=mastodon.pk, now=NOW)
    account_snapshot_take(channel_id=mastodon.pk, now=NOW + D)

    assert list(AccountSnapshot.objects.values_list("day", flat=True)) == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 3),
    ]


@pytest.mark.parametrize(
    ("tz", "moment", "day"),
    [
        ("Pacific/Auckland", dt.datetime(2026, 3, 2, 11, 30, tzinfo=dt.UTC), dt.date(2026, 3, 3)),
        ("America/Los_Angeles", dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC), dt.date(2026, 3, 1)),
        # Berlin on the night the clocks go forward: 01:30 UTC is 03:30 local, still the 29th
        ("Europe/Berlin", dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC), dt.date(2026, 3, 29)),
        ("Europe/Berlin", dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), dt.date(2026, 3, 29)),
    ],
)
def test_the_day_is_the_workspaces_local_day(db, tz, moment, day):
    workspace = WorkspaceFactory(timezone=tz)
    channel = connected_channel(workspace)
    RecordingAdapter.account_values = {"followers": 1}

    account_snapshot_take(channel_id=channel.pk, now=moment)

    assert AccountSnapshot.objects.get().day == day


def test_given_an_expired_token_then_refreshed_once_and_taken(workspace, mastodon):
    RecordingAdapter.faults = [AuthExpired("The access token expired.")]
    RecordingAdapter.account_values = {"followers": 9}

    account_snapshot_take(channel_id=mastodon.pk, now=NOW)

    assert AccountSnapshot.objects.get().followers == 9
    assert ChannelCredentials.objects.get(channel=mastodon).version == 2


def test_given_rate_limited_then_told_to_pull_later_and_nothing_stored(workspace, mastodon):
    RecordingAdapter.faults = [RateLimited("Slow down.", retry_after=120)]

    with pytest.raises(PullLater) as wait:
        account_snapshot_take(channel_id=mastodon.pk, now=NOW)

    assert wait.value.seconds == 120
    assert not AccountSnapshot.objects.exists()


def test_given_a_paused_channel_then_nothing_is_pulled(workspace, mastodon):
    mastodon.state = ChannelState.PAUSED
    mastodon.save()

    assert account_snapshot_take(channel_id=mastodon.pk, now=NOW) is None
    assert not AccountSnapshot.objects.exists()


def test_due_account_snapshots_are_connected_channels_without_todays_row(
    workspace, mastodon, django_assert_num_queries
):
    x = connected_channel(workspace, platform="x")
    paused = connected_channel(workspace, state=ChannelState.PAUSED)
    telegram = connected_channel(workspace, platform="telegram")  # no account numbers
    without_account = connected_channel(workspace)
    ChannelCredentials.objects.filter(channel=without_account).delete()
    AccountSnapshot.objects.create(
        workspace=workspace, channel=x, day=dt.date(2026, 3, 2), taken_at=NOW - H
    )
    AccountSnapshot.objects.create(  # yesterday's does not count
        workspace=workspace, channel=mastodon, day=dt.date(2026, 3, 1), taken_at=NOW - D
    )

    with django_assert_num_queries(2):
        due = account_snapshots_due(now=NOW)

    assert due == [mastodon.pk]
    assert {paused.pk, telegram.pk, without_account.pk}.isdisjoint(due)


def test_the_hourly_task_queues_one_snapshot_task_per_due_channel(workspace, mastodon, monkeypatch):
    from publishing import tasks

    queued = []
    monkeypatch.setattr(tasks.metrics_account_snapshot, "delay", queued.append)

    tasks.metrics_account_snapshots_due()

    assert queued == [mastodon.pk]


def test_the_snapshot_task_retries_a_transient_failure_later(workspace, mastodon, monkeypatch):
    from celery.exceptions import Retry

    from publishing import tasks

    RecordingAdapter.faults = [TransientError("Down.")]
    retried = []

    def retry(**kwargs):
        retried.append(kwargs.get("countdown"))
        return Retry()

    monkeypatch.setattr(tasks.metrics_account_snapshot, "retry", retry)

    with pytest.raises(Retry):
        tasks.metrics_account_snapshot(mastodon.pk)

    assert retried == [60]


# --- history backfill -----------------------------------------------------------------------------


def listed(
    remote_id: str, *, age: dt.timedelta, likes: int | None = None, now: dt.datetime = NOW
) -> RemotePostInfo:
    numbers = (
        MetricsSnapshot(remote_id=remote_id, values={"likes": likes}, raw={"likes": likes})
        if likes is not None
        else None
    )
    return RemotePostInfo(
        remote_id=remote_id,
        url=f"https://social.example/{remote_id}",
        text=f"Post {remote_id}",
        published_at=now - age,
        metrics=numbers,
    )


def test_given_recent_posts_on_the_account_when_backfilled_then_followed_with_a_first_snapshot(
    workspace, mastodon
):
    RecordingAdapter.recent = [
        listed("old", age=31 * D, likes=1),  # before the 30 days: not taken
        listed("week", age=7 * D + H, likes=40),
        listed("fresh", age=2 * H),  # the listing had no numbers for it
    ]

    assert remote_posts_backfill(channel_id=mastodon.pk, now=NOW) == 2

    assert RecordingAdapter.listing_calls == [NOW - 30 * D]
    week = RemotePost.objects.get(remote_id="week")
    assert (week.source, week.delivery, week.workspace) == (
        RemotePostSource.IMPORTED,
        None,
        workspace,
    )
    assert (week.url, week.text) == ("https://social.example/week", "Post week")
    assert (week.published_at, week.likes, week.last_pulled_at) == (NOW - 7 * D - H, 40, NOW)
    assert (week.step, week.next_pull_at) == (6, week.published_at + 30 * D)  # 7 d has passed
    snapshot = MetricSnapshot.objects.get(remote_post=week)
    assert (snapshot.seq, snapshot.likes, snapshot.taken_at) == (6, 40, NOW)
    fresh = RemotePost.objects.get(remote_id="fresh")
    assert (fresh.likes, fresh.last_pulled_at) == (None, None)
    assert (fresh.step, fresh.next_pull_at) == (2, fresh.published_at + 6 * H)
    assert not MetricSnapshot.objects.filter(remote_post=fresh).exists()
    assert not RemotePost.objects.filter(remote_id="old").exists()


def test_given_one_of_our_deliveries_among_them_then_it_is_linked_not_imported(workspace, mastodon):
    post = due_post(workspace, [mastodon], at=NOW - 2 * D)
    delivery = Delivery.objects.create(
        post=post,
        channel=mastodon,
        workspace=workspace,
        state=DeliveryState.PUBLISHED,
        due_at=NOW - 2 * D,
        run_at=NOW - 2 * D,
        idempotency_key="k1",
        remote_id="ours",
        published_at=NOW - 2 * D,
    )
    RecordingAdapter.recent = [listed("ours", age=2 * D, likes=3)]

    remote_posts_backfill(channel_id=mastodon.pk, now=NOW)

    followed = RemotePost.objects.get()
    assert (followed.delivery, followed.source) == (delivery, RemotePostSource.APP)
    assert remote_posts_enrol(now=NOW) == 0  # and enrolment does not add another


def test_given_a_second_backfill_then_nothing_is_added_or_changed(workspace, mastodon):
    RecordingAdapter.recent = [listed("a", age=2 * D, likes=3)]
    remote_posts_backfill(channel_id=mastodon.pk, now=NOW)
    RecordingAdapter.recent = [listed("a", age=2 * D, likes=99), listed("b", age=H, likes=1)]

    assert remote_posts_backfill(channel_id=mastodon.pk, now=NOW + H) == 1

    assert RemotePost.objects.get(remote_id="a").likes == 3
    assert MetricSnapshot.objects.count() == 2


def test_given_backfilled_posts_then_the_normal_schedule_pulls_them(
    workspace, mastodon, monkeypatch, django_capture_on_commit_callbacks
):
    RecordingAdapter.recent = [listed("a", age=2 * H, likes=3)]
    remote_posts_backfill(channel_id=mastodon.pk, now=NOW)
    due = RemotePost.objects.get().next_pull_at
    sent = []
    monkeypatch.setattr(
        sweep, "pull_batches_send", lambda batches, countdown=None: sent.extend(batches)
    )
    RecordingAdapter.post_metrics = {"a": {"likes": 3}}

    with django_capture_on_commit_callbacks(execute=True):
        sweep.metrics_sweep(now=due)
    (batch,) = sent
    remote_posts_pull(
        channel_id=batch.channel_id,
        remote_post_ids=batch.remote_post_ids,
        lease=batch.lease,
        now=due,
    )

    post = RemotePost.objects.get()
    assert list(post.snapshots.values_list("seq", flat=True)) == [2, 3]
    assert post.unchanged == 1  # the listing's numbers count as the previous pull


def test_given_a_platform_that_cannot_list_posts_then_nothing_happens(workspace):
    telegram = connected_channel(workspace, platform="telegram")

    assert remote_posts_backfill(channel_id=telegram.pk, now=NOW) == 0
    assert RecordingAdapter.listing_calls == []


def test_given_the_token_expired_then_the_backfill_refreshes_once(workspace, mastodon):
    RecordingAdapter.faults = [AuthExpired("Expired.")]
    RecordingAdapter.recent = [listed("a", age=H)]

    assert remote_posts_backfill(channel_id=mastodon.pk, now=NOW) == 1
    assert len(RecordingAdapter.listing_calls) == 2


def test_backfill_query_count_does_not_grow_with_the_posts(
    workspace, mastodon, django_assert_num_queries
):
    RecordingAdapter.recent = [listed(f"p{i}", age=i * H + H, likes=i) for i in range(40)]

    # the channel with credentials and workspace; SAVEPOINT, the known posts, our deliveries,
    # INSERT the posts, read back those with numbers, INSERT their snapshots, RELEASE
    with django_assert_num_queries(8):
        assert remote_posts_backfill(channel_id=mastodon.pk, now=NOW) == 40


# --- connecting queues the backfill ---------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    from publishing import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.metrics_backfill_channel, "delay", sent.append)
    return sent


def connect(owner, platform: str = "mastodon"):
    return channel_connect(
        membership=owner,
        platform=platform,
        result=ConnectResult(
            account=Account(account_id="42", handle="acme", name="Acme"),
            credentials=Credentials(access_token="t"),
        ),
    )


def test_given_a_channel_is_connected_then_its_backfill_is_queued_after_commit(
    owner, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        channel = connect(owner)
        assert queued == []  # not before the commit

    assert queued == [channel.pk]


def test_given_a_platform_without_a_listing_then_connecting_queues_nothing(
    owner, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        connect(owner, platform="telegram")

    assert queued == []


def test_given_the_broker_is_down_then_connecting_still_succeeds(
    owner, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from publishing import tasks

    def down(channel_id):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.metrics_backfill_channel, "delay", down)

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        channel = connect(owner)

    assert channel.pk is not None
    assert "broker unreachable" in caplog.text


# --- the management command -------------------------------------------------------------------------


def test_the_command_backfills_a_channel(workspace, mastodon, capsys):
    now = timezone.now()
    RecordingAdapter.recent = [
        listed("a", age=H, likes=1, now=now),
        listed("b", age=2 * H, now=now),
        listed("c", age=8 * D, now=now),  # before the 7 days asked for
    ]

    call_command("metrics_backfill", str(mastodon.pk), "--days", "7")

    assert f"Channel {mastodon.pk}: 2 post(s) added." in capsys.readouterr().out
    assert RemotePost.objects.count() == 2


def test_the_command_refuses_an_unknown_channel(db):
    with pytest.raises(CommandError, match="No channel with id 999"):
        call_command("metrics_backfill", "999")


def test_the_command_says_why_a_paused_channel_is_not_backfilled(workspace, mastodon, capsys):
    mastodon.state = ChannelState.PAUSED
    mastodon.save()

    with pytest.raises(CommandError):
        call_command("metrics_backfill", str(mastodon.pk))

    assert "not connected" in capsys.readouterr().err
    assert RecordingAdapter.listing_calls == []


def test_given_the_platform_refuses_the_account_numbers_then_nothing_is_stored_and_it_is_logged(
    workspace, mastodon, caplog
):
    RecordingAdapter.faults = [PermanentError("Missing permission.", detail="HTTP 403 GET /me")]

    with caplog.at_level(logging.WARNING):
        assert account_snapshot_take(channel_id=mastodon.pk, now=NOW) is None

    assert not AccountSnapshot.objects.exists()
    assert "HTTP 403 GET /me" in caplog.text


def test_given_the_platform_refuses_the_listing_then_the_backfill_task_logs_it(
    workspace, mastodon, caplog
):
    from publishing import tasks

    RecordingAdapter.faults = [PermanentError("Missing permission.", detail="HTTP 403 GET /feed")]

    with caplog.at_level(logging.WARNING):
        tasks.metrics_backfill_channel(mastodon.pk)

    assert "HTTP 403 GET /feed" in caplog.text
    assert not RemotePost.objects.exists()


def test_the_command_says_what_the_platform_refused(workspace, mastodon, capsys):
    RecordingAdapter.faults = [PermanentError("Missing permission to read posts.")]

    with pytest.raises(CommandError):
        call_command("metrics_backfill", str(mastodon.pk))

    assert "Missing permission to read posts." in capsys.readouterr().err
