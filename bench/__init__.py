"""Benchmarks: each module has `run() -> dict` and is listed in `bench.__main__.BENCHES`.

Every benchmark works in a throwaway database (`throwaway_database()`), never in the real one, and
`python -m bench` prints one JSON object per benchmark on stdout; progress goes to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def throwaway_database(suffix: str) -> Iterator[str]:
    """Create a fresh test database (SQLite or PostgreSQL, as DATABASE_URL says); drop it after.

    The SQLite file gets its own name so a benchmark never clobbers the test suite's database.
    """
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(
            settings.VAR_DIR / f"bench_{suffix}.sqlite3"
        )
    old_name = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
