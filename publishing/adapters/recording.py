"""An in-memory adapter for tests, like Django's locmem e-mail backend: `outbox` keeps every
published request; faults can be queued to make the next calls fail."""

from __future__ import annotations

import itertools
import threading

from publishing.adapters.base import (
    Account,
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
)


class RecordingAdapter(PlatformAdapter):
    key = "manual"
    capabilities = Capabilities(
        auth="none",
        threads=True,
        first_comment=True,
        idempotency_key=True,
        metrics=frozenset({"likes"}),
    )

    outbox: list[PublishRequest] = []
    faults: list[AdapterError] = []
    published: dict[str, PublishResult] = {}  # idempotency key -> result
    _ids = itertools.count(1)
    _lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.outbox = []
            cls.faults = []
            cls.published = {}

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
                part = PublishedPart(remote_id, f"https://recording.invalid/{remote_id}")
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
        self._maybe_fail()
        return [MetricsSnapshot(remote_id=r, values={"likes": 0}) for r in remote_ids]
