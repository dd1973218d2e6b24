"""The calendar shows what publishing did: red with the reason when a delivery failed or was
missed, a warning when only some channels got the post, a tick when all did."""

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from publishing.models import Delivery, DeliveryState
from tests.conftest import login
from tests.factories import ChannelFactory, PostFactory

NOW = dt.datetime(2027, 1, 10, 11, 0, tzinfo=dt.UTC)
WHEN = dt.datetime(2027, 1, 8, 8, 0, tzinfo=dt.UTC)
D = DeliveryState


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def delivered(post, channel, state, error=""):
    return Delivery.objects.create(
        post=post,
        channel=channel,
        workspace=post.workspace,
        state=state,
        due_at=post.scheduled_at,
        run_at=post.scheduled_at,
        idempotency_key=uuid.uuid4().hex,
        error=error,
    )


def chip(client, post) -> str:
    html = client.get(reverse("calendar:month", args=["acme", 2027, 1])).content.decode()
    match = re.search(rf'<a class="cal-chip[^"]*"[^>]*data-post-id="{post.pk}".*?</a>', html, re.S)
    assert match, "chip not on the month view"
    return match.group(0)


@pytest.fixture
def two_channels(workspace):
    return (
        ChannelFactory(workspace=workspace, name="Acme Mastodon"),
        ChannelFactory(workspace=workspace, platform="bluesky", name="Acme Bluesky"),
    )


def test_a_failed_delivery_makes_the_chip_red_with_the_reason(client, editor, two_channels):
    mastodon, bluesky = two_channels
    post = PostFactory(workspace=editor.workspace, scheduled_at=WHEN, channels=two_channels)
    delivered(post, mastodon, D.FAILED, error="The access token is invalid <b>")
    delivered(post, bluesky, D.FAILED, error="Rate limited")
    login(client, editor)

    html = chip(client, post)

    assert "cal-chip-failed" in html
    assert "Acme Mastodon: The access token is invalid &lt;b&gt;" in html
    assert "Acme Bluesky: Rate limited" in html


def test_some_channels_published_and_one_missed_is_partial(client, editor, two_channels):
    mastodon, bluesky = two_channels
    post = PostFactory(workspace=editor.workspace, scheduled_at=WHEN, channels=two_channels)
    delivered(post, mastodon, D.PUBLISHED)
    delivered(post, bluesky, D.MISSED)
    login(client, editor)

    html = chip(client, post)

    assert "cal-chip-partial" in html
    assert "Acme Bluesky: Missed" in html


def test_all_published_shows_a_tick_and_cancelled_deliveries_do_not_count(
    client, editor, two_channels
):
    mastodon, bluesky = two_channels
    post = PostFactory(workspace=editor.workspace, scheduled_at=WHEN, channels=two_channels)
    delivered(post, mastodon, D.PUBLISHED)
    delivered(post, bluesky, D.CANCELLED, error="unscheduled")
    login(client, editor)

    html = chip(client, post)

    assert "cal-chip-published" in html and "check-circle-fill" in html


def test_a_post_still_waiting_has_no_outcome(client, editor, two_channels):
    mastodon, _bluesky = two_channels
    post = PostFactory(workspace=editor.workspace, scheduled_at=WHEN, channels=two_channels)
    delivered(post, mastodon, D.PENDING)
    login(client, editor)

    assert 'data-testid="chip-outcome"' not in chip(client, post)


def test_a_scheduled_post_on_a_channel_that_is_not_connected_is_marked_held_on_its_chip(
    client, editor, two_channels
):
    mastodon, bluesky = two_channels
    type(bluesky).objects.filter(pk=bluesky.pk).update(state="needs_reconnect")
    later = NOW + dt.timedelta(days=2)
    held = PostFactory(
        workspace=editor.workspace, scheduled_at=later, channels=two_channels, status="scheduled"
    )
    fine = PostFactory(
        workspace=editor.workspace, scheduled_at=later, channels=[mastodon], status="scheduled"
    )
    idea = PostFactory(workspace=editor.workspace, scheduled_at=later, channels=[bluesky])
    login(client, editor)

    html = chip(client, held)
    assert 'data-testid="chip-held"' in html and "Acme Bluesky is not connected" in html
    assert 'data-testid="chip-held"' not in chip(client, fine)
    assert 'data-testid="chip-held"' not in chip(client, idea)  # a draft: nothing to hold yet


def test_the_calendar_app_never_imports_publishing_links_or_analytics():
    """Dependencies point one way: what other apps add to the calendar comes in through settings
    hooks (POST_PUBLICATION...), never by import."""
    root = Path(__file__).resolve().parents[2] / "calendar_app"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+(publishing|links|analytics)\b", path.read_text(), re.M)
    ]
    assert offenders == []


# --- filtering by what the chips say (issue 12) -------------------------------------------------


@pytest.fixture
def outcomes(editor, two_channels, workspace):
    """One post per shown state the deliveries decide, and a plain scheduled one."""
    mastodon, bluesky = two_channels
    paused = ChannelFactory(workspace=workspace, name="Paused", state="paused")

    def post(title, channels, *states):
        p = PostFactory(
            workspace=workspace,
            title=title,
            status="scheduled",
            scheduled_at=WHEN,
            channels=channels,
        )
        for channel, state in zip(channels, states, strict=True):
            delivered(p, channel, state, error="Nope")
        return p

    return {
        "failed": post("Went wrong", [mastodon], D.FAILED),
        "missed": post("Too late", [mastodon], D.MISSED),
        "published": post("All out", [mastodon, bluesky], D.PUBLISHED, D.PUBLISHED),
        "partially_published": post("Half out", [mastodon, bluesky], D.PUBLISHED, D.FAILED),
        "held": post("Waiting for a fix", [paused], D.PENDING),
        "scheduled": PostFactory(
            workspace=workspace,
            title="Still ahead",
            status="scheduled",
            scheduled_at=NOW + dt.timedelta(days=3),
            channels=[mastodon],
        ),
    }


@pytest.mark.parametrize(
    "state", ["failed", "missed", "published", "partially_published", "held", "scheduled"]
)
def test_filtering_by_a_shown_state_finds_exactly_the_posts_shown_so(
    client, editor, outcomes, state
):
    login(client, editor)

    month = client.get(
        reverse("calendar:month", args=["acme", 2027, 1]), {"status": state}
    ).content.decode()
    listed = client.get(
        reverse("calendar:list", args=["acme"]), {"status": state, "from": "2027-01-01"}
    ).content.decode()

    for html in (month, listed):
        ids = set(re.findall(r'data-post-id="(\d+)"', html))
        assert ids == {str(outcomes[state].pk)}, (state, ids)


def test_the_status_filter_offers_the_shown_states(client, editor, outcomes):
    html = login(client, editor).get(reverse("calendar:list", args=["acme"])).content.decode()

    for value in ("held", "failed", "missed", "partially_published", "published"):
        assert f'<option value="{value}"' in html


def test_filtering_by_held_also_finds_the_posts_a_channel_holds_ahead(client, editor, workspace):
    """The channel list says "holds 3 planned posts": the Held filter finds those three too."""
    paused = ChannelFactory(workspace=workspace, name="Paused", state="paused")
    fine = ChannelFactory(workspace=workspace, name="Fine")
    ahead = PostFactory(
        workspace=workspace,
        status="scheduled",
        scheduled_at=NOW + dt.timedelta(days=2),
        channels=[paused, fine],
    )
    PostFactory(
        workspace=workspace,
        status="scheduled",
        scheduled_at=NOW + dt.timedelta(days=2),
        channels=[fine],
    )
    login(client, editor)

    html = client.get(reverse("calendar:list", args=["acme"]), {"status": "held"}).content.decode()

    assert set(re.findall(r'data-post-id="(\d+)"', html)) == {str(ahead.pk)}
