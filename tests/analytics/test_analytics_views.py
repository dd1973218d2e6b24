"""The analytics pages: who may see them, what they say, the period filter, a fixed number of
queries whatever the number of posts, CSV exports, the printable report and the editor hints."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from calendar_app.models import Post, Role
from publishing.models import Delivery, DeliveryState, RemotePost, RemotePostSource
from tests.analytics_helpers import clicks, followers, imported, local, publish, snapshot
from tests.conftest import login
from tests.factories import CampaignFactory, ChannelFactory, PostFactory

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def linkedin(workspace):
    return ChannelFactory(workspace=workspace, platform="linkedin", name="Acme LinkedIn")


@pytest.fixture
def published(workspace, linkedin, channel):
    """One campaign post on LinkedIn and Mastodon a few days ago, with its numbers."""
    campaign = CampaignFactory(workspace=workspace, name="Spring", budget=Decimal("90"))
    post = PostFactory(
        workspace=workspace,
        title="Launch day",
        scheduled_at=local(2026, 11, 17, 18),
        campaign=campaign,
    )
    li = publish(post, linkedin, impressions=2000, likes=80, comments=10, clicks=20)
    masto = publish(post, channel, likes=30, shares=5)
    for seq, (hours, factor) in enumerate(((0.25, 0.2), (1, 0.5), (24, 1.0)), start=1):
        snapshot(li, seq, after=dt.timedelta(hours=hours), impressions=int(2000 * factor))
        snapshot(masto, seq, after=dt.timedelta(hours=hours), likes=int(30 * factor))
    followers(channel, dt.date(2026, 11, 1), 1000)
    followers(channel, dt.date(2026, 11, 19), 1200)
    clicks(post, linkedin, at=local(2026, 11, 18), count=45)
    return {"post": post, "li": li, "masto": masto, "campaign": campaign}


def url(name, *args, ws="acme"):
    return reverse(f"analytics:{name}", args=[ws, *args])


# --- permissions --------------------------------------------------------------------------------

PAGES = ["dashboard", "posts", "campaigns", "best_time", "print", "hint_best_time"]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", PAGES)
def test_every_member_may_see_analytics(client, members, published, role, page):
    login(client, members[role])

    assert client.get(url(page)).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_another_workspace_is_404(client, members, other_workspace, page):
    login(client, members[Role.OWNER])

    assert client.get(url(page, ws="other")).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, workspace):
    response = client.get(url("dashboard"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_post_of_another_workspace_is_404(client, viewer, other_workspace):
    foreign_channel = ChannelFactory(workspace=other_workspace)
    foreign = PostFactory(workspace=other_workspace, scheduled_at=local(2026, 11, 17))
    rp = publish(foreign, foreign_channel, likes=3)
    login(client, viewer)

    assert client.get(url("post", foreign.pk)).status_code == 404
    assert client.get(url("remote_post", rp.pk)).status_code == 404
    assert client.get(url("post_series_csv", foreign.pk)).status_code == 404
    assert client.get(url("hint_post", foreign.pk)).content == b""


def test_only_get(client, viewer, published):
    login(client, viewer)

    assert client.post(url("dashboard")).status_code == 405


# --- the dashboard ------------------------------------------------------------------------------


def test_dashboard_says_at_a_glance_which_channel_and_hour_work_best(client, viewer, published):
    login(client, viewer)

    html = client.get(url("dashboard")).content.decode()

    assert "Top channel: <strong>Acme LinkedIn</strong>" in html
    assert 'data-testid="glance-best-hour"' in html
    assert "Unique short-link clicks: <strong>45</strong> (of 45 in all)" in html
    assert "most of them from the campaign <strong>Spring</strong> (45)" in html
    assert html.count('data-testid="channel-row"') == 2
    assert "per follower" in html  # Mastodon reports no impressions


def test_dashboard_draws_accessible_svg_charts_and_a_table_fallback(client, viewer, published):
    login(client, viewer)

    html = client.get(url("dashboard")).content.decode()

    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    assert 'role="img" aria-labelledby="trend-impressions-title trend-impressions-desc"' in html
    assert '<title id="trend-impressions-title">Impressions per day</title>' in html
    assert 'data-testid="daily-table"' in html
    assert "<script" not in html.split("<main")[1].split("</main>")[0]  # no chart library


def test_dashboard_in_german(client, viewer, published):
    viewer.user.language = "de"
    viewer.user.save()
    login(client, viewer)

    response = client.get(url("dashboard"), HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 200
    assert response.headers["Content-Language"] == "de"


def test_a_custom_period(client, viewer, published):
    login(client, viewer)

    response = client.get(
        url("dashboard"), {"period": "custom", "from": "2026-11-18", "to": "2026-11-19"}
    )

    assert response.status_code == 200
    assert response.context["period"].days == 2
    assert response.context["data"].current.posts == 0  # the post went out on the 17th


def test_typed_dates_make_a_custom_period(client, viewer, published):
    login(client, viewer)

    response = client.get(
        url("dashboard"), {"period": "30", "from": "2026-11-17", "to": "2026-11-17"}
    )

    assert response.context["period"].key == "custom"
    assert response.context["data"].current.posts == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "custom", "from": "2026-11-10"}, "Choose both a start and an end date."),
        (
            {"period": "custom", "from": "2026-11-10", "to": "2026-11-01"},
            "The start date must not be after the end date.",
        ),
        (
            {"period": "custom", "from": "2020-01-01", "to": "2026-11-01"},
            "Choose at most 731 days.",
        ),
        ({"period": "forever"}, "Select a valid choice."),
        ({"period": "custom", "from": "yesterday", "to": "2026-11-01"}, "Enter a valid date."),
    ],
)
def test_bad_periods_are_refused_with_a_reason_and_the_default_shown(
    client, viewer, published, params, message
):
    login(client, viewer)

    response = client.get(url("dashboard"), params)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["period"].days == 30


# --- the other pages ----------------------------------------------------------------------------


def test_top_and_bottom_posts_by_a_chosen_metric(client, viewer, published):
    login(client, viewer)

    html = client.get(url("posts"), {"metric": "likes"}).content.decode()

    assert "Top posts by Likes" in html
    assert html.count('data-testid="post-row"') == 4  # 2 publications, in both lists
    assert reverse("analytics:post", args=["acme", published["post"].pk]) in html


def test_an_unknown_ranking_metric_falls_back_to_interactions(client, viewer, published):
    login(client, viewer)

    response = client.get(url("posts"), {"metric": "password"})

    assert response.context["metric"] == "interactions"


def test_post_page_draws_each_channels_curves_and_links_editor_and_platform(
    client, viewer, published
):
    login(client, viewer)

    html = client.get(url("post", published["post"].pk)).content.decode()

    assert 'data-testid="curve-impressions"' in html
    assert 'data-testid="curve-likes"' in html
    assert html.count('data-testid="post-channel-row"') == 2
    assert reverse("calendar:post_edit", args=["acme", published["post"].pk]) in html
    assert "https://social.example/" in html
    assert "45 clicks" in html


def test_an_imported_post_has_its_own_page(client, viewer, channel):
    rp = imported(channel, at=local(2026, 11, 10), text="Hello <b>world</b>", likes=4)
    login(client, viewer)

    html = client.get(url("remote_post", rp.pk)).content.decode()

    assert "Hello &lt;b&gt;world&lt;/b&gt;" in html
    assert "found on the account" in html


def test_campaign_report_shows_cost_per_click(client, viewer, published):
    login(client, viewer)

    html = client.get(url("campaigns")).content.decode()

    assert "2.00 EUR" in html  # 90 / 45 unique short-link clicks
    assert "per unique short-link click" in html


def test_best_time_page_says_when_data_is_thin(client, viewer, published):
    login(client, viewer)

    html = client.get(url("best_time")).content.decode()

    assert 'data-testid="thin-data"' in html
    assert 'data-testid="heatmap"' in html
    assert 'data-testid="heatmap-table"' in html


def test_print_page_has_no_navigation(client, viewer, published):
    login(client, viewer)

    html = client.get(url("print")).content.decode()

    assert "navbar" not in html
    assert "Analytics report: Acme" in html
    assert 'data-testid="channels-table"' in html
    assert 'data-testid="campaigns-table"' in html
    assert 'data-testid="heatmap"' in html


# --- query budget -------------------------------------------------------------------------------


def _many_posts(workspace, channels, count):
    """`count` posts published over the last 60 days with numbers, deliveries and followers."""
    campaign = CampaignFactory(workspace=workspace, name="Bulk", budget=Decimal("10"))
    posts = Post.objects.bulk_create(
        Post(
            workspace=workspace,
            title=f"Bulk {i}",
            scheduled_at=NOW - dt.timedelta(hours=3 * i + 1),
            campaign=campaign if i % 2 else None,
        )
        for i in range(count)
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            post=post,
            channel=channels[i % len(channels)],
            workspace=workspace,
            state=DeliveryState.PUBLISHED,
            due_at=post.scheduled_at,
            run_at=post.scheduled_at,
            idempotency_key=f"bulk-{post.pk}",
            published_at=post.scheduled_at,
        )
        for i, post in enumerate(posts)
    )
    RemotePost.objects.bulk_create(
        RemotePost(
            workspace=workspace,
            channel=d.channel,
            delivery=d,
            source=RemotePostSource.APP,
            remote_id=f"bulk-{d.pk}",
            published_at=d.published_at,
            impressions=None if d.channel.platform == "mastodon" else 100 + i,
            likes=i % 17,
            comments=i % 5,
        )
        for i, d in enumerate(deliveries)
    )
    for channel in channels:
        followers(channel, dt.date(2026, 10, 1), 900)
        followers(channel, dt.date(2026, 11, 19), 1000)
    for post in posts[:5]:
        clicks(post, channels[0], at=NOW - dt.timedelta(days=1), count=2)


# The navbar and the session cost 5 (session, user, membership + workspace, my workspaces,
# unread notifications); the rest is the page's own.
PAGE_QUERIES = {
    # channel figures, channels + followers, days, clicks per day, heatmap, campaign figures,
    # clicks per campaign, campaigns, top posts
    "dashboard": 5 + 9,
    "posts": 5 + 2,  # top, bottom
    "campaigns": 5 + 3,  # campaign figures, clicks per campaign, campaigns
    "best_time": 5 + 1,  # heatmap
    "print": 4 + 10,  # the dashboard's, the ten top posts; no navbar workspace switcher
}


@pytest.mark.parametrize("count", [10, 500])
@pytest.mark.parametrize("page", list(PAGE_QUERIES))
def test_pages_cost_a_fixed_number_of_queries(
    client, viewer, workspace, channel, linkedin, django_assert_num_queries, count, page
):
    _many_posts(workspace, [channel, linkedin], count)
    login(client, viewer)
    client.get(url(page))  # warm the session

    with django_assert_num_queries(PAGE_QUERIES[page]):
        response = client.get(url(page))
    assert response.status_code == 200


@pytest.mark.parametrize("count", [10, 500])
def test_post_page_costs_a_fixed_number_of_queries(
    client, viewer, workspace, channel, linkedin, django_assert_num_queries, count
):
    post = PostFactory(workspace=workspace, scheduled_at=NOW - dt.timedelta(days=40))
    rps = [publish(post, c, impressions=10, likes=1) for c in (channel, linkedin)]
    for rp in rps:
        for seq in range(1, count // 10 + 1):
            snapshot(rp, seq, after=dt.timedelta(hours=seq), impressions=seq, likes=seq)
        clicks(post, rp.channel, at=NOW, count=1)
    login(client, viewer)
    client.get(url("post", post.pk))

    # 5 for the page frame; post, its publications, their snapshots, its short links
    with django_assert_num_queries(5 + 4):
        response = client.get(url("post", post.pk))
    assert response.status_code == 200


# --- CSV ----------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads UTF-8 only with the BOM
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize("table", ["daily", "channels", "campaigns", "posts", "heatmap"])
def test_every_table_exports_as_csv(client, viewer, published, table):
    login(client, viewer)

    response = client.get(url("export", table), {"period": "30"})

    rows = _csv(response)
    assert len(rows) >= 2
    assert "attachment;" in response["Content-Disposition"]
    assert f"acme-{table}-2026-10-22-2026-11-20.csv" in response["Content-Disposition"]


def test_channel_csv_is_machine_readable(client, viewer, published):
    login(client, viewer)

    rows = _csv(client.get(url("export", "channels")))
    header, li = rows[0], next(r for r in rows if r[0] == "Acme LinkedIn")
    record = dict(zip(header, li, strict=True))

    assert record["impressions"] == "2000"  # no thousands separator
    assert record["engagement_rate"] == "0.045"  # a fraction with a dot: 90 / 2000
    assert record["engagement_rate_basis"] == "impression"


def test_csv_cells_that_would_run_as_formulas_are_neutralized(client, viewer, workspace):
    evil = ChannelFactory(workspace=workspace, name='=HYPERLINK("http://evil")')
    post = PostFactory(workspace=workspace, title="@SUM(1+1)", scheduled_at=local(2026, 11, 17))
    publish(post, evil, impressions=10, likes=1)
    login(client, viewer)

    channels = _csv(client.get(url("export", "channels")))
    posts = _csv(client.get(url("export", "posts")))

    assert channels[1][0] == '\'=HYPERLINK("http://evil")'
    assert any("'@SUM(1+1)" in row for row in posts)


def test_negative_numbers_stay_numbers(client, viewer, workspace, channel):
    followers(channel, dt.date(2026, 11, 1), 1000)
    followers(channel, dt.date(2026, 11, 19), 990)
    login(client, viewer)

    rows = _csv(client.get(url("export", "channels")))

    assert dict(zip(rows[0], rows[1], strict=True))["follower_growth"] == "-10"


def test_unknown_table_is_404_and_a_bad_period_400(client, viewer, published):
    login(client, viewer)

    assert client.get(url("export", "passwords")).status_code == 404
    response = client.get(url("export", "channels"), {"period": "custom"})
    assert response.status_code == 400
    assert "Choose both a start and an end date." in response.content.decode()


def test_post_series_csv_has_every_pull(client, viewer, published):
    login(client, viewer)

    rows = _csv(client.get(url("post_series_csv", published["post"].pk)))

    assert rows[0][:4] == ["channel", "published_at", "taken_at", "hours_since_publishing"]
    assert len(rows) == 1 + 6
    assert rows[1][1] == "2026-11-17T18:00+01:00"  # ISO, workspace time zone


# --- the editor's hints -------------------------------------------------------------------------


def test_a_published_post_shows_its_analytics_slot_and_no_time_hint(client, editor, published):
    """What went out is read-only: its page loads its numbers, and offers no "best time" to
    pick a new time for it."""
    login(client, editor)

    html = client.get(reverse("calendar:post_edit", args=["acme", published["post"].pk])).content
    html = html.decode()

    assert 'data-testid="read-only"' in html
    assert reverse("analytics:hint_post", args=["acme", published["post"].pk]) in html
    assert reverse("analytics:hint_best_time", args=["acme"]) not in html


def test_new_post_editor_has_the_best_time_slot_only(client, editor, workspace):
    login(client, editor)

    html = client.get(reverse("calendar:post_create", args=["acme"])).content.decode()

    assert 'data-testid="best-time-hint-slot"' in html
    assert 'data-testid="post-analytics-slot"' not in html


def test_best_time_hint_names_the_best_slots(client, editor, workspace, linkedin):
    for week in range(4):
        for hour, likes in ((18, 80), (9, 10)):
            day = NOW - dt.timedelta(days=7 * week + 3)
            at = local(day.year, day.month, day.day, hour)
            publish(
                PostFactory(workspace=workspace, scheduled_at=at),
                linkedin,
                impressions=1000,
                likes=likes,
            )
    login(client, editor)

    html = client.get(url("hint_best_time")).content.decode()

    assert "Tuesday 18:00\u201319:00" in html.split("<strong>")[1]
    assert "First hint, from little data:" in html  # 8 posts only


def test_best_time_hint_without_data(client, editor, workspace):
    login(client, editor)

    html = client.get(url("hint_best_time")).content.decode()

    assert "No best time yet" in html


def test_post_hint_links_to_the_post_page_once_it_is_live(client, editor, published, workspace):
    login(client, editor)
    unpublished = PostFactory(workspace=workspace)

    live = client.get(url("hint_post", published["post"].pk)).content.decode()
    nothing = client.get(url("hint_post", unpublished.pk)).content

    assert reverse("analytics:post", args=["acme", published["post"].pk]) in live
    assert "Live on 2 channels" in live
    assert nothing == b""


def test_today_is_drawn_as_unfinished_on_the_trend_charts(client, viewer, published):
    login(client, viewer)

    today = client.get(url("dashboard")).content.decode()
    past = client.get(
        url("dashboard"), {"period": "custom", "from": "2026-11-01", "to": "2026-11-19"}
    ).content.decode()

    assert 'stroke-dasharray="2 3"' in today
    assert "The last day is today, so far." in today
    assert 'stroke-dasharray="2 3"' not in past
