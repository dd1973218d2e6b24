"""calendar_app.params: the one way views read ids, numbers, dates and return addresses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory

from calendar_app.params import (
    MAX_ID,
    next_url,
    parse_date,
    parse_id,
    parse_int,
    parse_time,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        ("-1", None),
        ("²", None),  # str.isdigit() says yes
        ("١٢", None),  # int() reads it as 12
        ("1e3", None),
        ("", None),
        (None, None),
        ("a\x00b", None),
    ],
)
def test_an_id_is_ascii_digits_within_the_database_integer(value, expected):
    assert parse_id(value) == expected


def test_a_negative_number_only_where_asked_for():
    assert parse_int("-3") is None
    assert parse_int("-3", low=-10) == -3
    assert parse_int("11", high=10) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-29", dt.date(2026, 3, 29)),
        ("0001-01-01", None),
        ("9999-12-31", None),
        ("2026-02-30", None),
        ("29.03.2026", None),
        (None, None),
    ],
)
def test_a_date_is_iso_and_within_the_calendars_years(value, expected):
    assert parse_date(value) == expected


def test_a_time_is_hours_and_minutes():
    assert parse_time("09:30") == dt.time(9, 30)
    assert parse_time("25:61") is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/w/acme/list/", "/w/acme/list/"),
        ("0001-01-01", "/fallback/"),  # redirect() would look it up as a view name
        ("//evil.test/", "/fallback/"),
        ("https://evil.test/", "/fallback/"),
        ("", "/fallback/"),
    ],
)
def test_next_is_a_path_on_this_site_or_the_default(target, expected):
    request = RequestFactory().post("/x/", {"next": target})
    assert next_url(request, "/fallback/") == expected


def test_text_loses_nul_characters_and_is_bounded():
    from calendar_app.params import parse_text

    assert parse_text(" a\x00b ", max_length=10) == "ab"
    assert parse_text("x" * 50, max_length=10) == "x" * 10
    assert parse_text(None, max_length=10) == ""
