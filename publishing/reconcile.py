"""Resolves deliveries a dead worker or a lost message left behind (beat, every 30 s).

- publishing past its lease: the worker died mid-call. The delivery goes back to pending with
  `reconcile` set, so its next attempt first asks the platform whether the post already exists
  (find_existing, by idempotency key or by scanning recent posts) and only then publishes.
- queued long past its time: the task message was lost (broker restart, redelivery pending
  for the visibility timeout); it is handed over again under a new job, so the old message,
  should it still arrive, does nothing.
- a worker starting again under the same node name releases what it held when it died, at
  once (a `kill -9` and restart must not wait for the lease).
- manual posts not marked done long after their time: the managers are told (once).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.permissions import managers_of
from calendar_app.platforms import Platform
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from publishing.services import delivery_move

D = DeliveryState
BATCH = 500


def deliveries_reconcile_stuck(*, now: dt.datetime | None = None) -> int:
    """Release deliveries stuck in publishing past the lease or queued past the grace period.
    Returns how many were released."""
    now = now or timezone.now()
    lease = dt.timedelta(seconds=settings.PUBLISHING_LEASE_SECONDS)
    grace = dt.timedelta(seconds=settings.PUBLISHING_QUEUED_GRACE_SECONDS)
    count = 0
    stuck = (
        Delivery.objects.filter(state=D.PUBLISHING, claimed_at__lt=now - lease)
        .exclude(channel__platform=Platform.MANUAL)
        .values_list("pk", "job")
    )
    for pk, job in stuck[:BATCH]:
        with transaction.atomic():
            if delivery_move(
                pk, job=job, from_states=[D.PUBLISHING], to=D.PENDING, run_at=now, reconcile=True
            ):
                Attempt.objects.filter(delivery_id=pk, finished_at__isnull=True).update(
                    finished_at=now, outcome=AttemptOutcome.ABANDONED
                )
                count += 1
    lost = Delivery.objects.filter(state=D.QUEUED, run_at__lt=now - grace).values_list("pk", "job")
    for pk, job in lost[:BATCH]:
        count += delivery_move(pk, job=job, from_states=[D.QUEUED], to=D.PENDING)
    return count


def deliveries_release_worker(*, worker: str, now: dt.datetime | None = None) -> int:
    """A worker node (re)starts: nothing it was publishing can still be running, so its
    deliveries go back to pending at once, to be looked up on the platform before a retry."""
    now = now or timezone.now()
    held = Delivery.objects.filter(
        state=D.PUBLISHING,
        attempt_set__worker=worker,
        attempt_set__finished_at__isnull=True,
    ).exclude(channel__platform=Platform.MANUAL)
    count = 0
    for pk, job in held.values_list("pk", "job").distinct()[:BATCH]:
        with transaction.atomic():
            if delivery_move(
                pk, job=job, from_states=[D.PUBLISHING], to=D.PENDING, run_at=now, reconcile=True
            ):
                Attempt.objects.filter(delivery_id=pk, finished_at__isnull=True).update(
                    finished_at=now, outcome=AttemptOutcome.ABANDONED
                )
                count += 1
    return count


def deliveries_escalate_manual(*, now: dt.datetime | None = None) -> int:
    """Tell the managers about manual posts still not marked done long after their time."""
    from notifications.services import notify

    now = now or timezone.now()
    overdue = dt.timedelta(seconds=settings.PUBLISHING_MANUAL_ESCALATE_SECONDS)
    late = Delivery.objects.filter(
        state=D.PUBLISHING,
        channel__platform=Platform.MANUAL,
        escalated_at__isnull=True,
        due_at__lt=now - overdue,
    ).select_related("post__workspace", "channel")
    count = 0
    for delivery in late[:BATCH]:
        with transaction.atomic():
            if not Delivery.objects.filter(pk=delivery.pk, escalated_at__isnull=True).update(
                escalated_at=now
            ):
                continue
            notify(
                kind="manual_post_due",
                recipients=managers_of(delivery.workspace_id),
                workspace=delivery.post.workspace,
                post=delivery.post,
                params={
                    "channel": delivery.channel.name,
                    "detail": _("It is overdue and not marked done yet."),
                },
            )
            count += 1
    return count
