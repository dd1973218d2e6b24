"""Channel health where people look: the publishing log names the posts a channel holds now
and in the coming week, with the fix; the channel list says how many planned posts wait for
a channel (calendar_app.channel_health.held_posts)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from calendar_app.models import ChannelState
from tests.conftest import login
from tests.factories import ChannelFactory, MembershipFactory, PostFactory

NOW = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def planned(membership, channels, *, at, status="scheduled", title="Sommerfest"):
    return PostFactory(
        workspace=membership.workspace,
        author=membership.user,
        title=title,
        scheduled_at=at,
        status=status,
        channels=channels,
    )


def test_given_posts_held_now_and_ahead_then_the_log_names_each_with_the_fix(
    client, manager, editor, workspace
):
    broken = ChannelFactory(workspace=workspace, name="Acme X", state=ChannelState.NEEDS_RECONNECT)
    paused = ChannelFactory(workspace=workspace, name="Blog", state=ChannelState.PAUSED)
    fine = ChannelFactory(workspace=workspace, name="Fine", state=ChannelState.CONNECTED)
    planned(editor, [broken], at=NOW - dt.timedelta(minutes=10), title="Due and held")
    planned(editor, [paused, fine], at=NOW + dt.timedelta(days=2), title="Ahead and held")
    planned(editor, [fine], at=NOW + dt.timedelta(days=1), title="Going out")
    planned(editor, [broken], at=NOW + dt.timedelta(days=30), title="Next month")
    planned(editor, [broken], at=NOW - dt.timedelta(hours=1), status="in_review", title="Late")

    page = login(client, manager).get("/w/acme/publishing/").content.decode()

    section = page.split('data-testid="held"')[1].split("</section>")[0]
    assert section.count('data-testid="held-row"') == 2  # one per post, its channels in it
    assert "Due and held" in section and "Ahead and held" in section
    assert "Going out" not in section and "Next month" not in section and "Late" not in section
    assert "Acme X is not connected" in section and "Blog is paused" in section
    assert f"/w/acme/settings/channels/{broken.pk}/" in section


def test_given_nothing_held_then_the_log_has_no_held_section(client, manager, workspace):
    fine = ChannelFactory(workspace=workspace, state=ChannelState.CONNECTED)
    planned(manager, [fine], at=NOW + dt.timedelta(hours=2))

    page = login(client, manager).get("/w/acme/publishing/").content.decode()

    assert 'data-testid="held"' not in page


def test_given_planned_posts_on_an_unconnected_channel_then_the_list_says_it_holds_them(
    client, manager, editor, workspace
):
    broken = ChannelFactory(workspace=workspace, name="Acme X", state=ChannelState.NEEDS_RECONNECT)
    ChannelFactory(workspace=workspace, name="Fine", state=ChannelState.CONNECTED)
    for days in (1, 40):
        planned(editor, [broken], at=NOW + dt.timedelta(days=days))
    planned(editor, [broken], at=NOW + dt.timedelta(days=3), status="draft")  # not planned

    page = login(client, manager).get("/w/acme/settings/channels/").content.decode()

    assert page.count('data-testid="channel-holds"') == 1
    assert "Holds 2 planned posts" in page


def test_another_workspaces_held_posts_never_show(client, manager, workspace):
    other = MembershipFactory()
    foreign = ChannelFactory(workspace=other.workspace, state=ChannelState.NEEDS_RECONNECT)
    planned(other, [foreign], at=NOW + dt.timedelta(days=1), title="Their secret launch")

    login(client, manager)
    log = client.get("/w/acme/publishing/").content.decode()
    channels = client.get("/w/acme/settings/channels/").content.decode()

    assert "Their secret launch" not in log
    assert 'data-testid="held"' not in log and 'data-testid="channel-holds"' not in channels


def test_the_demos_unconnected_channels_say_they_are_examples_to_connect(
    client, manager, editor, workspace
):
    example = ChannelFactory(
        workspace=workspace,
        name="Instagram",
        platform="instagram",
        state=ChannelState.NEEDS_RECONNECT,
        config={"example": True},
    )
    planned(editor, [example], at=NOW + dt.timedelta(hours=3))
    login(client, manager)

    channels = client.get("/w/acme/settings/channels/").content.decode()
    log = client.get("/w/acme/publishing/").content.decode()

    assert 'data-testid="example-channel"' in channels
    assert "Instagram is an example channel of the demo" in log
    assert f"/w/acme/settings/channels/connect/instagram/?channel={example.pk}" in log
