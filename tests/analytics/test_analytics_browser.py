"""Analytics in a real headless Chromium: the editor's hints load themselves next to the date
and time and above the publishing panel, the dashboard draws its charts, and the print page
hides nothing but the buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from calendar_app.models import Role
from tests.analytics_helpers import followers, publish
from tests.calendar_app.test_browser import acme, log_in, member, page  # noqa: F401 - fixtures
from tests.factories import PostFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def live_post(acme):  # noqa: F811
    workspace, channel = acme
    now = timezone.now()
    followers(channel, now.date() - dt.timedelta(days=30), 1000)
    post = None
    for week in range(5):  # the same weekday and hour, five weeks running
        at = now - dt.timedelta(days=7 * week + 1)
        post = PostFactory(workspace=workspace, title=f"Week {week}", scheduled_at=at)
        publish(post, channel, likes=40 + week, comments=3)
    return workspace, post


def test_the_editor_shows_the_best_time_and_the_posts_numbers(page, live_server, live_post):  # noqa: F811
    workspace, post = live_post
    member(workspace, Role.EDITOR)
    log_in(page, live_server, "editor-b")

    page.goto(f"{live_server.url}/w/acme/posts/new/")
    hint = page.get_by_test_id("best-time-hint")
    hint.wait_for()
    assert "First hint, from little data" in hint.inner_text()

    # A published post is on record (read-only): its page shows its numbers.
    page.goto(f"{live_server.url}/w/acme/posts/{post.pk}/")
    assert page.get_by_test_id("read-only").is_visible()
    numbers = page.get_by_test_id("post-analytics-hint")
    assert "Live on 1 channel" in numbers.inner_text()
    numbers.get_by_test_id("post-analytics-link").click()
    page.wait_for_url(f"**/analytics/posts/{post.pk}/")
    assert page.get_by_test_id("post-channel-row").count() == 1


def test_the_dashboard_draws_its_charts_for_a_viewer(page, live_server, live_post):  # noqa: F811
    workspace, _post = live_post
    member(workspace, Role.VIEWER)
    log_in(page, live_server, "viewer-b")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.get_by_test_id("nav-analytics").click()
    page.wait_for_url("**/analytics/")

    assert page.get_by_test_id("glance-top-channel").is_visible()
    chart = page.get_by_test_id("trend-likes").locator("svg")
    box = chart.bounding_box()
    assert box["width"] > 200 and box["height"] > 40
    assert page.get_by_test_id("heatmap").is_visible()
    assert errors == []


def test_the_print_page_keeps_the_report_and_drops_the_buttons(page, live_server, live_post):  # noqa: F811
    workspace, _post = live_post
    member(workspace, Role.MANAGER)
    log_in(page, live_server, "manager-b")

    page.goto(f"{live_server.url}/w/acme/analytics/print/")
    page.emulate_media(media="print")

    assert page.get_by_test_id("channels-table").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
