"""The user always knows, end to end in a real Chromium (issue 12): a post on a channel that
cannot publish is flagged in the editor, is held at its time on the chip, in the delivery row
and in the publishing log with a notification to its author, and goes out (through the test
network) once the channel is fixed from the channel list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calendar_app.models import ApprovalMode, ApprovalPolicy, ChannelState, Role
from calendar_app.services.held import posts_warn_held
from publishing import dispatch, services
from publishing.models import Delivery, SandboxPost
from tests.calendar_app.test_browser import chip, log_in, member, month_path, page  # noqa: F401 - fixture
from tests.factories import ChannelFactory, PostFactory, WorkspaceFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def sent(monkeypatch):
    """Publish tasks the dispatcher sends, kept here and run in this process."""
    messages: list = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: messages.extend(taken))
    return messages


def publish_due(sent) -> None:
    dispatch.deliveries_dispatch_due()
    for pk, job, _run_at in list(sent):
        services.delivery_publish(delivery_id=pk, job=job, worker="w1")
    sent.clear()


def test_a_post_on_a_paused_channel_is_flagged_held_told_and_goes_out_once_resumed(
    page,  # noqa: F811
    live_server,
    transactional_db,
    sent,
):
    workspace = WorkspaceFactory(name="Acme", slug="acme", timezone="Europe/Berlin")
    ApprovalPolicy.objects.update_or_create(
        workspace=workspace, defaults={"mode": ApprovalMode.NONE}
    )
    owner = member(workspace, Role.OWNER)
    channel = ChannelFactory(
        workspace=workspace,
        platform="testnet",
        name="Testnetz",
        account_id="tn-browser",
        state=ChannelState.PAUSED,
        state_before_pause=ChannelState.CONNECTED,
        config={"feed_url": f"{live_server.url}/w/acme/sandbox/"},
    )
    post = PostFactory(
        workspace=workspace,
        author=owner.user,
        title="Sommerfest",
        body="Am Samstag feiern wir.",
        status="scheduled",
        scheduled_at=timezone.now() + dt.timedelta(hours=2),
        channels=[channel],
    )
    log_in(page, live_server, owner.user.username)

    # Before: the editor's check names the channel and the fix.
    page.goto(f"{live_server.url}/w/acme/posts/{post.pk}/")
    expect(page.locator('[data-testid="check-health"]')).to_contain_text("Testnetz is paused")

    # At its time: held, shown as held, and the author is told.
    post.scheduled_at = timezone.now() - dt.timedelta(minutes=1)
    post.save(update_fields=["scheduled_at"])
    publish_due(sent)
    assert Delivery.objects.get(post=post).state == "pending"
    posts_warn_held()
    local = timezone.localtime(post.scheduled_at, workspace.tz).date()
    page.goto(f"{live_server.url}{month_path(workspace, local)}")
    expect(chip(page, post)).to_contain_text("Held")
    page.goto(f"{live_server.url}/w/acme/posts/{post.pk}/")
    expect(page.locator('[data-testid="delivery-held"]')).to_contain_text("Testnetz is paused")
    page.goto(f"{live_server.url}/w/acme/publishing/")
    expect(page.locator('[data-testid="held-row"]')).to_contain_text("Sommerfest")
    page.click('[data-testid="notification-bell"]')
    expect(page.locator('[data-testid="notification"]').first).to_contain_text(
        "did not go out on Testnetz"
    )

    # The fix, from the channel list; then it goes out, once, onto the sandbox feed.
    page.goto(f"{live_server.url}/w/acme/settings/channels/")
    page.locator('[data-testid="channel-row"]', has_text="Testnetz").locator(
        'button[value="resume"]'
    ).click()
    expect(page.locator('[data-testid="channel-state"]').first).to_contain_text("Connected")
    publish_due(sent)
    publish_due(sent)
    assert Delivery.objects.get(post=post).state == "published"
    assert SandboxPost.objects.filter(account_id="tn-browser").count() == 1
    page.goto(f"{live_server.url}/w/acme/sandbox/")
    expect(page.locator('[data-testid="sandbox-post"]')).to_contain_text("Am Samstag feiern wir.")
    page.goto(f"{live_server.url}{month_path(workspace, local)}")
    expect(chip(page, post)).to_contain_text("Published")
