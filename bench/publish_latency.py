"""Publishing against a platform that takes its time: 400 deliveries due at the same instant,
the no-op platform answering each status after 300 ms (a typical POST to Mastodon or the Graph
API), one publishing worker as `make run` starts it, against the pool it had before.

Throughput here is set by how many platform calls are in flight at once, not by CPU: what
publish_burst cannot show, with a platform that answers at once. Same rig as publish_burst
(dispatcher as beat runs it, rate limits out of the way), one throwaway database per pool.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench import progress, setup_django, throwaway_database

POSTS = int(os.environ.get("BENCH_LATENCY_POSTS", "400"))
LATENCY = float(os.environ.get("BENCH_LATENCY_SECONDS", "0.3"))
# (name, the worker's pool options): the Procfile's publisher now, and before.
POOLS = [
    ("threads_32", ("--pool=threads", "--concurrency=32")),
    ("prefork_4", ("--pool=prefork", "--concurrency=4")),
]


def _one(name: str, pool: tuple[str, ...]) -> dict:
    from django.db import connection

    from bench.publish_burst import Rig, _burst, _seed
    from tests.conftest import database_url_for_tests

    with throwaway_database(f"publish_latency_{name}"), tempfile.TemporaryDirectory() as tmp:
        rig = Rig(database_url_for_tests(), Path(tmp), workers=1, pool=pool, delay=LATENCY)
        rig.take_dispatch()
        try:
            workspace, channels = _seed(rig)
            result = _burst(rig, workspace, channels, POSTS)
        finally:
            rig.stop()
            connection.close()
    progress(f"publish_latency: {name}: {result}")
    return {
        "throughput_per_s": round(result["throughput"], 1),
        "lag_p50_s": round(result["lag_p50"], 2),
        "lag_p99_s": round(result["lag_p99"], 2),
        "duplicates": result["duplicates"],
        "lost": result["lost"],
    }


def run() -> dict:
    setup_django()
    from django.test.utils import override_settings

    from bench.publish_burst import RATE_LIMIT

    limits = override_settings(PUBLISHING_RATE_LIMITS={"default": (RATE_LIMIT, RATE_LIMIT)})
    with limits:
        results = {name: _one(name, pool) for name, pool in POOLS}
    return {
        "bench": "publish_latency",
        "posts": POSTS,
        "platform_latency_s": LATENCY,
        **results,
    }
