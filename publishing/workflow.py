"""The delivery state table: every move a delivery may make, and who makes it. Nothing else
states which moves exist.

`services.delivery_move`, the one writer of `Delivery.state`, refuses a move the table does not
list; the statements that move rows by themselves (the claim's and the result's SQL, the
dispatcher's bulk hand-over) take their states from a `DeliveryMove`, checked against the table
when it is defined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from publishing.models import DeliveryState

D = DeliveryState

DELIVERY_MOVES: dict[DeliveryState, frozenset[DeliveryState]] = {
    D.PENDING: frozenset({
        D.PENDING,  # dispatch: its post was moved (new time); waits for a rate-limit slot;
        #             a person's "publish now" on a waiting or held delivery
        D.QUEUED,  # dispatch: due, handed to a worker
        D.PUBLISHING,  # dispatch: a manual channel's post is due, the assignee posts it by hand
        D.MISSED,  # dispatch: not handed over within the lateness window (never posted late)
        D.CANCELLED,  # dispatch: the post was unscheduled, left approval or lost the channel
        D.PUBLISHED,  # a person's "mark done" on a manual post made by hand before its time
    }),
    D.QUEUED: frozenset({
        D.PENDING,  # dispatch: the post was moved; reconcile: the task message was lost
        D.PUBLISHING,  # claim: a worker takes it
        D.CANCELLED,  # dispatch: the post was unscheduled, left approval or lost the channel
    }),
    D.PUBLISHING: frozenset({
        D.PENDING,  # claim put back (post moved, channel held, no rate-limit token); retry
        #             after a failure or a look-up that could not answer; reconcile: the
        #             worker died or restarted
        D.PUBLISHED,  # publish result (or the look-up found it out); "mark done" (manual)
        D.FAILED,  # publish result: a permanent error, or the attempts are used up
        D.MISSED,  # claim refused as too late, or the look-up found nothing out and it is late
        D.CANCELLED,  # claim refused: the post is no longer scheduled or approved
        D.UNKNOWN,  # the look-up could not tell whether an earlier attempt went out
    }),
    # Terminal: what went out stays on record.
    D.PUBLISHED: frozenset(),
    D.FAILED: frozenset({
        D.PENDING,  # a person's "retry now"; dispatch: the post was scheduled again
        D.PUBLISHED,  # a person's "mark done" (manual)
    }),
    D.CANCELLED: frozenset({
        D.PENDING,  # dispatch: the post was scheduled again; a person's "publish now"
    }),
    D.MISSED: frozenset({
        D.PENDING,  # a person's "publish now"; dispatch: the post was scheduled again
        D.PUBLISHED,  # a person's "mark done" (manual)
    }),
    D.UNKNOWN: frozenset({
        D.PENDING,  # a person's "post again" (checked it is not live) or "retry now"
        D.PUBLISHED,  # a person's "confirm live" with its link
    }),
}  # fmt: skip

# A person's "publish now" / "retry now" (services.delivery_publish_now): not from queued or
# publishing (in a worker's hands), not from published.
RETRYABLE_STATES: frozenset[DeliveryState] = frozenset({
    D.FAILED, D.MISSED, D.CANCELLED, D.PENDING, D.UNKNOWN
})  # fmt: skip
# A person's "mark done" on a manual post (services.delivery_mark_done).
MARKABLE_DONE_STATES: frozenset[DeliveryState] = frozenset({
    D.PENDING, D.PUBLISHING, D.FAILED, D.MISSED
})  # fmt: skip
# Not yet in a worker's hands: the dispatcher moves or cancels these when their post changed.
WAITING_STATES: frozenset[DeliveryState] = frozenset({D.PENDING, D.QUEUED})
# Ended without going out: revived when their post is scheduled again.
REVIVABLE_STATES: frozenset[DeliveryState] = frozenset({D.CANCELLED, D.FAILED, D.MISSED})


def move_allowed(from_: str, to: str) -> bool:
    """Whether the table lets a delivery in `from_` move to `to`."""
    return to in DELIVERY_MOVES.get(from_, frozenset())


_SOURCES: dict[str, frozenset[DeliveryState]] = {
    to: frozenset(from_ for from_, tos in DELIVERY_MOVES.items() if to in tos) for to in D
}


def sources_of(to: str) -> frozenset[DeliveryState]:
    """Every state the table lets move to `to` (empty for an unknown state)."""
    return _SOURCES.get(to, frozenset())


def refused_sources(from_states: Iterable[str], to: str) -> frozenset[str]:
    """The states of `from_states` the table does not let move to `to`."""
    return frozenset(from_states) - sources_of(to)


class MoveNotAllowed(ValueError):
    """A caller asked for a move the table does not list: a programming error, not a user's."""


def check_move(from_states: Iterable[str], to: str) -> frozenset[DeliveryState]:
    """`from_states` (as DeliveryStates), after checking the table allows each to `to`."""
    if to not in DeliveryState.values:
        raise MoveNotAllowed(f"{to!r} is not a delivery state")
    from_states = frozenset(from_states)
    if not from_states:
        raise MoveNotAllowed(f"a move to {to!r} needs at least one state to move from")
    if refused := refused_sources(from_states, to):
        raise MoveNotAllowed(
            f"DELIVERY_MOVES does not allow {', '.join(sorted(refused))} -> {to} "
            f"(allowed to {to}: {', '.join(sorted(sources_of(to))) or 'none'})"
        )
    return frozenset(DeliveryState(s) for s in from_states)


@dataclass(frozen=True)
class DeliveryMove:
    """A move written by a statement of its own (SQL, a bulk update) rather than through
    `delivery_move`: its states, checked against the table when it is defined (at import)."""

    sources: frozenset[DeliveryState]
    to: DeliveryState

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", check_move(self.sources, self.to))
        object.__setattr__(self, "to", DeliveryState(self.to))

    @classmethod
    def into(cls, to: str, *, from_: Iterable[str] | None = None) -> DeliveryMove:
        """The move to `to` from `from_`, or from every state the table allows."""
        return cls(frozenset(sources_of(to) if from_ is None else from_), DeliveryState(to))

    @property
    def source(self) -> DeliveryState:
        """The one state it moves from (for a statement that compares a single state)."""
        if len(self.sources) != 1:
            raise MoveNotAllowed(f"{self} moves from more than one state")
        return next(iter(self.sources))
