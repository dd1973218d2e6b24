"""The bare Celery task of bench/publish_burst's floor: it only records its call (a Redis INCR
and the time), on the same broker, queue and worker settings as the publish task."""

from __future__ import annotations

import time

import redis
from celery import shared_task
from django.conf import settings

_client = None


@shared_task(ignore_result=True)
def record_call(key: str) -> None:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    pipe = _client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.set(f"{key}:last", repr(time.time()))
    pipe.execute()
