"""`make run` (config/run.py) and the Procfile it hands over to."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from config import run
from publishing.queues import Queue

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


def procfile() -> dict[str, str]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        if match := re.match(r"^([a-z]+):\s*(.+)$", line):
            entries[match[1]] = match[2]
    return entries


def test_the_procfile_runs_web_three_workers_and_beat():
    assert set(procfile()) == {"web", "worker", "publisher", "metrics", "beat"}


def _default_queues(entry: str, variable: str) -> list[str]:
    return re.search(rf"\$\{{{variable}:-([^}}]+)\}}", procfile()[entry])[1].split(",")


def test_given_no_queue_env_then_the_workers_together_consume_every_queue_once():
    housekeeping = _default_queues("worker", "WORKER_QUEUES")
    publishing = _default_queues("publisher", "PUBLISH_QUEUES")
    metrics = _default_queues("metrics", "METRICS_QUEUES")
    assert sorted(housekeeping + publishing + metrics) == sorted(q.value for q in Queue)
    # The dispatcher never waits behind a slow platform call, bulk metrics never in front of a
    # due post.
    assert housekeeping == [Queue.DEFAULT.value]
    assert publishing == [Queue.PUBLISH.value]
    assert metrics == [Queue.METRICS.value]


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("publishing.tasks.deliveries_dispatch_due", Queue.DEFAULT),
        ("publishing.tasks.deliveries_reconcile", Queue.DEFAULT),
        ("publishing.tasks.publish_delivery", Queue.PUBLISH),
        ("publishing.tasks.metrics_sweep", Queue.METRICS),
    ],
)
def test_tasks_are_routed_to_the_worker_of_their_kind(task, queue):
    from config.celery import app

    assert app.amqp.router.route({}, task)["queue"].name == queue.value


def test_the_workers_have_distinct_node_names():
    # A restarted node frees the deliveries it held by its name (release_on_restart).
    assert "-n worker@%h" in procfile()["worker"]
    assert "-n publisher@%h" in procfile()["publisher"]
    assert "-n metrics@%h" in procfile()["metrics"]


def test_the_publisher_runs_threads_and_keeps_a_platform_connection_for_each(monkeypatch, settings):
    import config.settings
    from publishing.adapters import http

    line = procfile()["publisher"]
    assert "-P threads" in line  # calls wait on platforms side by side, not one per process
    threads = int(re.search(r"-c \$\{PUBLISH_CONCURRENCY:-(\d+)\}", line)[1])
    monkeypatch.delenv("PUBLISH_CONCURRENCY", raising=False)
    kept = importlib.reload(config.settings).PUBLISHING_HTTP_POOL_SIZE  # the default, unset
    assert kept == threads
    settings.PUBLISHING_HTTP_POOL_SIZE = 7  # what adapters' sessions keep, from the setting
    pool = http.session(platform="mastodon").get_adapter("https://mastodon.example")
    assert pool.poolmanager.connection_pool_kw["maxsize"] == 7


def test_the_beat_schedule_file_lives_in_var():
    assert "-s ${VAR_DIR:-var}/celerybeat-schedule" in procfile()["beat"]


def test_given_a_reachable_redis_when_ensuring_the_broker_then_it_is_kept(tmp_path, settings):
    assert run.ensure_broker(settings.CELERY_BROKER_URL, tmp_path) == settings.CELERY_BROKER_URL


@pytest.mark.parametrize(
    ("url", "redis_server"),
    [
        ("redis://127.0.0.1:6399/0", None),  # local, but no redis-server installed
        ("redis://broker.example:6379/0", "/usr/bin/redis-server"),  # remote: never started here
    ],
)
def test_given_no_redis_when_ensuring_the_broker_then_the_filesystem_broker_and_a_clear_notice(
    tmp_path, monkeypatch, capsys, url, redis_server
):
    monkeypatch.setattr(run, "redis_answers", lambda url, timeout=0.5: False)
    monkeypatch.setattr(run.shutil, "which", lambda name, path=None: redis_server)

    assert run.ensure_broker(url, tmp_path) == "filesystem://"
    assert "EMBEDDED FILESYSTEM BROKER" in capsys.readouterr().out


def test_given_a_password_in_the_broker_url_then_it_is_never_printed():
    assert run.redacted("redis://:s3cret@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert run.redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
