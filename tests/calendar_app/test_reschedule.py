"""Moving posts on the calendar (services.posts.post_reschedule / post_unschedule).

Europe/Berlin: 2027-03-28 02:00 CET -> 03:00 CEST (spring forward), 2027-10-31 03:00 CEST -> 02:00
CET (fall back). "Now" is frozen well before those days.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from calendar_app.models import Post
from calendar_app.services.posts import StaleEdit, post_reschedule, post_unschedule
from tests.factories import ChannelFactory, PostFactory

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
NOW = dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def post_at(workspace, channel, editor):
    def make(when: dt.datetime | None, **kwargs) -> Post:
        return PostFactory(
            workspace=workspace, scheduled_at=when, author=editor.user, channels=[channel], **kwargs
        )

    return make


@pytest.mark.parametrize(
    ("scheduled_local", "target_day", "expected_utc"),
    [
        # 09:00 CET (UTC+1) -> 09:00 CEST (UTC+2)
        (berlin(2027, 3, 20, 9, 0), dt.date(2027, 4, 2), utc(2027, 4, 2, 7, 0)),
        # 09:00 CEST -> 09:00 CET after the autumn change
        (berlin(2027, 10, 20, 9, 0), dt.date(2027, 11, 2), utc(2027, 11, 2, 8, 0)),
        # and back again in spring
        (berlin(2027, 4, 2, 9, 0), dt.date(2027, 3, 20), utc(2027, 3, 20, 8, 0)),
        # late evening stays on its local day
        (berlin(2027, 3, 20, 23, 30), dt.date(2027, 4, 2), utc(2027, 4, 2, 21, 30)),
    ],
)
def test_given_scheduled_post_when_moved_across_dst_then_local_time_of_day_is_kept(
    editor, post_at, scheduled_local, target_day, expected_utc
):
    post = post_at(scheduled_local)

    moved = post_reschedule(membership=editor, post_id=post.pk, day=target_day)

    post.refresh_from_db()
    assert post.scheduled_at == expected_utc == moved.scheduled_at
    assert post.scheduled_at.astimezone(BERLIN).time() == scheduled_local.time()


def test_given_post_at_0230_when_moved_onto_spring_forward_day_then_it_lands_at_0330(
    editor, post_at
):
    post = post_at(berlin(2027, 3, 20, 2, 30))

    post_reschedule(membership=editor, post_id=post.pk, day=dt.date(2027, 3, 28))

    post.refresh_from_db()
    assert post.scheduled_at == utc(2027, 3, 28, 1, 30)
    assert post.scheduled_at.astimezone(BERLIN).time() == dt.time(3, 30)


def test_given_week_slot_in_the_spring_gap_when_dropped_then_time_moves_forward_by_the_gap(
    editor, post_at
):
    post = post_at(berlin(2027, 3, 20, 9, 30))

    post_reschedule(
        membership=editor, post_id=post.pk, day=dt.date(2027, 3, 28), local_time=dt.time(2, 30)
    )

    post.refresh_from_db()
    assert post.scheduled_at.astimezone(BERLIN) == berlin(2027, 3, 28, 3, 30)


def test_given_idea_when_dropped_on_a_day_then_it_gets_nine_oclock_local(editor, post_at):
    idea = post_at(None)

    post_reschedule(membership=editor, post_id=idea.pk, day=dt.date(2027, 7, 1))

    idea.refresh_from_db()
    assert idea.scheduled_at == utc(2027, 7, 1, 7, 0)
    assert idea.version == 2


def test_given_week_slot_when_dropped_with_a_time_then_post_is_at_that_local_time(editor, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 45))

    post_reschedule(
        membership=editor, post_id=post.pk, day=dt.date(2027, 3, 22), local_time=dt.time(14, 45)
    )

    post.refresh_from_db()
    assert post.scheduled_at == utc(2027, 3, 22, 13, 45)


def test_given_stale_version_when_rescheduling_then_refused_and_nothing_changes(editor, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 0))
    Post.objects.filter(pk=post.pk).update(version=3)  # someone else saved twice meanwhile

    with pytest.raises(StaleEdit, match="Someone else changed this post"):
        post_reschedule(
            membership=editor, post_id=post.pk, day=dt.date(2027, 3, 22), expected_version=1
        )

    post.refresh_from_db()
    assert post.scheduled_at == berlin(2027, 3, 20, 9, 0)
    assert post.version == 3


def test_given_current_version_when_rescheduling_then_version_increments(editor, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 0))

    moved = post_reschedule(
        membership=editor, post_id=post.pk, day=dt.date(2027, 3, 22), expected_version=1
    )

    assert moved.version == 2


@pytest.mark.parametrize(
    "target_day",
    [dt.date(2027, 2, 27), dt.date(2027, 3, 1)],  # yesterday; today but 09:00 is before "now"
)
def test_given_a_day_in_the_past_when_rescheduling_then_refused(editor, post_at, target_day):
    # Now is 11:00 Berlin on 2027-03-01.
    post = post_at(berlin(2027, 3, 20, 9, 0))

    with pytest.raises(ValidationError, match="cannot be scheduled in the past"):
        post_reschedule(membership=editor, post_id=post.pk, day=target_day)

    post.refresh_from_db()
    assert post.scheduled_at == berlin(2027, 3, 20, 9, 0)


def test_given_viewer_when_rescheduling_then_permission_denied(viewer, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 0))

    with pytest.raises(PermissionDenied, match="may not reschedule"):
        post_reschedule(membership=viewer, post_id=post.pk, day=dt.date(2027, 3, 22))


def test_given_viewer_when_unscheduling_then_permission_denied(viewer, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 0))

    with pytest.raises(PermissionDenied):
        post_unschedule(membership=viewer, post_id=post.pk)

    post.refresh_from_db()
    assert post.scheduled_at is not None


def test_given_post_of_another_workspace_when_rescheduling_then_refused_as_missing(
    editor, other_workspace
):
    foreign = PostFactory(
        workspace=other_workspace,
        scheduled_at=berlin(2027, 3, 20, 9, 0),
        channels=[other_workspace.channels.get()],
    )

    with pytest.raises(ValidationError) as excinfo:
        post_reschedule(membership=editor, post_id=foreign.pk, day=dt.date(2027, 3, 22))

    assert excinfo.value.code == "missing"
    foreign.refresh_from_db()
    assert foreign.scheduled_at == berlin(2027, 3, 20, 9, 0)


def test_given_idea_too_long_for_x_when_dropped_on_a_day_then_refused_with_the_reason(
    workspace, editor
):
    x = ChannelFactory(workspace=workspace, platform="x", name="Acme on X")
    idea = PostFactory(workspace=workspace, scheduled_at=None, body="a" * 300, channels=[x])

    with pytest.raises(ValidationError) as excinfo:
        post_reschedule(membership=editor, post_id=idea.pk, day=dt.date(2027, 3, 22))

    assert excinfo.value.messages == [
        "Acme on X: The text is 300 characters long; X allows 280 (20 too many)."
    ]
    idea.refresh_from_db()
    assert idea.scheduled_at is None


def test_given_idea_without_channels_when_dropped_on_a_day_then_refused(workspace, editor):
    idea = PostFactory(workspace=workspace, scheduled_at=None)

    with pytest.raises(ValidationError, match="at least one channel"):
        post_reschedule(membership=editor, post_id=idea.pk, day=dt.date(2027, 3, 22))


def test_given_scheduled_post_when_unscheduled_then_it_becomes_an_idea(editor, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 0))

    result = post_unschedule(membership=editor, post_id=post.pk, expected_version=1)

    post.refresh_from_db()
    assert post.scheduled_at is None
    assert post.is_idea
    assert post.version == result.version == 2


def test_given_stale_version_when_unscheduling_then_refused(editor, post_at):
    post = post_at(berlin(2027, 3, 20, 9, 0))

    with pytest.raises(StaleEdit):
        post_unschedule(membership=editor, post_id=post.pk, expected_version=7)

    post.refresh_from_db()
    assert post.scheduled_at is not None
