"""The approval flow in a real headless Chromium (Debian's), via Playwright: an editor submits,
a manager approves from the queue, the calendar shows the post approved and scheduled.

Same fixtures and launch arguments as tests/calendar_app/test_browser.py (without /usr/bin/chromium these
tests skip, unless REQUIRE_BROWSER=1 makes that a failure).
"""

from __future__ import annotations

import datetime as dt

import pytest

from calendar_app.models import Post, Role
from calendar_app.workflow import PostStatus
from tests.calendar_app.test_browser import (  # noqa: F401 - fixtures
    acme,
    chip,
    days_ahead,
    log_in,
    member,
    month_path,
    page,
)
from tests.factories import PostFactory

pytestmark = pytest.mark.browser


def test_editor_submits_manager_approves_from_the_queue_and_the_calendar_shows_it(
    page,  # noqa: F811
    live_server,
    acme,  # noqa: F811
):
    workspace, channel = acme
    editor = member(workspace, Role.EDITOR)
    manager = member(workspace, Role.MANAGER)
    day = days_ahead(workspace, 3)
    post = PostFactory(
        workspace=workspace,
        title="Needs a yes",
        scheduled_at=dt.datetime.combine(day, dt.time(11, 0), tzinfo=workspace.tz),
        author=editor.user,
        channels=[channel],
    )

    # The editor submits from the editor's workflow bar.
    log_in(page, live_server, editor.user.username)
    page.goto(f"{live_server.url}/w/{workspace.slug}/posts/{post.pk}/")
    page.get_by_test_id("submit-review").click()
    page.wait_for_selector('[data-testid="workflow-bar"][data-status="in_review"]')
    assert Post.objects.get(pk=post.pk).status == PostStatus.IN_REVIEW

    # The manager sees it waiting (navbar count), approves it in the queue.
    log_in(page, live_server, manager.user.username)
    assert page.get_by_test_id("review-count").inner_text() == "1"
    page.get_by_test_id("nav-review").click()
    item = page.locator(f'[data-testid="queue-item"][data-post-id="{post.pk}"]')
    assert "Needs a yes" in item.inner_text()
    item.get_by_test_id("approve").click()
    page.wait_for_selector('[data-testid="queue-empty"]')
    assert "You approved" in page.locator("body").inner_text()

    # The calendar shows it approved and scheduled.
    page.goto(live_server.url + month_path(workspace, day))
    assert chip(page, post).get_attribute("data-status") == PostStatus.SCHEDULED
    assert "Scheduled" in chip(page, post).inner_text()
    page.goto(f"{live_server.url}/w/{workspace.slug}/posts/{post.pk}/history/")
    assert "In review → Approved" in page.get_by_test_id("audit").inner_text()
    assert Post.objects.get(pk=post.pk).status == PostStatus.SCHEDULED
