"""Switching a workspace to "approval required" never leaves unapproved posts looking scheduled:
they would silently never go out, so they go back to draft, on the record."""

import pytest
import time_machine

from calendar_app.models import ApprovalMode, AuditEvent
from calendar_app.services import review
from calendar_app.workflow import PostStatus as S
from tests.calendar_app.review.test_approval_services import NOW, new_post, refresh, set_policy


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_posts_scheduled_without_approval_go_back_to_draft_when_approval_becomes_required(
    owner, editor, manager, channel
):
    set_policy(owner, mode=ApprovalMode.NONE, steps=[])
    post = new_post(editor, channel)
    review.post_schedule(membership=editor, post_id=post.pk)
    assert refresh(post).status == S.SCHEDULED

    set_policy(owner, mode=ApprovalMode.REQUIRED)

    post = refresh(post)
    assert post.status == S.DRAFT
    assert not review.post_cleared_for_publishing(post)
    event = AuditEvent.objects.filter(post=post).latest("id")
    assert (event.from_status, event.to_status, event.actor) == (S.SCHEDULED, S.DRAFT, owner.user)
    assert "Approval is now required" in event.comment


def test_approved_scheduled_posts_stay_scheduled_when_approval_becomes_required(
    owner, editor, manager, channel
):
    set_policy(owner, mode=ApprovalMode.REQUIRED)
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    assert refresh(post).status == S.SCHEDULED

    set_policy(owner, mode=ApprovalMode.REQUIRED, reminder_hours=12)

    assert refresh(post).status == S.SCHEDULED
    assert review.post_cleared_for_publishing(refresh(post))
