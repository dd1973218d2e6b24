"""The helpers behind every adapter's metrics and history: timestamps, counts that stay missing,
and walking pages newest first until `since` or `limit`."""

from __future__ import annotations

import datetime as dt

import pytest

from publishing.adapters.base import RemotePostInfo
from publishing.adapters.listing import (
    MAX_PAGES,
    collect_recent,
    counts,
    excerpt,
    parse_time,
)

T0 = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)


def post(remote_id: str, hours_ago: float) -> tuple[dt.datetime, RemotePostInfo]:
    moment = T0 - dt.timedelta(hours=hours_ago)
    return moment, RemotePostInfo(remote_id=remote_id, url="", text="", published_at=moment)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-20T08:30:00Z", dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)),
        ("2026-05-20T08:30:00+0000", dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)),
        ("2026-05-20T10:30:00+02:00", dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)),
        ("2026-05-20T08:30:00", dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)),  # naive = UTC
        (1779265800, dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)),  # epoch seconds
        (1779265800000, dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)),  # epoch millis
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_given_platform_timestamps_when_parsed_then_aware_utc_or_none(value, expected):
    assert parse_time(value) == expected


def test_given_missing_zero_and_string_numbers_when_counted_then_missing_stays_missing():
    assert counts(likes=0, comments=None, shares="12", saves="n/a", quotes=True, clicks=-1) == {
        "likes": 0,
        "shares": 12,
    }


def test_given_html_when_excerpted_then_paragraphs_spaced_and_links_whole():
    text = (
        '<p>Hello &amp; <a href="x"><span>https://</span><span>acme.test/a</span></a></p><p>Bye</p>'
    )

    assert excerpt(text, is_html=True) == "Hello & https://acme.test/a Bye"


def test_given_long_text_when_excerpted_then_bounded():
    assert len(excerpt("x" * 5000)) == 2000


def test_given_pages_when_collecting_then_stops_at_first_post_older_than_since_and_reads_no_further():
    requested = []

    def pages():
        for number, page in enumerate(
            [[post("a", 1), post("b", 5)], [post("c", 30), post("d", 50)], [post("e", 60)]]
        ):
            requested.append(number)
            yield page

    found = collect_recent(pages(), since=T0 - dt.timedelta(hours=40), limit=100)

    assert [p.remote_id for p in found] == ["a", "b", "c"]
    assert requested == [0, 1]  # the third page is never asked for


def test_given_more_posts_than_the_limit_when_collecting_then_limit_newest_and_no_further_page():
    requested = []

    def pages():
        for number in range(5):
            requested.append(number)
            yield [post(f"p{number}-{i}", number * 10 + i) for i in range(10)]

    found = collect_recent(pages(), since=T0 - dt.timedelta(days=30), limit=15)

    assert len(found) == 15
    assert found[0].remote_id == "p0-0"
    assert requested == [0, 1]


def test_given_excluded_items_when_collecting_then_skipped_but_their_time_still_stops_the_walk():
    old_repost = (T0 - dt.timedelta(days=3), None)
    found = collect_recent(
        [[post("a", 1), (T0, None), old_repost, post("z", 1)]],
        since=T0 - dt.timedelta(days=2),
        limit=10,
    )

    assert [p.remote_id for p in found] == ["a"]


def test_given_out_of_order_and_repeated_posts_when_collecting_then_newest_first_once_each():
    found = collect_recent(
        [[post("b", 5), post("a", 1)], [post("a", 1), post("c", 9)]],
        since=T0 - dt.timedelta(days=1),
        limit=10,
    )

    assert [p.remote_id for p in found] == ["a", "b", "c"]


def test_given_endless_pages_when_collecting_then_gives_up_after_max_pages():
    requested = []

    def pages():
        while True:
            requested.append(1)
            yield [(None, None)]  # e.g. a page of items that are not the account's own posts

    assert collect_recent(pages(), since=T0 - dt.timedelta(days=1), limit=10) == []
    assert len(requested) == MAX_PAGES


def test_given_naive_since_when_collecting_then_value_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        collect_recent([], since=dt.datetime(2026, 5, 1), limit=10)


def test_given_zero_limit_when_collecting_then_nothing_and_no_page_read():
    def pages():
        raise AssertionError("no page should be read")
        yield []

    assert collect_recent(pages(), since=T0, limit=0) == []
