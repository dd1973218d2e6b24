"""The delivery state table (publishing.workflow.DELIVERY_MOVES) as a specification: every
(from, to) pair is allowed exactly when the table lists it, `delivery_move` refuses the rest
without writing, and the statements that move rows by themselves take their states from it."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest
from django.utils import timezone

import publishing
from publishing import dispatch, reconcile, services, workflow
from publishing.models import Attempt, Delivery, DeliveryState
from publishing.workflow import (
    DELIVERY_MOVES,
    DeliveryMove,
    MoveNotAllowed,
    move_allowed,
    sources_of,
)
from tests.factories import DeliveryFactory

D = DeliveryState
ALL_PAIRS = list(itertools.product(D, D))

# Every move the engine makes, written out once more: changing the table means changing this.
ALLOWED = {
    (D.PENDING, D.PENDING),  # post moved; waits for a rate-limit slot; "publish now"
    (D.PENDING, D.QUEUED),  # handed to a worker
    (D.PENDING, D.PUBLISHING),  # a manual post is due
    (D.PENDING, D.MISSED),  # too late
    (D.PENDING, D.CANCELLED),  # post unscheduled, left approval or lost the channel
    (D.PENDING, D.PUBLISHED),  # "mark done" (manual)
    (D.QUEUED, D.PENDING),  # post moved; task message lost
    (D.QUEUED, D.PUBLISHING),  # a worker claims it
    (D.QUEUED, D.CANCELLED),  # post unscheduled
    (D.PUBLISHING, D.PENDING),  # claim put back, retry, dead worker
    (D.PUBLISHING, D.PUBLISHED),  # it went out (or was found out); "mark done" (manual)
    (D.PUBLISHING, D.FAILED),  # permanent error or out of attempts
    (D.PUBLISHING, D.MISSED),  # too late at the claim or after the look-up
    (D.PUBLISHING, D.CANCELLED),  # claim refused: no longer scheduled or approved
    (D.PUBLISHING, D.UNKNOWN),  # the look-up could not tell
    (D.FAILED, D.PENDING),  # "retry now"; scheduled again
    (D.FAILED, D.PUBLISHED),  # "mark done" (manual)
    (D.CANCELLED, D.PENDING),  # scheduled again; "publish now"
    (D.MISSED, D.PENDING),  # "publish now"; scheduled again
    (D.MISSED, D.PUBLISHED),  # "mark done" (manual)
    (D.UNKNOWN, D.PENDING),  # "post again", "retry now"
    (D.UNKNOWN, D.PUBLISHED),  # "confirm live"
}


def _row(state: str) -> Delivery:
    return DeliveryFactory(state=state, job=7, remote_id="", published_at=None)


def _snapshot(delivery: Delivery) -> tuple:
    delivery.refresh_from_db()
    return delivery.state, delivery.job, delivery.updated_at, delivery.error


def test_the_table_lists_every_state_and_exactly_the_engines_moves():
    assert set(DELIVERY_MOVES) == set(D)
    assert {(f, t) for f, tos in DELIVERY_MOVES.items() for t in tos} == ALLOWED


@pytest.mark.parametrize(("from_", "to"), ALL_PAIRS, ids=[f"{f}-{t}" for f, t in ALL_PAIRS])
def test_a_move_is_allowed_exactly_when_the_table_lists_it(from_, to):
    assert move_allowed(from_, to) is ((from_, to) in ALLOWED)
    assert (from_ in sources_of(to)) is ((from_, to) in ALLOWED)


@pytest.mark.django_db
@pytest.mark.parametrize(("from_", "to"), ALL_PAIRS, ids=[f"{f}-{t}" for f, t in ALL_PAIRS])
def test_given_a_delivery_when_moved_then_it_moves_only_where_the_table_allows(from_, to):
    delivery = _row(from_)
    before = _snapshot(delivery)
    if (from_, to) in ALLOWED:
        assert services.delivery_move(delivery.pk, job=7, from_states=[from_], to=to)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.job) == (to, 8)
    else:
        with pytest.raises(MoveNotAllowed, match=f"{from_} -> {to}"):
            services.delivery_move(delivery.pk, job=7, from_states=[from_], to=to)
        assert _snapshot(delivery) == before


@pytest.mark.django_db
def test_given_one_refused_state_among_allowed_ones_then_nothing_is_written():
    delivery = _row(D.PENDING)
    before = _snapshot(delivery)
    with pytest.raises(MoveNotAllowed, match="published -> queued"):
        services.delivery_move(
            delivery.pk, job=7, from_states=[D.PENDING, D.PUBLISHED], to=D.QUEUED, error="x"
        )
    assert _snapshot(delivery) == before


@pytest.mark.django_db
@pytest.mark.parametrize("to", list(D))
def test_given_no_from_states_then_the_move_is_from_every_state_the_table_allows(to):
    movable = [s for s in D if move_allowed(s, to)]
    rows = {s: _row(s) for s in D}
    for state, delivery in rows.items():
        moved = services.delivery_move(delivery.pk, job=7, to=to)
        assert moved is (state in movable), state
        delivery.refresh_from_db()
        assert delivery.state == (to if state in movable else state)


@pytest.mark.django_db
def test_given_a_published_delivery_then_no_move_leads_out_of_it():
    assert DELIVERY_MOVES[D.PUBLISHED] == frozenset()
    delivery = _row(D.PUBLISHED)
    before = _snapshot(delivery)
    for to in D:
        assert not services.delivery_move(delivery.pk, job=7, to=to)  # not a source of any
        with pytest.raises(MoveNotAllowed):
            services.delivery_move(delivery.pk, job=7, from_states=[D.PUBLISHED], to=to)
    assert _snapshot(delivery) == before


def test_states_that_end_a_delivery_lead_only_back_to_pending_or_to_published():
    for ended in (D.FAILED, D.CANCELLED, D.MISSED, D.UNKNOWN):
        assert DELIVERY_MOVES[ended] <= {D.PENDING, D.PUBLISHED}, ended


@pytest.mark.django_db
def test_a_move_to_something_that_is_no_state_is_refused():
    delivery = _row(D.PENDING)
    with pytest.raises(MoveNotAllowed, match="not a delivery state"):
        services.delivery_move(delivery.pk, job=7, to="gone")
    with pytest.raises(MoveNotAllowed, match="at least one state"):
        services.delivery_move(delivery.pk, job=7, from_states=[], to=D.QUEUED)


def test_the_named_sets_of_peoples_actions_and_the_dispatcher_fit_the_table():
    assert workflow.RETRYABLE_STATES.issubset(sources_of(D.PENDING))
    assert workflow.MARKABLE_DONE_STATES.issubset(sources_of(D.PUBLISHED))
    assert workflow.WAITING_STATES.issubset(sources_of(D.CANCELLED) & sources_of(D.PENDING))
    assert workflow.REVIVABLE_STATES.issubset(sources_of(D.PENDING))


# --- the statements that move rows by themselves -----------------------------------------------


def test_a_statement_move_the_table_does_not_allow_fails_when_it_is_defined():
    with pytest.raises(MoveNotAllowed, match="published -> pending"):
        DeliveryMove.into(D.PENDING, from_=[D.PUBLISHED])
    assert DeliveryMove.into(D.QUEUED).sources == sources_of(D.QUEUED)


def test_the_statements_moves_are_the_engines_named_moves():
    found = {
        f"{module.__name__}.{name}": (move.sources, move.to)
        for module in (services, dispatch, reconcile)
        for name, move in vars(module).items()
        if isinstance(move, DeliveryMove)
    }
    assert found == {
        "publishing.services.CLAIM": ({D.QUEUED}, D.PUBLISHING),
        "publishing.services.PUBLISH_RESULT": ({D.PUBLISHING}, D.PUBLISHED),
        "publishing.dispatch.HAND_OVER": ({D.PENDING}, D.QUEUED),
    }
    for sources, to in found.values():
        assert all(move_allowed(s, to) for s in sources)


def _engine_files() -> list[Path]:
    root = Path(publishing.__file__).parent
    return [p for p in sorted(root.rglob("*.py")) if "migrations" not in p.parts]


def _move_names(tree: ast.Module) -> set[str]:
    """Module-level names bound to a DeliveryMove(...) / DeliveryMove.into(...)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = ast.unparse(node.value.func)
            if func in {"DeliveryMove", "DeliveryMove.into"}:
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _from_a_move(value: ast.expr, moves: set[str]) -> bool:
    """Whether `value` is `<a DeliveryMove of the module>.to` or `.source`."""
    return (
        isinstance(value, ast.Attribute)
        and value.attr in {"to", "source"}
        and isinstance(value.value, ast.Name)
        and value.value.id in moves
    )


def _functions(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                yield node.name, inner
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for inner in ast.walk(node):
                yield "<module>", inner


def _state_writes_not_from_a_move(files: list[Path]) -> list[str]:
    """Where `files` write a delivery state other than through `delivery_move` or a named
    DeliveryMove: update(state=...) with anything else, a state literal in SQL, a SQL state
    compared or set to something other than a parameter, a "to"/"from" parameter not taken from
    a DeliveryMove."""
    literal = re.compile(r"'(" + "|".join(D.values) + r")'")
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text())
        moves = _move_names(tree)
        for function, node in _functions(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')} ({function})"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"update", "bulk_update", "update_or_create"}
            ):
                for kw in node.keywords:
                    if kw.arg != "state":
                        continue
                    own = function == "delivery_move" and ast.unparse(kw.value) == "to"
                    if not (own or _from_a_move(kw.value, moves)):
                        offenders.append(f"{where}: update(state={ast.unparse(kw.value)})")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                sql = node.value
                if re.search(r"\bUPDATE\b", sql) and re.search(r"\bstate\b", sql):
                    if literal.search(sql):
                        offenders.append(f"{where}: a state literal in SQL")
                    for m in re.finditer(r"\bstate\b[^,\n]*?=\s*(\S+)", sql):
                        if not m.group(1).startswith("%"):
                            offenders.append(f"{where}: SQL state = {m.group(1)}")
            if isinstance(node, ast.Dict):  # the SQL's parameters by name
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value in {"to", "from"}
                        and not _from_a_move(value, moves)
                    ):
                        offenders.append(f"{where}: SQL parameter {key.value!r}")
    return offenders


def test_every_write_of_a_delivery_state_outside_delivery_move_takes_it_from_a_named_move():
    """The ORM's update(state=...) anywhere in the engine is `delivery_move`'s own, or writes a
    DeliveryMove's `to`; every SQL statement that writes a state takes it (and the state it
    compares) as a parameter, never as a literal."""
    assert _state_writes_not_from_a_move(_engine_files()) == []


def test_the_scan_of_state_writes_finds_each_kind_of_hard_coded_move(tmp_path):
    engine = tmp_path / "engine.py"
    engine.write_text(
        "X = DeliveryMove.into(D.QUEUED)\n"
        "def f():\n"
        "    Delivery.objects.filter(pk=1).update(state=D.QUEUED)\n"
        "    Delivery.objects.filter(pk=1).update(state=X.to)\n"
        "    params = {'to': D.PUBLISHED, 'from': X.source}\n"
        "A = \"UPDATE t SET state = 'queued', job = 1 WHERE state || '' = %s\"\n"
        "B = \"UPDATE t SET state = %s WHERE id = 1 AND state = 'pending'\"\n"
    )
    found = _state_writes_not_from_a_move([engine])
    assert found == [
        "engine.py:3 (f): update(state=D.QUEUED)",
        "engine.py:5 (f): SQL parameter 'to'",
        "engine.py:6 (<module>): a state literal in SQL",
        "engine.py:6 (<module>): SQL state = 'queued',",
        "engine.py:7 (<module>): a state literal in SQL",
        "engine.py:7 (<module>): SQL state = 'pending'",
    ]


@pytest.mark.django_db
def test_the_claims_statement_moves_what_CLAIM_says(monkeypatch):
    """On PostgreSQL the claim is one SQL statement: its states come from `CLAIM`, so with
    another (allowed) move there it claims accordingly."""
    delivery = _row(D.PENDING)
    now = timezone.now()
    assert services._claim_and_read(delivery.pk, 7, "w", now) is None  # not queued
    monkeypatch.setattr(services, "CLAIM", DeliveryMove.into(D.PUBLISHING, from_=[D.PENDING]))
    claimed, attempt_id = services._claim_and_read(delivery.pk, 7, "w", now)
    delivery.refresh_from_db()
    assert (claimed.pk, delivery.state, delivery.job) == (delivery.pk, D.PUBLISHING, 8)
    assert Attempt.objects.filter(pk=attempt_id, delivery=delivery).exists()


@pytest.mark.django_db
def test_the_results_statement_moves_what_PUBLISH_RESULT_says(monkeypatch):
    from publishing.adapters.base import PublishResult

    delivery = _row(D.UNKNOWN)
    attempt = Attempt.objects.create(
        delivery=delivery, workspace_id=delivery.workspace_id, started_at=timezone.now()
    )
    result = PublishResult(remote_id="r-1", url="https://example.com/r-1")
    assert not services._record_published(delivery, attempt, result, "published")
    monkeypatch.setattr(
        services, "PUBLISH_RESULT", DeliveryMove.into(D.PUBLISHED, from_=[D.UNKNOWN])
    )
    assert services._record_published(delivery, attempt, result, "published")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id) == (D.PUBLISHED, "r-1")
