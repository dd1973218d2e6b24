"""Ids, numbers, dates and return addresses read from requests, one way for every view (issue 13:
no 500 on bad input). Bounded: an id is ASCII digits within the database's integer, a date lies
within MIN_YEAR..MAX_YEAR; anything else reads as not given (None), and the view answers as if
it were absent or refuses it with its own message. `str.isdigit()` is not used: it accepts
superscripts and other scripts' digits ("²", "١٢") that `int()` then refuses or reads."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

MAX_ID = 2**63 - 1  # BigAutoField's and SQLite INTEGER's upper bound
# The calendar's years: anything outside is a typo or a probe (and year 1 or 9999 overflows
# date arithmetic and time zone conversion).
MIN_YEAR, MAX_YEAR = 1971, 2999
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_int(value: object, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """`value` as an int within [low, high] when it is ASCII digits (a leading minus only when
    `low` is negative), else None."""
    if value is None:
        return None
    text = str(value).strip()
    negative = text.startswith("-") and low < 0
    if not _DIGITS.fullmatch(text[1:] if negative else text):
        return None
    number = -int(text[1:]) if negative else int(text)
    return number if low <= number <= high else None


def parse_id(value: object) -> int | None:
    """A primary key from a request (1 .. MAX_ID), else None."""
    return parse_int(value, low=1)


def parse_text(value: object, *, max_length: int) -> str:
    """A line of text typed into a field: stripped, at most `max_length` characters, without
    NUL characters (PostgreSQL refuses them in text; nobody types one)."""
    return str(value or "").replace("\x00", "").strip()[:max_length]


def parse_date(value: object) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) within MIN_YEAR..MAX_YEAR, else None."""
    try:
        day = dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


def parse_time(value: object) -> dt.time | None:
    """A time of day (HH:MM or HH:MM:SS), else None."""
    try:
        return dt.time.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def year_in_range(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def next_url(request: HttpRequest, default: str) -> str:
    """The `next` address of the request (POST, then GET) when it is a path on this site,
    else `default`. Only paths: a bare word would be taken for a view name by redirect()."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return default


class DateField(forms.DateField):
    """A date within MIN_YEAR..MAX_YEAR: year 1 or 9999 is refused with a message, not turned
    into a time the time zones cannot hold."""

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and not year_in_range(value.year):
            raise forms.ValidationError(
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": MIN_YEAR, "last": MAX_YEAR},
                code="out_of_range",
            )


class IdConverter:
    """`<id:pk>` in URL patterns: a primary key, 1 to 18 ASCII digits (always below MAX_ID), so
    a huge number in a URL is a 404 like any unknown id, never a query that overflows."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class BoundedIdsMixin:
    """For model choice fields: a value that is no id (huge, negative, not ASCII digits) is an
    invalid choice, not a query the database cannot run (SQLite raises OverflowError)."""

    def _check_ids(self, values) -> None:
        for value in values:
            if value in self.empty_values:
                continue
            if parse_id(value) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": value},
                )


class IdModelChoiceField(BoundedIdsMixin, forms.ModelChoiceField):
    def to_python(self, value):
        self._check_ids([value])
        return super().to_python(value)


class IdModelMultipleChoiceField(BoundedIdsMixin, forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        self._check_ids(value)
        return super()._check_values(value)
