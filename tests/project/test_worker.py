"""A real Celery worker process runs our tasks against the test database."""

from __future__ import annotations

import time

import pytest

from config.celery import HEARTBEAT_SECONDS, app
from publishing.models import WorkerHeartbeat
from publishing.services import heartbeat_record
from publishing.tasks import BEAT_HEARTBEAT, beat_heartbeat

POLL_SECONDS = 20.0


def _wait_for(predicate, timeout: float = POLL_SECONDS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("entry", sorted(app.conf.beat_schedule))
def test_every_beat_entry_expires_before_its_next_run(entry):
    schedule = app.conf.beat_schedule[entry]
    assert 0 < schedule["options"]["expires"] < schedule["schedule"]


def test_the_beat_heartbeat_is_scheduled_every_30_seconds():
    entry = app.conf.beat_schedule["beat-heartbeat"]
    assert entry["task"] == beat_heartbeat.name
    assert entry["schedule"] == HEARTBEAT_SECONDS == 30


def test_each_dispatcher_sweep_follows_until_just_before_the_next_one(monkeypatch):
    from publishing import dispatch
    from publishing.tasks import deliveries_dispatch_due

    entry = app.conf.beat_schedule["deliveries-dispatch-due"]
    follow = entry["kwargs"]["follow_seconds"]
    assert entry["schedule"] * 0.9 <= follow < entry["schedule"]  # no gap, no pile-up
    calls = []
    monkeypatch.setattr(dispatch, "deliveries_dispatch_due", lambda **kw: calls.append(kw))

    deliveries_dispatch_due(**entry["kwargs"])  # the task, as beat has it run

    assert calls == [{"follow_seconds": follow}]


def test_given_no_heartbeat_when_recorded_twice_then_one_row_with_the_later_time(db):
    first = heartbeat_record(name="beat").last_seen
    second = heartbeat_record(name="beat").last_seen
    assert WorkerHeartbeat.objects.get(name="beat").last_seen == second >= first
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_given_a_running_worker_when_beat_heartbeat_is_queued_then_the_beat_row_appears(
    real_celery_worker, celery_worker_queue
):
    assert not WorkerHeartbeat.objects.filter(name=BEAT_HEARTBEAT).exists()

    beat_heartbeat.apply_async(queue=celery_worker_queue)

    assert _wait_for(lambda: WorkerHeartbeat.objects.filter(name=BEAT_HEARTBEAT).exists()), (
        "the worker did not write the heartbeat within 20 s"
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_given_an_existing_heartbeat_when_the_task_runs_again_then_last_seen_moves_forward(
    real_celery_worker, celery_worker_queue
):
    beat_heartbeat.apply_async(queue=celery_worker_queue)
    assert _wait_for(lambda: WorkerHeartbeat.objects.filter(name=BEAT_HEARTBEAT).exists())
    first = WorkerHeartbeat.objects.get(name=BEAT_HEARTBEAT).last_seen

    beat_heartbeat.apply_async(queue=celery_worker_queue)

    assert _wait_for(lambda: WorkerHeartbeat.objects.get(name=BEAT_HEARTBEAT).last_seen > first)
    assert WorkerHeartbeat.objects.filter(name=BEAT_HEARTBEAT).count() == 1
