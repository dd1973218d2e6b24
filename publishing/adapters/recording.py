"""An in-memory adapter for tests, like Django's locmem e-mail backend: `outbox` keeps every
published request; faults can be queued to make the next calls fail.

Metrics are scripted: `post_metrics[remote_id]` are the numbers fetch_metrics reports for a post
(unscripted posts report zero likes), ids in `gone` are missing from its answer (deleted on the
platform), `account_values` is what fetch_account_metrics reports, `recent` what
list_recent_posts lists (filtered by `since` and `limit` like a platform). `metrics_calls` and
`listing_calls` record every call (the remote ids asked for, the `since` asked from).
`post_url` is the address a published post is said to have (`{remote_id}` filled in): a test
sets it to what a misbehaving platform might answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading

from publishing.adapters.base import (
    Account,
    AccountMetrics,
    AdapterError,
    Capabilities,
    ConnectResult,
    Credentials,
    MetricsSnapshot,
    PartCallback,
    PlatformAdapter,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RemotePostInfo,
)


class RecordingAdapter(PlatformAdapter):
    key = "manual"
    capabilities = Capabilities(
        auth="none",
        threads=True,
        first_comment=True,
        idempotency_key=True,
        metrics=frozenset({"likes", "comments", "shares", "impressions"}),
        metrics_batch_size=10,
        account_metrics=frozenset({"followers", "following", "posts"}),
        lists_recent_posts=True,
    )

    outbox: list[PublishRequest] = []
    faults: list[AdapterError] = []
    published: dict[str, PublishResult] = {}  # idempotency key -> result
    post_metrics: dict[str, dict[str, int]] = {}  # remote id -> numbers reported
    gone: set[str] = set()  # remote ids the platform no longer has
    account_values: dict[str, int] = {}
    recent: list[RemotePostInfo] = []
    metrics_calls: list[list[str]] = []
    listing_calls: list[dt.datetime] = []
    post_url_default = "https://recording.invalid/{remote_id}"
    post_url = post_url_default
    _ids = itertools.count(1)
    _lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.outbox = []
            cls.faults = []
            cls.published = {}
            cls.post_metrics = {}
            cls.gone = set()
            cls.account_values = {}
            cls.recent = []
            cls.metrics_calls = []
            cls.listing_calls = []
            cls.post_url = RecordingAdapter.post_url_default

    def _maybe_fail(self) -> None:
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            raise fault

    def connect_with_secret(self, *, account: Account, secret: str) -> ConnectResult:
        return ConnectResult(account=account, credentials=Credentials(access_token=secret))

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        return credentials

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        self._maybe_fail()
        with self._lock:
            # Honours the idempotency key like Mastodon: a repeat returns the original post.
            result = self.published.get(request.idempotency_key)
            if result is None:
                self.outbox.append(request)
                remote_id = f"rec-{next(self._ids)}"
                part = PublishedPart(remote_id, self.post_url.format(remote_id=remote_id))
                result = PublishResult(remote_id=remote_id, url=part.url, parts=[part])
                self.published[request.idempotency_key] = result
        if on_part:
            on_part(0, result.parts[0])
        return result

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        with self._lock:
            return self.published.get(request.idempotency_key)

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self._maybe_fail()

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        with self._lock:
            self.metrics_calls.append(list(remote_ids))
        self._maybe_fail()
        with self._lock:
            return [
                MetricsSnapshot(
                    remote_id=r,
                    values=dict(self.post_metrics.get(r, {"likes": 0})),
                    raw={"id": r, **self.post_metrics.get(r, {"likes": 0})},
                )
                for r in remote_ids
                if r not in self.gone
            ]

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        self._maybe_fail()
        with self._lock:
            return AccountMetrics(values=dict(self.account_values), raw=dict(self.account_values))

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        with self._lock:
            self.listing_calls.append(since)
        self._maybe_fail()
        with self._lock:
            found = [p for p in self.recent if p.published_at >= since]
        found.sort(key=lambda p: p.published_at, reverse=True)
        return found[:limit]
