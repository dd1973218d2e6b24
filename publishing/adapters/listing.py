"""Small helpers shared by the adapters' metrics and history methods: platform timestamps as
aware UTC datetimes, metric values where a missing number stays missing (never 0), walking
an account's posts page by page, newest first, until `since` or `limit`, and the look-up's walk
back to a delivery's `not_before`.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from publishing.adapters.base import RemotePostInfo, lookup_incomplete

# A listing never follows more pages than this (a platform repeating its cursor, or an account
# whose every recent item is a repost, must not keep a worker busy for ever).
MAX_PAGES = 50
TEXT_EXCERPT = 2000  # characters of a post's text kept on an imported post

_BREAK_RE = re.compile(r"(?i)<br\s*/?>|</(?:p|div|li|h\d)>")
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")


def require_aware(since: dt.datetime) -> dt.datetime:
    """`since` in UTC; a naive datetime is a programming error (times are UTC inside)."""
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError("since must be a timezone-aware datetime")
    return since.astimezone(dt.UTC)


def parse_time(value: Any) -> dt.datetime | None:
    """A platform timestamp as an aware UTC datetime: ISO 8601 (with Z, +00:00 or +0000; a
    naive one is UTC, as Pinterest sends them), or epoch seconds/milliseconds. None when absent
    or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def created_since(value: Any, not_before: dt.datetime | None) -> bool:
    """Whether a listed post created at `value` (a platform timestamp, see parse_time) can be
    the one a publish request made (`PublishRequest.not_before`, for find_existing). Without
    a bound any post can, as before. With one, a post whose time is missing or unreadable
    cannot: taking an older identical post for ours loses the post silently, whereas posting
    again at worst makes a visible duplicate."""
    if not_before is None:
        return True
    moment = parse_time(value)
    return moment is not None and moment >= not_before


def walk_back_to(
    pages: Iterable[Iterable[Any]],
    not_before: dt.datetime | None,
    *,
    time_of: Callable[[Any], Any],
    max_pages: int,
) -> Iterator[Any]:
    """The items of `pages` (a generator of listing pages, newest first, so pages not needed
    are never requested), for find_existing: page after page until one ends with an item
    created before `not_before` (its time, from `time_of`, missing or unreadable counts as
    older), at most `max_pages` pages. Without a bound only the first page is read, as the
    look-ups did before they paged. The caller stops when it has its match; later pages are
    then not read either. A caller that reads on to the end of a walk that used up its bound
    without reaching `not_before` gets LookupIncomplete (it cannot tell).

    The last item of a page decides rather than the first older one: a pinned or otherwise
    out-of-order post at the top of a page must not end the walk before the newer posts
    beneath it were seen (created_since still keeps such an older post from matching)."""
    bound = 1 if not_before is None else max_pages
    read = 0
    for page in itertools.islice(pages, bound):
        read += 1
        items = list(page)
        yield from items
        if not_before is not None and items:
            moment = parse_time(time_of(items[-1]))
            if moment is None or moment < not_before:
                return
    if not_before is not None and read >= bound:
        # The bound came before not_before, and the caller found nothing in what was read:
        # the post may be further back. That is "cannot tell", never "not out".
        raise lookup_incomplete(bound)


def as_count(value: Any) -> int | None:
    """A reported count as an int (platforms send numbers or numeric strings); None when the
    platform did not report it or sent something that is not a count."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def counts(**values: Any) -> dict[str, int]:
    """Only the numbers the platform reported: a missing number is left out, never 0."""
    return {name: n for name, value in values.items() if (n := as_count(value)) is not None}


def excerpt(text: str | None, *, is_html: bool = False) -> str:
    """A post's text for lists: tags removed when it is HTML (a line or paragraph break becomes
    a space; inline tags vanish, so a link split into spans stays whole), whitespace collapsed,
    bounded."""
    text = text or ""
    if is_html:
        text = html.unescape(_TAG_RE.sub("", _BREAK_RE.sub(" ", text)))
    return _SPACE_RE.sub(" ", text).strip()[:TEXT_EXCERPT]


# One item of a listing page: when it happened (for the stop rule; a repost's time is when it
# was reposted) and the post, or None for an item that is not one of the account's own
# top-level posts (reposts, boosts, replies, pins of older posts).
ListedItem = tuple[dt.datetime | None, RemotePostInfo | None]


def collect_recent(
    pages: Iterable[Iterable[ListedItem]], *, since: dt.datetime, limit: int
) -> list[RemotePostInfo]:
    """Walk `pages` (a generator, so pages not needed are never requested) of items newest
    first; stop at the first item older than `since`, at `limit` posts, or after MAX_PAGES.
    Returns the posts newest first, each remote id once."""
    since = require_aware(since)
    if limit <= 0:
        return []
    found: list[RemotePostInfo] = []
    seen: set[str] = set()
    iterator: Iterator[Iterable[ListedItem]] = iter(pages)
    for _page_number, page in zip(range(MAX_PAGES), iterator, strict=False):
        for moment, post in page:
            if moment is not None and moment < since:
                return _newest_first(found)
            if post is None or post.remote_id in seen:
                continue
            if post.published_at < since:
                return _newest_first(found)
            seen.add(post.remote_id)
            found.append(post)
            if len(found) >= limit:
                return _newest_first(found)
    return _newest_first(found)


def _newest_first(posts: list[RemotePostInfo]) -> list[RemotePostInfo]:
    return sorted(posts, key=lambda post: post.published_at, reverse=True)
