"""The state people see, derived from the deliveries (calendar_app.workflow.shown_state):
held and missed are states of their own, on the calendar chip and in the editor's panel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import ChannelState
from calendar_app.publication import Publication
from calendar_app.workflow import ShownState, shown_reason, shown_state
from publishing.models import DeliveryState as D
from tests.conftest import login
from tests.publishing.test_publishing_views import make_delivery
from tests.publishing_helpers import connected_channel, due_post, no_approval

NAMES = {1: "Mastodon", 2: "Bluesky"}


@pytest.mark.parametrize(
    ("publication", "shown"),
    [
        (Publication(waiting=frozenset({1}), held=frozenset({1})), ShownState.HELD),
        (  # one channel out, one held: the hold is what someone must act on
            Publication(published=frozenset({2}), waiting=frozenset({1}), held=frozenset({1})),
            ShownState.HELD,
        ),
        (Publication(failed={1: "too late"}, missed=frozenset({1})), ShownState.MISSED),
        (  # missed on one, failed on the other: failed
            Publication(failed={1: "too late", 2: "refused"}, missed=frozenset({1})),
            ShownState.FAILED,
        ),
        (  # missed on one, out on the other: partially published
            Publication(published=frozenset({2}), failed={1: "x"}, missed=frozenset({1})),
            ShownState.PARTIALLY_PUBLISHED,
        ),
        (Publication(waiting=frozenset({1})), ShownState.SCHEDULED),
    ],
)
def test_shown_state_of_deliveries(publication, shown):
    assert shown_state("scheduled", publication) == shown


def test_a_held_channel_is_named_in_the_reason():
    publication = Publication(waiting=frozenset({1}), held=frozenset({1}), channel_names=NAMES)

    assert shown_reason(publication) == "Mastodon: held until the channel is connected or resumed"


def test_given_a_due_delivery_on_an_unconnected_channel_then_the_panel_and_the_chip_say_held(
    client, editor, workspace
):
    no_approval(workspace)
    channel = connected_channel(workspace, name="Mastodon")
    channel.state = ChannelState.NEEDS_RECONNECT
    channel.save(update_fields=["state"])
    post = due_post(
        workspace, [channel], title="Sommerfest", at=timezone.now() - dt.timedelta(minutes=2)
    )
    make_delivery(post, channel, state=D.PENDING)
    login(client, editor)
    local = timezone.localtime(post.scheduled_at, workspace.tz)

    panel = client.get(reverse("publishing:post_deliveries", args=["acme", post.pk])).content
    month = client.get(reverse("calendar:month", args=["acme", local.year, local.month])).content

    assert "Held" in panel.decode()
    chip = month.decode().split(f'data-post-id="{post.pk}"')[1].split("</a>")[0]
    assert "Held" in chip


def test_given_a_missed_delivery_then_the_chip_says_missed(client, editor, workspace):
    no_approval(workspace)
    channel = connected_channel(workspace, name="Mastodon")
    post = due_post(workspace, [channel], title="Zu spät", at=timezone.now() - dt.timedelta(days=1))
    make_delivery(post, channel, state=D.MISSED, error="Too late.")
    login(client, editor)
    local = timezone.localtime(post.scheduled_at, workspace.tz)

    month = client.get(reverse("calendar:month", args=["acme", local.year, local.month])).content

    chip = month.decode().split(f'data-post-id="{post.pk}"')[1].split("</a>")[0]
    assert "Missed" in chip
