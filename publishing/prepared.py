"""Prepared statements for the publish hot path (PostgreSQL with psycopg 3).

Django sends every query as text with its parameters inlined, so PostgreSQL parses and plans it
on every call. For the few statements a publish task runs per post that was most of their cost:
the claim's read (a six-table join with a subquery) took ~1 ms of server time to plan and 0.1 ms
to run. `cursor()` returns a cursor whose statements are sent with server-side parameters and
prepared once per connection (psycopg keeps the names), wrapped like Django's own cursors so
queries are counted, logged and their errors mapped as usual.

Behind a transaction-pooling proxy (PgBouncer before 1.21) named prepared statements break;
Django's setting for such a proxy, `DISABLE_SERVER_SIDE_CURSORS`, turns them off here too.
"""

from __future__ import annotations

import sys

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper

try:
    import psycopg
except ImportError:  # psycopg2, or no PostgreSQL driver at all
    psycopg = None


if psycopg is not None:
    TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
    TEXT = psycopg.pq.Format.TEXT

    class _PreparedCursor(psycopg.Cursor):
        """Server-side parameters; every statement prepared on first use."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)


class _DebugWrapper(CursorDebugWrapper):
    """Django's debug wrapper (DEBUG, assertNumQueries), logging the statement with its
    parameters: psycopg keeps no text of a prepared statement's execution, which is where
    Django's logging looks for it."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return super(CursorDebugWrapper, self).execute(sql, params)


def enabled(db=None) -> bool:
    db = db or connections[DEFAULT_DB_ALIAS]
    return (
        psycopg is not None
        and db.vendor == "postgresql"
        and not db.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    )


def cursor():
    """A cursor of the default connection whose statements are prepared where that is possible
    (else Django's ordinary cursor). Use it for statements run again and again with new
    parameters, written with %s / %(name)s placeholders and no literal % signs."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: no proxy lookup per attribute
    if not enabled(db):
        return db.cursor()
    db.ensure_connection()
    raw = db.connection
    if raw.prepare_threshold is None:
        # Django turns automatic preparing off (None), which refuses prepare=True as well. A
        # threshold nobody reaches keeps Django's own queries unprepared and lets ours be.
        raw.prepare_threshold = sys.maxsize
    prepared = _PreparedCursor(raw)
    # Like Django's create_cursor: the time zone of loaded datetimes is the connection's.
    if db.timezone != raw.adapters.get_loader(TIMESTAMPTZ_OID, TEXT).timezone:
        from django.db.backends.postgresql.psycopg_any import register_tzloader

        register_tzloader(db.timezone, prepared)
    if db.queries_logged:
        return _DebugWrapper(prepared, db)
    return db.make_cursor(prepared)
