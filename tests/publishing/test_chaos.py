"""Chaos: 200 deliveries through real workers (three solo ones; two with 8 threads each, as
`make run` runs the publisher) and the fake Mastodon while workers are SIGKILLed at random
moments and at injected points (before the call; after the platform accepted, before our
database heard of it) and restarted. Afterwards every post is on the platform exactly once,
every delivery is published with its remote id, nothing is lost or stuck.
"""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from publishing import dispatch, reconcile
from publishing.models import Attempt, Delivery, DeliveryState
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.publishing_helpers import (
    PublishWorkers,
    chaos_mastodon,
    connected_channel,
    due_post,
    no_approval,
)

pytestmark = [pytest.mark.worker]
D = DeliveryState
POSTS = 200
CHAOS_SECONDS = 12.0
# Waiting is on progress, not on the clock alone (a loaded CI machine is slow, not stuck): the
# test fails when no delivery was published for STALL_SECONDS after the chaos, or at the cap.
STALL_SECONDS = 60.0
CAP_SECONDS = 300.0


@pytest.fixture(
    params=[
        pytest.param((3, ("--pool=solo",)), id="solo"),
        # As `make run` runs the publisher: a kill takes every call the process has in flight.
        pytest.param((2, ("--pool=threads", "--concurrency=8")), id="threads"),
    ]
)
def workers(request, transactional_db, tmp_path):
    count, options = request.param
    pool = PublishWorkers(count=count, log_dir=tmp_path, pool=options)
    pool.start()
    yield pool
    pool.stop()


def test_given_workers_killed_at_random_and_injected_moments_then_every_post_goes_out_once(
    settings, workers, monkeypatch
):
    run_chaos(settings, workers, monkeypatch)


@pytest.fixture
def threaded_workers(transactional_db, tmp_path):
    pool = PublishWorkers(count=2, log_dir=tmp_path, pool=("--pool=threads", "--concurrency=8"))
    pool.start()
    yield pool
    pool.stop()


def test_given_no_idempotency_key_faults_and_lost_answers_then_the_look_up_finds_every_post(
    settings, threaded_workers, monkeypatch
):
    """As against a real-shaped server: the fake does not honour Idempotency-Key, 5 % of
    creates fail, 10 % are created but never answered, and workers are killed. Only the
    look-up (paging back to each delivery's not_before) stands between a retry and a
    duplicate: every post is still on the platform exactly once, with its remote id."""
    fake = run_chaos(
        settings,
        threaded_workers,
        monkeypatch,
        honour_idempotency=False,
        fault_rate=0.05,
        lost_rate=0.10,
    )
    assert fake.faults_made > 0 and fake.lost_made > 0
    found = Attempt.objects.filter(outcome="found").count()
    assert found >= fake.lost_made  # every lost answer was found by a look-up, not reposted


def run_chaos(settings, workers, monkeypatch, **fake_settings):
    # The reconciler (run here, as beat would) with short lease and grace so the test is quick.
    settings.PUBLISHING_LEASE_SECONDS = 4
    settings.PUBLISHING_QUEUED_GRACE_SECONDS = 5
    settings.PUBLISHING_RATE_LIMITS = {"default": (100000, 100000)}
    from publishing.tasks import publish_delivery

    def send(taken, now):
        for pk, job, _run_at in taken:
            publish_delivery.apply_async((pk, job), queue=workers.queue)

    monkeypatch.setattr(dispatch, "deliveries_send", send)
    rng = random.Random(4)
    workspace = WorkspaceFactory(slug="chaos")
    author = UserFactory(username="chaos-author")
    MembershipFactory(workspace=workspace, user=author)
    no_approval(workspace)

    with (
        override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True),
        chaos_mastodon(workers=workers) as fake,
    ):
        for name, value in fake_settings.items():
            setattr(fake, name, value)
        channel = connected_channel(
            workspace,
            name="Chaos Mastodon",
            account_id=fake.account["id"],
            config={"instance_url": fake.url, "username": fake.username},
        )
        from publishing.adapters.base import Credentials
        from publishing.credentials import credentials_save

        credentials_save(channel=channel, credentials=Credentials(access_token=fake.token))
        start = timezone.now() + dt.timedelta(seconds=1)
        posts = [
            due_post(
                workspace,
                [channel],
                author=author,
                body=f"Chaos post number {i}",
                at=start + dt.timedelta(seconds=CHAOS_SECONDS * i / POSTS),
            )
            for i in range(POSTS)
        ]

        began = time.monotonic()
        next_chaos = began + 1.0
        last_done, progressed_at = 0, began
        points = ["before", "after"] * 3
        while True:
            now = time.monotonic()
            if now - began < CHAOS_SECONDS and now >= next_chaos:
                if points and rng.random() < 0.6:
                    fake.arm(points.pop(0))
                else:
                    alive = [n for n, p in workers.processes.items() if p.poll() is None]
                    if alive:
                        workers.kill(rng.choice(alive))
                next_chaos = now + rng.uniform(0.6, 1.4)
            workers.restart_dead()
            dispatch.deliveries_dispatch_due()
            reconcile.deliveries_reconcile_stuck()
            done = Delivery.objects.filter(state=D.PUBLISHED).count()
            if done == POSTS and now - began >= CHAOS_SECONDS:
                break
            if done > last_done:
                last_done, progressed_at = done, now
            stalled = now - began > CHAOS_SECONDS and now - progressed_at > STALL_SECONDS
            if stalled or now - began > CAP_SECONDS:
                states = dict(Delivery.objects.values_list("state").annotate(n=Count("id")))
                pytest.fail(f"Not all published: {states}\n{workers.logs()}")
            time.sleep(0.2)

        statuses = list(fake.statuses.values())
        creates = len(fake.requests_to("POST", "/api/v1/statuses"))

    # Exactly once on the platform, and each delivery points at its own status.
    texts = [s["_text"] for s in statuses]
    assert sorted(texts) == sorted(p.body for p in posts)
    by_id = {s["id"]: s["_text"] for s in statuses}
    deliveries = Delivery.objects.select_related("post")
    assert all(by_id[d.remote_id] == d.post.body for d in deliveries)
    # Nothing stuck or left half-done.
    assert set(deliveries.values_list("state", flat=True)) == {D.PUBLISHED}
    assert not Attempt.objects.filter(finished_at__isnull=True).exists()
    # The chaos really happened: kills at both injected points, plus random ones.
    assert {"before", "after"} <= set(fake.killed_at)
    assert workers.kills > len(fake.killed_at)
    assert creates > POSTS
    return fake
