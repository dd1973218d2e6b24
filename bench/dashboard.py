"""The analytics dashboard over a year of data: 20 channels, ~20,000 published posts (70 % ours,
30 % found on the accounts) with 7 snapshots each, a year of daily follower counts, short links
with ~40,000 clicks, 8 campaigns with budgets.

Renders /w/bench/analytics/ (the last 30 days, compared with the 30 before, the 90-day heatmap)
through django.test.Client as a signed-in viewer: 3 warm-ups, then 30 timed requests; counts the
SQL queries of one request. Also times the same page for the last 12 months.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time

from bench import progress, setup_django, throwaway_database

CHANNELS = 20
REMOTE_POSTS = int(os.environ.get("BENCH_DASHBOARD_POSTS", "20000"))
APP_SHARE = 0.7
SNAPSHOTS_PER_POST = 7
DAYS = 365
CAMPAIGNS = 8
LINKS = 2000
CLICKS = 40_000
REPEAT_SHARE = 0.12  # clicks that are a visitor's second or later on that link that day
WARMUPS = 3
RUNS = 30
# platform -> reports impressions?
PLATFORMS = [
    ("instagram", True),
    ("linkedin", True),
    ("facebook", True),
    ("x", True),
    ("mastodon", False),
    ("bluesky", False),
    ("threads", True),
]
STEPS = [0.25, 1, 6, 24, 72, 168, 720]  # hours after publishing


def _seed(rng: random.Random) -> dict:
    from accounts.models import User
    from calendar_app.models import Campaign, Channel, Membership, Post, Role, Workspace
    from links.models import LinkClick, TrackedLink
    from publishing.models import (
        AccountSnapshot,
        Delivery,
        DeliveryState,
        MetricSnapshot,
        RemotePost,
        RemotePostSource,
    )

    workspace = Workspace.objects.create(name="Bench GmbH", slug="bench", timezone="Europe/Berlin")
    viewer = User.objects.create(username="bench-viewer")
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    channels = Channel.objects.bulk_create(
        Channel(
            workspace=workspace,
            platform=PLATFORMS[i % len(PLATFORMS)][0],
            name=f"Channel {i:02d}",
            account_id=f"acct-{i}",
        )
        for i in range(CHANNELS)
    )
    impressions_for = {c.pk: PLATFORMS[i % len(PLATFORMS)][1] for i, c in enumerate(channels)}
    campaigns = Campaign.objects.bulk_create(
        Campaign(workspace=workspace, name=f"Campaign {i}", budget=1000 + 250 * i)
        for i in range(CAMPAIGNS)
    )
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=DAYS)
    span = int((now - start).total_seconds())

    def when() -> dt.datetime:
        return start + dt.timedelta(seconds=rng.randrange(span))

    app_count = int(REMOTE_POSTS * APP_SHARE)
    posts = Post.objects.bulk_create(
        (
            Post(
                workspace=workspace,
                title=f"Post {i}",
                body="Frisch geröstet! https://example.com/shop",
                scheduled_at=when(),
                campaign=rng.choice([*campaigns, None, None, None]),
            )
            for i in range(app_count)
        ),
        batch_size=2000,
    )
    deliveries = Delivery.objects.bulk_create(
        (
            Delivery(
                post=post,
                channel=rng.choice(channels),
                workspace=workspace,
                state=DeliveryState.PUBLISHED,
                due_at=post.scheduled_at,
                run_at=post.scheduled_at,
                idempotency_key=f"bench-{post.pk}",
                remote_id=f"r-{post.pk}",
                published_at=post.scheduled_at,
            )
            for post in posts
        ),
        batch_size=2000,
    )

    def numbers(channel_id: int) -> dict:
        impressions = rng.randint(200, 5000) if impressions_for[channel_id] else None
        return {
            "impressions": impressions,
            "likes": rng.randint(0, 300),
            "comments": rng.randint(0, 40),
            "shares": rng.randint(0, 30),
            "clicks": rng.randint(0, 60) if impressions else None,
        }

    rows = [
        RemotePost(
            workspace=workspace,
            channel_id=d.channel_id,
            delivery=d,
            source=RemotePostSource.APP,
            remote_id=d.remote_id,
            published_at=d.published_at,
            **numbers(d.channel_id),
        )
        for d in deliveries
    ]
    for i in range(REMOTE_POSTS - app_count):
        channel = rng.choice(channels)
        rows.append(
            RemotePost(
                workspace=workspace,
                channel=channel,
                source=RemotePostSource.IMPORTED,
                remote_id=f"imported-{i}",
                text="Found on the account",
                published_at=when(),
                **numbers(channel.pk),
            )
        )
    remote_posts = RemotePost.objects.bulk_create(rows, batch_size=2000)
    progress(f"dashboard: {len(remote_posts)} published posts")

    fields = ("impressions", "likes", "comments", "shares", "clicks")

    def snapshots():
        for rp in remote_posts:
            for seq, hours in enumerate(STEPS, start=1):
                taken = rp.published_at + dt.timedelta(hours=hours)
                if taken > now:
                    break
                share = min(1.0, 0.3 + 0.1 * seq)
                values = {
                    f: None if getattr(rp, f) is None else int(getattr(rp, f) * share)
                    for f in fields
                }
                yield MetricSnapshot(remote_post=rp, seq=seq, taken_at=taken, **values)

    MetricSnapshot.objects.bulk_create(snapshots(), batch_size=5000)
    AccountSnapshot.objects.bulk_create(
        (
            AccountSnapshot(
                workspace=workspace,
                channel=channel,
                day=(now - dt.timedelta(days=n)).date(),
                taken_at=now - dt.timedelta(days=n),
                followers=5000 + 3 * (DAYS - n) + i * 100,
            )
            for i, channel in enumerate(channels)
            for n in range(DAYS)
        ),
        batch_size=5000,
    )
    links = TrackedLink.objects.bulk_create(
        (
            TrackedLink(
                workspace=workspace,
                code=f"b{i:09d}",
                target_url=f"https://example.com/shop?utm_content=post-{post.pk}",
                target_hash=f"{i:064d}",
                post=post,
                channel=rng.choice(channels),
                campaign=post.campaign,
            )
            for i, post in enumerate(rng.sample(posts, LINKS))
        ),
        batch_size=2000,
    )
    published = {p.pk: p.scheduled_at for p in posts}
    LinkClick.objects.bulk_create(
        (
            LinkClick(
                link=link,
                workspace=workspace,
                clicked_at=min(
                    now, published[link.post_id] + dt.timedelta(hours=rng.expovariate(1 / 12))
                ),
                is_unique=rng.random() >= REPEAT_SHARE,
            )
            for link in (rng.choice(links) for _ in range(CLICKS))
        ),
        batch_size=5000,
    )
    return {"viewer": viewer, "snapshots": MetricSnapshot.objects.count()}


def _time(client, url: str) -> list[float]:
    for _ in range(WARMUPS):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - t0) * 1000)
    return sorted(timings)


def run() -> dict:
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    with (
        throwaway_database("dashboard"),
        override_settings(
            ALLOWED_HOSTS=["testserver"],
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        ),
    ):
        progress(f"dashboard: seeding a year of data on {connection.vendor}")
        t0 = time.perf_counter()
        seeded = _seed(random.Random(365))
        progress(f"dashboard: seeded in {time.perf_counter() - t0:.1f}s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        client = Client()
        client.force_login(seeded["viewer"])
        url = reverse("analytics:dashboard", args=["bench"])
        timings = _time(client, url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        queries = len(captured)
        year = _time(client, url + "?period=365")
        return {
            "bench": "dashboard",
            "snapshots": seeded["snapshots"],
            "remote_posts": REMOTE_POSTS,
            "channels": CHANNELS,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(statistics.quantiles(timings, n=20)[18], 1),
            "queries": queries,
            "p50_ms_12_months": round(statistics.median(year), 1),
            "db": connection.vendor,
        }
