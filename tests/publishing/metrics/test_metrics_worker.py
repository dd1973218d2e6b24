"""End to end through a real Celery worker and the fake Mastodon server: a newly connected
channel's history is backfilled (our own post linked, one made elsewhere imported), the account's
followers are snapshotted, and the due sweep's batch is pulled over HTTP into a snapshot."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import override_settings
from django.utils import timezone

from publishing.adapters.base import Credentials
from publishing.credentials import credentials_save
from publishing.metrics import sweep
from publishing.metrics.reads import metrics_rate_reset
from publishing.models import (
    AccountSnapshot,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
)
from publishing.tasks import metrics_account_snapshot, metrics_backfill_channel
from tests.factories import WorkspaceFactory
from tests.fakes.mastodon import FakeMastodon
from tests.publishing_helpers import PublishWorkers, connected_channel, due_post

pytestmark = [pytest.mark.worker]


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        pool = PublishWorkers(count=1, log_dir=tmp_path_factory.mktemp("metrics-workers"))
        pool.start()
    yield pool
    pool.stop()


@pytest.fixture
def fake():
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True), FakeMastodon() as server:
        yield server


def wait_for(predicate, *, workers: PublishWorkers, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out. Worker logs:\n{workers.logs()}")
        time.sleep(0.1)


def test_backfill_account_snapshot_and_a_due_pull_through_a_real_worker(
    transactional_db, fake, workers, monkeypatch
):
    workspace = WorkspaceFactory(slug="acme-metrics", timezone="Europe/Berlin")
    channel = connected_channel(
        workspace,
        account_id=fake.account["id"],
        config={"instance_url": fake.url, "username": fake.username},
    )
    credentials_save(channel=channel, credentials=Credentials(access_token=fake.token))
    metrics_rate_reset(channel_id=channel.pk)
    now = timezone.now()
    elsewhere = fake.add_status("Posted from the phone", created_at=now - dt.timedelta(days=3))
    fake.set_counts(elsewhere["id"], favourites=5, reblogs=1)
    ours = fake.add_status("Our launch post", created_at=now - dt.timedelta(minutes=20))
    delivery = Delivery.objects.create(
        post=due_post(workspace, [channel], at=now - dt.timedelta(minutes=20)),
        channel=channel,
        workspace=workspace,
        state=DeliveryState.PUBLISHED,
        due_at=now - dt.timedelta(minutes=20),
        run_at=now - dt.timedelta(minutes=20),
        idempotency_key="e2e-metrics",
        remote_id=ours["id"],
        url=ours["url"],
        published_at=now - dt.timedelta(minutes=20),
    )
    fake.account["followers_count"] = 1234

    # The history backfill a connect queues, on the worker.
    metrics_backfill_channel.apply_async((channel.pk,), queue=workers.queue)
    wait_for(lambda: RemotePost.objects.count() == 2, workers=workers)

    imported = RemotePost.objects.get(remote_id=elsewhere["id"])
    assert (imported.source, imported.likes, imported.shares) == (RemotePostSource.IMPORTED, 5, 1)
    assert imported.text == "Posted from the phone"
    assert imported.snapshots.get().raw["favourites_count"] == 5
    linked = RemotePost.objects.get(remote_id=ours["id"])
    assert (linked.delivery_id, linked.source) == (delivery.pk, RemotePostSource.APP)

    # The day's account snapshot.
    metrics_account_snapshot.apply_async((channel.pk,), queue=workers.queue)
    wait_for(AccountSnapshot.objects.exists, workers=workers)
    assert AccountSnapshot.objects.get().followers == 1234

    # Time passes: our post is due; the sweep hands its batch to the worker over the broker.
    fake.set_counts(ours["id"], favourites=3, reblogs=2, replies=1)
    RemotePost.objects.filter(pk=linked.pk).update(next_pull_at=timezone.now())

    monkeypatch.setattr(
        sweep, "pull_batches_send", lambda batches, countdown=None: _send_to(batches, workers.queue)
    )
    result = sweep.metrics_sweep()
    assert (result.claimed, result.batches) == (1, 1)
    wait_for(lambda: RemotePost.objects.get(pk=linked.pk).likes == 3, workers=workers)

    linked.refresh_from_db()
    assert (linked.likes, linked.shares, linked.comments) == (3, 2, 1)
    assert linked.next_pull_at > timezone.now()
    assert (
        list(MetricSnapshot.objects.filter(remote_post=linked).values_list("likes", flat=True))[-1]
        == 3
    )
    batch_calls = fake.requests_to("GET", "/api/v1/statuses")
    assert batch_calls and batch_calls[-1].query["id[]"] == [ours["id"]]


def _send_to(batches, queue: str) -> None:
    from publishing.tasks import metrics_pull_batch

    for batch in batches:
        metrics_pull_batch.apply_async(batch.task_args(), queue=queue)
