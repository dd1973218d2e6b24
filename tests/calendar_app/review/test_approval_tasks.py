"""The approval beat tasks: scheduled in config/celery.py with expiries, thin over services."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from calendar_app import tasks
from calendar_app.models import Post, ReviewRound
from calendar_app.workflow import PostStatus
from config.celery import app
from tests.calendar_app.review.test_approval_services import IN_TWO_DAYS, NOW, post_in


@pytest.mark.parametrize(
    "task",
    [
        "calendar_app.tasks.approval_reminders_send",
        "calendar_app.tasks.approvals_mark_missed",
        "calendar_app.tasks.posts_warn_held",
    ],
)
def test_the_sweeps_are_on_the_beat_schedule_with_an_expiry_shorter_than_the_interval(task):
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == task]
    assert len(entries) == 1
    assert 0 < entries[0]["options"]["expires"] < entries[0]["schedule"]
    assert task in app.tasks


def test_the_reminder_task_reminds_once(editor, manager, channel):
    with time_machine.travel(NOW, tick=False):
        post_in(PostStatus.IN_REVIEW, editor, manager, channel)
    with time_machine.travel(IN_TWO_DAYS - dt.timedelta(hours=3), tick=False):
        assert tasks.approval_reminders_send.apply().get() == 1
        assert tasks.approval_reminders_send.apply().get() == 0
    assert ReviewRound.objects.get().reminder_sent_at is not None


def test_the_missed_task_marks_posts_past_their_time(editor, manager, channel):
    with time_machine.travel(NOW, tick=False):
        post = post_in(PostStatus.IN_REVIEW, editor, manager, channel)
    with time_machine.travel(IN_TWO_DAYS + dt.timedelta(seconds=30), tick=False):
        assert tasks.approvals_mark_missed.apply().get() == 1
    assert Post.objects.get(pk=post.pk).status == PostStatus.MISSED_APPROVAL
