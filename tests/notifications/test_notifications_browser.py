"""The bell in a real headless Chromium: the dropdown loads on open, mark-all-read clears it,
a click opens the post. Uses the Playwright page fixture of tests/calendar_app/test_browser.py."""

from __future__ import annotations

import pytest

from calendar_app.models import Role
from notifications.models import Kind, Notification
from notifications.services import notify
from tests.calendar_app.test_browser import acme, log_in, member, page  # noqa: F401  (fixtures)
from tests.factories import PostFactory

pytestmark = pytest.mark.browser


def test_given_unread_notifications_when_the_bell_opens_then_the_latest_load_and_can_be_cleared(
    page,  # noqa: F811
    live_server,
    acme,  # noqa: F811
):
    workspace, _channel = acme
    manager = member(workspace, Role.MANAGER)
    editor = member(workspace, Role.EDITOR)
    post = PostFactory(workspace=workspace, author=editor.user, title="Autumn teaser")
    for _ in range(2):
        notify(
            kind=Kind.SUBMITTED,
            recipients=[manager.user],
            workspace=workspace,
            post=post,
            actor=editor.user,
        )

    log_in(page, live_server, manager.user.username)
    badge = page.locator("#notification-badge")
    assert badge.inner_text().startswith("2")

    page.click('[data-testid="notification-bell"] > a')
    menu = page.locator('[data-testid="notification-menu"]')
    menu.wait_for()
    assert menu.locator('[data-testid="notification"]').count() == 2
    assert "editor-b submitted “Autumn teaser” for review" in menu.inner_text()

    menu.locator('[data-testid="mark-all-read"]').click()
    page.wait_for_function("() => document.getElementById('notification-badge').matches('.d-none')")
    assert not Notification.objects.filter(read_at__isnull=True).exists()

    page.locator('[data-testid="notification-menu"] [data-testid="notification"]').first.click()
    page.wait_for_url(f"{live_server.url}/w/acme/posts/{post.pk}/")
