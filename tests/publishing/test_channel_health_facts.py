"""Channel health beyond connected/paused (issue 12): a connection that ends (a token that
cannot renew itself), permissions the account did not grant, a posting quota used up. The
delivery side records the facts on the channel; calendar_app.channel_health says what they
mean (a warning, or blocking by the post's time) everywhere the health shows."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from calendar_app.channel_health import channel_problem, held_posts
from calendar_app.models import Channel
from calendar_app.permissions import managers_of
from calendar_app.services.held import channels_warn_access_ending, posts_warn_held
from notifications.models import Notification
from publishing import dispatch, ratelimit, services
from publishing.accounts import channel_record_access_end, credentials_refresh
from publishing.adapters.base import Credentials, RateLimited, permissions_not_granted
from publishing.adapters.instagram import InstagramAdapter
from publishing.adapters.recording import RecordingAdapter
from publishing.credentials import credentials_save
from publishing.models import Delivery
from tests.conftest import login
from tests.factories import ChannelFactory, PostFactory
from tests.publishing_helpers import RECORDING, connected_channel, due_post, no_approval

NOW = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def channel(workspace):
    return ChannelFactory(workspace=workspace, platform="linkedin", name="Acme LinkedIn")


def planned(membership, channels, *, at, title="Sommerfest"):
    return PostFactory(
        workspace=membership.workspace,
        author=membership.user,
        title=title,
        scheduled_at=at,
        status="scheduled",
        channels=channels,
    )


# --- the rule ----------------------------------------------------------------------------------


def test_given_a_healthy_connected_channel_then_no_problem(channel):
    assert channel_problem(channel, workspace_slug="acme") is None


def test_given_a_connection_ending_within_the_warning_window_then_a_warning_naming_the_time(
    channel,
):
    channel.access_ends_at = NOW + 5 * DAY

    problem = channel_problem(channel, workspace_slug="acme")

    assert problem is not None and not problem.blocks
    assert "The connection of Acme LinkedIn ends at" in str(problem.message)
    assert f"?channel={channel.pk}" in problem.fix_url  # straight to reconnecting it


def test_given_a_connection_ending_later_then_nothing_now_but_blocking_for_a_post_after_it(
    channel,
):
    channel.access_ends_at = NOW + 30 * DAY

    assert channel_problem(channel, workspace_slug="acme") is None
    later = channel_problem(channel, workspace_slug="acme", at=NOW + 31 * DAY)
    assert later is not None and later.blocks
    assert "before this time" in str(later.message)


def test_given_an_ended_connection_then_it_blocks(channel):
    channel.access_ends_at = NOW - dt.timedelta(minutes=1)

    problem = channel_problem(channel, workspace_slug="acme")

    assert problem is not None and problem.blocks
    assert "has ended" in str(problem.message)


def test_given_missing_permissions_then_a_warning_naming_them(channel):
    channel.missing_permissions = ["w_member_social"]

    problem = channel_problem(channel, workspace_slug="acme")

    assert problem is not None and not problem.blocks
    assert "w_member_social" in str(problem.message)


def test_given_a_posting_quota_used_up_then_a_warning_until_it_is_over(channel):
    channel.quota_until = NOW + dt.timedelta(hours=3)
    problem = channel_problem(channel, workspace_slug="acme")
    assert problem is not None and not problem.blocks
    assert "posting quota" in str(problem.message)

    channel.quota_until = NOW - dt.timedelta(seconds=1)
    assert channel_problem(channel, workspace_slug="acme") is None


def test_given_a_manual_channel_then_no_connection_facts_apply(workspace):
    manual = ChannelFactory(workspace=workspace, platform="manual", access_ends_at=NOW - DAY)
    assert channel_problem(manual, workspace_slug="acme") is None


# --- where it shows ----------------------------------------------------------------------------


def test_given_a_warning_then_the_check_shows_it_and_still_says_ready(client, editor, channel):
    Channel.objects.filter(pk=channel.pk).update(missing_permissions=["w_member_social"])
    login(client, editor)

    html = client.post(
        reverse("calendar:post_check", args=["acme"]),
        {
            "title": "",
            "body": "Hallo",
            "note": "",
            "campaign": "",
            "date": "2026-06-03",
            "time": "09:30",
            "channels": [channel.pk],
        },
    ).content.decode()

    assert 'data-testid="check-health"' in html and "w_member_social" in html
    assert "Ready: the post can be published on all its channels." in html


def test_given_a_post_after_the_connection_ends_then_the_check_blocks_it(client, editor, channel):
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 30 * DAY)
    login(client, editor)

    html = client.post(
        reverse("calendar:post_check", args=["acme"]),
        {
            "title": "",
            "body": "Hallo",
            "note": "",
            "campaign": "",
            "date": "2026-07-15",
            "time": "09:30",
            "channels": [channel.pk],
        },
    ).content.decode()

    assert "before this time" in html
    assert "Ready: the post can be published" not in html


def test_given_a_warning_then_the_channel_list_shows_it_with_the_fix(client, manager, channel):
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 3 * DAY)

    page = login(client, manager).get("/w/acme/settings/channels/").content.decode()

    row = page.split('data-testid="channel-warning"')[1].split("</div>")[0]
    assert "The connection of Acme LinkedIn ends at" in row
    assert f"?channel={channel.pk}" in row


def test_given_a_post_after_the_connection_ends_then_it_is_held_ahead_and_the_others_not(
    editor, channel, workspace
):
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 2 * DAY)
    before = planned(editor, [channel], at=NOW + DAY, title="Before the end")
    after = planned(editor, [channel], at=NOW + 3 * DAY, title="After the end")

    held = held_posts(workspace)

    assert [h.post for h in held] == [after]
    assert before not in [h.post for h in held]


def test_given_a_post_after_the_connection_ends_then_its_author_is_told_a_day_before(
    editor, manager, channel
):
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 2 * DAY)
    planned(editor, [channel], at=NOW + 3 * DAY, title="After the end")

    with time_machine.travel(NOW + 2 * DAY + dt.timedelta(hours=1), tick=False):
        assert posts_warn_held() == 1

    told = Notification.objects.filter(kind="post_held", recipient=editor.user).get()
    assert "ended" in told.params["detail"]


def test_given_a_warning_only_then_publish_now_is_not_refused(workspace, editor, settings):
    settings.PUBLISHING_ADAPTERS = {"mastodon": RECORDING}
    no_approval(workspace)
    mastodon = connected_channel(workspace, missing_permissions=["write:media"])
    post = due_post(workspace, [mastodon], at=NOW + DAY)
    delivery = Delivery.objects.create(
        post=post,
        channel=mastodon,
        workspace=workspace,
        state="failed",
        due_at=post.scheduled_at,
        run_at=post.scheduled_at,
    )

    services.delivery_publish_now(membership=editor, delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.run_at <= timezone.now()


# --- the told-ahead notification of an ending connection -----------------------------------------


def test_given_a_connection_ending_soon_then_managers_and_authors_after_it_are_told_once(
    manager, editor, channel
):
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 10 * DAY)
    planned(editor, [channel], at=NOW + 11 * DAY)

    assert channels_warn_access_ending() == 1
    assert channels_warn_access_ending() == 0  # once per end

    told = set(
        Notification.objects.filter(kind="channel_access_ending").values_list(
            "recipient__username", flat=True
        )
    )
    managers = {u.username for u in managers_of(manager.workspace_id)}
    assert manager.user.username in managers
    assert told == managers | {editor.user.username}
    note = Notification.objects.filter(kind="channel_access_ending").first()
    assert f"?channel={channel.pk}" in note.url


def test_given_a_connection_ending_far_ahead_then_nobody_is_told_yet(manager, channel):
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 60 * DAY)

    assert channels_warn_access_ending() == 0


def test_given_a_new_end_after_reconnecting_then_it_is_told_again(manager, channel, settings):
    settings.PUBLISHING_ADAPTERS = {"linkedin": RECORDING}
    Channel.objects.filter(pk=channel.pk).update(access_ends_at=NOW + 10 * DAY)
    assert channels_warn_access_ending() == 1

    ends = NOW + 12 * DAY
    channel_record_access_end(channel.pk, Credentials(access_token="t", expires_at=ends))

    channel.refresh_from_db()
    assert channel.access_ends_at == ends and channel.access_warned_for is None
    assert channels_warn_access_ending() == 1


# --- the facts, as the delivery side learns them -------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "missing"),
    [
        (None, ()),  # the platform did not say
        ("read:accounts read:statuses write:statuses", ("write:media",)),
        ("read write", ()),  # parent scopes cover their children
        (["read:accounts", "write:statuses"], ("read:statuses", "write:media")),  # oauthlib's list
        ("read:accounts,read:statuses,write:statuses,write:media", ()),  # LinkedIn's commas
    ],
)
def test_the_permissions_a_token_answer_did_not_grant(granted, missing):
    requested = ("read:accounts", "read:statuses", "write:statuses", "write:media")
    assert permissions_not_granted(requested, granted) == missing


@pytest.mark.parametrize(
    ("credentials", "ends"),
    [
        (Credentials(access_token="t"), None),  # never expires
        (Credentials(access_token="t", expires_at=NOW + DAY), NOW + DAY),  # cannot renew
        (Credentials(access_token="t", refresh_token="r", expires_at=NOW + DAY), None),
        (
            Credentials(
                access_token="t",
                refresh_token="r",
                expires_at=NOW + DAY,
                extra={"refresh_expires_at": (NOW + 300 * DAY).isoformat()},
            ),
            NOW + 300 * DAY,  # LinkedIn/Pinterest: the refresh token itself ends
        ),
    ],
)
def test_when_a_connection_ends_by_its_credentials(credentials, ends):
    assert RecordingAdapter().access_ends_at(credentials) == ends


def test_a_token_that_renews_itself_never_ends_on_its_own():
    credentials = Credentials(access_token="t", expires_at=NOW + 60 * DAY)
    assert InstagramAdapter().access_ends_at(credentials) is None


def test_given_a_refresh_then_the_channels_end_follows_the_new_token(workspace, settings):
    settings.PUBLISHING_ADAPTERS = {
        "mastodon": {"BACKEND": "tests.publishing.test_channel_health_facts.Renewing"}
    }
    mastodon = connected_channel(workspace)
    credentials_save(
        channel=mastodon,
        credentials=Credentials(access_token="t", expires_at=NOW + dt.timedelta(minutes=5)),
        merge=False,
    )

    credentials_refresh(mastodon.pk)

    mastodon.refresh_from_db()
    assert mastodon.access_ends_at == NOW + 30 * DAY


class Renewing(RecordingAdapter):
    def refresh(self, *, account, credentials):
        return Credentials(access_token="fresh", expires_at=NOW + 30 * DAY)


@pytest.mark.parametrize(("retry_after", "recorded"), [(3600, True), (60, False)])
def test_given_a_long_slow_down_then_the_quota_is_recorded_on_the_channel(
    workspace, settings, monkeypatch, django_capture_on_commit_callbacks, retry_after, recorded
):
    settings.PUBLISHING_ADAPTERS = {"mastodon": RECORDING}
    settings.PUBLISHING_RATE_LIMITS = {"default": (1000, 1000)}
    no_approval(workspace)
    RecordingAdapter.reset()
    mastodon = connected_channel(workspace)
    ratelimit.rate_reset(channel_id=mastodon.pk)
    due_post(workspace, [mastodon])
    RecordingAdapter.faults = [RateLimited("Daily limit.", retry_after=retry_after, status=429)]
    sent = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: sent.extend(taken))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    for pk, job, _eta in sent:
        services.delivery_publish(delivery_id=pk, job=job, worker="w1")

    mastodon.refresh_from_db()
    if recorded:
        assert mastodon.quota_until == NOW + dt.timedelta(seconds=retry_after)
        assert "posting quota" in str(channel_problem(mastodon, workspace_slug="acme").message)
    else:
        assert mastodon.quota_until is None
    RecordingAdapter.reset()


@pytest.mark.parametrize(
    ("permissions", "said"),
    [
        (("write:media",), "without permissions it needs (write:media)"),
        ((), "lack of a permission"),
    ],
)
def test_given_a_post_refused_for_a_missing_permission_then_the_channel_warns_until_reconnected(
    workspace, settings, monkeypatch, django_capture_on_commit_callbacks, permissions, said
):
    from publishing.adapters.base import PermissionMissing

    settings.PUBLISHING_ADAPTERS = {"mastodon": RECORDING}
    no_approval(workspace)
    RecordingAdapter.reset()
    mastodon = connected_channel(workspace)
    ratelimit.rate_reset(channel_id=mastodon.pk)
    due_post(workspace, [mastodon])
    RecordingAdapter.faults = [
        PermissionMissing("Lacks write:media.", permissions=permissions, status=403)
    ]
    sent = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: sent.extend(taken))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    for pk, job, _eta in sent:
        services.delivery_publish(delivery_id=pk, job=job, worker="w1")

    mastodon.refresh_from_db()
    assert Delivery.objects.get(channel=mastodon).state == "failed"  # retrying cannot help
    problem = channel_problem(mastodon, workspace_slug="acme")
    assert said in str(problem.message)
    assert not problem.blocks and "/connect/" in problem.fix_url
    RecordingAdapter.reset()


def test_given_a_connect_that_did_not_grant_everything_then_the_channel_says_so_until_reconnected(
    workspace, manager
):
    from publishing import connections
    from publishing.adapters.base import Account, ConnectResult

    result = ConnectResult(
        Account(account_id="-100123"), Credentials("t"), missing_permissions=("write:media",)
    )
    channel = connections.channel_connect(membership=manager, platform="telegram", result=result)
    assert channel.missing_permissions == ["write:media"]
    assert not channel_problem(channel, workspace_slug="acme").blocks

    again = connections.channel_connect(
        membership=manager,
        platform="telegram",
        result=ConnectResult(Account(account_id="-100123"), Credentials("t2")),
    )
    assert again.pk == channel.pk and again.missing_permissions == []


def test_given_a_connect_then_the_end_of_a_token_that_cannot_renew_is_recorded(workspace, manager):
    from publishing import connections
    from publishing.adapters.base import Account, ConnectResult

    ends = NOW + 60 * DAY
    channel = connections.channel_connect(
        membership=manager,
        platform="telegram",
        result=ConnectResult(Account(account_id="-1"), Credentials("t", expires_at=ends)),
    )

    channel.refresh_from_db()
    assert channel.access_ends_at == ends
