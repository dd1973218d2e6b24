"""Refreshing the metrics of 100,000 published deliveries across 200 X channels: the real sweep
(enrolment, then the due claim in per-channel batches of 100), two real Celery worker processes
(solo pool, like bench/publish_burst), the real X adapter over HTTP against a local fake of
GET /2/tweets?ids= (bench/fake_metrics_platform), and the real per-channel read limiter (default
limits) in Redis.

The deliveries were published just under 15 minutes ago: the sweep enrols them (timed apart),
then they all become due at once (the 15-minute step, LEAD_SECONDS after seeding). The clock runs from that moment until
the last snapshot is stored; `per_s` is deliveries / that time. The sweep is called once a
second as beat would call it (beat: once a minute; the first call claims everything anyway).
`BENCH_METRICS_DELIVERIES` runs it smaller. Needs Redis; use PostgreSQL (DATABASE_URL) for
meaningful figures.
"""

from __future__ import annotations

import datetime as dt
import os
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

DELIVERIES = int(os.environ.get("BENCH_METRICS_DELIVERIES", "100000"))
CHANNELS = 200
WORKERS = 2
LEAD_SECONDS = 60.0  # the deliveries become due this long after they were seeded (enrolment)
TIMEOUT_SECONDS = 900.0
CHUNK = 5000
SNOWFLAKE_EPOCH_MS = 1288834974657
ROOT = Path(__file__).resolve().parent.parent


class Rig:
    """The fake platform and the two workers, on a queue of their own."""

    def __init__(self, database_url: str, tmp: Path) -> None:
        from config.celery import app

        self.app = app
        self.queue = f"bench-metrics-{uuid.uuid4().hex[:8]}"
        self.server, self.url = server_start("bench.fake_metrics_platform", tmp)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DB_CONN_MAX_AGE": "600",
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "X_API_BASE_URL": self.url,
            "X_AUTH": "oauth2",
            "PUBLISHING_ALLOW_PRIVATE_URLS": "1",
            "LOG_LEVEL": "WARNING",
        }
        self.names = [f"{self.queue}-{i}@localhost" for i in range(WORKERS)]
        self.logs = [tmp / f"worker{i}.log" for i in range(WORKERS)]
        self.workers = [
            subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("celery")),
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    self.queue,
                    "-n",
                    name,
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                stdout=self.logs[i].open("wb"),
                stderr=subprocess.STDOUT,
            )
            for i, name in enumerate(self.names)
        ]
        workers_wait_ready(app, self.names)

    def stop(self) -> None:
        processes_stop([*self.workers, self.server])

    def server_stats(self) -> dict:
        return server_stats(self.url)

    def tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.logs)


def _snowflake(moment: dt.datetime, sequence: int) -> str:
    """An X post id created at `moment` (the adapter reads the age from it)."""
    millis = int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
    return str((millis << 22) | (sequence & 0x3FFFFF))


def _seed(published_at: dt.datetime) -> None:
    """200 X channels with credentials and DELIVERIES published deliveries spread over them."""
    from calendar_app.models import (
        ApprovalMode,
        ApprovalPolicy,
        Channel,
        Post,
        PostVariant,
        Workspace,
    )
    from calendar_app.workflow import PostStatus
    from publishing.adapters.base import Credentials
    from publishing.credentials import credentials_save
    from publishing.models import Delivery, DeliveryState

    workspace = Workspace.objects.create(name="Metrics GmbH", slug="metrics")
    ApprovalPolicy.objects.create(workspace=workspace, mode=ApprovalMode.NONE)
    channels = Channel.objects.bulk_create(
        Channel(
            workspace=workspace,
            platform="x",
            name=f"X {i}",
            account_id=f"{1000 + i}",
            config={"username": f"bench{i}"},
        )
        for i in range(CHANNELS)
    )
    for channel in channels:
        credentials_save(
            channel=channel,
            credentials=Credentials(access_token="bench-token", extra={"auth": "oauth2"}),
        )
    for start in range(0, DELIVERIES, CHUNK):
        count = min(CHUNK, DELIVERIES - start)
        posts = Post.objects.bulk_create(
            Post(
                workspace=workspace,
                title=f"Post {start + i}",
                body=f"Metrics bench post {start + i}",
                scheduled_at=published_at,
                status=PostStatus.SCHEDULED,  # a published post stays "scheduled"
            )
            for i in range(count)
        )
        PostVariant.objects.bulk_create(
            PostVariant(post=p, channel=channels[(start + i) % CHANNELS])
            for i, p in enumerate(posts)
        )
        deliveries = []
        for i, post in enumerate(posts):
            remote_id = _snowflake(published_at, start + i)
            channel = channels[(start + i) % CHANNELS]
            deliveries.append(
                Delivery(
                    post=post,
                    channel=channel,
                    workspace=workspace,
                    state=DeliveryState.PUBLISHED,
                    due_at=published_at,
                    run_at=published_at,
                    idempotency_key=uuid.uuid4().hex,
                    remote_id=remote_id,
                    url=f"https://x.com/bench/status/{remote_id}",
                    published_at=published_at,
                )
            )
        Delivery.objects.bulk_create(deliveries)
        progress(f"metrics_ingest: seeded {start + count} deliveries")


def run() -> dict:
    setup_django()
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from publishing.metrics import sweep
    from publishing.metrics.schedule import SCHEDULE
    from publishing.models import Delivery, MetricSnapshot, RemotePost
    from publishing.tasks import metrics_pull_batch
    from tests.conftest import database_url_for_tests

    with throwaway_database("metrics_ingest"), tempfile.TemporaryDirectory() as tmp:
        rig = Rig(database_url_for_tests(), Path(tmp))

        def send(batches, *, countdown=None):  # sweep.pull_batches_send, to the rig's own queue
            for batch in batches:
                metrics_pull_batch.apply_async(
                    batch.task_args(),
                    kwargs={"reserved": countdown is not None},
                    countdown=countdown,
                    queue=rig.queue,
                )

        sweep.pull_batches_send = send
        try:
            _seed(timezone.now() - SCHEDULE[0])
            # They were published just under 15 minutes before `due`: the sweep enrols them at
            # the 15-minute step, and they all become due at that moment.
            due = timezone.now() + dt.timedelta(seconds=LEAD_SECONDS)
            Delivery.objects.update(published_at=due - SCHEDULE[0])
            started = time.monotonic()
            enrolled = sweep.metrics_sweep().enrolled
            enrol_s = time.monotonic() - started
            progress(f"metrics_ingest: enrolled {enrolled} in {enrol_s:.1f} s")
            if enrolled != DELIVERIES:
                raise RuntimeError(f"enrolled {enrolled} of {DELIVERIES}")
            if timezone.now() >= due:
                raise RuntimeError("enrolment took longer than LEAD_SECONDS; raise it")
            while timezone.now() < due:
                time.sleep(0.05)
            claim_s = None
            deadline = time.monotonic() + TIMEOUT_SECONDS
            stored = 0
            while stored < DELIVERIES:
                tick = time.monotonic()
                result = sweep.metrics_sweep()
                if claim_s is None:
                    claim_s = time.monotonic() - tick
                    progress(
                        f"metrics_ingest: first sweep claimed {result.claimed} in "
                        f"{result.batches} batches, {claim_s:.2f} s"
                    )
                stored = MetricSnapshot.objects.count()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timed out at {stored} snapshots:\n{rig.tail()}")
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            last = RemotePost.objects.aggregate(last=Max("last_pulled_at"))["last"]
            elapsed = (last - due).total_seconds()
            stats = rig.server_stats()
            pending = RemotePost.objects.filter(last_pulled_at__isnull=True).count()
            errors = RemotePost.objects.exclude(last_error="").count()
            snapshots = MetricSnapshot.objects.count()
        finally:
            rig.stop()
            connection.close()
    return {
        "bench": "metrics_ingest",
        "deliveries": DELIVERIES,
        "channels": CHANNELS,
        "workers": WORKERS,
        "database": connection.vendor,
        "per_s": round(DELIVERIES / elapsed, 1),
        "seconds": round(elapsed, 2),
        "enrol_s": round(enrol_s, 2),
        "first_sweep_s": round(claim_s or 0.0, 2),
        "http_calls": stats["calls"],
        "snapshots": snapshots,
        "not_pulled": pending,
        "errors": errors,
    }
