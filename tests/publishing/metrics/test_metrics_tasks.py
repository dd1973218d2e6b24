"""The metrics tasks' plumbing: every one runs on the metrics queue (never in the way of the
dispatcher or the publish queue), the beat entries expire before their next run, and a batch
task's arguments survive the broker's JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from config.celery import app
from publishing import tasks
from publishing.metrics import pull
from publishing.metrics.sweep import PullBatch
from publishing.queues import Queue

METRICS_TASKS = [
    "publishing.tasks.metrics_sweep",
    "publishing.tasks.metrics_pull_batch",
    "publishing.tasks.metrics_account_snapshots_due",
    "publishing.tasks.metrics_account_snapshot",
    "publishing.tasks.metrics_backfill_channel",
]


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name, args=(), kwargs={})["queue"].name


@pytest.mark.parametrize("name", METRICS_TASKS)
def test_every_metrics_task_runs_on_the_metrics_queue(name):
    assert name in app.tasks
    assert queue_of(name) == Queue.METRICS


def test_publishing_keeps_its_own_queues():
    assert queue_of("publishing.tasks.publish_delivery") == Queue.PUBLISH
    assert queue_of("publishing.tasks.deliveries_dispatch_due") != Queue.METRICS


@pytest.mark.parametrize(
    ("entry", "task", "every"),
    [
        ("metrics-sweep", "publishing.tasks.metrics_sweep", 60),
        ("metrics-account-snapshots", "publishing.tasks.metrics_account_snapshots_due", 3600),
    ],
)
def test_beat_runs_the_metrics_sweeps_and_a_backlog_never_runs_one_twice(entry, task, every):
    schedule = app.conf.beat_schedule[entry]
    assert schedule["task"] == task
    assert schedule["schedule"] == every
    assert 0 < schedule["options"]["expires"] < every


def test_a_batch_tasks_arguments_survive_the_brokers_json(monkeypatch):
    lease = dt.datetime(2026, 3, 2, 10, 15, 0, 123456, tzinfo=dt.UTC)
    batch = PullBatch(channel_id=7, remote_post_ids=(3, 4), lease=lease)
    called = {}
    monkeypatch.setattr(tasks, "_connection_check", lambda: None)
    monkeypatch.setattr(pull, "remote_posts_pull", lambda **kwargs: called.update(kwargs))

    tasks.metrics_pull_batch(*json.loads(json.dumps(batch.task_args())), reserved=True)

    assert called["channel_id"] == 7
    assert list(called["remote_post_ids"]) == [3, 4]
    assert dt.datetime.fromisoformat(called["lease"]) == lease  # to the microsecond
    assert called["reserved"] is True
