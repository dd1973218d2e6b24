"""The Celery queue names, in one place: routes (settings) and the Procfile worker use these."""

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "celery"  # housekeeping: heartbeats, sweeps
    PUBLISH = "publish"  # talking to platforms; slow and rate-limited
    METRICS = "metrics"  # fetching numbers after publication; may lag behind
