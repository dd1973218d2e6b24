"""The decaying pull schedule (SCHEDULE): which step a post joins at, and which comes after a pull;
plain arithmetic on times, no database. An adapter may bring a schedule of its own
(`metrics_schedule`: the test network's numbers grow within minutes, so a newcomer watches them
grow); `schedule_for` says which applies."""

from __future__ import annotations

import datetime as dt

SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(minutes=15),
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
    dt.timedelta(hours=24),
    dt.timedelta(days=3),
    dt.timedelta(days=7),
    dt.timedelta(days=30),
)
LAST_STEP = len(SCHEDULE) - 1
QUIET_AFTER = 2  # unchanged pulls in a row after which the next step is skipped
Schedule = tuple[dt.timedelta, ...]


def schedule_for(adapter) -> Schedule:
    """The pull schedule of an adapter's posts: its own `metrics_schedule`, else SCHEDULE."""
    return (adapter.metrics_schedule if adapter is not None else None) or SCHEDULE


def _first_step_after(
    published_at: dt.datetime, step: int, now: dt.datetime, steps: Schedule
) -> int:
    """The first step at or after `step` whose time is still in the future (len: none left)."""
    while step < len(steps) and published_at + steps[step] <= now:
        step += 1
    return step


def schedule_join(
    *, published_at: dt.datetime, now: dt.datetime, steps: Schedule = SCHEDULE
) -> tuple[int, dt.datetime | None]:
    """(step, next_pull_at) of a post entering the schedule now: the first step still ahead."""
    step = _first_step_after(published_at, 0, now, steps)
    return (step, published_at + steps[step]) if step < len(steps) else (step, None)


def schedule_next(
    *,
    published_at: dt.datetime,
    step: int,
    unchanged: int,
    now: dt.datetime,
    steps: Schedule = SCHEDULE,
) -> tuple[int, dt.datetime | None]:
    """(step, next_pull_at) after the pull (or the given-up attempt) for `step`.

    `unchanged` counts the pulls in a row, this one included, that brought the same numbers:
    from QUIET_AFTER on, the next step is skipped (never the last one)."""
    last = len(steps) - 1
    following = step + 1
    if unchanged >= QUIET_AFTER and following < last:
        following += 1
    following = _first_step_after(published_at, following, now, steps)
    if following > last:
        return len(steps), None
    return following, published_at + steps[following]
