"""The write of one pulled batch: the rows still at the lease get their new numbers and schedule
(compare-and-set), and their snapshots are stored; one statement on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from publishing.adapters.base import METRIC_NAMES, MetricsSnapshot
from publishing.models import MetricSnapshot, RemotePost


@dataclass
class PullWrite:
    """What the pull writes for one RemotePost (and its snapshot when `snapshot`)."""

    id: int
    step: int
    next_pull_at: dt.datetime | None
    unchanged: int
    failures: int
    last_pulled_at: dt.datetime | None
    last_error: str
    values: tuple[int | None, ...]
    snapshot: bool = False
    seq: int = 0
    raw: dict[str, Any] = field(default_factory=dict)


def metric_values(snapshot: MetricsSnapshot) -> tuple[int | None, ...]:
    """An adapter's numbers as RemotePost's metric columns, in METRIC_NAMES order (missing or not
    a number: None)."""
    found = snapshot.values or {}
    out: list[int | None] = []
    for name in METRIC_NAMES:
        value = found.get(name)
        try:
            out.append(None if value is None else int(value))
        except (TypeError, ValueError):
            out.append(None)
    return tuple(out)


# The write of one batch: one statement on PostgreSQL, the batch's rows as one JSON parameter
# (jsonb_to_recordset): the compare-and-set UPDATE of the RemotePosts still at the lease, and
# the INSERT of the snapshots of exactly those rows (a second run finds none; a duplicate seq
# is ignored anyway).
_PG_WRITE = """
WITH v AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(
        id bigint, step smallint, next_pull_at timestamptz, unchanged smallint,
        failures smallint, last_pulled_at timestamptz, last_error text, {metric_types},
        snapshot boolean, seq integer, raw jsonb
    )
), moved AS (
    UPDATE {remote_post} AS rp
       SET step = v.step, next_pull_at = v.next_pull_at, unchanged = v.unchanged,
           failures = v.failures, last_pulled_at = v.last_pulled_at, last_error = v.last_error,
           {metric_set}
      FROM v
     WHERE rp.id = v.id AND rp.next_pull_at = %(lease)s
    RETURNING rp.id
), stored AS (
    INSERT INTO {snapshot} (remote_post_id, seq, taken_at, {metrics}, raw)
    SELECT v.id, v.seq, v.last_pulled_at, {v_metrics}, coalesce(v.raw, '{{}}'::jsonb)
      FROM v JOIN moved ON moved.id = v.id
     WHERE v.snapshot
    ON CONFLICT (remote_post_id, seq) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM stored)
""".format(
    metric_types=", ".join(f"{m} bigint" for m in METRIC_NAMES),
    metrics=", ".join(METRIC_NAMES),
    v_metrics=", ".join(f"v.{m}" for m in METRIC_NAMES),
    metric_set=", ".join(f"{m} = v.{m}" for m in METRIC_NAMES),
    remote_post=RemotePost._meta.db_table,
    snapshot=MetricSnapshot._meta.db_table,
)

_WRITE_FIELDS = [
    "step",
    "next_pull_at",
    "unchanged",
    "failures",
    "last_pulled_at",
    "last_error",
    *METRIC_NAMES,
]


def pull_writes_store(writes: list[PullWrite], lease: dt.datetime) -> tuple[int, int]:
    """Store a batch's results on the rows still at `lease`: (rows updated, snapshots stored)."""
    if not writes:
        return 0, 0
    if connection.vendor == "postgresql":
        return _write_pg(writes, lease)
    return _write_orm(writes, lease)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _write_pg(writes: list[PullWrite], lease: dt.datetime) -> tuple[int, int]:
    rows = [
        {
            "id": w.id,
            "step": w.step,
            "next_pull_at": _iso(w.next_pull_at),
            "unchanged": w.unchanged,
            "failures": w.failures,
            "last_pulled_at": _iso(w.last_pulled_at),
            "last_error": w.last_error,
            "snapshot": w.snapshot,
            "seq": w.seq,
            "raw": w.raw if w.snapshot else None,
            **dict(zip(METRIC_NAMES, w.values, strict=True)),
        }
        for w in writes
    ]
    params = {"rows": json.dumps(rows, cls=DjangoJSONEncoder), "lease": lease}
    with connection.cursor() as cursor:
        cursor.execute(_PG_WRITE, params)
        moved, stored = cursor.fetchone()
    return int(moved), int(stored)


def _write_orm(writes: list[PullWrite], lease: dt.datetime) -> tuple[int, int]:
    """Elsewhere (SQLite): the same in one transaction (SQLite's IMMEDIATE transactions
    serialise the writers, so the compare-and-set read holds until the commit): the rows still
    at the lease, one UPDATE statement run for each of them (executemany: Django's bulk_update
    built its CASE expressions at ~5 ms a row), and one bulk insert of their snapshots."""
    with transaction.atomic():
        mine = set(
            RemotePost.objects.filter(
                pk__in=[w.id for w in writes], next_pull_at=lease
            ).values_list("pk", flat=True)
        )
        writes = [w for w in writes if w.id in mine]
        if not writes:
            return 0, 0
        quote = connection.ops.quote_name
        adapt = connection.ops.adapt_datetimefield_value
        sql = "UPDATE {table} SET {columns} WHERE {pk} = %s".format(
            table=quote(RemotePost._meta.db_table),
            columns=", ".join(f"{quote(name)} = %s" for name in _WRITE_FIELDS),
            pk=quote("id"),
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                sql,
                [
                    (
                        w.step,
                        adapt(w.next_pull_at),
                        w.unchanged,
                        w.failures,
                        adapt(w.last_pulled_at),
                        w.last_error,
                        *w.values,
                        w.id,
                    )
                    for w in writes
                ],
            )
        snapshots = [
            MetricSnapshot(
                remote_post_id=w.id,
                seq=w.seq,
                taken_at=w.last_pulled_at,
                raw=w.raw,
                **dict(zip(METRIC_NAMES, w.values, strict=True)),
            )
            for w in writes
            if w.snapshot
        ]
        if snapshots:
            MetricSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
    return len(writes), len(snapshots)
