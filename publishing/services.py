"""Writes on the delivery side. Tasks are thin wrappers around these functions."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from publishing.models import WorkerHeartbeat


@transaction.atomic
def heartbeat_record(*, name: str) -> WorkerHeartbeat:
    """Upsert the heartbeat row `name` with the current time."""
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen": timezone.now()}
    )
    return heartbeat
