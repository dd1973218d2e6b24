"""The analytics maths: interactions, engagement rate per impression and per follower, totals
and the previous period, DST-correct days, follower growth, the best-time heatmap, top and bottom
posts, and the campaign report with cost per click."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from analytics import selectors
from analytics.periods import Period, period_for
from tests.analytics_helpers import BERLIN, clicks, followers, imported, local, publish
from tests.factories import CampaignFactory, ChannelFactory, PostFactory

NOV = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), BERLIN)  # previous: Oct 2 .. Oct 31


@pytest.fixture
def linkedin(workspace):
    return ChannelFactory(workspace=workspace, platform="linkedin", name="LinkedIn")


@pytest.fixture
def mastodon(workspace):
    return ChannelFactory(workspace=workspace, platform="mastodon", name="Mastodon")


def post_at(workspace, at, **kwargs):
    return PostFactory(workspace=workspace, scheduled_at=at, **kwargs)


# --- periods ------------------------------------------------------------------------------------


def test_the_previous_period_has_the_same_number_of_days_and_ends_the_day_before():
    previous = NOV.previous()

    assert (previous.first, previous.last) == (dt.date(2026, 10, 2), dt.date(2026, 10, 31))
    assert previous.days == NOV.days == 30


def test_period_bounds_are_local_midnights_across_the_dst_change():
    # The last Sunday of October 2026 has 25 hours in Berlin (CEST -> CET).
    period = Period(dt.date(2026, 10, 25), dt.date(2026, 10, 25), BERLIN)

    assert period.start == dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC)
    assert period.end - period.start == dt.timedelta(hours=25)


@pytest.mark.parametrize(
    ("key", "first", "last"),
    [
        ("7", dt.date(2026, 3, 4), dt.date(2026, 3, 10)),
        ("30", dt.date(2026, 2, 9), dt.date(2026, 3, 10)),
        ("this_month", dt.date(2026, 3, 1), dt.date(2026, 3, 10)),
        ("last_month", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ],
)
def test_named_periods_end_today(key, first, last):
    period = period_for(key, BERLIN, today=dt.date(2026, 3, 10))

    assert (period.first, period.last) == (first, last)


# --- totals, rates and the comparison -----------------------------------------------------------


@pytest.fixture
def scene(workspace, linkedin, mastodon):
    """LinkedIn reports impressions, Mastodon does not (its rate is per follower)."""
    blog = ChannelFactory(workspace=workspace, platform="wordpress", name="Blog")
    followers(mastodon, dt.date(2026, 10, 20), 1800)
    followers(mastodon, dt.date(2026, 11, 1), 2000)
    followers(mastodon, dt.date(2026, 11, 20), 2100)
    publish(
        post_at(workspace, local(2026, 11, 3, 9)),
        linkedin,
        impressions=1000,
        likes=40,
        comments=5,
        shares=3,
        clicks=12,
    )
    publish(
        post_at(workspace, local(2026, 11, 4, 9)),
        linkedin,
        impressions=500,
        likes=10,
        comments=2,
    )
    publish(post_at(workspace, local(2026, 11, 5, 9)), mastodon, likes=20, comments=4, shares=6)
    imported(mastodon, at=local(2026, 11, 6, 9), likes=10)
    imported(blog, at=local(2026, 11, 7, 9))  # a platform that reports nothing
    # the previous period
    publish(post_at(workspace, local(2026, 10, 10, 9)), linkedin, impressions=1000, likes=20)
    # outside both periods
    publish(post_at(workspace, local(2026, 9, 1, 9)), linkedin, impressions=9999, likes=999)
    return {"blog": blog}


def test_totals_count_interactions_with_missing_numbers_as_zero(workspace, scene):
    data = selectors.dashboard(workspace=workspace, period=NOV)

    assert data.current.posts == 5
    # 48 + 12 on LinkedIn, 30 + 10 on Mastodon; the blog reports no interactions at all
    assert data.current.value("interactions") == 100
    assert data.current.value("impressions") == 1500
    assert data.current.value("clicks") == 12
    assert data.current.value("saves") is None  # no post reports saves: "—", not 0


def test_engagement_rate_is_per_impression_and_per_follower_where_impressions_are_missing(
    workspace, scene
):
    data = selectors.dashboard(workspace=workspace, period=NOV)
    rows = {row.channel.name: row for row in data.channels}

    assert rows["LinkedIn"].current.rate == (pytest.approx(60 / 1500), selectors.IMPRESSION)
    # Mastodon: 40 interactions over 2 posts, 2,100 followers at the period's end
    assert rows["Mastodon"].current.rate == (pytest.approx(20 / 2100), selectors.FOLLOWER)
    assert rows["Blog"].current.rate == (None, None)
    assert data.current.rate_per_impression == pytest.approx(60 / 1500)
    assert data.current.rate_per_follower == pytest.approx(20 / 2100)


def test_the_previous_period_is_compared(workspace, scene):
    data = selectors.dashboard(workspace=workspace, period=NOV)

    assert data.before.posts == 1
    assert data.change("posts").ratio == pytest.approx(4.0)  # 5 vs 1: +400 %
    assert data.change("interactions").ratio == pytest.approx((100 - 20) / 20)
    rate = data.rate_change(selectors.IMPRESSION)
    assert rate.points == pytest.approx(0.04 - 0.02)
    assert data.change("saves").ratio is None  # nothing to compare with


def test_follower_growth_is_last_minus_first_count_inside_the_period(workspace, scene, mastodon):
    data = selectors.dashboard(workspace=workspace, period=NOV)
    row = next(r for r in data.channels if r.channel == mastodon)

    assert (row.followers, row.followers_first, row.growth) == (2100, 2000, 100)
    assert data.followers == 2100  # followers are never added to post metrics
    assert data.current.value("interactions") == 100


def test_channels_are_ordered_by_interactions_and_the_top_channel_named(workspace, scene):
    data = selectors.dashboard(workspace=workspace, period=NOV)

    assert [r.channel.name for r in data.channels] == ["LinkedIn", "Mastodon", "Blog"]
    assert data.top_channel.channel.name == "LinkedIn"


def test_best_rate_compares_only_rates_on_the_same_basis(workspace, linkedin, mastodon):
    followers(mastodon, dt.date(2026, 11, 1), 100)  # a tiny audience: a huge per-follower rate
    for day in (2, 3, 4):
        publish(post_at(workspace, local(2026, 11, day)), linkedin, impressions=1000, likes=10)
        publish(post_at(workspace, local(2026, 11, day)), mastodon, likes=50)

    data = selectors.dashboard(workspace=workspace, period=NOV)

    assert data.best_rate_channel.channel == linkedin


def test_a_post_belongs_to_its_local_publish_day_across_the_dst_change(workspace, linkedin):
    late = local(2026, 10, 25, 23, 30)  # = 22:30 UTC: still the 25th in Berlin
    after_midnight = local(2026, 10, 26, 0, 30)  # = 23:30 UTC on the 25th
    publish(post_at(workspace, late), linkedin, impressions=10, likes=1)
    publish(post_at(workspace, after_midnight), linkedin, impressions=20, likes=2)
    period = Period(dt.date(2026, 10, 25), dt.date(2026, 10, 26), BERLIN)

    days = selectors.daily_table(workspace=workspace, period=period)

    assert [(d.day.day, d.figures["posts"], d.figures["likes"]) for d in days] == [
        (25, 1, 1),
        (26, 1, 2),
    ]


def test_daily_rows_carry_short_link_clicks_by_local_day(workspace, linkedin):
    post = post_at(workspace, local(2026, 11, 2))
    publish(post, linkedin, impressions=100, likes=3)
    clicks(post, linkedin, at=local(2026, 11, 3, 0, 30), count=4)  # 23:30 UTC on the 2nd
    period = Period(dt.date(2026, 11, 2), dt.date(2026, 11, 3), BERLIN)

    days = selectors.daily_table(workspace=workspace, period=period)

    assert [d.link_clicks for d in days] == [0, 4]


def test_another_workspace_never_counts(workspace, linkedin, other_workspace):
    foreign = ChannelFactory(workspace=other_workspace, platform="linkedin")
    publish(post_at(other_workspace, local(2026, 11, 3)), foreign, impressions=10**6, likes=10**5)
    publish(post_at(workspace, local(2026, 11, 3)), linkedin, impressions=100, likes=5)

    data = selectors.dashboard(workspace=workspace, period=NOV)

    assert data.current.posts == 1
    assert data.current.value("impressions") == 100


# --- best time ----------------------------------------------------------------------------------


def test_heatmap_is_the_mean_rate_per_post_by_local_weekday_and_hour(workspace, linkedin):
    # Tuesdays 18:xx Berlin, once in summer time (16:xx UTC) and twice in winter (17:xx UTC)
    for day, likes in ((27, 50), (3, 70), (10, 60)):
        month = 10 if day == 27 else 11
        publish(
            post_at(workspace, local(2026, month, day, 18, 5)),
            linkedin,
            impressions=1000,
            likes=likes,
        )
    period = Period(dt.date(2026, 10, 1), dt.date(2026, 11, 30), BERLIN)

    heatmap = selectors.heatmap(workspace=workspace, period=period)

    slot = heatmap.cells[(2, 18)]
    assert (slot.posts, slot.rate) == (3, pytest.approx(0.06))
    assert list(heatmap.cells) == [(2, 18)]
    assert heatmap.best(1) == [slot]
    assert heatmap.best_hour.hour == 18


def test_a_slot_with_fewer_posts_than_the_minimum_is_not_a_best_slot(workspace, linkedin):
    for day in (3, 10, 17):  # three ordinary Tuesdays at 09:00
        publish(post_at(workspace, local(2026, 11, day, 9)), linkedin, impressions=1000, likes=20)
    for day in (4, 11):  # two brilliant Wednesdays at 20:00: too few to judge
        publish(post_at(workspace, local(2026, 11, day, 20)), linkedin, impressions=100, likes=90)

    heatmap = selectors.heatmap(workspace=workspace, period=NOV)

    assert [(s.weekday, s.hour) for s in heatmap.best(3)] == [(2, 9)]
    assert heatmap.cells[(3, 20)].posts == 2
    assert heatmap.thin  # 5 posts: the page says the data is thin


def test_heatmap_uses_followers_on_the_publish_day_where_impressions_are_missing(
    workspace, mastodon
):
    followers(mastodon, dt.date(2026, 11, 1), 1000)
    followers(mastodon, dt.date(2026, 11, 10), 2000)
    imported(mastodon, at=local(2026, 11, 5, 12), likes=10)  # 1,000 followers then: 1 %
    imported(mastodon, at=local(2026, 11, 12, 12), likes=10)  # 2,000 followers then: 0.5 %

    heatmap = selectors.heatmap(workspace=workspace, period=NOV)

    slot = heatmap.cells[(4, 12)]  # both are Thursdays at noon
    assert (slot.posts, slot.rate) == (2, pytest.approx(0.0075))


def test_followers_counted_after_the_post_stand_in_when_none_were_counted_before(
    workspace, mastodon
):
    followers(mastodon, dt.date(2026, 11, 20), 500)  # the channel was connected later
    imported(mastodon, at=local(2026, 11, 5, 12), likes=10)

    assert selectors.heatmap(workspace=workspace, period=NOV).cells[(4, 12)].rate == 0.02


def test_a_post_without_followers_or_impressions_has_no_rate(workspace, mastodon):
    imported(mastodon, at=local(2026, 11, 5, 12), likes=10)

    assert selectors.heatmap(workspace=workspace, period=NOV).cells == {}


# --- top and bottom -----------------------------------------------------------------------------


def test_ranking_leaves_out_posts_that_do_not_report_the_metric(workspace, linkedin, mastodon):
    low = publish(post_at(workspace, local(2026, 11, 2)), linkedin, impressions=100, comments=1)
    high = publish(post_at(workspace, local(2026, 11, 3)), linkedin, impressions=100, comments=9)
    publish(post_at(workspace, local(2026, 11, 4)), mastodon, likes=5)  # no comments reported

    top = selectors.ranked_posts(workspace=workspace, period=NOV, metric="comments")
    bottom = selectors.ranked_posts(
        workspace=workspace, period=NOV, metric="comments", ascending=True
    )

    assert top == [high, low]
    assert bottom == [low, high]
    assert top[0].value == 9


def test_ranking_by_engagement_rate(workspace, linkedin):
    a = publish(post_at(workspace, local(2026, 11, 2)), linkedin, impressions=1000, likes=10)
    b = publish(post_at(workspace, local(2026, 11, 3)), linkedin, impressions=100, likes=10)

    top = selectors.ranked_posts(workspace=workspace, period=NOV, metric="engagement_rate")

    assert top == [b, a]
    assert top[0].rate == pytest.approx(0.1)


def test_ranking_refuses_an_unknown_metric(workspace):
    with pytest.raises(ValueError, match="unknown metric"):
        selectors.ranked_posts(workspace=workspace, period=NOV, metric="id; DROP TABLE")


# --- campaigns ----------------------------------------------------------------------------------


@pytest.fixture
def campaigns(workspace, linkedin, mastodon):
    paid = CampaignFactory(workspace=workspace, name="Paid", budget=Decimal("100.00"))
    platform_only = CampaignFactory(workspace=workspace, name="Platform", budget=Decimal("50"))
    unclicked = CampaignFactory(workspace=workspace, name="Quiet", budget=Decimal("10"))
    free = CampaignFactory(workspace=workspace, name="Free")
    post = post_at(workspace, local(2026, 11, 3), campaign=paid)
    publish(post, linkedin, impressions=1000, likes=10, clicks=7)
    publish(post, mastodon, likes=5)
    clicks(post, linkedin, at=local(2026, 11, 4), count=30)
    clicks(post, mastodon, at=local(2026, 11, 4), count=10)
    clicks(post, mastodon, at=local(2026, 10, 4), count=99)  # before the period
    post2 = post_at(workspace, local(2026, 11, 5), campaign=platform_only)
    publish(post2, linkedin, impressions=400, likes=4, clicks=8)
    publish(post_at(workspace, local(2026, 11, 6), campaign=unclicked), linkedin, likes=1)
    publish(post_at(workspace, local(2026, 11, 7), campaign=free), linkedin, clicks=3)
    publish(post_at(workspace, local(2026, 11, 8)), linkedin, impressions=5)  # no campaign
    return {"paid": paid, "platform": platform_only, "quiet": unclicked, "free": free}


def test_campaign_report_counts_posts_reach_interactions_and_both_kinds_of_clicks(
    workspace, campaigns
):
    rows = {
        r.campaign.name if r.campaign else None: r
        for r in selectors.campaign_report(workspace=workspace, period=NOV)
    }

    paid = rows["Paid"]
    assert (paid.posts, paid.publications) == (1, 2)
    assert (paid.impressions, paid.interactions) == (1000, 15)
    assert (paid.platform_clicks, paid.link_clicks) == (7, 40)
    assert rows[None].publications == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Paid", (Decimal("2.50"), "link")),  # 100 / 40 short-link clicks
        ("Platform", (Decimal("6.25"), "platform")),  # 50 / 8: no short links
        ("Quiet", (None, None)),  # a budget but no clicks: "—"
        ("Free", (None, None)),  # no budget
    ],
)
def test_cost_per_click(workspace, campaigns, name, expected):
    rows = selectors.campaign_report(workspace=workspace, period=NOV)
    row = next(r for r in rows if r.campaign and r.campaign.name == name)

    assert row.cost_per_click == expected


# --- one post -----------------------------------------------------------------------------------


def test_post_report_has_one_curve_per_channel_in_time_order(workspace, linkedin, mastodon):
    from tests.analytics_helpers import snapshot

    post = post_at(workspace, local(2026, 11, 3))
    a = publish(post, linkedin, impressions=300, likes=9)
    b = publish(post, mastodon, likes=4)
    snapshot(a, 2, after=dt.timedelta(hours=1), impressions=200, likes=6)
    snapshot(a, 1, after=dt.timedelta(minutes=15), impressions=100, likes=2)
    snapshot(b, 1, after=dt.timedelta(minutes=15), likes=4)

    report = selectors.post_report(workspace=workspace, post_id=post.pk)

    assert [c.channel.name for c in report.curves] == ["LinkedIn", "Mastodon"]
    assert [(round(h, 2), v["likes"]) for h, v, _t in report.curves[0].points] == [
        (0.25, 2),
        (1.0, 6),
    ]
    assert report.total.value("likes") == 13
    assert report.metrics == ["impressions", "likes"]


def test_post_report_of_another_workspace_is_none(workspace, other_workspace):
    foreign = post_at(other_workspace, local(2026, 11, 3))

    assert selectors.post_report(workspace=workspace, post_id=foreign.pk) is None
