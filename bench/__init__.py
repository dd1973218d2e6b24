"""Benchmarks: each module has `run() -> dict` and is listed in `bench.__main__.BENCHES`.

Every benchmark works in a throwaway database (`throwaway_database()`), never in the real one, and
`python -m bench` prints one JSON object per benchmark on stdout; progress goes to stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


# --- rigs with real Celery workers and a local fake platform (publish_burst, metrics_ingest) ----


def server_start(module: str, tmp, *args: str) -> tuple[subprocess.Popen, str]:
    """Start a local fake platform (`python -m <module> <port file> [args]`); it writes the port
    it listens on to the file. Returns the process and its base URL."""
    from pathlib import Path

    port_file = Path(tmp) / "port"
    server = subprocess.Popen(
        [sys.executable, "-m", module, str(port_file), *args],
        cwd=Path(__file__).resolve().parent.parent,
    )
    for _ in range(100):
        if port_file.exists() and port_file.read_text():
            break
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port_file.read_text()}"


def workers_wait_ready(app, names: list[str], *, timeout: float = 60) -> None:
    """Wait until every named worker answers a ping; RuntimeError after `timeout` seconds."""
    pending = set(names)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for reply in app.control.ping(destination=list(pending), timeout=0.5):
            pending -= set(reply)
    if pending:
        raise RuntimeError(f"bench workers did not start: {pending}")


def processes_stop(processes: list[subprocess.Popen]) -> None:
    """Terminate, then wait; kill what does not stop within 20 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def server_stats(url: str) -> dict:
    """The fake platform's counters (GET <url>/stats)."""
    import requests

    return requests.get(url + "/stats", timeout=5).json()
