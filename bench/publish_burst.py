"""5,000 deliveries due at the same instant, published by two worker processes through a local
no-op platform server (Mastodon's API), against the floor: a bare Celery task that only records
its call, sent the same way (all at once, no ETA) to the same workers, broker and settings.

Interleaved runs (floor, burst, floor, burst, ...), medians reported. The dispatcher's sweep
runs here once a second with beat's arguments, as beat would have a worker run it. Also
measures one post's lag on idle workers. Needs Redis; use PostgreSQL (DATABASE_URL) for
meaningful figures.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import (
    processes_stop,
    progress,
    server_start,
    server_stats,
    setup_django,
    throwaway_database,
    workers_wait_ready,
)

POSTS = int(os.environ.get("BENCH_PUBLISH_POSTS", "5000"))
WORKERS = 2
RUNS = int(os.environ.get("BENCH_PUBLISH_RUNS", "3"))
CHANNELS = 20
SINGLES = 3
LEAD_SECONDS = 3.0  # the burst is due this long after it is created (deliveries made ahead)
TIMEOUT_SECONDS = 600.0
# No rate limit gets in the way (the dispatcher here and the workers take tokens as usual).
RATE_LIMIT = 1_000_000
ROOT = Path(__file__).resolve().parent.parent


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Rig:
    """The no-op platform server and the workers (by default two, solo pool), on a queue of
    their own. `pool`: the worker's pool options; `delay`: the platform's latency in seconds."""

    def __init__(
        self,
        database_url: str,
        tmp: Path,
        *,
        workers: int = WORKERS,
        pool: tuple[str, ...] = ("--pool=solo",),
        delay: float = 0.0,
    ) -> None:
        from config.celery import app

        self.app = app
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.server, self.url = server_start("bench.noop_platform", tmp, str(delay))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DB_CONN_MAX_AGE": "600",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "PUBLISHING_ALLOW_PRIVATE_URLS": "1",
            "PUBLISHING_RATE_BURST": str(RATE_LIMIT),
            "PUBLISHING_RATE_PER_SECOND": str(RATE_LIMIT),
            "LOG_LEVEL": "WARNING",
        }
        self.names = [f"{self.queue}-{i}@localhost" for i in range(workers)]
        self.workers = [
            subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("celery")),
                    "-A",
                    "config",
                    "worker",
                    *pool,
                    "-Q",
                    self.queue,
                    "-n",
                    name,
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--include",
                    "bench.floor_task",
                ],
                cwd=ROOT,
                env=env,
                stdout=(tmp / f"worker{i}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for i, name in enumerate(self.names)
        ]
        workers_wait_ready(app, self.names)

    def take_dispatch(self) -> None:
        """The dispatcher sends its publish tasks to this rig's queue."""
        from publishing import dispatch
        from publishing.tasks import publish_delivery

        def send(taken, now):  # dispatch.deliveries_send
            for pk, job, _run_at in taken:
                publish_delivery.apply_async((pk, job), queue=self.queue)

        dispatch.deliveries_send = send

    def stop(self) -> None:
        processes_stop([*self.workers, self.server])

    def server_stats(self) -> dict:
        return server_stats(self.url)

    def server_reset(self) -> None:
        import requests

        requests.post(self.url + "/reset", timeout=5)


def _seed(rig: Rig):
    from calendar_app.models import ApprovalMode, ApprovalPolicy, Channel, Workspace
    from publishing.adapters.base import Credentials
    from publishing.credentials import credentials_save

    workspace = Workspace.objects.create(name="Burst GmbH", slug="burst")
    ApprovalPolicy.objects.create(workspace=workspace, mode=ApprovalMode.NONE)
    channels = Channel.objects.bulk_create(
        Channel(
            workspace=workspace,
            platform="mastodon",
            name=f"Mastodon {i}",
            account_id=f"{i}",
            config={"instance_url": rig.url, "username": f"bench{i}"},
        )
        for i in range(CHANNELS)
    )
    for channel in channels:
        credentials_save(channel=channel, credentials=Credentials(access_token="bench-token"))
    return workspace, channels


def _dispatch_until(done, *, due: dt.datetime) -> None:
    """Run the dispatcher's sweep here once a second with beat's arguments, as beat has a worker
    run it, until `done()`."""
    from config.celery import app
    from publishing.dispatch import deliveries_dispatch_due

    kwargs = app.conf.beat_schedule["deliveries-dispatch-due"].get("kwargs", {})
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not done():
        started = time.monotonic()
        deliveries_dispatch_due(**kwargs)
        if time.monotonic() > deadline:
            raise RuntimeError("publish burst timed out")
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def _burst(rig: Rig, workspace, channels, count: int) -> dict:
    from django.utils import timezone

    from calendar_app.models import Post, PostVariant
    from calendar_app.workflow import PostStatus
    from publishing.models import Delivery, DeliveryState

    rig.server_reset()
    due = timezone.now() + dt.timedelta(seconds=LEAD_SECONDS)
    posts = Post.objects.bulk_create(
        Post(
            workspace=workspace,
            title=f"Burst {i}",
            body=f"Burst post {uuid.uuid4().hex}",
            scheduled_at=due,
            status=PostStatus.SCHEDULED,
        )
        for i in range(count)
    )
    PostVariant.objects.bulk_create(
        PostVariant(post=p, channel=channels[i % len(channels)]) for i, p in enumerate(posts)
    )
    ids = [p.pk for p in posts]
    published = Delivery.objects.filter(post_id__in=ids, state=DeliveryState.PUBLISHED)
    _dispatch_until(lambda: published.count() >= count, due=due)
    times = list(published.values_list("published_at", flat=True))
    lags = [(t - due).total_seconds() for t in times]
    stats = rig.server_stats()
    lost = count - len(times)
    Post.objects.filter(pk__in=ids).delete()
    return {
        "throughput": count / max(lags),
        "lag_p50": _percentile(lags, 0.5),
        "lag_p99": _percentile(lags, 0.99),
        "duplicates": stats["duplicates"],
        "lost": lost,
    }


def _floor(rig: Rig, count: int) -> float:
    import redis
    from django.conf import settings

    from bench.floor_task import record_call

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = f"bench:floor:{uuid.uuid4().hex}"
    started = time.time()  # sent the way the dispatcher sends: all at once, no ETA
    for _ in range(count):
        record_call.apply_async((key,), queue=rig.queue)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while int(client.get(key) or 0) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("floor run timed out")
        time.sleep(0.05)
    last = float(client.get(f"{key}:last"))
    client.delete(key, f"{key}:last")
    return count / (last - started)


def _single_lag(rig: Rig, workspace, channels) -> float:
    from django.utils import timezone

    from calendar_app.models import Post, PostVariant
    from calendar_app.workflow import PostStatus
    from publishing.models import Delivery, DeliveryState

    lags = []
    for _ in range(SINGLES):
        due = timezone.now() + dt.timedelta(seconds=5)
        post = Post.objects.create(
            workspace=workspace, body="One post", scheduled_at=due, status=PostStatus.SCHEDULED
        )
        PostVariant.objects.create(post=post, channel=channels[0])
        done = Delivery.objects.filter(post=post, state=DeliveryState.PUBLISHED)
        _dispatch_until(done.exists, due=due)
        lags.append((done.get().published_at - due).total_seconds())
        post.delete()
    return statistics.median(lags)


def run() -> dict:
    setup_django()
    from django.db import connection
    from django.test.utils import override_settings

    from tests.conftest import database_url_for_tests

    limits = override_settings(PUBLISHING_RATE_LIMITS={"default": (RATE_LIMIT, RATE_LIMIT)})
    with throwaway_database("publish_burst"), tempfile.TemporaryDirectory() as tmp, limits:
        rig = Rig(database_url_for_tests(), Path(tmp))
        rig.take_dispatch()
        try:
            workspace, channels = _seed(rig)
            floors, bursts = [], []
            for i in range(RUNS):
                floors.append(_floor(rig, POSTS))
                progress(f"publish_burst: floor run {i + 1}: {floors[-1]:.0f}/s")
                bursts.append(_burst(rig, workspace, channels, POSTS))
                progress(f"publish_burst: burst run {i + 1}: {bursts[-1]}")
            single = _single_lag(rig, workspace, channels)
        finally:
            rig.stop()
            connection.close()
    throughput = statistics.median(b["throughput"] for b in bursts)
    floor = statistics.median(floors)
    return {
        "bench": "publish_burst",
        "posts": POSTS,
        "workers": WORKERS,
        "runs": RUNS,
        "database": connection.vendor,
        "throughput_per_s": round(throughput, 1),
        "floor_per_s": round(floor, 1),
        "ratio": round(throughput / floor, 3),
        "lag_p50_s": round(statistics.median(b["lag_p50"] for b in bursts), 2),
        "lag_p99_s": round(statistics.median(b["lag_p99"] for b in bursts), 2),
        "single_post_lag_s": round(single, 2),
        "duplicates": sum(b["duplicates"] for b in bursts),
        "lost": sum(b["lost"] for b in bursts),
    }
