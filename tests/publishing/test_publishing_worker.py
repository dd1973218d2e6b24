"""End to end through real Celery workers and the fake Mastodon server: a due post goes out once
with its remote id and URL; a response lost after the status was created causes no duplicate."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings
from django.utils import timezone

from publishing import dispatch, reconcile
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.fakes.mastodon import FakeMastodon
from tests.publishing_helpers import (
    PublishWorkers,
    chaos_mastodon,
    connected_channel,
    due_post,
    no_approval,
)

pytestmark = [pytest.mark.worker]
D = DeliveryState


@pytest.fixture(scope="module")
def workers(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        pool = PublishWorkers(count=1, log_dir=tmp_path_factory.mktemp("publish-workers"))
        pool.start()
    yield pool
    pool.stop()


@pytest.fixture
def fake():
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True), FakeMastodon() as server:
        yield server


@pytest.fixture
def send_to(monkeypatch):
    """The dispatcher sends publish tasks to the test workers' own queue."""

    def use(queue: str) -> None:
        from publishing.tasks import publish_delivery

        def send(taken, now):
            for pk, job, _run_at in taken:
                publish_delivery.apply_async((pk, job), queue=queue)

        monkeypatch.setattr(dispatch, "deliveries_send", send)

    return use


def mastodon_channel(workspace, fake):
    channel = connected_channel(
        workspace,
        name="Acme Mastodon",
        account_id=fake.account["id"],
        config={"instance_url": fake.url, "username": fake.username},
    )
    from publishing.adapters.base import Credentials
    from publishing.credentials import credentials_save

    credentials_save(channel=channel, credentials=Credentials(access_token=fake.token))
    return channel


def run_until(predicate, *, timeout: float, workers: PublishWorkers) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out. Worker logs:\n{workers.logs()}")
        dispatch.deliveries_dispatch_due()
        reconcile.deliveries_reconcile_stuck()
        time.sleep(0.1)


@pytest.fixture
def scene(transactional_db, settings):
    settings.PUBLISHING_RATE_LIMITS = {"default": (100000, 100000)}
    workspace = WorkspaceFactory(slug="acme-e2e", timezone="Europe/Berlin")
    author = UserFactory(username="author-e2e")
    MembershipFactory(workspace=workspace, user=author)
    no_approval(workspace)
    return workspace, author


def test_given_a_due_post_then_a_real_worker_publishes_it_once_with_remote_id_and_url(
    scene, fake, workers, send_to
):
    workspace, author = scene
    send_to(workers.queue)
    channel = mastodon_channel(workspace, fake)
    post = due_post(workspace, [channel], author=author, body="Live at 09:00, once.")
    started = timezone.now()

    run_until(
        lambda: Delivery.objects.filter(post=post, state=D.PUBLISHED).exists(),
        timeout=30,
        workers=workers,
    )

    delivery = Delivery.objects.get(post=post)
    (status,) = fake.statuses.values()
    assert status["_text"] == "Live at 09:00, once."
    assert status["_idempotency_key"] == delivery.idempotency_key
    assert (delivery.remote_id, delivery.url) == (status["id"], status["url"])
    assert (delivery.published_at - started).total_seconds() < 2  # handed over within 2 s
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.outcome == AttemptOutcome.PUBLISHED
    assert attempt.worker == workers.names[0]


def test_given_the_connection_drops_after_the_status_was_created_then_no_duplicate(
    scene, fake, workers, send_to
):
    workspace, author = scene
    send_to(workers.queue)
    channel = mastodon_channel(workspace, fake)
    post = due_post(workspace, [channel], author=author, body="Said once, heard once.")
    fake.drop_after_create(times=1)

    run_until(
        lambda: Delivery.objects.filter(post=post, state=D.PUBLISHED).exists(),
        timeout=30,
        workers=workers,
    )

    assert [s["_text"] for s in fake.statuses.values()] == ["Said once, heard once."]
    delivery = Delivery.objects.get(post=post)
    assert delivery.remote_id == next(iter(fake.statuses))
    outcomes = list(
        Attempt.objects.filter(delivery=delivery)
        .order_by("started_at")
        .values_list("outcome", flat=True)
    )
    assert outcomes[0] == AttemptOutcome.RETRY
    assert outcomes[-1] in {AttemptOutcome.FOUND, AttemptOutcome.PUBLISHED}


def test_given_a_worker_killed_after_the_platform_accepted_then_restarted_then_published_once(
    scene, workers, send_to
):
    """`kill -9` at the minute and start it again: the restarted node frees what it held at once
    (no lease wait), the next attempt finds the status on the platform instead of re-posting."""
    workspace, author = scene
    send_to(workers.queue)
    with (
        override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True),
        chaos_mastodon(workers=workers) as fake,
    ):
        channel = mastodon_channel(workspace, fake)
        post = due_post(workspace, [channel], author=author, body="Survives kill -9.")
        fake.arm("after")

        run_until(lambda: fake.killed_at == ["after"], timeout=30, workers=workers)
        started = time.monotonic()
        workers.restart_dead()
        run_until(
            lambda: Delivery.objects.filter(post=post, state=D.PUBLISHED).exists(),
            timeout=40,
            workers=workers,
        )

        assert time.monotonic() - started < 30  # far below the 300 s lease
        assert [s["_text"] for s in fake.statuses.values()] == ["Survives kill -9."]
        delivery = Delivery.objects.get(post=post)
        assert delivery.remote_id == next(iter(fake.statuses))
        outcomes = set(Attempt.objects.filter(delivery=delivery).values_list("outcome", flat=True))
        assert outcomes == {AttemptOutcome.ABANDONED, AttemptOutcome.FOUND}


@pytest.fixture(scope="module")
def threaded_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker with a threads pool, as `make run` runs the publisher."""
    with django_db_blocker.unblock():
        pool = PublishWorkers(
            count=1,
            log_dir=tmp_path_factory.mktemp("threaded-worker"),
            pool=("--pool=threads", "--concurrency=6"),
        )
        pool.start()
    yield pool
    pool.stop()


def test_given_a_threads_worker_and_a_slow_platform_then_due_posts_go_out_side_by_side_once(
    scene, fake, threaded_worker, send_to
):
    workspace, author = scene
    send_to(threaded_worker.queue)
    channels = [mastodon_channel(workspace, fake)]
    posts = [
        due_post(workspace, channels, author=author, body=f"Side by side {i}") for i in range(6)
    ]
    fake.slow_down("POST", "/api/v1/statuses", seconds=2.0, times=6)

    published = Delivery.objects.filter(post__in=posts, state=D.PUBLISHED)
    run_until(lambda: published.count() == 6, timeout=30, workers=threaded_worker)

    # All six calls were with the platform at once, not one after the other...
    assert fake.max_in_flight == 6
    # ...and each post is there once, its delivery pointing at its own status.
    texts = sorted(s["_text"] for s in fake.statuses.values())
    assert texts == sorted(p.body for p in posts)
    assert {d.remote_id for d in published} == set(fake.statuses)
    assert Attempt.objects.filter(delivery__post__in=posts).count() == 6
