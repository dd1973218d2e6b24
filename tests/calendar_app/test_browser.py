"""Drag and drop on the month view in a real headless Chromium (Debian's), via Playwright.

Needs /usr/bin/chromium; without it these tests skip, unless REQUIRE_BROWSER=1 (CI) makes that
a failure.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from calendar_app.models import Post, Role
from tests.conftest import skip_or_fail
from tests.factories import (
    ChannelFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def require_chromium() -> None:
    """Skip a browser test on a machine without Debian's Chromium; fail it under `.ci/run`
    (REQUIRE_BROWSER=1), where a missing browser is a broken setup, not a reason to skip."""
    if not CHROMIUM.exists():
        skip_or_fail(
            "Chromium is missing at /usr/bin/chromium: apt-get install chromium",
            required_by="REQUIRE_BROWSER",
        )


@pytest.fixture
def page(live_server, transactional_db, monkeypatch):
    require_chromium()
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        # ORM calls made while Playwright runs open a connection in Playwright's context; close
        # it here, or the test database cannot be dropped at the end of the run.
        connections.close_all()
        context.close()
        browser.close()


@pytest.fixture
def acme(transactional_db):
    workspace = WorkspaceFactory(name="Acme", slug="acme", timezone="Europe/Berlin")
    channel = ChannelFactory(workspace=workspace, platform="mastodon", name="Acme Mastodon")
    return workspace, channel


def member(workspace, role: Role):
    return MembershipFactory(
        workspace=workspace, user=UserFactory(username=f"{role.value}-b"), role=role
    )


def log_in(page, live_server, username: str) -> None:
    """Log in as `username`, as whoever was logged in before is logged out.

    The previous page is left for about:blank first and only then are the cookies cleared: an
    htmx request of the previous page (hx-trigger="load") still in flight after the clearing
    arrives without cookies and sets a new CSRF cookie, which no longer matches the token in
    the login form (CI saw "CSRF token from POST incorrect" there once). Should a response
    that was already under way still do so, the login page answers 403 and is filled again.
    """
    page.goto("about:blank")
    page.context.clear_cookies()
    for _attempt in range(2):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form button[type=submit]")
        if "/accounts/login/" not in page.url:
            break
    page.wait_for_url(f"{live_server.url}/w/**")


def days_ahead(workspace, days: int) -> dt.date:
    return timezone.now().astimezone(workspace.tz).date() + dt.timedelta(days=days)


def grid_contains(month_of: dt.date, day: dt.date) -> bool:
    """Whether `day` is a cell of the month grid (Monday..Sunday weeks) of `month_of`."""
    first = month_of.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    start = first - dt.timedelta(days=first.weekday())
    end = last + dt.timedelta(days=6 - last.weekday())
    return start <= day <= end


def month_path(workspace, day: dt.date) -> str:
    return f"/w/{workspace.slug}/month/{day.year}/{day.month}/"


def chip(page, post: Post):
    return page.locator(f'[data-testid="post-chip"][data-post-id="{post.pk}"]')


def cell(page, day: dt.date):
    return page.locator(f'[data-testid="day-cell"][data-date="{day.isoformat()}"]')


def test_given_editor_when_dragging_a_chip_to_another_day_then_it_stays_there_at_the_same_local_time(
    page, live_server, acme
):
    workspace, channel = acme
    editor = member(workspace, Role.EDITOR)
    post_day = days_ahead(workspace, 3)
    target = post_day + dt.timedelta(days=1)
    if not grid_contains(post_day, target):
        target = post_day - dt.timedelta(days=1)
    post = PostFactory(
        workspace=workspace,
        title="Drag me",
        scheduled_at=dt.datetime.combine(post_day, dt.time(10, 15), tzinfo=workspace.tz),
        author=editor.user,
        channels=[channel],
    )
    log_in(page, live_server, editor.user.username)
    page.goto(live_server.url + month_path(workspace, post_day))
    assert chip(page, post).get_attribute("draggable") == "true"

    with page.expect_response(lambda r: f"/posts/{post.pk}/reschedule/" in r.url) as moved:
        chip(page, post).drag_to(cell(page, target))

    assert moved.value.status == 200
    assert moved.value.json()["date"] == target.isoformat()
    page.wait_for_function(
        f'() => document.querySelector(\'[data-post-id="{post.pk}"]\').dataset.version === "2"'
    )
    page.reload()
    assert cell(page, target).locator(f'[data-post-id="{post.pk}"]').count() == 1
    assert cell(page, post_day).locator(f'[data-post-id="{post.pk}"]').count() == 0
    post.refresh_from_db()
    local = post.scheduled_at.astimezone(workspace.tz)
    assert (local.date(), local.time()) == (target, dt.time(10, 15))
    assert post.version == 2


def test_given_stale_calendar_when_dragging_then_chip_goes_back_and_a_toast_explains(
    page, live_server, acme
):
    workspace, channel = acme
    editor = member(workspace, Role.EDITOR)
    post_day = days_ahead(workspace, 3)
    target = post_day + dt.timedelta(days=1)
    if not grid_contains(post_day, target):
        target = post_day - dt.timedelta(days=1)
    post = PostFactory(
        workspace=workspace,
        scheduled_at=dt.datetime.combine(post_day, dt.time(10, 15), tzinfo=workspace.tz),
        channels=[channel],
    )
    log_in(page, live_server, editor.user.username)
    page.goto(live_server.url + month_path(workspace, post_day))
    Post.objects.filter(pk=post.pk).update(version=5)  # someone else saved meanwhile

    with page.expect_response(lambda r: "/reschedule/" in r.url) as refused:
        chip(page, post).drag_to(cell(page, target))

    assert refused.value.status == 400
    toast = page.locator('[data-testid="toast"]')
    toast.wait_for()
    assert "Someone else changed this post" in toast.inner_text()
    assert cell(page, post_day).locator(f'[data-post-id="{post.pk}"]').count() == 1
    post.refresh_from_db()
    assert post.scheduled_at.astimezone(workspace.tz).date() == post_day


def test_given_idea_when_dragged_onto_a_day_then_it_is_scheduled_at_nine(page, live_server, acme):
    workspace, channel = acme
    editor = member(workspace, Role.EDITOR)
    target = days_ahead(workspace, 2)
    idea = PostFactory(workspace=workspace, title="Idea", scheduled_at=None, channels=[channel])
    log_in(page, live_server, editor.user.username)
    page.goto(live_server.url + month_path(workspace, target))
    ideas = page.locator('[data-testid="ideas"]')
    assert ideas.locator(f'[data-post-id="{idea.pk}"]').count() == 1

    with page.expect_response(lambda r: "/reschedule/" in r.url) as moved:
        chip(page, idea).drag_to(cell(page, target))

    assert moved.value.status == 200
    # The chip moves once the script has read the answer: assertions that wait for the DOM.
    expect(cell(page, target).locator(".cal-chip-time", has_text="09:00")).to_have_count(1)
    expect(ideas.locator('[data-testid="ideas-count"]')).to_have_text("0")
    idea.refresh_from_db()
    assert idea.scheduled_at.astimezone(workspace.tz) == dt.datetime.combine(
        target, dt.time(9, 0), tzinfo=workspace.tz
    )


def test_given_viewer_when_opening_month_then_no_chip_is_draggable(page, live_server, acme):
    workspace, channel = acme
    viewer = member(workspace, Role.VIEWER)
    post_day = days_ahead(workspace, 3)
    post = PostFactory(
        workspace=workspace,
        scheduled_at=dt.datetime.combine(post_day, dt.time(10, 15), tzinfo=workspace.tz),
        channels=[channel],
    )
    PostFactory(workspace=workspace, scheduled_at=None)
    log_in(page, live_server, viewer.user.username)

    page.goto(live_server.url + month_path(workspace, post_day))

    assert chip(page, post).count() == 1
    assert page.locator('[data-testid="post-chip"]').count() == 2
    assert page.locator('[data-testid="post-chip"][draggable="true"]').count() == 0
    assert page.locator("[data-create-url]").count() == 0


def test_given_week_view_when_dropping_on_an_hour_slot_then_post_keeps_its_minutes(
    page, live_server, acme
):
    workspace, channel = acme
    editor = member(workspace, Role.EDITOR)
    post_day = days_ahead(workspace, 3)
    post = PostFactory(
        workspace=workspace,
        scheduled_at=dt.datetime.combine(post_day, dt.time(10, 15), tzinfo=workspace.tz),
        channels=[channel],
    )
    iso = post_day.isocalendar()
    log_in(page, live_server, editor.user.username)
    page.goto(f"{live_server.url}/w/{workspace.slug}/week/{iso.year}/{iso.week}/")
    slot = page.locator(
        f'[data-testid="hour-slot"][data-date="{post_day.isoformat()}"][data-hour="12"]'
    )

    with page.expect_response(lambda r: "/reschedule/" in r.url) as moved:
        chip(page, post).drag_to(slot)

    assert moved.value.status == 200
    expect(slot.locator(".cal-chip-time", has_text="12:15")).to_have_count(1)
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime.combine(post_day, dt.time(12, 15), tzinfo=workspace.tz)


def test_given_scheduled_chip_when_dropped_on_the_ideas_sidebar_then_it_becomes_an_idea(
    page, live_server, acme
):
    workspace, channel = acme
    editor = member(workspace, Role.EDITOR)
    post_day = days_ahead(workspace, 3)
    post = PostFactory(
        workspace=workspace,
        scheduled_at=dt.datetime.combine(post_day, dt.time(10, 15), tzinfo=workspace.tz),
        channels=[channel],
    )
    log_in(page, live_server, editor.user.username)
    page.goto(live_server.url + month_path(workspace, post_day))
    ideas = page.locator('[data-testid="ideas"]')

    with page.expect_response(lambda r: "/unschedule/" in r.url) as moved:
        chip(page, post).drag_to(ideas)

    assert moved.value.status == 200
    expect(ideas.locator(f'[data-post-id="{post.pk}"]')).to_have_count(1)
    expect(ideas.locator('[data-testid="ideas-count"]')).to_have_text("1")
    post.refresh_from_db()
    assert post.scheduled_at is None
