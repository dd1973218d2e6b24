"""Token refresh: under a per-channel lock with the stored token re-read inside it, so two
workers refreshing a rotating refresh token at once do not lose the channel; refused refreshes
mark the channel and tell its managers; beat picks what expires soon."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from calendar_app.models import ChannelState, Role
from notifications.models import Notification
from publishing import accounts, tasks
from publishing.adapters.base import (
    AuthExpired,
    Capabilities,
    Credentials,
    PermanentError,
    PlatformAdapter,
    TransientError,
)
from publishing.credentials import credentials_load, credentials_save
from tests.factories import ChannelFactory, MembershipFactory, UserFactory, WorkspaceFactory


class RotatingAdapter(PlatformAdapter):
    """Behaves like X/Bluesky: every refresh token works once; using an old one is refused."""

    key = "x"
    capabilities = Capabilities(auth="oauth2")
    lock = threading.Lock()
    valid_refresh = "r0"
    calls = 0
    delay = 0.0
    fail_with: Exception | None = None

    @classmethod
    def reset(cls) -> None:
        cls.valid_refresh, cls.calls, cls.delay, cls.fail_with = "r0", 0, 0.0, None

    def refresh(self, *, account, credentials):
        with self.lock:
            type(self).calls += 1
            if self.fail_with is not None:
                raise self.fail_with
            if credentials.refresh_token != self.valid_refresh:
                raise AuthExpired("refresh token already used", status=400)
            n = type(self).calls
            type(self).valid_refresh = f"r{n}"
        time.sleep(self.delay)  # the platform takes its time; a second worker arrives
        return Credentials(
            access_token=f"a{n}",
            refresh_token=f"r{n}",
            expires_at=timezone.now() + dt.timedelta(hours=2),
        )


ADAPTERS = {"x": {"BACKEND": "tests.publishing.test_refresh.RotatingAdapter", "OPTIONS": {}}}


@pytest.fixture(autouse=True)
def rotating_adapter():
    RotatingAdapter.reset()
    with override_settings(PUBLISHING_ADAPTERS=ADAPTERS, CREDENTIALS_KEYS=[]):
        yield RotatingAdapter


def expiring_channel(workspace, *, minutes: int = 5, **kwargs):
    channel = ChannelFactory(workspace=workspace, platform="x", **kwargs)
    credentials_save(
        channel=channel,
        credentials=Credentials(
            access_token="a0",
            refresh_token="r0",
            expires_at=timezone.now() + dt.timedelta(minutes=minutes),
        ),
    )
    return channel


def test_given_expiring_token_when_refreshing_then_rotated_token_stored(workspace):
    channel = expiring_channel(workspace)

    fresh = accounts.credentials_refresh(channel.pk)

    stored = credentials_load(channel)
    assert (
        (stored.access_token, stored.refresh_token)
        == ("a1", "r1")
        == (
            fresh.access_token,
            fresh.refresh_token,
        )
    )
    assert channel.credentials.__class__.objects.get(channel=channel).version == 2


def test_given_token_not_expiring_when_refreshing_then_platform_not_asked(workspace):
    channel = expiring_channel(workspace, minutes=120)

    accounts.credentials_refresh(channel.pk)

    assert RotatingAdapter.calls == 0


def test_given_version_moved_on_when_refreshing_stale_then_stored_returned(workspace):
    channel = expiring_channel(workspace, minutes=120)
    _creds, version = accounts.credentials_of(channel.pk)
    accounts.credentials_refresh(channel.pk, stale_version=version)  # worker A after a 401

    again = accounts.credentials_refresh(channel.pk, stale_version=version)  # worker B

    assert RotatingAdapter.calls == 1
    assert again.refresh_token == "r1"


@pytest.mark.django_db(transaction=True)
def test_given_two_workers_refreshing_at_once_when_tokens_rotate_then_channel_survives():
    workspace = WorkspaceFactory(slug="race")
    channel = expiring_channel(workspace)
    RotatingAdapter.delay = 0.3
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(accounts.credentials_refresh(channel.pk))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert RotatingAdapter.calls == 1  # the second worker saw the fresh token inside the lock
    assert [r.refresh_token for r in results] == ["r1", "r1"]
    channel.refresh_from_db()
    assert channel.state == ChannelState.CONNECTED
    assert credentials_load(channel).refresh_token == RotatingAdapter.valid_refresh == "r1"


@pytest.mark.parametrize(
    "failure",
    [AuthExpired("revoked", status=401), PermanentError("invalid_grant", status=400)],
)
def test_given_platform_refuses_refresh_when_refreshing_then_needs_reconnect_and_managers_told(
    workspace, members, failure
):
    channel = expiring_channel(workspace, name="Acme X")
    RotatingAdapter.fail_with = failure

    assert accounts.credentials_refresh(channel.pk) is None

    channel.refresh_from_db()
    assert channel.state == ChannelState.NEEDS_RECONNECT
    told = Notification.objects.filter(kind="channel_needs_reconnect")
    assert {n.recipient.username for n in told} == {Role.OWNER.value, Role.MANAGER.value}
    assert told.first().params["channel"] == "Acme X"
    assert told.first().params["detail"] == failure.message
    assert told.first().url == "/w/acme/settings/channels/"
    assert credentials_load(channel).refresh_token == "r0"  # nothing overwritten


def test_given_channel_already_marked_when_refresh_fails_again_then_not_told_twice(
    workspace, members
):
    channel = expiring_channel(workspace)
    RotatingAdapter.fail_with = AuthExpired("revoked")
    accounts.credentials_refresh(channel.pk)

    accounts.channel_mark_needs_reconnect(channel_id=channel.pk, reason="again")

    assert Notification.objects.filter(kind="channel_needs_reconnect").count() == 2  # 2 people


def test_given_transient_failure_when_refreshing_then_raised_and_channel_untouched(
    workspace, members
):
    channel = expiring_channel(workspace)
    RotatingAdapter.fail_with = TransientError("timeout")

    with pytest.raises(TransientError):
        accounts.credentials_refresh(channel.pk)

    channel.refresh_from_db()
    assert channel.state == ChannelState.CONNECTED
    assert not Notification.objects.exists()


def test_given_channels_when_selecting_due_then_only_connected_expiring_soon(workspace):
    soon = expiring_channel(workspace, minutes=10)
    expiring_channel(workspace, minutes=90)
    paused = expiring_channel(workspace, minutes=5, state=ChannelState.PAUSED)
    never = ChannelFactory(workspace=workspace, platform="mastodon", account_id="7")
    credentials_save(channel=never, credentials=Credentials("forever"))
    other = WorkspaceFactory(slug="o2")
    MembershipFactory(workspace=other, user=UserFactory())
    past = expiring_channel(other, minutes=-5)

    due = accounts.credentials_refresh_due()

    assert due == [past.pk, soon.pk]
    assert paused.pk not in due


def test_given_due_channels_when_beat_task_runs_then_one_refresh_task_each(workspace, monkeypatch):
    channel = expiring_channel(workspace, minutes=10)
    queued = []
    monkeypatch.setattr(tasks.credentials_refresh_channel, "delay", queued.append)

    tasks.credentials_refresh_due()

    assert queued == [channel.pk]


def test_given_refresh_task_when_run_then_calls_service(workspace):
    channel = expiring_channel(workspace)

    tasks.credentials_refresh_channel.run(channel.pk)

    assert credentials_load(channel).access_token == "a1"


def test_given_beat_schedule_then_refresh_entry_expires_before_next_run():
    from config.celery import app

    entry = app.conf.beat_schedule["credentials-refresh-due"]

    assert entry["task"] == "publishing.tasks.credentials_refresh_due"
    assert entry["options"]["expires"] < entry["schedule"]


def test_given_many_channels_when_selecting_due_then_one_query(
    workspace, django_assert_num_queries
):
    for _ in range(5):
        expiring_channel(workspace, minutes=10)

    with django_assert_num_queries(1):
        due = accounts.credentials_refresh_due()

    assert len(due) == 5


def test_given_posts_planned_on_a_channel_that_loses_its_connection_then_their_authors_are_told(
    workspace, members
):
    """Issue 12: the author hears it when it happens, not at their post's minute."""
    from calendar_app.models import PostStatus
    from tests.factories import MembershipFactory, PostFactory, UserFactory

    channel = expiring_channel(workspace, name="Acme X")
    writer = MembershipFactory(workspace=workspace, user=UserFactory(username="writer"))
    old = MembershipFactory(workspace=workspace, user=UserFactory(username="old"))
    idea = MembershipFactory(workspace=workspace, user=UserFactory(username="idea"))
    soon = timezone.now() + dt.timedelta(days=1)
    PostFactory(
        workspace=workspace,
        author=writer.user,
        channels=[channel],
        scheduled_at=soon,
        status=PostStatus.SCHEDULED,
    )
    PostFactory(  # already past: nothing planned any more
        workspace=workspace,
        author=old.user,
        channels=[channel],
        scheduled_at=timezone.now() - dt.timedelta(days=1),
        status=PostStatus.SCHEDULED,
    )
    PostFactory(workspace=workspace, author=idea.user, channels=[channel], scheduled_at=soon)

    accounts.channel_mark_needs_reconnect(channel_id=channel.pk, reason="revoked")

    told = set(
        Notification.objects.filter(kind="channel_needs_reconnect").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {Role.OWNER.value, Role.MANAGER.value, "writer"}
