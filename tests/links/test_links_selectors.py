"""Reads for the analytics pages: people's clicks per campaign, per post and per local day, in a
half-open period, one query each, never another workspace's."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from links.models import LinkClick, TrackedLink
from links.selectors import (
    ClickCounts,
    link_clicks_by_campaign,
    link_clicks_by_post,
    link_clicks_daily,
)
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, WorkspaceFactory

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC
START = dt.datetime(2026, 3, 1, tzinfo=UTC)
END = dt.datetime(2026, 4, 1, tzinfo=UTC)


def link_for(post, campaign, code: str) -> TrackedLink:
    return TrackedLink.objects.create(
        workspace=post.workspace,
        code=code,
        target_url=f"https://ex.test/{code}",
        target_hash=code,
        post=post,
        channel=ChannelFactory(workspace=post.workspace),
        campaign=campaign,
    )


def clicks(link: TrackedLink, *times: dt.datetime, unique: bool = True) -> None:
    LinkClick.objects.bulk_create(
        LinkClick(link=link, workspace_id=link.workspace_id, clicked_at=t, is_unique=unique)
        for t in times
    )


def each_once(counts: dict) -> dict:
    """{key: n} as the selectors answer when every click was a different visitor's."""
    return {key: ClickCounts(clicks=n, unique=n) for key, n in counts.items()}


@pytest.fixture
def scene(workspace):
    spring = CampaignFactory(workspace=workspace, name="Spring")
    autumn = CampaignFactory(workspace=workspace, name="Autumn")
    p1 = PostFactory(workspace=workspace, campaign=spring)
    p2 = PostFactory(workspace=workspace, campaign=autumn)
    p3 = PostFactory(workspace=workspace)
    a = link_for(p1, spring, "a")
    b = link_for(p1, spring, "b")
    c = link_for(p2, autumn, "c")
    d = link_for(p3, None, "d")
    t = dt.datetime(2026, 3, 10, 12, tzinfo=UTC)
    clicks(a, t, t, START)  # START counts (half-open period)
    clicks(b, t)
    clicks(c, t, END, START - dt.timedelta(seconds=1))  # END and before START do not
    clicks(d, t, t)
    # another workspace's clicks at the same time never count
    other = WorkspaceFactory()
    other_post = PostFactory(workspace=other, campaign=CampaignFactory(workspace=other))
    clicks(link_for(other_post, other_post.campaign, "x"), t, t, t)
    return {"spring": spring, "autumn": autumn, "p1": p1, "p2": p2, "p3": p3}


def test_clicks_by_campaign_with_none_for_posts_without_one(
    workspace, scene, django_assert_num_queries
):
    with django_assert_num_queries(1):
        result = link_clicks_by_campaign(workspace=workspace, start=START, end=END)
    assert result == each_once({scene["spring"].pk: 4, scene["autumn"].pk: 1, None: 2})


def test_clicks_by_post(workspace, scene, django_assert_num_queries):
    with django_assert_num_queries(1):
        result = link_clicks_by_post(workspace=workspace, start=START, end=END)
    assert result == each_once({scene["p1"].pk: 4, scene["p2"].pk: 1, scene["p3"].pk: 2})


def test_clicks_of_a_deleted_post_are_left_out_of_the_per_post_numbers(workspace, scene):
    scene["p3"].delete()  # its short links stay (SET_NULL) and still count for the campaign
    assert scene["p3"].pk not in link_clicks_by_post(workspace=workspace, start=START, end=END)
    assert link_clicks_by_campaign(workspace=workspace, start=START, end=END)[None] == ClickCounts(
        2, 2
    )


def test_given_no_clicks_then_empty_dicts(workspace, django_assert_num_queries):
    with django_assert_num_queries(3):
        assert link_clicks_by_campaign(workspace=workspace, start=START, end=END) == {}
        assert link_clicks_by_post(workspace=workspace, start=START, end=END) == {}
        assert link_clicks_daily(workspace=workspace, start=START, end=END, tz=BERLIN) == {}


def test_clicks_daily_by_the_workspaces_local_date_across_the_dst_change(
    workspace, django_assert_num_queries
):
    """Berlin switches to summer time on 29 March 2026 at 01:00 UTC (02:00 → 03:00 local)."""
    post = PostFactory(workspace=workspace)
    link = link_for(post, None, "dst")
    clicks(
        link,
        dt.datetime(2026, 3, 28, 22, 59, tzinfo=UTC),  # 23:59 CET, 28 March
        dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC),  # 00:00 CET, 29 March
        dt.datetime(2026, 3, 29, 21, 59, tzinfo=UTC),  # 23:59 CEST, 29 March
        dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # 00:00 CEST, 30 March
        dt.datetime(2026, 3, 29, 22, 30, tzinfo=UTC),
    )
    start = dt.datetime(2026, 3, 27, 23, tzinfo=UTC)  # local midnight of 28 March
    end = dt.datetime(2026, 3, 30, 22, tzinfo=UTC)  # local midnight of 31 March

    with django_assert_num_queries(1):
        result = link_clicks_daily(workspace=workspace, start=start, end=end, tz=BERLIN)

    assert result == each_once(
        {dt.date(2026, 3, 28): 1, dt.date(2026, 3, 29): 2, dt.date(2026, 3, 30): 2}
    )
    assert all(type(day) is dt.date for day in result)


def test_clicks_daily_in_utc_is_another_split(workspace):
    post = PostFactory(workspace=workspace)
    clicks(link_for(post, None, "utc"), dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    start, end = dt.datetime(2026, 3, 28, tzinfo=UTC), dt.datetime(2026, 3, 30, tzinfo=UTC)

    assert link_clicks_daily(workspace=workspace, start=start, end=end, tz=UTC) == each_once(
        {dt.date(2026, 3, 28): 1}
    )
    assert link_clicks_daily(workspace=workspace, start=start, end=end, tz=BERLIN) == each_once(
        {dt.date(2026, 3, 29): 1}
    )


def test_a_visitors_repeat_click_counts_in_clicks_not_in_unique(workspace):
    post = PostFactory(workspace=workspace)
    link = link_for(post, None, "again")
    at = dt.datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    clicks(link, at)
    clicks(link, at + dt.timedelta(minutes=5), unique=False)

    assert link_clicks_by_post(workspace=workspace, start=START, end=END) == {
        post.pk: ClickCounts(clicks=2, unique=1)
    }


def test_bot_clicks_are_not_in_the_selectors(workspace):
    post = PostFactory(workspace=workspace)
    link = link_for(post, None, "bots")
    TrackedLink.objects.filter(pk=link.pk).update(bot_clicks=50)

    assert link_clicks_by_post(workspace=workspace, start=START, end=END) == {}


def test_the_query_count_does_not_grow_with_the_data(workspace, scene, django_assert_num_queries):
    post = PostFactory(workspace=workspace, campaign=scene["spring"])
    for i in range(20):
        clicks(link_for(post, scene["spring"], f"more{i}"), START + dt.timedelta(days=i))
    with django_assert_num_queries(3):
        link_clicks_by_campaign(workspace=workspace, start=START, end=END)
        link_clicks_by_post(workspace=workspace, start=START, end=END)
        link_clicks_daily(workspace=workspace, start=START, end=END, tz=BERLIN)
