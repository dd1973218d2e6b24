"""Shared pieces of the publishing engine tests: a workspace that publishes without approval,
channels with stored credentials, due posts, and running the dispatcher's tasks in-process."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from calendar_app.models import ApprovalMode, ApprovalPolicy, Channel, Post
from calendar_app.workflow import PostStatus
from publishing.adapters.base import Credentials
from publishing.credentials import credentials_save
from tests.factories import ChannelFactory, PostFactory

RECORDING = {"BACKEND": "publishing.adapters.recording.RecordingAdapter"}


def no_approval(workspace) -> None:
    ApprovalPolicy.objects.update_or_create(
        workspace=workspace, defaults={"mode": ApprovalMode.NONE}
    )


def connected_channel(workspace, *, platform: str = "mastodon", **kwargs) -> Channel:
    channel = ChannelFactory(workspace=workspace, platform=platform, **kwargs)
    credentials_save(channel=channel, credentials=Credentials(access_token="token-1"))
    return channel


def due_post(workspace, channels, *, at: dt.datetime | None = None, **kwargs) -> Post:
    """A scheduled post (status written directly: the workflow is not what is tested here)."""
    return PostFactory(
        workspace=workspace,
        channels=channels,
        status=PostStatus.SCHEDULED,
        scheduled_at=at or timezone.now(),
        **kwargs,
    )


# --- real publish workers the tests start, kill and restart -----------------------------------------

import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class PublishWorkers:
    """`count` Celery worker processes (solo pool, or the `pool` options given) on a queue of
    their own, talking to the test database. Each has a fixed node name, so a restarted one
    releases what it held."""

    def __init__(
        self,
        *,
        count: int,
        log_dir: Path,
        env: dict[str, str] | None = None,
        pool: tuple[str, ...] = ("--pool=solo",),
    ) -> None:
        from config.celery import app
        from tests.conftest import database_url_for_tests

        self.app = app
        self.queue = f"test-publish-{uuid.uuid4().hex[:10]}"
        self.names = [f"{self.queue}-{i}@localhost" for i in range(count)]
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "DB_CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": app.conf.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PUBLISHING_ALLOW_PRIVATE_URLS": "1",
            "PUBLISHING_RATE_BURST": "100000",
            "PUBLISHING_RATE_PER_SECOND": "100000",
            "PUBLISHING_BACKOFF_SECONDS": "0.2",
            "PUBLISHING_BACKOFF_MAX_SECONDS": "1",
            "PUBLISHING_MAX_ATTEMPTS": "30",
            **(env or {}),
        }
        self.pool = pool
        self.processes: dict[str, subprocess.Popen] = {}
        self.kills = 0

    def start(self, name: str | None = None, *, wait: bool = True) -> None:
        for node in [name] if name else self.names:
            log = (self.log_dir / f"{node.split('@')[0]}.log").open("ab")
            self.processes[node] = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("celery")),
                    "-A",
                    "config",
                    "worker",
                    *self.pool,
                    "-Q",
                    self.queue,
                    "-n",
                    node,
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_ready([name] if name else self.names)

    def wait_ready(self, names: list[str], timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            for node in list(pending):
                if self.processes[node].poll() is not None:
                    raise RuntimeError(f"worker {node} exited:\n{self.logs()}")
            replies = self.app.control.ping(destination=list(pending), timeout=0.5)
            for reply in replies:
                pending -= set(reply)
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers {pending} did not answer:\n{self.logs()}")

    def pids(self) -> dict[int, str]:
        return {p.pid: node for node, p in self.processes.items() if p.poll() is None}

    def kill(self, node: str) -> None:
        process = self.processes[node]
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            self.kills += 1

    def restart_dead(self) -> list[str]:
        dead = [n for n, p in self.processes.items() if p.poll() is not None]
        for node in dead:
            self.start(node, wait=False)
        return dead

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.log_dir.glob("*.log"))


def pid_of_peer(port: int, pids: dict[int, str]) -> int | None:
    """Which of `pids` owns the local TCP port `port` (the client side of a request to a fake
    server), read from /proc: Linux only, like the tests' CI."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


def _chaos_mastodon_class():
    from tests.fakes.mastodon import FakeMastodon

    class ChaosMastodon(FakeMastodon):
        """The fake Mastodon, able to SIGKILL the worker that is calling POST /api/v1/statuses
        at a chosen point: "before" (received, nothing created) or "after" (the status is
        created, the reply never sent: accepted by the platform, unknown to our database)."""

        def __init__(self, *, workers: PublishWorkers, **kwargs) -> None:
            self.workers = workers
            self.kill_points: list[str] = []
            self.killed_at: list[str] = []
            # Random faults on POST /api/v1/statuses, seeded: a share answered 503 before
            # anything is created, and a share created but never answered (a lost response).
            self.fault_rate = 0.0
            self.lost_rate = 0.0
            self.faults_made = 0
            self.lost_made = 0
            self.rng = random.Random(20)
            super().__init__(**kwargs)

        def _roll(self) -> str:
            with self.lock:
                roll = self.rng.random()
                if roll < self.fault_rate:
                    self.faults_made += 1
                    return "fault"
                if roll < self.fault_rate + self.lost_rate:
                    self.lost_made += 1
                    self.drops += 1
                    return "lost"
            return ""

        def arm(self, *points: str) -> None:
            with self.lock:
                self.kill_points.extend(points)

        def _take(self, point: str) -> bool:
            with self.lock:
                if self.kill_points and self.kill_points[0] == point:
                    self.kill_points.pop(0)
                    return True
            return False

        def _kill_caller(self, handler, point: str) -> None:
            pids = self.workers.pids()
            pid = pid_of_peer(handler.client_address[1], pids)
            if pid is not None:
                self.workers.kill(pids[pid])
                self.killed_at.append(point)
            handler.close_connection = True

        def _handler_class(self):
            base = super()._handler_class()
            fake = self

            class Handler(base):
                def status_create(self, **kwargs) -> None:
                    if fake._roll() == "fault":
                        self._send(503, {"error": "Service Unavailable"})
                        return
                    if fake._take("before"):
                        fake._kill_caller(self, "before")
                        return
                    self.kill_after = fake._take("after")
                    super().status_create(**kwargs)

                def _send(self, status, payload=None, headers=None) -> None:
                    if getattr(self, "kill_after", False):
                        self.kill_after = False
                        fake._kill_caller(self, "after")
                        return
                    super()._send(status, payload, headers)

            return Handler

    return ChaosMastodon


def chaos_mastodon(*, workers: PublishWorkers):
    return _chaos_mastodon_class()(workers=workers)
