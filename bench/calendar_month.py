"""The month view with a busy workspace: 20,000 posts, 50 channels, ~700 posts in the month.

Renders the page through django.test.Client (all middleware, a signed-in manager), 3 warm-ups then
30 timed requests, and counts the SQL queries of one request.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

from bench import progress, setup_django, throwaway_database

POSTS = 20_000
IDEAS = 300  # part of POSTS: posts without a time
CHANNELS = 50
MONTHS = 29
WARMUPS = 3
RUNS = 30
PLATFORMS = ["mastodon", "linkedin", "facebook", "bluesky", "threads", "x", "telegram", "manual"]


def _seed(rng: random.Random) -> dict:
    from accounts.models import User
    from calendar_app.models import (
        Campaign,
        Channel,
        Label,
        Membership,
        Post,
        PostVariant,
        Role,
        Workspace,
    )
    from calendar_app.timeutils import local_to_utc

    workspace = Workspace.objects.create(name="Bench GmbH", slug="bench", timezone="Europe/Berlin")
    users = User.objects.bulk_create(
        User(username=f"bench{i}", first_name=f"Author {i}") for i in range(6)
    )
    Membership.objects.bulk_create(
        Membership(workspace=workspace, user=u, role=Role.MANAGER if i == 0 else Role.EDITOR)
        for i, u in enumerate(users)
    )
    channels = Channel.objects.bulk_create(
        Channel(
            workspace=workspace,
            platform=PLATFORMS[i % len(PLATFORMS)],
            name=f"Channel {i:02d}",
            account_id=f"acct-{i}",
        )
        for i in range(CHANNELS)
    )
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            workspace=workspace, name=f"Campaign {i}", color=f"#{rng.randrange(0x1000000):06x}"
        )
        for i in range(6)
    )
    labels = Label.objects.bulk_create(
        Label(workspace=workspace, name=f"label {i}", color=f"#{rng.randrange(0x1000000):06x}")
        for i in range(8)
    )

    tz = workspace.tz
    today = dt.datetime.now(tz).date()
    # The measured month is next month; posts spread over the 14 months before it to 15 after.
    month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    first = (month - dt.timedelta(days=14 * 30.5)).replace(day=1)
    span = local_to_utc(first + dt.timedelta(days=int(MONTHS * 30.44)), dt.time(0), tz) - (
        start := local_to_utc(first, dt.time(0), tz)
    )
    body = (
        "Frühlingsangebot: 20 % auf alles, nur diese Woche! Mehr dazu auf unserer Website "
        "https://example.com/fruehling #spring #sale"
    )
    posts = [
        Post(
            workspace=workspace,
            author=rng.choice(users),
            campaign=rng.choice([*campaigns, None, None]),
            title=f"Post {i}" if i % 3 else "",
            body=body,
            scheduled_at=None
            if i < IDEAS
            else start
            + dt.timedelta(seconds=rng.randrange(int(span.total_seconds()) // 900) * 900),
        )
        for i in range(POSTS)
    ]
    posts = Post.objects.bulk_create(posts, batch_size=2000)
    PostVariant.objects.bulk_create(
        (
            PostVariant(post=p, channel=c)
            for p in posts
            for c in rng.sample(channels, rng.randint(1, 3))
        ),
        batch_size=5000,
    )
    Post.labels.through.objects.bulk_create(
        (
            Post.labels.through(post_id=p.pk, label_id=lb.pk)
            for p in posts
            for lb in rng.sample(labels, rng.randint(0, 2))
        ),
        batch_size=5000,
    )
    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    in_month = Post.objects.filter(
        workspace=workspace,
        scheduled_at__gte=local_to_utc(month, dt.time(0), tz),
        scheduled_at__lt=local_to_utc(next_month, dt.time(0), tz),
    ).count()
    return {"workspace": workspace, "manager": users[0], "month": month, "in_month": in_month}


def run() -> dict:
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    with (
        throwaway_database("calendar_month"),
        override_settings(
            ALLOWED_HOSTS=["testserver"],
            # No collectstatic here: plain static URLs instead of the manifest.
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        ),
    ):
        progress(f"calendar_month: seeding {POSTS} posts on {connection.vendor}")
        t0 = time.perf_counter()
        seeded = _seed(random.Random(20_000))
        progress(f"calendar_month: seeded in {time.perf_counter() - t0:.1f}s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

        client = Client()
        client.force_login(seeded["manager"])
        month = seeded["month"]
        url = reverse("calendar:month", args=["bench", month.year, month.month])
        for _ in range(WARMUPS):
            response = client.get(url)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        # Read now: the next request's request_started signal empties the connection's query log.
        queries = len(captured)
        grid = response.content.split(b'data-testid="ideas"')[0]
        rendered = grid.count(b'data-testid="post-chip"')
        timings = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        return {
            "bench": "calendar_month",
            "posts": POSTS,
            "channels": CHANNELS,
            "posts_in_month": seeded["in_month"],
            "posts_rendered": rendered,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(statistics.quantiles(timings, n=20)[18], 1),
            "queries": queries,
            "db": connection.vendor,
        }
