"""The publishing engine with the recording adapter: dispatch, claim, publish, faults, retries,
lateness, reconciliation, rate limiting, manual channels. Plain functions, real database."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from calendar_app.models import ChannelState, MediaAsset, PostMedia
from calendar_app.workflow import PostStatus
from notifications.models import Notification
from publishing import dispatch, ratelimit, reconcile, services
from publishing.adapters.base import (
    AuthExpired,
    PermanentError,
    PublishedPart,
    PublishResult,
    RateLimited,
    TransientError,
)
from publishing.adapters.recording import RecordingAdapter
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from tests.publishing_helpers import RECORDING, connected_channel, due_post, no_approval

D = DeliveryState


class ThreadingRecorder(RecordingAdapter):
    """Publishes the main post and a first comment as two parts; `fail_after_first` makes the
    next call fail once the main post is out."""

    fail_after_first = 0
    calls: list = []

    def publish(self, *, account, credentials, request, on_part=None):
        type(self).calls.append([p.remote_id for p in request.done_parts])
        parts = list(request.done_parts)
        texts = [request.text] + ([request.first_comment] if request.first_comment else [])
        for index in range(len(parts), len(texts)):
            part = PublishedPart(f"{request.idempotency_key}-{index}", f"https://t.invalid/{index}")
            RecordingAdapter.outbox.append(texts[index])
            parts.append(part)
            if on_part:
                on_part(index, part)
            if index == 0 and type(self).fail_after_first:
                type(self).fail_after_first -= 1
                raise TransientError("The connection dropped.")
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)


@pytest.fixture(autouse=True)
def engine(settings, workspace, members):
    settings.PUBLISHING_ADAPTERS = {"mastodon": RECORDING, "threads": RECORDING}
    settings.PUBLISHING_RATE_LIMITS = {"default": (1000, 1000)}
    settings.PUBLISHING_MAX_ATTEMPTS = 3
    RecordingAdapter.reset()
    no_approval(workspace)
    yield
    RecordingAdapter.reset()


@pytest.fixture
def sent(monkeypatch):
    """Publish tasks the dispatcher sends, as (delivery id, job, run_at), instead of the broker."""
    messages: list[tuple[int, int, dt.datetime]] = []

    def record(taken, now):
        messages.extend(taken)

    monkeypatch.setattr(dispatch, "deliveries_send", record)
    return messages


@pytest.fixture
def mastodon(workspace):
    channel = connected_channel(workspace, name="Acme Mastodon")
    ratelimit.rate_reset(channel_id=channel.pk)
    return channel


def dispatch_and_work(sent, django_capture_on_commit_callbacks) -> list[str]:
    """One dispatcher pass, then every task it sent, run here like a worker would."""
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    outcomes = []
    while sent:
        pk, job, _eta = sent.pop(0)
        outcomes.append(services.delivery_publish(delivery_id=pk, job=job, worker="w1"))
    return outcomes


@pytest.fixture
def work(sent, django_capture_on_commit_callbacks):
    return lambda: dispatch_and_work(sent, django_capture_on_commit_callbacks)


# --- dispatch and the happy path -----------------------------------------------------------------


def test_given_a_due_post_when_dispatched_and_worked_then_published_once_with_remote_id_and_attempt(
    workspace, editor, mastodon, work
):
    post = due_post(workspace, [mastodon], author=editor.user, body="Guten Morgen!")

    assert work() == ["published"]

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == D.PUBLISHED
    assert delivery.remote_id.startswith("rec-")
    assert delivery.url == f"https://recording.invalid/{delivery.remote_id}"
    assert [r.text for r in RecordingAdapter.outbox] == ["Guten Morgen!"]
    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.outcome == AttemptOutcome.PUBLISHED
    assert attempt.worker == "w1"
    assert attempt.idempotency_key == delivery.idempotency_key
    assert attempt.finished_at >= attempt.started_at
    assert work() == []  # nothing left to do


def test_given_a_post_due_within_the_lookahead_then_its_delivery_waits_and_goes_when_due(
    settings, workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    settings.PUBLISHING_LOOKAHEAD_SECONDS = 10
    soon = timezone.now() + dt.timedelta(seconds=5)
    later = timezone.now() + dt.timedelta(seconds=60)
    near = due_post(workspace, [mastodon], at=soon)
    far = due_post(workspace, [mastodon], at=later)

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due() == 0
    assert Delivery.objects.get(post=near).state == D.PENDING  # created ahead, not sent
    assert not Delivery.objects.filter(post=far).exists()  # not even created yet

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due(now=soon) == 1
    assert [pk for pk, _job, _eta in sent] == [Delivery.objects.get(post=near).pk]


ONE_HALF = dt.timedelta(seconds=0.5)


def handed_over(post) -> dt.datetime:
    """When the dispatcher queued the post's delivery (its task is sent as that commits)."""
    delivery = Delivery.objects.get(post=post)
    assert delivery.state == D.QUEUED
    return delivery.claimed_at


def test_given_a_post_due_within_the_next_second_then_the_sweep_hands_it_over_at_its_time(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due = timezone.now() + dt.timedelta(seconds=0.4)
    post = due_post(workspace, [mastodon], at=due)

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due(follow_seconds=0.95) == 1

    # Not early, and not the up to a second late of a sweep that does not follow.
    assert due <= handed_over(post) < due + ONE_HALF
    assert len(sent) == 1


def test_given_nothing_due_before_the_next_sweep_then_the_sweep_returns_at_once(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due_post(workspace, [mastodon], at=timezone.now() + dt.timedelta(seconds=3))
    started = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due(follow_seconds=0.95) == 0

    assert sent == []
    assert timezone.now() - started < dt.timedelta(seconds=0.8)  # it did not sleep the window


def test_given_a_channel_out_of_tokens_then_the_sweep_hands_its_posts_over_at_their_slots(
    settings, workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    settings.PUBLISHING_RATE_LIMITS = {"default": (1, 4)}  # one now, then one every 0.25 s
    ratelimit.rate_reset(channel_id=mastodon.pk)
    posts = [due_post(workspace, [mastodon]) for _ in range(3)]

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due(follow_seconds=0.95) == 3

    deliveries = sorted(Delivery.objects.filter(post__in=posts), key=lambda d: d.run_at)
    # Each went at its slot (run_at, reserved a quarter of a second apart), not before it...
    slots = [d.run_at for d in deliveries]
    assert all((b - a).total_seconds() >= 0.24 for a, b in itertools.pairwise(slots)), slots
    # ...and not up to a second after it.
    for delivery in deliveries:
        assert delivery.run_at <= handed_over(delivery.post) < delivery.run_at + ONE_HALF


def test_given_a_due_delivery_locked_by_another_sweep_then_following_does_not_spin_on_it(
    workspace, mastodon, sent, django_capture_on_commit_callbacks, monkeypatch
):
    post = due_post(workspace, [mastodon])
    dispatch.deliveries_sync()
    claims = []
    monkeypatch.setattr(dispatch, "_claim_batch", lambda now: claims.append(now) or ([], False))
    started = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due(follow_seconds=0.95) == 0

    assert len(claims) == 1  # one try, then no waiting on a row another sweep holds
    assert Delivery.objects.get(post=post).state == D.PENDING
    assert timezone.now() - started < dt.timedelta(seconds=0.8)


def test_given_a_post_needing_approval_when_dispatched_then_nothing_goes_out(
    workspace, mastodon, work
):
    workspace.approval_policy.delete()  # the default: approval required, and none was given
    due_post(workspace, [mastodon])

    assert work() == []
    assert RecordingAdapter.outbox == []
    assert not Delivery.objects.exists()


def test_given_a_task_for_an_old_job_or_a_repeated_message_then_it_does_nothing(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _eta = sent[0]

    assert services.delivery_publish(delivery_id=pk, job=job - 1) == "skipped"
    assert services.delivery_publish(delivery_id=pk, job=job) == "published"
    assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"  # redelivered

    assert len(RecordingAdapter.outbox) == 1
    assert Attempt.objects.count() == 1


def test_given_two_dispatchers_then_each_delivery_is_queued_once(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    for _ in range(3):
        due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
        dispatch.deliveries_dispatch_due()

    assert len(sent) == 3
    assert len({pk for pk, _job, _eta in sent}) == 3


# --- edits after queueing -----------------------------------------------------------------------


def test_given_a_queued_delivery_when_the_post_is_moved_later_then_the_task_does_nothing(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    post = due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    later = timezone.now() + dt.timedelta(hours=3)
    type(post).objects.filter(pk=post.pk).update(scheduled_at=later)

    pk, job, _eta = sent.pop()
    assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"

    delivery = Delivery.objects.get(pk=pk)
    assert (delivery.state, delivery.due_at, delivery.run_at) == (D.PENDING, later, later)
    assert RecordingAdapter.outbox == []


def test_given_an_uncertain_delivery_moved_after_queueing_then_it_still_looks_before_publishing(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    """The claim comes before the checks: a claim that is put back leaves the delivery as it
    was, with its unknown outcome (reconcile), its attempt count and no attempt row."""
    post = due_post(workspace, [mastodon])
    dispatch.deliveries_sync()
    Delivery.objects.filter(post=post).update(reconcile=True, attempts=2)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    type(post).objects.filter(pk=post.pk).update(
        scheduled_at=timezone.now() + dt.timedelta(hours=1)
    )

    pk, job, _eta = sent.pop()
    assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"

    delivery = Delivery.objects.get(pk=pk)
    assert (delivery.state, delivery.reconcile, delivery.attempts) == (D.PENDING, True, 2)
    assert not Attempt.objects.filter(delivery=delivery).exists()
    assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"  # the old job: nothing


def test_given_a_queued_delivery_when_the_text_is_edited_then_the_new_text_goes_out(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    post = due_post(workspace, [mastodon], body="Old text")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    type(post).objects.filter(pk=post.pk).update(body="New text")

    pk, job, _eta = sent.pop()
    services.delivery_publish(delivery_id=pk, job=job)

    assert [r.text for r in RecordingAdapter.outbox] == ["New text"]


def test_given_deliveries_when_the_post_is_unscheduled_then_cancelled_and_revived_on_reschedule(
    workspace, mastodon, work
):
    at = timezone.now()
    post = due_post(workspace, [mastodon], at=at)
    dispatch.deliveries_sync()
    type(post).objects.filter(pk=post.pk).update(scheduled_at=None, status=PostStatus.DRAFT)

    assert work() == []
    assert Delivery.objects.get(post=post).state == D.CANCELLED

    type(post).objects.filter(pk=post.pk).update(scheduled_at=at, status=PostStatus.SCHEDULED)
    assert work() == ["published"]
    assert Delivery.objects.get(post=post).state == D.PUBLISHED


def test_given_a_queued_delivery_when_the_post_is_unscheduled_then_the_task_cancels_it(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    post = due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    type(post).objects.filter(pk=post.pk).update(status=PostStatus.DRAFT)

    pk, job, _eta = sent.pop()
    assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"
    assert Delivery.objects.get(pk=pk).state == D.CANCELLED
    assert RecordingAdapter.outbox == []


def test_given_a_paused_channel_then_its_deliveries_are_held_until_it_resumes(
    workspace, mastodon, work
):
    mastodon.state = ChannelState.PAUSED
    mastodon.save()
    post = due_post(workspace, [mastodon])

    assert work() == []
    assert Delivery.objects.get(post=post).state == D.PENDING

    mastodon.state = ChannelState.CONNECTED
    mastodon.save()
    assert work() == ["published"]


# --- faults --------------------------------------------------------------------------------------


def test_given_a_transient_error_then_retried_later_with_backoff_and_the_same_key(
    workspace, mastodon, work
):
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [TransientError("Mastodon answered 503.", status=503)]
    before = timezone.now()

    assert work() == [AttemptOutcome.RETRY]

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == D.PENDING
    assert delivery.run_at >= before + dt.timedelta(seconds=15)  # half of the 30 s base at least
    assert delivery.error == "Mastodon answered 503."
    attempt = Attempt.objects.get(delivery=delivery)
    assert (attempt.outcome, attempt.http_status) == (AttemptOutcome.RETRY, 503)

    Delivery.objects.filter(pk=delivery.pk).update(run_at=timezone.now())
    assert work() == ["published"]
    keys = set(Attempt.objects.filter(delivery=delivery).values_list("idempotency_key", flat=True))
    assert keys == {delivery.idempotency_key}


def test_given_rate_limited_with_retry_after_then_not_retried_before_it(workspace, mastodon, work):
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [RateLimited("Too many requests.", retry_after=600, status=429)]
    before = timezone.now()

    assert work() == [AttemptOutcome.RATE_LIMITED]

    delivery = Delivery.objects.get(post=post)
    assert delivery.run_at >= before + dt.timedelta(seconds=600)
    assert delivery.reconcile is False  # a 429 created nothing


def test_given_a_platform_saying_slow_down_then_waited_out_without_spending_the_attempt_budget(
    workspace, mastodon, work
):
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [RateLimited("Slow down.", retry_after=5, status=429)] * 4 + [
        TransientError("Timed out.")
    ] * 2  # the budget is 3: two failures of our own still leave the third try

    outcomes = []
    for _ in range(7):
        outcomes += work()
        Delivery.objects.filter(state=D.PENDING).update(run_at=timezone.now())
        ratelimit.rate_reset(channel_id=mastodon.pk)

    assert outcomes == [AttemptOutcome.RATE_LIMITED] * 4 + [AttemptOutcome.RETRY] * 2 + [
        "published"
    ]
    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.attempts) == (D.PUBLISHED, 3)
    assert Attempt.objects.filter(delivery=delivery).count() == 7


def test_given_a_platform_saying_slow_down_then_the_channels_other_posts_wait_as_long(
    workspace, mastodon, work, sent, django_capture_on_commit_callbacks
):
    other = connected_channel(workspace, name="Second Mastodon")
    ratelimit.rate_reset(channel_id=other.pk)
    due_post(workspace, [mastodon])
    RecordingAdapter.faults = [RateLimited("Slow down.", retry_after=120, status=429)]
    assert work() == [AttemptOutcome.RATE_LIMITED]
    held, free = due_post(workspace, [mastodon]), due_post(workspace, [other])
    before = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due() == 1

    assert [pk for pk, _job, _run_at in sent] == [Delivery.objects.get(post=free).pk]
    waiting = Delivery.objects.get(post=held)
    assert waiting.state == D.PENDING and waiting.rate_reserved
    assert waiting.run_at >= before + dt.timedelta(seconds=120)


def test_given_slow_down_without_a_time_then_each_wait_is_longer(workspace, mastodon, work):
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [RateLimited("Slow down.", status=429)] * 3
    waits = []
    for _ in range(3):
        before = timezone.now()
        assert work() == [AttemptOutcome.RATE_LIMITED]
        delivery = Delivery.objects.get(post=post)
        waits.append((delivery.run_at - before).total_seconds())
        Delivery.objects.filter(pk=delivery.pk).update(run_at=timezone.now())
        ratelimit.rate_reset(channel_id=mastodon.pk)

    assert 15 <= waits[0] <= 31 and 30 <= waits[1] <= 61 and 60 <= waits[2] <= 121
    assert Delivery.objects.get(post=post).attempts == 0


def test_given_a_platform_that_never_stops_saying_slow_down_then_failed_and_retry_now_waits_anew(
    workspace, editor, mastodon, work, monkeypatch
):
    monkeypatch.setattr(services, "MAX_RATE_LIMITED_WAITS", 2)
    post = due_post(workspace, [mastodon], author=editor.user)
    RecordingAdapter.faults = [RateLimited("Slow down.", retry_after=1, status=429)] * 3

    outcomes = []
    for _ in range(3):
        outcomes += work()
        Delivery.objects.filter(state=D.PENDING).update(run_at=timezone.now())
        ratelimit.rate_reset(channel_id=mastodon.pk)

    assert outcomes == [AttemptOutcome.RATE_LIMITED] * 2 + [AttemptOutcome.FAILED]
    assert Delivery.objects.get(post=post).state == D.FAILED
    assert Notification.objects.filter(kind="publish_failed", post=post).exists()

    # "Retry now": the next "slow down" is waited out again, not the end at once.
    services.delivery_publish_now(membership=editor, delivery_id=Delivery.objects.get(post=post).pk)
    RecordingAdapter.faults = [RateLimited("Slow down.", retry_after=1, status=429)]
    assert work() == [AttemptOutcome.RATE_LIMITED]
    Delivery.objects.filter(state=D.PENDING).update(run_at=timezone.now())
    ratelimit.rate_reset(channel_id=mastodon.pk)
    assert work() == ["published"]


def test_given_an_unknown_outcome_when_the_look_up_is_refused_then_the_next_try_still_looks(
    workspace, mastodon, work, monkeypatch
):
    post = due_post(workspace, [mastodon])
    dispatch.deliveries_sync()
    Delivery.objects.filter(post=post).update(reconcile=True)  # an earlier call timed out
    looked = []

    def refuse_then_look(self, **kw):
        looked.append(1)
        if len(looked) == 1:
            raise RateLimited("Slow down.", retry_after=1, status=429)
        return None

    monkeypatch.setattr(RecordingAdapter, "find_existing", refuse_then_look)

    assert work() == [AttemptOutcome.RATE_LIMITED]
    assert Delivery.objects.get(post=post).reconcile is True  # still not known: look next time
    Delivery.objects.filter(post=post).update(run_at=timezone.now())
    ratelimit.rate_reset(channel_id=mastodon.pk)
    assert work() == ["published"]
    assert len(looked) == 2


@pytest.mark.parametrize(
    ("attempt", "retry_after", "low", "high"),
    [
        (1, None, 15, 30),
        (2, None, 30, 60),
        (3, None, 60, 120),
        (20, None, 900, 1800),  # capped
        (1, 300, 300, 305),  # Retry-After wins, with a little jitter
        (5, 10, 240, 480),  # but never shortens the backoff
    ],
)
def test_backoff_table(attempt, retry_after, low, high):
    for _ in range(20):
        assert low <= services.backoff_seconds(attempt, retry_after=retry_after) <= high


def test_given_transient_errors_until_the_attempt_budget_is_spent_then_failed_and_people_told(
    workspace, editor, manager, owner, mastodon, work
):
    post = due_post(workspace, [mastodon], author=editor.user)
    RecordingAdapter.faults = [TransientError("Timed out.")] * 3

    for _ in range(3):
        work()
        Delivery.objects.filter(state=D.PENDING).update(run_at=timezone.now())

    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.attempts, delivery.error) == (D.FAILED, 3, "Timed out.")
    told = Notification.objects.filter(kind="publish_failed", post=post)
    assert {n.recipient.username for n in told} == {"editor", "manager", "owner"}
    assert told.first().params["detail"] == "Timed out."


def test_given_a_permanent_error_then_failed_at_once_with_a_readable_reason(
    workspace, editor, mastodon, work
):
    post = due_post(workspace, [mastodon], author=editor.user)
    RecordingAdapter.faults = [PermanentError("The text is too long for Mastodon.", status=422)]

    assert work() == [AttemptOutcome.FAILED]

    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.attempts) == (D.FAILED, 1)
    assert delivery.error == "The text is too long for Mastodon."
    assert Notification.objects.filter(kind="publish_failed", recipient=editor.user).exists()


def test_given_an_expired_token_then_refreshed_once_and_published(
    workspace, mastodon, work, monkeypatch
):
    refreshed = []
    monkeypatch.setattr(
        RecordingAdapter, "refresh", lambda self, **kw: refreshed.append(1) or kw["credentials"]
    )
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [AuthExpired("The access token expired.", status=401)]

    assert work() == ["published"]
    assert refreshed == [1]
    assert Delivery.objects.get(post=post).state == D.PUBLISHED


def test_given_an_expired_token_twice_then_failed_without_a_second_refresh(
    workspace, mastodon, work, monkeypatch
):
    refreshed = []
    monkeypatch.setattr(
        RecordingAdapter, "refresh", lambda self, **kw: refreshed.append(1) or kw["credentials"]
    )
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [AuthExpired("Expired.", status=401)] * 2

    assert work() == [AttemptOutcome.FAILED]
    assert refreshed == [1]
    assert Delivery.objects.get(post=post).state == D.FAILED


def test_given_a_refused_refresh_then_failed_and_the_channel_needs_reconnect(
    workspace, mastodon, work, monkeypatch
):
    def refuse(self, **kw):
        raise AuthExpired("Refresh token revoked.")

    monkeypatch.setattr(RecordingAdapter, "refresh", refuse)
    post = due_post(workspace, [mastodon])
    RecordingAdapter.faults = [AuthExpired("Expired.", status=401)]

    assert work() == [AttemptOutcome.FAILED]
    assert "reconnect" in Delivery.objects.get(post=post).error
    mastodon.refresh_from_db()
    assert mastodon.state == ChannelState.NEEDS_RECONNECT


# --- lateness ------------------------------------------------------------------------------------


def test_given_a_post_older_than_the_lateness_window_then_missed_not_published_and_author_told(
    workspace, editor, mastodon, work
):
    post = due_post(
        workspace, [mastodon], author=editor.user, at=timezone.now() - dt.timedelta(hours=7)
    )

    assert work() == []

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == D.MISSED
    assert RecordingAdapter.outbox == []
    assert Notification.objects.filter(kind="publish_failed", recipient=editor.user).exists()


def test_given_a_missed_delivery_when_published_now_then_it_goes_out(
    workspace, editor, mastodon, work
):
    post = due_post(
        workspace, [mastodon], author=editor.user, at=timezone.now() - dt.timedelta(hours=7)
    )
    work()
    delivery = Delivery.objects.get(post=post)

    services.delivery_publish_now(membership=editor, delivery_id=delivery.pk)

    assert work() == ["published"]
    assert len(RecordingAdapter.outbox) == 1


def test_given_workers_back_after_an_outage_then_only_posts_inside_the_window_go_out(
    workspace, mastodon, work
):
    now = timezone.now()
    recent = due_post(workspace, [mastodon], at=now - dt.timedelta(hours=1))
    stale = due_post(workspace, [mastodon], at=now - dt.timedelta(hours=8))

    work()

    assert Delivery.objects.get(post=recent).state == D.PUBLISHED
    assert Delivery.objects.get(post=stale).state == D.MISSED


def test_given_a_queued_delivery_whose_time_passed_the_window_then_the_task_marks_it_missed(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _eta = sent.pop()

    with time_machine.travel(timezone.now() + dt.timedelta(hours=7)):
        assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"

    assert Delivery.objects.get(pk=pk).state == D.MISSED


# --- crash recovery and resume -------------------------------------------------------------------


def test_given_a_worker_died_after_the_platform_accepted_then_the_reconciler_finds_the_post(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    post = due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _eta = sent.pop()
    # The worker claims and the platform publishes, then the worker dies before recording it.
    delivery, attempt, _look = services.delivery_claim(pk, job, "w-dead")
    accepted = RecordingAdapter().publish(
        account=None,
        credentials=None,
        request=services.publish_request_for(delivery, post.variants.get()),
    )

    later = timezone.now() + dt.timedelta(minutes=10)
    assert reconcile.deliveries_reconcile_stuck(now=later) == 1
    attempt.refresh_from_db()
    assert attempt.outcome == AttemptOutcome.ABANDONED
    assert Delivery.objects.get(pk=pk).reconcile is True

    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due(now=later)
    pk, job, _eta = sent.pop()
    assert services.delivery_publish(delivery_id=pk, job=job) == "found"

    assert len(RecordingAdapter.outbox) == 1
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.state == D.PUBLISHED
    assert (delivery.remote_id, delivery.url) == (accepted.remote_id, accepted.url)
    assert list(Attempt.objects.filter(delivery=delivery).values_list("outcome", flat=True)) == [
        AttemptOutcome.FOUND,
        AttemptOutcome.ABANDONED,
    ]


def test_given_a_live_lease_then_the_reconciler_leaves_it_alone(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _eta = sent.pop()
    services.delivery_claim(pk, job, "w-busy")

    assert reconcile.deliveries_reconcile_stuck() == 0
    assert Delivery.objects.get(pk=pk).state == D.PUBLISHING


def test_given_a_lost_task_message_then_the_reconciler_hands_the_delivery_over_again(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    lost_pk, lost_job, _eta = sent.pop()  # never delivered

    later = timezone.now() + dt.timedelta(hours=1)
    assert reconcile.deliveries_reconcile_stuck(now=later) == 1
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due(now=later)
    pk, job, _eta = sent.pop()
    assert services.delivery_publish(delivery_id=pk, job=job) == "published"
    assert services.delivery_publish(delivery_id=lost_pk, job=lost_job) == "skipped"
    assert len(RecordingAdapter.outbox) == 1


def test_given_the_first_comment_failed_then_the_retry_posts_only_the_comment(
    settings, workspace, mastodon, work
):
    settings.PUBLISHING_ADAPTERS = {"mastodon": {"BACKEND": f"{__name__}.ThreadingRecorder"}}
    ThreadingRecorder.fail_after_first = 1
    ThreadingRecorder.calls = []
    post = due_post(workspace, [mastodon], body="Main")
    post.variants.update(first_comment="Link in the comment")

    assert work() == [AttemptOutcome.RETRY]
    delivery = Delivery.objects.get(post=post)
    assert [p["remote_id"] for p in delivery.parts] == [f"{delivery.idempotency_key}-0"]

    Delivery.objects.filter(pk=delivery.pk).update(run_at=timezone.now())
    work()

    delivery.refresh_from_db()
    assert delivery.state == D.PUBLISHED
    assert RecordingAdapter.outbox == ["Main", "Link in the comment"]
    assert len(delivery.parts) == 2


# --- rate limiting -------------------------------------------------------------------------------


def test_given_more_posts_than_the_burst_then_the_rest_wait_their_turn_instead_of_failing(
    settings, workspace, mastodon, work
):
    settings.PUBLISHING_RATE_LIMITS = {"default": (2, 0.5)}  # 2 at once, then one per 2 s
    ratelimit.rate_reset(channel_id=mastodon.pk)
    for _ in range(4):
        due_post(workspace, [mastodon])

    outcomes = work()

    assert outcomes.count("published") == 2
    waiting = Delivery.objects.filter(state=D.PENDING).order_by("run_at")
    assert [d.rate_reserved for d in waiting] == [True, True]
    delays = [(d.run_at - timezone.now()).total_seconds() for d in waiting]
    assert 0.5 < delays[0] <= 2.1 and 2.5 < delays[1] <= 4.1  # consecutive slots
    assert not Attempt.objects.filter(outcome=AttemptOutcome.FAILED).exists()

    Delivery.objects.filter(state=D.PENDING).update(run_at=timezone.now())
    assert work() == ["published", "published"]  # their reserved slots: no second token


def test_given_a_due_batch_then_the_dispatcher_takes_its_tokens_in_one_round_trip(
    settings, workspace, mastodon, sent, django_capture_on_commit_callbacks, monkeypatch
):
    settings.PUBLISHING_RATE_LIMITS = {"default": (2, 0.5)}
    ratelimit.rate_reset(channel_id=mastodon.pk)
    other = connected_channel(workspace, name="Second Mastodon")
    ratelimit.rate_reset(channel_id=other.pk)
    for _ in range(3):
        due_post(workspace, [mastodon, other])
    calls = []
    take_many = ratelimit.rate_take_many
    monkeypatch.setattr(
        dispatch, "rate_take_many", lambda channels: calls.append(channels) or take_many(channels)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.deliveries_dispatch_due() == 4  # two per channel now

    assert len(calls) == 1 and len(calls[0]) == 6
    assert Delivery.objects.filter(state=D.QUEUED, rate_reserved=True).count() == 4
    waiting = Delivery.objects.filter(state=D.PENDING)
    assert sorted(waiting.values_list("channel_id", flat=True)) == sorted([mastodon.pk, other.pk])
    assert all(d.rate_reserved and d.run_at > timezone.now() for d in waiting)


def test_given_a_fresh_token_from_the_dispatcher_then_the_worker_does_not_ask_redis(
    workspace, mastodon, work, monkeypatch
):
    due_post(workspace, [mastodon])
    monkeypatch.setattr(
        ratelimit, "rate_take", lambda **kw: pytest.fail("the token was taken at dispatch")
    )

    assert work() == ["published"]


def test_given_a_delivery_queued_too_long_then_its_token_is_renewed_or_it_waits_for_a_slot(
    settings, workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    settings.PUBLISHING_RATE_LIMITS = {"default": (1, 0.01)}  # one now, then one per 100 s
    settings.PUBLISHING_RATE_TOKEN_SECONDS = 30
    ratelimit.rate_reset(channel_id=mastodon.pk)
    post = due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()  # takes the only token
    pk, job, _eta = sent.pop()

    later = timezone.now() + dt.timedelta(seconds=31)  # the workers were busy: the token expired
    with time_machine.travel(later, tick=False):
        assert services.delivery_publish(delivery_id=pk, job=job) == "skipped"

    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.rate_reserved) == (D.PENDING, True)
    assert 90 < (delivery.run_at - later).total_seconds() <= 101  # the next free slot
    assert (delivery.attempts, delivery.reconcile) == (0, False)
    assert not Attempt.objects.filter(delivery=delivery).exists()
    assert RecordingAdapter.outbox == []


# --- manual channels -----------------------------------------------------------------------------


def test_given_a_manual_post_due_then_the_author_gets_the_text_and_marks_it_done(
    workspace, editor, manager, work
):
    xing = connected_channel(workspace, platform="manual", name="Xing")
    post = due_post(workspace, [xing], author=editor.user, body="Copy me")

    work()

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == D.PUBLISHING
    note = Notification.objects.get(kind="manual_post_due", recipient=editor.user)
    assert note.params["detail"] == "Copy me"
    assert RecordingAdapter.outbox == []

    services.delivery_mark_done(
        membership=editor, delivery_id=delivery.pk, url="https://xing.example/p/1"
    )
    delivery.refresh_from_db()
    assert (delivery.state, delivery.url) == (D.PUBLISHED, "https://xing.example/p/1")


def test_given_link_tagging_then_the_manual_copy_text_has_the_tracked_links(
    workspace, editor, work
):
    workspace.utm_tagging = True
    workspace.save(update_fields=["utm_tagging"])
    xing = connected_channel(workspace, platform="manual", name="Xing")
    post = due_post(workspace, [xing], author=editor.user, body="Read https://shop.example/a")

    work()

    note = Notification.objects.get(kind="manual_post_due", recipient=editor.user)
    assert note.params["detail"] == (
        f"Read https://shop.example/a?utm_source=xing&utm_medium=social&utm_content=post-{post.pk}"
    )


def test_given_an_overdue_manual_post_then_the_managers_are_told_once(
    workspace, editor, manager, owner, work
):
    xing = connected_channel(workspace, platform="manual", name="Xing")
    due_post(workspace, [xing], author=editor.user, at=timezone.now() - dt.timedelta(hours=2))
    work()

    assert reconcile.deliveries_escalate_manual() == 1
    assert reconcile.deliveries_escalate_manual() == 0
    told = Notification.objects.filter(kind="manual_post_due").exclude(recipient=editor.user)
    assert {n.recipient.username for n in told} == {"manager", "owner"}


def test_given_a_worker_node_restarts_then_what_it_held_is_released_at_once(
    workspace, mastodon, sent, django_capture_on_commit_callbacks
):
    due_post(workspace, [mastodon])
    due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    (pk_dead, job_dead, _), (pk_other, job_other, _) = sent
    services.delivery_claim(pk_dead, job_dead, "w1@host")
    services.delivery_claim(pk_other, job_other, "w2@host")

    assert reconcile.deliveries_release_worker(worker="w1@host") == 1

    assert Delivery.objects.get(pk=pk_dead).state == D.PENDING
    assert Delivery.objects.get(pk=pk_dead).reconcile is True
    assert Delivery.objects.get(pk=pk_other).state == D.PUBLISHING  # another node's: left alone


@pytest.mark.parametrize(
    ("post_media", "override", "expected"),
    [
        ([], [], []),
        (["a.jpg", "b.jpg"], [], ["a.jpg", "b.jpg"]),
        (["a.jpg"], ["c.jpg"], ["c.jpg"]),
        ([], ["c.jpg"], ["c.jpg"]),
    ],
)
def test_given_media_on_the_post_or_its_variant_when_published_then_the_request_carries_it(
    workspace, mastodon, work, post_media, override, expected
):
    """The hot path reads media only when there is some: what is there must still go out."""
    post = due_post(workspace, [mastodon])

    def asset(name):
        return MediaAsset.objects.create(
            workspace=workspace,
            file=f"media/{name}",
            kind="image",
            mime_type="image/jpeg",
            size_bytes=10,
            original_name=name,
        )

    for position, name in enumerate(post_media):
        PostMedia.objects.create(post=post, media=asset(name), position=position)
    post.variants.get().media_override.set([asset(name) for name in override])

    assert work() == ["published"]
    assert [m.filename for m in RecordingAdapter.outbox[0].media] == expected


def test_the_publish_hot_path_query_budget(
    workspace, mastodon, sent, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """PostgreSQL, 2 statements: the claim (compare-and-set, attempt insert and the read with
    credentials, approval policy and the variant, with whether there is media: none here, so
    no media query) and the result with the attempt's end. SQLite keeps the ORM path: the read,
    then compare-and-set and attempt insert, result and attempt end, each pair in a transaction
    (inside the test's transaction each atomic block adds SAVEPOINT/RELEASE)."""
    due_post(workspace, [mastodon])
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _run_at = sent.pop()

    budget = 2 if connection.vendor == "postgresql" else 5 + 2 * 2
    with django_assert_num_queries(budget):
        assert services.delivery_publish(delivery_id=pk, job=job) == "published"
