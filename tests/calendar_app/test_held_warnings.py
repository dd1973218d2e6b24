"""A post its channel holds is told of ahead of time and at its time, to its author and the
managers, once per channel and time (calendar_app.services.held)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import translation

from calendar_app.models import ChannelState, Role
from calendar_app.services.held import posts_warn_held
from calendar_app.services.posts import post_reschedule
from notifications.models import Notification
from tests.factories import ChannelFactory, MembershipFactory, PostFactory

NOW = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)  # 09:00 in Berlin
TOMORROW_9 = NOW + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def unconnected(workspace):
    return ChannelFactory(
        workspace=workspace,
        platform="mastodon",
        name="Acme Mastodon",
        state=ChannelState.NEEDS_RECONNECT,
    )


def planned(editor, channels, *, at=TOMORROW_9, status="scheduled"):
    return PostFactory(
        workspace=editor.workspace,
        author=editor.user,
        title="Sommerfest",
        scheduled_at=at,
        status=status,
        channels=channels,
    )


def held_notes():
    return Notification.objects.filter(kind="post_held").order_by("recipient__username")


def test_given_a_post_tomorrow_on_an_unconnected_channel_then_author_and_managers_hear_it_now(
    editor, manager, owner, unconnected
):
    post = planned(editor, [unconnected])

    assert posts_warn_held() == 1

    recipients = {n.recipient for n in held_notes()}
    assert recipients == {editor.user, manager.user, owner.user}
    note = held_notes().get(recipient=editor.user)
    with translation.override("en"):
        assert note.message == "“Sommerfest” will not go out on Acme Mastodon at 2 Jun 2026, 09:00"
        assert note.detail.startswith("Acme Mastodon is not connected")
    with translation.override("de"):
        assert note.message == (
            "„Sommerfest“ wird am 02.06.2026 09:00 nicht auf Acme Mastodon veröffentlicht"
        )
        assert note.detail.startswith("Acme Mastodon ist nicht verbunden")
    assert note.post == post
    assert note.url == f"/w/acme/settings/channels/{unconnected.pk}/"


def test_given_the_sweep_runs_again_then_nobody_hears_it_twice_until_its_time(editor, unconnected):
    planned(editor, [unconnected])
    posts_warn_held()

    assert posts_warn_held() == 0
    with time_machine.travel(TOMORROW_9 + dt.timedelta(seconds=30), tick=False):
        assert posts_warn_held() == 1  # at its time: it is held
        assert posts_warn_held() == 0
    moments = [n.params["moment"] for n in held_notes().filter(recipient=editor.user)]
    assert sorted(moments) == ["before", "due"]
    with translation.override("en"):
        assert held_notes().filter(params__moment="due").first().message == (
            "“Sommerfest” did not go out on Acme Mastodon at 2 Jun 2026, 09:00: it is held"
        )


def test_given_a_held_post_moved_to_another_time_then_it_is_told_again(
    editor, manager, unconnected
):
    post = planned(editor, [unconnected])
    posts_warn_held()
    post_reschedule(
        membership=manager, post_id=post.pk, day=TOMORROW_9.date(), local_time=dt.time(8, 0)
    )

    assert posts_warn_held() == 1
    assert held_notes().filter(recipient=editor.user).count() == 2


@pytest.mark.parametrize(
    "why",
    ["connected", "manual", "far ahead", "long past", "not approved in time", "no channel"],
)
def test_given_nothing_to_tell_then_nobody_is_told(editor, workspace, unconnected, why):
    if why == "connected":
        planned(editor, [ChannelFactory(workspace=workspace, state=ChannelState.CONNECTED)])
    elif why == "manual":
        planned(editor, [ChannelFactory(workspace=workspace, platform="manual")])
    elif why == "far ahead":
        planned(editor, [unconnected], at=NOW + dt.timedelta(days=3))
    elif why == "long past":
        planned(editor, [unconnected], at=NOW - dt.timedelta(hours=2))
    elif why == "not approved in time":
        planned(editor, [unconnected], at=NOW - dt.timedelta(minutes=5), status="in_review")
    else:
        planned(editor, [])

    assert posts_warn_held() == 0
    assert not held_notes().exists()


def test_given_a_paused_channel_then_the_fix_is_to_resume_it(editor, workspace):
    paused = ChannelFactory(workspace=workspace, name="Blog", state=ChannelState.PAUSED)
    planned(editor, [paused])

    posts_warn_held()

    with translation.override("en"):
        assert held_notes().first().detail.startswith("Blog is paused")


def test_given_another_workspaces_post_then_only_its_own_people_hear_it(editor, unconnected):
    other = MembershipFactory(role=Role.MANAGER)
    foreign = ChannelFactory(workspace=other.workspace, state=ChannelState.NEEDS_RECONNECT)
    planned(MembershipFactory(workspace=other.workspace, role=Role.EDITOR), [foreign])
    planned(editor, [unconnected])

    posts_warn_held()

    by_workspace = {(n.recipient_id, n.workspace_id) for n in held_notes()}
    assert (other.user_id, other.workspace_id) in by_workspace
    assert all(ws == editor.workspace_id for user, ws in by_workspace if user == editor.user_id)
    assert not held_notes().filter(recipient=other.user, workspace=editor.workspace).exists()


def test_given_a_demo_example_channel_then_nobody_is_told_but_the_chip_still_says_it(
    editor, manager, workspace
):
    """The demo's example channels say on every chip and in the editor that they are examples
    to connect; a fresh `make run` must not fill the bell and the inbox with them (67 e-mails
    on the first start)."""
    from calendar_app.channel_health import held_posts

    example = ChannelFactory(
        workspace=workspace,
        platform="linkedin",
        name="Acme LinkedIn",
        state=ChannelState.NEEDS_RECONNECT,
        config={"example": True},
    )
    planned(editor, [example])

    assert posts_warn_held() == 0 and not held_notes().exists()
    assert [h.channel for h in held_posts(workspace)] == [example]
