"""The test network: a platform inside this installation, so a newcomer sees the whole loop
(schedule, approve, published at its minute, numbers growing) before connecting a real
account, the way payment providers offer a test mode.

Posts go into publishing.SandboxPost and show on the workspace's sandbox feed
(/w/<ws>/sandbox/); nothing leaves the server. The network honours the idempotency key for
ever (a repeat returns the first post), so the look-up finds every post by its key. Engagement
is simulated: each post reaches a few hundred to fifteen hundred people over the following
minutes, and likes, shares and comments follow from that, the same numbers for the same post
at the same moment (derived from its id and age, not stored), so metrics pulls see them grow.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets
from typing import ClassVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from publishing.adapters.base import (
    Account,
    AccountMetrics,
    Capabilities,
    ConnectResult,
    Credentials,
    MetricsSnapshot,
    PartCallback,
    PlatformAdapter,
    PublishedPart,
    PublishRequest,
    PublishResult,
)

KEY = "testnet"
GROWTH_MINUTES = 20.0  # about two thirds of a post's reach arrive within this time


def simulated_numbers(remote_id: str, posted_at: dt.datetime, now: dt.datetime) -> dict[str, int]:
    """A post's numbers at `now`: its reach grows towards a ceiling of its own; likes, shares
    and comments are shares of what it reached. Deterministic: the same post, the same age,
    the same numbers."""
    rng = random.Random(f"testnet:{remote_id}")
    ceiling = rng.randint(200, 1500)
    like_rate, share_rate, comment_rate = (
        rng.uniform(0.03, 0.09),
        rng.uniform(0.1, 0.3),
        rng.uniform(0.05, 0.2),
    )
    minutes = max(0.0, (now - posted_at).total_seconds() / 60)
    impressions = round(ceiling * (1 - math.exp(-minutes / GROWTH_MINUTES)))
    likes = round(impressions * like_rate)
    return {
        "impressions": impressions,
        "likes": likes,
        "shares": round(likes * share_rate),
        "comments": round(likes * comment_rate),
    }


class TestNetworkAdapter(PlatformAdapter):
    key = KEY
    capabilities = Capabilities(
        auth="none",
        threads=True,
        first_comment=True,
        idempotency_key=True,
        delete=True,
        metrics=frozenset({"impressions", "likes", "shares", "comments"}),
        metrics_batch_size=50,
        account_metrics=frozenset({"followers", "posts"}),
    )
    # Pulled within minutes of posting (then as every platform): the newcomer who just saw the
    # post go out watches its numbers grow in analytics instead of waiting a quarter of an hour.
    metrics_schedule: ClassVar[tuple[dt.timedelta, ...]] = (
        *(dt.timedelta(minutes=m) for m in (2, 5, 10, 20, 40)),
        *(dt.timedelta(hours=h) for h in (6, 24)),
        *(dt.timedelta(days=d) for d in (3, 7, 30)),
    )
    # The key is kept for ever: posting again under it can never make a second post.
    idempotency_window: ClassVar[dt.timedelta | None] = dt.timedelta(days=36500)

    def connect_test_account(self, *, name: str) -> ConnectResult:
        """A new test account (no sign-in: it lives here)."""
        account_id = "tn-" + secrets.token_hex(6)
        return ConnectResult(
            account=Account(
                account_id=account_id,
                handle=f"@{account_id}",
                name=name,
                config={"test_network": True},
            ),
            credentials=Credentials(access_token="test-network"),
        )

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        return credentials

    # -- publishing ------------------------------------------------------------------------------
    def _url(self, account: Account, remote_id: str) -> str:
        feed = account.config.get("feed_url", "")
        return f"{feed}#post-{remote_id}" if feed else ""

    def _post(self, account: Account, request: PublishRequest, index: int, text: str, reply_to=""):
        from publishing.models import SandboxPost

        key = request.idempotency_key if index == 0 else f"{request.idempotency_key}:{index}"
        fields = {
            "remote_id": "tp-" + secrets.token_hex(8),
            "reply_to": reply_to,
            "title": request.title if index == 0 else "",
            "text": text,
            "media": [
                {"kind": m.kind, "name": m.filename, "alt": m.alt_text}
                for m in (request.media if index == 0 else [])
            ],
        }
        try:
            with transaction.atomic():
                post, _created = SandboxPost.objects.get_or_create(
                    account_id=account.account_id, idempotency_key=key, defaults=fields
                )
        except IntegrityError:  # two attempts at once: the other one's post is the post
            post = SandboxPost.objects.get(account_id=account.account_id, idempotency_key=key)
        return PublishedPart(post.remote_id, self._url(account, post.remote_id))

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        parts = list(request.done_parts)
        texts = [request.text, *request.thread]
        for index in range(len(parts), len(texts)):
            reply_to = parts[-1].remote_id if parts else ""
            parts.append(self._post(account, request, index, texts[index], reply_to))
            if on_part:
                on_part(index, parts[-1])
        if request.first_comment.strip() and len(parts) == len(texts):
            index = len(texts)
            parts.append(
                self._post(account, request, index, request.first_comment, parts[0].remote_id)
            )
            if on_part:
                on_part(index, parts[-1])
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        from publishing.models import SandboxPost

        expected = 1 + len(request.thread) + (1 if request.first_comment.strip() else 0)
        keys = [request.idempotency_key] + [
            f"{request.idempotency_key}:{i}" for i in range(1, expected)
        ]
        found = dict(
            SandboxPost.objects.filter(
                account_id=account.account_id, idempotency_key__in=keys
            ).values_list("idempotency_key", "remote_id")
        )
        parts = []
        for key in keys:
            if key not in found:
                break
            parts.append(PublishedPart(found[key], self._url(account, found[key])))
        if not parts:
            return None
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        from publishing.models import SandboxPost

        SandboxPost.objects.filter(
            account_id=account.account_id, remote_id=remote_id, deleted_at__isnull=True
        ).update(deleted_at=timezone.now())

    def remote_id_from_url(self, url: str) -> str | None:
        _feed, _, fragment = url.partition("#post-")
        return fragment or None

    # -- numbers ---------------------------------------------------------------------------------
    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        from publishing.models import SandboxPost

        now = timezone.now()
        posts = SandboxPost.objects.filter(
            account_id=account.account_id, remote_id__in=remote_ids, deleted_at__isnull=True
        ).values_list("remote_id", "created_at")
        return [
            MetricsSnapshot(
                remote_id=remote_id,
                values=(numbers := simulated_numbers(remote_id, created_at, now)),
                raw={"simulated": True, **numbers},
            )
            for remote_id, created_at in posts
        ]

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        from publishing.models import SandboxPost

        posts = SandboxPost.objects.filter(
            account_id=account.account_id, deleted_at__isnull=True, reply_to=""
        )
        count = posts.count()
        values = {"followers": 1000 + 37 * count, "posts": count}
        return AccountMetrics(values=values, raw={"simulated": True, **values})
