"""The decaying pull schedule (publishing.metrics): what is due when, the quiet-post rule, joining
late, and the stop after the last step. Pure functions, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from publishing.metrics.schedule import (
    LAST_STEP,
    QUIET_AFTER,
    SCHEDULE,
    schedule_join,
    schedule_next,
)

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def test_the_schedule_is_15_min_1_h_6_h_24_h_3_d_7_d_30_d():
    assert SCHEDULE == (15 * M, H, 6 * H, 24 * H, 3 * D, 7 * D, 30 * D)
    assert LAST_STEP == 6
    assert QUIET_AFTER == 2


@pytest.mark.parametrize(
    ("age", "step", "due_after"),
    [
        (0 * M, 0, 15 * M),  # just published: the first step
        (14 * M, 0, 15 * M),
        (15 * M, 1, H),  # the 15-minute mark has passed: it joins at 1 h
        (2 * H, 2, 6 * H),
        (2 * D, 4, 3 * D),
        (29 * D, 6, 30 * D),
    ],
)
def test_given_a_post_of_some_age_when_it_joins_then_at_the_first_step_still_ahead(
    age, step, due_after
):
    assert schedule_join(published_at=T0, now=T0 + age) == (step, T0 + due_after)


def test_given_a_post_older_than_the_last_step_when_it_joins_then_it_has_nothing_due():
    assert schedule_join(published_at=T0, now=T0 + 30 * D) == (7, None)


def test_given_numbers_that_keep_changing_then_every_step_is_pulled_once_and_then_it_stops():
    step, due = schedule_join(published_at=T0, now=T0)
    pulled_at = []
    while due is not None:
        pulled_at.append(due - T0)
        step, due = schedule_next(published_at=T0, step=step, unchanged=0, now=due)
    assert pulled_at == list(SCHEDULE)
    assert step == len(SCHEDULE)


def test_given_a_quiet_post_then_after_two_unchanged_pulls_the_next_step_is_skipped_but_never_the_last():
    step, due = schedule_join(published_at=T0, now=T0)
    pulled_at, unchanged = [], -1  # the first pull has nothing to compare with: "changed"
    while due is not None:
        pulled_at.append(due - T0)
        unchanged += 1
        step, due = schedule_next(published_at=T0, step=step, unchanged=unchanged, now=due)
    # 15 min (first), 1 h (same: 1), 6 h (same: 2 -> skip 24 h), 3 d (3 -> skip 7 d), 30 d.
    assert pulled_at == [15 * M, H, 6 * H, 3 * D, 30 * D]


@pytest.mark.parametrize(
    ("step", "unchanged", "expected"),
    [
        (0, 0, (1, T0 + H)),
        (0, 1, (1, T0 + H)),
        (0, 2, (2, T0 + 6 * H)),  # skips 1 h
        (4, 5, (6, T0 + 30 * D)),  # skips 7 d
        (5, 9, (6, T0 + 30 * D)),  # the last step is never skipped
        (6, 0, (7, None)),  # after the last step: stop
    ],
)
def test_next_step_table(step, unchanged, expected):
    now = T0 + SCHEDULE[step]
    assert schedule_next(published_at=T0, step=step, unchanged=unchanged, now=now) == expected


def test_given_a_pull_that_ran_late_then_steps_already_past_are_not_pulled_one_after_another():
    # The 15-minute pull ran 7 hours late (a backlog): the next is 24 h, not 1 h and 6 h now.
    assert schedule_next(published_at=T0, step=0, unchanged=0, now=T0 + 7 * H) == (3, T0 + D)


def test_given_the_last_pull_ran_after_30_days_then_the_schedule_ends():
    assert schedule_next(published_at=T0, step=5, unchanged=0, now=T0 + 31 * D) == (7, None)
