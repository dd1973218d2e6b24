"""Wall-clock <-> UTC conversions across daylight-saving changes (Europe/Berlin)."""

import datetime as dt
from zoneinfo import ZoneInfo

from calendar_app.timeutils import local_day_bounds, local_to_utc, move_to_day

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def test_winter_time_is_utc_plus_one():
    assert local_to_utc(dt.date(2027, 1, 15), dt.time(9, 0), BERLIN) == dt.datetime(
        2027, 1, 15, 8, 0, tzinfo=UTC
    )


def test_summer_time_is_utc_plus_two():
    assert local_to_utc(dt.date(2027, 7, 15), dt.time(9, 0), BERLIN) == dt.datetime(
        2027, 7, 15, 7, 0, tzinfo=UTC
    )


def test_moving_across_spring_change_keeps_nine_oclock_local():
    before = dt.datetime(2027, 3, 20, 8, 0, tzinfo=UTC)  # 09:00 CET
    moved = move_to_day(before, dt.date(2027, 4, 2), BERLIN)
    assert moved == dt.datetime(2027, 4, 2, 7, 0, tzinfo=UTC)
    assert moved.astimezone(BERLIN).time() == dt.time(9, 0)


def test_moving_across_autumn_change_keeps_nine_oclock_local():
    before = dt.datetime(2027, 10, 20, 7, 0, tzinfo=UTC)  # 09:00 CEST
    moved = move_to_day(before, dt.date(2027, 11, 2), BERLIN)
    assert moved.astimezone(BERLIN).time() == dt.time(9, 0)
    assert moved == dt.datetime(2027, 11, 2, 8, 0, tzinfo=UTC)


def test_nonexistent_local_time_moves_forward_by_the_gap():
    # 2027-03-28 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00)
    instant = local_to_utc(dt.date(2027, 3, 28), dt.time(2, 30), BERLIN)
    assert instant.astimezone(BERLIN).time() == dt.time(3, 30)


def test_ambiguous_local_time_takes_the_first_occurrence():
    # 2027-10-31 02:30 happens twice; the first is still summer time (UTC+2)
    instant = local_to_utc(dt.date(2027, 10, 31), dt.time(2, 30), BERLIN)
    assert instant == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_day_bounds_of_the_short_dst_day_span_23_hours():
    start, end = local_day_bounds(dt.date(2027, 3, 28), dt.date(2027, 3, 28), BERLIN)
    assert end - start == dt.timedelta(hours=23)
