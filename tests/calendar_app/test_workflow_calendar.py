"""The calendar and the workflow: status badges, the status filter, the due-soon and missed
highlights on chips, and the notice when a drag sends an approved post back to review."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from calendar_app.models import Role
from calendar_app.services import review
from calendar_app.workflow import PostStatus
from tests.calendar_app.review.test_approval_services import NOW, new_post, refresh, set_policy
from tests.conftest import login

S = PostStatus


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def month_html(client, membership, when: dt.datetime, query: str = "") -> str:
    local = when.astimezone(membership.workspace.tz)
    path = reverse("calendar:month", args=["acme", local.year, local.month])
    return client.get(path + query).content.decode()


def chip_tag(html: str, post) -> str:
    found = re.search(rf'<a class="[^"]*"[^>]*data-post-id="{post.pk}"[^>]*>', html)
    assert found, f"no chip for {post.pk}"
    return found.group(0)


@pytest.mark.parametrize(
    "hours, status, highlighted",
    [
        (5, S.IN_REVIEW, True),
        (23, S.IN_REVIEW, True),
        (30, S.IN_REVIEW, False),
        (5, S.DRAFT, False),
        (5, S.SCHEDULED, False),
    ],
)
def test_posts_awaiting_approval_close_to_their_time_are_highlighted(
    client, editor, manager, channel, hours, status, highlighted
):
    when = NOW + dt.timedelta(hours=hours)
    post = new_post(editor, channel, when=when, body="<script>alert(1)</script>")
    if status != S.DRAFT:
        review.post_submit_for_review(membership=editor, post_id=post.pk)
    if status == S.SCHEDULED:
        review.post_approve(membership=manager, post_id=post.pk)
    html = month_html(login(client, manager), manager, when)
    tag = chip_tag(html, post)
    assert ("cal-chip-due-soon" in tag) is highlighted
    assert f'data-status="{status}"' in tag
    assert "<script>alert(1)</script>" not in html


def test_a_missed_post_is_marked_on_the_calendar(client, editor, channel, manager):
    when = NOW + dt.timedelta(hours=2)
    post = new_post(editor, channel, when=when)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.approvals_mark_missed(now=when)
    html = month_html(login(client, manager), manager, when)
    assert "cal-chip-missed" in chip_tag(html, post)
    assert "Missed approval" in html


def test_the_status_filter_lists_and_applies_the_workflow_statuses(
    client, editor, manager, channel
):
    waiting = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=waiting.pk)
    draft = new_post(editor, channel)
    html = month_html(login(client, manager), manager, waiting.scheduled_at, "?status=in_review")
    for value in S.values:
        assert f'value="{value}"' in html
    assert f'data-post-id="{waiting.pk}"' in html
    assert f'data-post-id="{draft.pk}"' not in html


@pytest.mark.parametrize("needs_review", [False, True])
def test_dragging_an_approved_post_follows_the_policy_and_says_so(
    client, members, channel, needs_review
):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    set_policy(owner, time_moves_need_review=needs_review)
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    post = refresh(post)
    day = (post.scheduled_at + dt.timedelta(days=1)).astimezone(post.workspace.tz).date()
    response = login(client, editor).post(
        reverse("calendar:post_reschedule", args=["acme", post.pk]),
        {"date": day.isoformat(), "version": post.version},
    )
    data = response.json()
    assert response.status_code == 200
    if needs_review:
        assert data["status"] == S.IN_REVIEW
        assert "went back to review" in data["notice"]
        assert refresh(post).status == S.IN_REVIEW
    else:
        assert "notice" not in data
        assert refresh(post).status == S.SCHEDULED


@pytest.mark.parametrize(
    "hours, stale",
    [(-2, True), (-0.1, True), (2, False)],
)
def test_a_draft_whose_time_passed_is_flagged_as_never_going_out(
    client, editor, manager, channel, hours, stale
):
    when = NOW + dt.timedelta(hours=3)
    post = new_post(editor, channel, when=when)  # written when its time was still ahead
    with time_machine.travel(when - dt.timedelta(hours=hours), tick=False):
        html = month_html(login(client, manager), manager, when)
    assert ("cal-chip-stale" in chip_tag(html, post)) is stale
    assert ('data-testid="chip-stale"' in html) is stale


def test_a_scheduled_post_in_the_past_is_not_flagged_stale(client, editor, manager, channel):
    when = NOW + dt.timedelta(hours=1)
    post = new_post(editor, channel, when=when)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    with time_machine.travel(when + dt.timedelta(hours=1), tick=False):
        html = month_html(login(client, manager), manager, when)
    assert refresh(post).status == S.SCHEDULED
    assert "cal-chip-stale" not in chip_tag(html, post)
