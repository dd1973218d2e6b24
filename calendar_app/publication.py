"""What the delivery side tells the editorial side about a post: on which channels it went out,
is going out now, or failed.

The calendar does not import publishing: the provider is named in settings.POST_PUBLICATION
(a callable taking a condition on `post_id` and answering {post id: Publication} in one query),
loaded like Django's backends. Without one, nothing was ever published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q

from config.hooks import load_hook


@dataclass(frozen=True)
class Publication:
    """A post's deliveries, by channel id. A channel is in at most one of the sets."""

    published: frozenset[int] = frozenset()
    in_flight: frozenset[int] = frozenset()  # handed to a worker: going out now
    waiting: frozenset[int] = frozenset()  # due later, held or waiting for a retry
    failed: dict[int, str] = field(default_factory=dict)  # failed or missed: channel -> reason
    channel_names: dict[int, str] = field(default_factory=dict)
    missed: frozenset[int] = frozenset()  # of `failed`: its time passed, it never went out
    held: frozenset[int] = frozenset()  # of `waiting`: due, but the channel cannot publish

    @property
    def went_out(self) -> bool:
        """Something of this post is live somewhere: its past is on record."""
        return bool(self.published)

    @property
    def going_out(self) -> bool:
        return bool(self.in_flight)

    def names(self, channel_ids) -> str:
        return ", ".join(sorted(self.channel_names.get(c, str(c)) for c in channel_ids))


NOTHING_PUBLISHED = Publication()


def _provider() -> Callable[[Q], dict[int, Publication]] | None:
    return load_hook("POST_PUBLICATION")


def publications_for(same_posts: Q) -> dict[int, Publication]:
    """{post id: Publication} for the posts `same_posts` (a condition on `post_id`) selects;
    posts without deliveries are left out."""
    provider = _provider()
    return provider(same_posts) if provider is not None else {}


def publication_of(post_id: int) -> Publication:
    return publications_for(Q(post_id=post_id)).get(post_id, NOTHING_PUBLISHED)
