"""The decaying pull schedule (SCHEDULE): which step a post joins at, and which comes after a pull;
plain arithmetic on times, no database."""

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


def _first_step_after(published_at: dt.datetime, step: int, now: dt.datetime) -> int:
    """The first step at or after `step` whose time is still in the future (len: none left)."""
    while step <= LAST_STEP and published_at + SCHEDULE[step] <= now:
        step += 1
    return step


def schedule_join(*, published_at: dt.datetime, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """(step, next_pull_at) of a post entering the schedule now: the first step still ahead."""
    step = _first_step_after(published_at, 0, now)
    return (step, published_at + SCHEDULE[step]) if step <= LAST_STEP else (step, None)


def schedule_next(
    *, published_at: dt.datetime, step: int, unchanged: int, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """(step, next_pull_at) after the pull (or the given-up attempt) for `step`.

    `unchanged` counts the pulls in a row, this one included, that brought the same numbers:
    from QUIET_AFTER on, the next step is skipped (never the last one)."""
    following = step + 1
    if unchanged >= QUIET_AFTER and following < LAST_STEP:
        following += 1
    following = _first_step_after(published_at, following, now)
    if following > LAST_STEP:
        return len(SCHEDULE), None
    return following, published_at + SCHEDULE[following]
