"""`manage.py seed_demo_metrics`: after a simulated week of the demo's posts, a manager sees at
a glance which channel and hour work best and what each campaign's clicks cost; a second run
duplicates nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from analytics import selectors
from analytics.periods import last_days
from calendar_app.models import Campaign, Post, Workspace
from calendar_app.workflow import PostStatus
from links.models import LinkClick, TrackedLink
from publishing.models import AccountSnapshot, Delivery, MetricSnapshot, RemotePost

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Delivery,
            RemotePost,
            MetricSnapshot,
            AccountSnapshot,
            TrackedLink,
            LinkClick,
        )
    }


@pytest.fixture
def demo(db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
        out = io.StringIO()
        call_command("seed_demo_metrics", stdout=out)
        yield Workspace.objects.get(slug="nordlicht"), out.getvalue()


def test_the_demo_gets_published_posts_with_curves_followers_and_clicks(demo):
    workspace, out = demo

    assert "Demo analytics for “Nordlicht Kaffee”" in out
    past = Post.objects.filter(workspace=workspace, scheduled_at__lt=NOW - dt.timedelta(days=1))
    published = past.filter(deliveries__state="published").distinct()
    assert published.count() >= 7  # at least a week of the demo's own posts
    assert all(p.status == PostStatus.SCHEDULED for p in published)
    assert RemotePost.objects.filter(workspace=workspace, source="imported").count() > 200
    assert not RemotePost.objects.filter(workspace=workspace, next_pull_at__isnull=False).exists()
    assert LinkClick.objects.filter(workspace=workspace).count() > 50
    assert all(c.budget for c in Campaign.objects.filter(workspace=workspace))


def test_the_publishing_engine_finds_nothing_left_to_do_for_the_simulated_posts(demo):
    from publishing.dispatch import deliveries_sync

    workspace, _out = demo
    past = Delivery.objects.filter(workspace=workspace, post__scheduled_at__lt=NOW)
    before = set(past.values_list("pk", "state"))

    with time_machine.travel(NOW, tick=False):
        deliveries_sync(now=NOW)

    assert set(past.values_list("pk", "state")) == before
    assert not past.exclude(state="published").exists()


def test_snapshots_grow_and_flatten(demo):
    workspace, _out = demo
    old = (
        RemotePost.objects.filter(workspace=workspace, published_at__lt=NOW - dt.timedelta(days=31))
        .exclude(impressions=None)
        .first()
    )
    series = list(old.snapshots.order_by("seq").values_list("impressions", flat=True))

    assert len(series) == 7  # 15 min, 1 h, 6 h, 24 h, 3 d, 7 d, 30 d
    assert series == sorted(series)
    assert series[-1] == old.impressions
    assert series[3] > 0.6 * series[-1]  # most of it within the first day
    assert series[-1] - series[-2] < series[2] - series[1]  # flattening


def test_a_second_run_duplicates_nothing(demo):
    before = counts()

    with time_machine.travel(NOW, tick=False):
        out = io.StringIO()
        call_command("seed_demo_metrics", stdout=out)

    assert counts() == before
    assert "0 posts published, 0 new published posts, 0 snapshots" in out.getvalue()


def test_a_later_run_only_adds_what_became_due(demo):
    before = counts()

    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        call_command("seed_demo_metrics", stdout=io.StringIO())

    after = counts()
    assert after["MetricSnapshot"] > before["MetricSnapshot"]
    assert after["AccountSnapshot"] > before["AccountSnapshot"]
    assert after["TrackedLink"] >= before["TrackedLink"]


def test_a_best_channel_and_hour_stand_out(demo):
    workspace, _out = demo
    with time_machine.travel(NOW, tick=False):
        data = selectors.dashboard(workspace=workspace, period=last_days(30, workspace.tz))

    assert data.top_channel.channel.name == "Instagram"
    assert data.best_rate_channel.channel.name == "LinkedIn"
    assert data.heatmap.best_hour.hour == 18
    assert not data.heatmap.thin
    campaigns = [r for r in data.campaigns if r.campaign and r.link_clicks]
    assert campaigns and all(r.cost_per_click[0] is not None for r in campaigns)


def test_the_manager_sees_it_at_a_glance(client, demo):
    workspace, _out = demo
    manager = workspace.memberships.get(user__username="manager").user
    manager.language = "en"  # the English wording; the German one is the translators'
    manager.save(update_fields=["language"])
    client.force_login(manager)

    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("analytics:dashboard", args=["nordlicht"])).content.decode()

    assert "Top channel: <strong>Instagram</strong>" in html
    assert "Best hour to post: <strong>18:00" in html
    assert "most of them from the campaign" in html


def test_without_the_demo_workspace_it_says_what_to_run(db):
    with pytest.raises(CommandError, match=r"run manage\.py seed_demo first"):
        call_command("seed_demo_metrics", stdout=io.StringIO())
