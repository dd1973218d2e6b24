"""Simulated engagement for the demo workspace (`manage.py seed_demo_metrics`).

What it makes, all derived deterministically from dates and ids so that a second run finds
what the first made (natural keys) and only adds what has become due since:
- the demo posts whose time has passed (this month, from seed_demo) go out: a published
  delivery and an attempt per channel, and the post moves to "scheduled" as if it had been
  approved;
- HISTORY_DAYS of posts "found on the account" (what a backfill imports), so the best-time
  heatmap and the period comparison have data from day one;
- for every published post, snapshots on the pull schedule (15 min ... 30 days) of numbers that
  grow fast and then flatten; the latest copied onto the post. Engagement depends on the channel
  (LinkedIn converts best per impression, Instagram earns the most) and on the local hour and
  weekday (evenings around 18:00 and Tuesdays/Thursdays work best);
- one follower count per channel and local day;
- short links with clicks for the campaign posts, and campaign budgets (only where none is set).

Nothing here is pulled again by the metrics collector: the schedule of every simulated post is
closed (next_pull_at NULL), the demo channels have no real accounts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from calendar_app.models import Campaign, Channel, Post, PostVariant, Workspace
from calendar_app.platforms import Platform
from calendar_app.services.review import post_transition
from calendar_app.timeutils import local_to_utc
from calendar_app.workflow import PostAction, PostStatus
from links.models import LinkClick, TrackedLink
from links.services import tracked_links_get_or_create, utm_params, utm_tagged
from publishing.metrics.schedule import SCHEDULE
from publishing.models import (
    AccountSnapshot,
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
    SandboxPost,
)

HISTORY_DAYS = 120  # imported posts and follower counts reach back this far
APP_POSTS_DAYS = 35  # demo posts up to this old are published (seed_demo plans this month)
PULL_STEPS = SCHEDULE  # the demo's snapshots stand where the real pulls would
SITE = "https://nordlicht-kaffee.de"
CAMPAIGN_BUDGETS = {  # seed_demo's campaign names -> budget in EUR
    "Neue Ernte Äthiopien": Decimal("1500.00"),
    "Barista-Workshops": Decimal("600.00"),
    "Nachhaltig rösten": Decimal("800.00"),
}
CAMPAIGN_PAGES = {
    "Neue Ernte Äthiopien": "/shop/aethiopien-yirgacheffe",
    "Barista-Workshops": "/workshops",
    "Nachhaltig rösten": "/nachhaltigkeit",
}
REFERRERS = {
    "instagram": "l.instagram.com",
    "facebook": "l.facebook.com",
    "linkedin": "www.linkedin.com",
    "x": "t.co",
    "mastodon": "",
    "bluesky": "bsky.app",
}
REPEAT_CLICK_SHARE = 0.12  # clicks by someone who clicked that link earlier the same day


@dataclass(frozen=True)
class Profile:
    """How a demo channel behaves: audience, reach and which numbers its platform reports."""

    followers: int  # at the start of the history
    growth_per_day: float
    reach: float  # impressions per post, as a share of followers
    rate: float  # interactions per impression (per follower where there are no impressions)
    metrics: tuple[str, ...]  # what the platform reports
    cadence: float  # imported posts per day
    ctr: float  # short-link clicks per impression (or follower)


PROFILES = {
    "instagram": Profile(
        9400, 9.0, 0.34, 0.052, ("impressions", "likes", "comments", "shares", "saves"), 0.6, 0.004
    ),
    "linkedin": Profile(
        2100,
        3.0,
        0.55,
        0.068,
        ("impressions", "likes", "comments", "shares", "clicks"),
        0.35,
        0.012,
    ),
    "facebook": Profile(
        5100,
        1.5,
        0.22,
        0.021,
        ("impressions", "likes", "comments", "shares", "clicks"),
        0.45,
        0.006,
    ),
    "x": Profile(
        3000, 0.8, 0.6, 0.014, ("impressions", "likes", "comments", "shares", "quotes"), 0.5, 0.003
    ),
    "mastodon": Profile(1700, 2.0, 0.0, 0.021, ("likes", "comments", "shares"), 0.5, 0.002),
    "bluesky": Profile(820, 4.0, 0.0, 0.026, ("likes", "comments", "shares", "quotes"), 0.4, 0.003),
    "wordpress": Profile(0, 0.0, 0.0, 0.0, ("comments",), 0.1, 0.0),
}
# How interactions split into kinds, per platform (the rest of the weight is ignored).
MIX = {
    "likes": 0.72,
    "comments": 0.1,
    "shares": 0.09,
    "saves": 0.07,
    "quotes": 0.02,
    "clicks": 0.25,  # platform clicks, on top of interactions
}
POSTING_HOURS = [(8, 3), (9, 2), (12, 4), (13, 2), (17, 3), (18, 4), (19, 3), (20, 2), (11, 1)]
WEEKDAY_FACTOR = {1: 1.0, 2: 1.2, 3: 0.95, 4: 1.12, 5: 0.9, 6: 0.75, 7: 0.85}


def hour_factor(hour: int) -> float:
    """Evenings around 18:00 work best, lunchtime second, early mornings least."""
    return (
        0.55
        + 0.95 * math.exp(-((hour - 18.0) ** 2) / 2.0)
        + 0.35 * math.exp(-((hour - 12.2) ** 2) / 2.0)
    )


def growth(age: dt.timedelta) -> float:
    """Share of a post's final numbers reached `age` after publishing: most in the first
    hours, a long flat tail after that."""
    hours = max(age.total_seconds() / 3600, 0.0)
    return 0.82 * (1 - math.exp(-hours / 5.0)) + 0.18 * (1 - math.exp(-hours / 96.0))


def _rng(*parts) -> random.Random:
    seed = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return random.Random(int(seed[:16], 16))


def followers_on(channel: Channel, profile: Profile, day: dt.date) -> int | None:
    if not profile.followers:
        return None
    days = (day - dt.date(2026, 1, 1)).days
    noise = _rng("followers", channel.pk, day.isoformat()).gauss(0, 3)
    return max(0, round(profile.followers + profile.growth_per_day * days + noise))


@dataclass
class Outcome:
    published_posts: int = 0
    remote_posts: int = 0
    snapshots: int = 0
    account_snapshots: int = 0
    links: int = 0
    clicks: int = 0
    budgets: int = 0


class DemoMetrics:
    def __init__(self, workspace: Workspace, *, now: dt.datetime | None = None):
        self.workspace = workspace
        self.tz = workspace.tz
        self.now = now or timezone.now()
        self.today = self.now.astimezone(self.tz).date()
        self.outcome = Outcome()
        self.channels = [
            c for c in Channel.objects.filter(workspace=workspace) if c.platform in PROFILES
        ]

    # --- the whole run --------------------------------------------------------------------------

    def run(self) -> Outcome:
        with transaction.atomic():
            self._budgets()
            self._followers()
            finals = self._publish_demo_posts()
            finals.update(self._history())
            self._snapshots(finals)
        return self.outcome

    # --- campaigns -----------------------------------------------------------------------------

    def _budgets(self) -> None:
        for campaign in Campaign.objects.filter(
            workspace=self.workspace, name__in=CAMPAIGN_BUDGETS, budget__isnull=True
        ):
            campaign.budget = CAMPAIGN_BUDGETS[campaign.name]
            campaign.currency = "EUR"
            campaign.save(update_fields=["budget", "currency"])
            self.outcome.budgets += 1

    # --- followers -----------------------------------------------------------------------------

    def _followers(self) -> None:
        days = [self.today - dt.timedelta(days=n) for n in range(HISTORY_DAYS + 1)]
        existing = set(
            AccountSnapshot.objects.filter(
                channel__in=self.channels, day__gte=days[-1]
            ).values_list("channel_id", "day")
        )
        rows = []
        for channel in self.channels:
            profile = PROFILES[channel.platform]
            for day in days:
                followers = followers_on(channel, profile, day)
                if followers is None or (channel.pk, day) in existing:
                    continue
                taken = local_to_utc(day, dt.time(6, 0), self.tz)
                if taken > self.now:
                    taken = self.now
                rows.append(
                    AccountSnapshot(
                        workspace=self.workspace,
                        channel=channel,
                        day=day,
                        taken_at=taken,
                        followers=followers,
                        raw={"demo": True},
                    )
                )
        AccountSnapshot.objects.bulk_create(rows, batch_size=1000)
        self.outcome.account_snapshots += len(rows)

    # --- the demo's own posts ------------------------------------------------------------------

    def _publish_demo_posts(self) -> dict[int, dict]:
        """Publish the past demo posts; {remote post id: final numbers} of all of them."""
        earliest = self.now - dt.timedelta(days=APP_POSTS_DAYS)
        posts = (
            Post.objects.filter(
                workspace=self.workspace,
                scheduled_at__gte=earliest,
                scheduled_at__lt=self.now - PULL_STEPS[0],
            )
            .select_related("campaign")
            .prefetch_related("variants__channel")
            .order_by("scheduled_at", "pk")
        )
        finals: dict[int, dict] = {}
        for post in posts:
            variants = list(post.variants.all())
            if not any(v.channel.platform in PROFILES for v in variants):
                continue
            if post.status not in {PostStatus.SCHEDULED} and not self._schedule(post):
                continue  # waiting for approval: it would not have gone out
            # Every channel gets its published delivery (a manual one too, as if marked as
            # posted), so the engine finds nothing left to do for these posts.
            for variant in variants:
                remote_post = self._deliver(post, variant)
                if remote_post is not None:
                    finals[remote_post.pk] = self._final_numbers(
                        remote_post, variant.channel, ("post", post.pk)
                    )
                    self._links(post, variant, remote_post, finals[remote_post.pk])
        return finals

    def _schedule(self, post: Post) -> bool:
        if post.status not in {
            PostStatus.DRAFT,
            PostStatus.APPROVED,
            PostStatus.MISSED_APPROVAL,
        }:
            return False
        post_transition(
            post=post,
            to_status=PostStatus.SCHEDULED,
            action=PostAction.DEMO_HISTORY,
            actor_name="demo",
            comment="Simulated for the analytics demo.",
        )
        self.outcome.published_posts += 1
        return True

    def _deliver(self, post: Post, variant: PostVariant) -> RemotePost | None:
        channel = variant.channel
        published_at = post.scheduled_at + dt.timedelta(seconds=4)
        remote_id = f"demo-{post.pk}-{channel.pk}"
        delivery, created = Delivery.objects.get_or_create(
            post=post,
            channel=channel,
            defaults={
                "workspace": self.workspace,
                "state": DeliveryState.PUBLISHED,
                "due_at": post.scheduled_at,
                "run_at": post.scheduled_at,
                "idempotency_key": f"demo-{post.pk}-{channel.pk}",
                "attempts": 0 if channel.platform == Platform.MANUAL else 1,
                "remote_id": remote_id,
                # No address: the demo's posts were never on the platforms, and an invented id
                # behind "View on Instagram" opens somebody else's post or a 404 there.
                "url": "",
                "published_at": published_at,
                "assignee": post.author if channel.platform == Platform.MANUAL else None,
            },
        )
        if created and channel.platform == Platform.TESTNET:
            self._sandbox(channel, delivery, variant)
        if delivery.state != DeliveryState.PUBLISHED or channel.platform not in PROFILES:
            return None  # a real delivery (not ours to rewrite), or a channel without numbers
        if created and channel.platform != Platform.MANUAL:  # a manual one was marked done
            Attempt.objects.create(
                delivery=delivery,
                workspace=self.workspace,
                started_at=post.scheduled_at,
                finished_at=published_at,
                worker="demo",
                outcome=AttemptOutcome.PUBLISHED,
                http_status=200,
                idempotency_key=delivery.idempotency_key,
            )
        remote_post, made = RemotePost.objects.get_or_create(
            channel=channel,
            remote_id=delivery.remote_id or remote_id,
            defaults={
                "workspace": self.workspace,
                "delivery": delivery,
                "source": RemotePostSource.APP,
                "url": delivery.url,
                "text": variant.effective_body[:280],
                "published_at": delivery.published_at or published_at,
            },
        )
        self.outcome.remote_posts += int(made)
        return remote_post

    def _sandbox(self, channel: Channel, delivery: Delivery, variant: PostVariant) -> None:
        """A past post on the test network is on its sandbox feed, as if it had gone out."""
        post = SandboxPost.objects.get_or_create(
            account_id=channel.account_id,
            idempotency_key=delivery.idempotency_key,
            defaults={
                "remote_id": delivery.remote_id,
                "title": variant.effective_title,
                "text": variant.effective_body,
                "created_at": delivery.published_at,
            },
        )[0]
        feed = (channel.config or {}).get("feed_url", "")
        if feed:
            delivery.url = f"{feed}#post-{post.remote_id}"
            delivery.save(update_fields=["url"])

    # --- history found on the accounts ---------------------------------------------------------

    def _history(self) -> dict[int, dict]:
        """Posts published outside the app over the last HISTORY_DAYS (what a backfill finds)."""
        existing = {
            (channel_id, remote_id): pk
            for pk, channel_id, remote_id in RemotePost.objects.filter(
                channel__in=self.channels, source=RemotePostSource.IMPORTED
            ).values_list("pk", "channel_id", "remote_id")
        }
        finals: dict[int, dict] = {}
        rows = []
        for channel in self.channels:
            profile = PROFILES[channel.platform]
            for n in range(1, HISTORY_DAYS + 1):
                day = self.today - dt.timedelta(days=n)
                rng = _rng("history", channel.pk, day.isoformat())
                if rng.random() >= profile.cadence:
                    continue
                hours, weights = zip(*POSTING_HOURS, strict=True)
                hour = rng.choices(hours, weights)[0]
                published_at = local_to_utc(day, dt.time(hour, rng.randrange(0, 60, 5)), self.tz)
                remote_id = f"demo-history-{channel.pk}-{day.isoformat()}"
                key = (channel.pk, remote_id)
                if key in existing:
                    continue
                rows.append(
                    RemotePost(
                        workspace=self.workspace,
                        channel=channel,
                        source=RemotePostSource.IMPORTED,
                        remote_id=remote_id,
                        url="",  # as _deliver: no invented addresses
                        text=rng.choice(HISTORY_TEXTS),
                        published_at=published_at,
                    )
                )
        created = RemotePost.objects.bulk_create(rows, batch_size=500)
        self.outcome.remote_posts += len(created)
        by_channel = {c.pk: c for c in self.channels}
        for remote_post in RemotePost.objects.filter(
            channel__in=self.channels,
            source=RemotePostSource.IMPORTED,
            remote_id__startswith="demo-",
        ):
            channel = by_channel[remote_post.channel_id]
            finals[remote_post.pk] = self._final_numbers(
                remote_post, channel, ("history", remote_post.remote_id)
            )
        return finals

    # --- numbers ---------------------------------------------------------------------------------

    def _final_numbers(self, remote_post: RemotePost, channel: Channel, key: tuple) -> dict:
        """A post's lifetime totals once it has stopped growing (30 days on)."""
        profile = PROFILES[channel.platform]
        rng = _rng("final", channel.pk, *key)
        local = remote_post.published_at.astimezone(self.tz)
        factor = (
            hour_factor(local.hour)
            * WEEKDAY_FACTOR[local.isoweekday()]
            * math.exp(rng.gauss(0, 0.22))
        )
        followers = followers_on(channel, profile, local.date()) or 0
        numbers: dict = {}
        if "impressions" in profile.metrics:
            impressions = followers * profile.reach * math.exp(rng.gauss(0, 0.25))
            numbers["impressions"] = round(impressions)
            interactions = impressions * profile.rate * factor
            numbers["clicks"] = round(impressions * profile.ctr * 2 * factor)
            numbers["link_base"] = impressions
        else:
            interactions = (followers * profile.rate * factor) if followers else rng.uniform(0, 6)
            numbers["link_base"] = followers * 0.3
        for metric in ("likes", "comments", "shares", "saves", "quotes"):
            if metric in profile.metrics:
                share = MIX[metric] if metric != "comments" or profile.followers else 1.0
                numbers[metric] = round(interactions * share * math.exp(rng.gauss(0, 0.15)))
        numbers["link_ctr"] = profile.ctr * factor
        return {m: v for m, v in numbers.items() if m in profile.metrics or m.startswith("link")}

    def _snapshots(self, finals: dict[int, dict]) -> None:
        """Every pull step that has passed, once; the newest numbers onto the post."""
        if not finals:
            return
        seen: dict[int, set[int]] = {}
        for remote_post_id, seq in MetricSnapshot.objects.filter(
            remote_post_id__in=list(finals)
        ).values_list("remote_post_id", "seq"):
            seen.setdefault(remote_post_id, set()).add(seq)
        remote_posts = list(RemotePost.objects.filter(pk__in=list(finals)))
        new = []
        for rp in remote_posts:
            final = finals[rp.pk]
            latest = None
            for seq, step in enumerate(PULL_STEPS, start=1):
                taken = rp.published_at + step
                if taken > self.now:
                    break
                share = growth(step)
                values = {m: round(v * share) for m, v in final.items() if not m.startswith("link")}
                latest = (seq, taken, values)
                if seq in seen.get(rp.pk, set()):
                    continue
                new.append(
                    MetricSnapshot(
                        remote_post=rp, seq=seq, taken_at=taken, raw={"demo": True}, **values
                    )
                )
            if latest is None:
                continue
            seq, taken, values = latest
            for metric, value in values.items():
                setattr(rp, metric, value)
            rp.step = seq
            rp.last_pulled_at = taken
            rp.next_pull_at = None  # simulated: the real collector never pulls these
        MetricSnapshot.objects.bulk_create(new, batch_size=1000)
        self.outcome.snapshots += len(new)
        RemotePost.objects.bulk_update(
            remote_posts,
            [
                "impressions",
                "likes",
                "comments",
                "shares",
                "saves",
                "quotes",
                "clicks",
                "step",
                "last_pulled_at",
                "next_pull_at",
            ],
            batch_size=500,
        )

    # --- short links ---------------------------------------------------------------------------

    def _links(self, post: Post, variant: PostVariant, remote_post: RemotePost, final: dict):
        """A tagged short link for each campaign post, with people's clicks after publishing."""
        campaign = post.campaign
        if campaign is None or campaign.name not in CAMPAIGN_PAGES:
            return
        channel = variant.channel
        target = utm_tagged(
            SITE + CAMPAIGN_PAGES[campaign.name],
            utm_params(channel=channel, post=post, campaign=campaign),
        )
        link = tracked_links_get_or_create(
            targets=[target],
            workspace=self.workspace,
            channel=channel,
            post=post,
            campaign_id=campaign.pk,
        )[target]
        if link.clicks or LinkClick.objects.filter(link=link).exists():
            return  # clicked before: made by an earlier run
        self.outcome.links += 1
        rng = _rng("clicks", post.pk, channel.pk)
        expected = final.get("link_base", 0) * final.get("link_ctr", 0)
        clicks = []
        for _n in range(max(0, round(expected * math.exp(rng.gauss(0, 0.2))))):
            age = dt.timedelta(hours=rng.expovariate(1 / 7.0))
            clicked_at = remote_post.published_at + age
            if clicked_at >= self.now:
                continue
            clicks.append(
                LinkClick(
                    link=link,
                    workspace=self.workspace,
                    clicked_at=clicked_at,
                    referrer_host=REFERRERS.get(channel.platform, ""),
                    is_unique=rng.random() >= REPEAT_CLICK_SHARE,
                )
            )
        LinkClick.objects.bulk_create(clicks, batch_size=1000)
        TrackedLink.objects.filter(pk=link.pk).update(
            clicks=len(clicks), unique_clicks=sum(c.is_unique for c in clicks)
        )
        self.outcome.clicks += len(clicks)


HISTORY_TEXTS = [
    "Frisch geröstet: Unsere Hausmischung ist wieder da.",
    "Guten Morgen aus der Rösterei! ☕",
    "Heute im Café: Franzbrötchen und Filterkaffee.",
    "Wie trinkt ihr euren Kaffee am liebsten?",
    "Neue Bohnen aus Kolumbien eingetroffen.",
    "Unser Team beim Cupping: wir probieren die nächste Ernte.",
    "Wochenendtipp: Cold Brew selbst machen.",
    "Danke für eure Fotos mit #nordlichtkaffee!",
    "Latte-Art-Übung am Morgen.",
    "Die Rösterei ist heute ab 10 Uhr geöffnet.",
]
