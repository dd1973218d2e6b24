"""The look-up is an aid, never a verdict (issue 20): when the engine must first find out
whether an earlier attempt went out and the platform cannot answer, the delivery never fails
for good and is never posted again on a guess. It looks again with backoff; where the
platform's idempotency key still holds it posts again under that key; otherwise the outcome
becomes unknown, the author and the managers are told, and a person decides: "it is live,
here is the link" or "post it again". Every failure and every unknown outcome is logged at
warning level. Recording adapter, real database."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from publishing import dispatch, ratelimit, services
from publishing.adapters.base import PermanentError, TransientError, lookup_incomplete
from publishing.adapters.recording import RecordingAdapter
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from publishing.selectors import post_publications
from tests.conftest import login
from tests.factories import MembershipFactory, UserFactory
from tests.publishing.test_publishing_engine import engine, mastodon, sent, work
from tests.publishing_helpers import due_post

FIXTURES = (engine, mastodon, sent, work)  # used by name below

D = DeliveryState
NOT_FOUND = PermanentError("Mastodon refused the request: Not Found", status=404)


class KeyedRecorder(RecordingAdapter):
    """A platform that remembers idempotency keys for an hour, like Mastodon."""

    idempotency_window = dt.timedelta(hours=1)


@pytest.fixture
def lookups_fail(monkeypatch):
    """The listing endpoint find_existing uses answers 404 (as on a server without it)."""
    calls = []

    def refuse(self, **kw):
        calls.append(1)
        raise NOT_FOUND

    monkeypatch.setattr(RecordingAdapter, "find_existing", refuse)
    return calls


def uncertain_delivery(workspace, channel, **post_kwargs) -> Delivery:
    """A due delivery whose earlier call's answer was lost: the engine must look first."""
    post = due_post(workspace, [channel], **post_kwargs)
    dispatch.deliveries_sync()
    Delivery.objects.filter(post=post).update(reconcile=True)
    return Delivery.objects.get(post=post)


def again(delivery: Delivery, channel) -> None:
    """Its next try is due now."""
    Delivery.objects.filter(pk=delivery.pk, state=D.PENDING).update(run_at=timezone.now())
    ratelimit.rate_reset(channel_id=channel.pk)


def test_given_a_look_up_that_cannot_answer_then_it_looks_again_and_never_fails_the_post(
    workspace, mastodon, work, lookups_fail, caplog
):
    delivery = uncertain_delivery(workspace, mastodon)
    caplog.set_level(logging.WARNING, logger="publishing.services")

    assert work() == [AttemptOutcome.RETRY]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.reconcile) == (D.PENDING, True)
    assert delivery.run_at > timezone.now()  # with backoff
    assert "Not Found" in delivery.error
    assert RecordingAdapter.outbox == []  # nothing posted on a guess
    assert any(
        "look-up could not answer" in r.getMessage() and str(delivery.pk) in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )


def test_given_the_look_up_keeps_failing_then_the_outcome_is_unknown_and_people_are_told(
    workspace, editor, manager, mastodon, work, lookups_fail, caplog
):
    delivery = uncertain_delivery(workspace, mastodon, author=editor.user)
    caplog.set_level(logging.WARNING, logger="publishing.services")
    outcomes = []
    for _ in range(3):  # PUBLISHING_MAX_ATTEMPTS
        outcomes += work()
        again(delivery, mastodon)

    assert outcomes == [AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.UNKNOWN]
    delivery.refresh_from_db()
    assert delivery.state == D.UNKNOWN and delivery.reconcile is True
    assert RecordingAdapter.outbox == []
    told = set(
        Notification.objects.filter(kind="publish_unknown").values_list(
            "recipient__username", flat=True
        )
    )
    assert {editor.user.username, manager.user.username} <= told
    assert any("outcome unknown" in r.getMessage() for r in caplog.records)
    # Nothing posts it again on its own: no new delivery beside it, no retry.
    dispatch.deliveries_sync()
    assert work() == []
    assert Delivery.objects.filter(post=delivery.post).count() == 1
    # The calendar shows it as needing someone, with the reason.
    publication = post_publications(Q(post_id=delivery.post_id))[delivery.post_id]
    assert mastodon.pk in publication.failed and not publication.published


def test_given_an_unknown_outcome_when_someone_says_it_is_live_then_it_is_published_with_the_link(
    workspace, manager, mastodon, work, lookups_fail
):
    delivery = uncertain_delivery(workspace, mastodon)
    Delivery.objects.filter(pk=delivery.pk).update(state=D.UNKNOWN)

    with pytest.raises(ValidationError):
        services.delivery_confirm_live(
            membership=manager, delivery_id=delivery.pk, url="javascript:alert(1)"
        )
    assert Delivery.objects.get(pk=delivery.pk).state == D.UNKNOWN

    services.delivery_confirm_live(
        membership=manager, delivery_id=delivery.pk, url="https://recording.invalid/rec-77"
    )
    delivery.refresh_from_db()
    assert (delivery.state, delivery.url, delivery.reconcile) == (
        D.PUBLISHED,
        "https://recording.invalid/rec-77",
        False,
    )
    decided = Attempt.objects.get(delivery=delivery, outcome=AttemptOutcome.DECIDED)
    assert manager.user.username in decided.worker and "live" in decided.error
    assert RecordingAdapter.outbox == []
    with pytest.raises(ValidationError):  # decided once
        services.delivery_post_again(membership=manager, delivery_id=delivery.pk)


def test_given_an_unknown_outcome_when_someone_says_post_it_again_then_it_goes_out_without_looking(
    workspace, manager, mastodon, work, lookups_fail
):
    delivery = uncertain_delivery(workspace, mastodon)
    Delivery.objects.filter(pk=delivery.pk).update(state=D.UNKNOWN)

    services.delivery_post_again(membership=manager, delivery_id=delivery.pk)
    assert work() == ["published"]
    assert lookups_fail == []  # the person's word replaced the look-up
    assert len(RecordingAdapter.outbox) == 1
    assert Attempt.objects.filter(delivery=delivery, outcome=AttemptOutcome.DECIDED).count() == 1


def test_given_an_unknown_outcome_when_retried_now_then_it_looks_again(
    workspace, manager, mastodon, work, monkeypatch
):
    delivery = uncertain_delivery(workspace, mastodon)
    Delivery.objects.filter(pk=delivery.pk).update(state=D.UNKNOWN)
    monkeypatch.setattr(RecordingAdapter, "find_existing", lambda self, **kw: None)

    services.delivery_publish_now(membership=manager, delivery_id=delivery.pk)
    assert work() == ["published"]  # looked (nothing out), then posted


def test_given_an_unknown_outcome_then_a_viewer_or_another_workspace_cannot_decide(
    workspace, viewer, mastodon, other_workspace
):
    delivery = uncertain_delivery(workspace, mastodon)
    Delivery.objects.filter(pk=delivery.pk).update(state=D.UNKNOWN)
    outsider = MembershipFactory(workspace=other_workspace, user=UserFactory(), role="owner")

    with pytest.raises(PermissionDenied):
        services.delivery_post_again(membership=viewer, delivery_id=delivery.pk)
    from django.http import Http404

    with pytest.raises(Http404):
        services.delivery_confirm_live(
            membership=outsider, delivery_id=delivery.pk, url="https://x.example/1"
        )
    assert Delivery.objects.get(pk=delivery.pk).state == D.UNKNOWN


def test_given_a_platform_key_that_still_holds_then_it_posts_again_under_the_same_key(
    settings, workspace, mastodon, work, monkeypatch
):
    settings.PUBLISHING_ADAPTERS = {
        "mastodon": {"BACKEND": "tests.publishing.test_publishing_lookup.KeyedRecorder"}
    }
    delivery = uncertain_delivery(workspace, mastodon)
    Attempt.objects.create(  # the first try, a minute ago: its answer was lost
        delivery=delivery,
        workspace_id=delivery.workspace_id,
        started_at=timezone.now() - dt.timedelta(minutes=1),
        outcome=AttemptOutcome.ABANDONED,
        idempotency_key=delivery.idempotency_key,
    )
    monkeypatch.setattr(
        RecordingAdapter, "find_existing", lambda self, **kw: (_ for _ in ()).throw(NOT_FOUND)
    )

    assert work() == ["published"]
    assert [r.idempotency_key for r in RecordingAdapter.outbox] == [delivery.idempotency_key]


def test_given_a_platform_key_that_expired_then_it_does_not_post_on_a_guess(
    settings, workspace, mastodon, work, lookups_fail
):
    settings.PUBLISHING_ADAPTERS = {
        "mastodon": {"BACKEND": "tests.publishing.test_publishing_lookup.KeyedRecorder"}
    }
    delivery = uncertain_delivery(workspace, mastodon)
    Attempt.objects.create(
        delivery=delivery,
        workspace_id=delivery.workspace_id,
        started_at=timezone.now() - dt.timedelta(minutes=55),  # within the margin of the hour
        outcome=AttemptOutcome.ABANDONED,
        idempotency_key=delivery.idempotency_key,
    )

    assert work() == [AttemptOutcome.RETRY]
    assert RecordingAdapter.outbox == []


def test_given_a_transient_look_up_error_then_the_same_path(workspace, mastodon, work, monkeypatch):
    uncertain_delivery(workspace, mastodon)
    monkeypatch.setattr(
        RecordingAdapter,
        "find_existing",
        lambda self, **kw: (_ for _ in ()).throw(TransientError("Timeout.")),
    )
    assert work() == [AttemptOutcome.RETRY]
    assert RecordingAdapter.outbox == []


def test_given_a_look_up_that_read_its_whole_bound_then_the_same_path_never_a_repost(
    workspace, mastodon, work, monkeypatch
):
    """A look-up that paged as far back as it may without reaching the first attempt's time
    cannot say "not out": posting again on that would be the duplicate it exists to prevent."""
    uncertain_delivery(workspace, mastodon)
    monkeypatch.setattr(
        RecordingAdapter,
        "find_existing",
        lambda self, **kw: (_ for _ in ()).throw(lookup_incomplete(20)),
    )

    assert work() == [AttemptOutcome.RETRY]
    assert RecordingAdapter.outbox == []
    assert "20 pages" in Delivery.objects.get().error


def test_given_a_look_up_that_finds_nothing_after_the_lateness_window_then_missed_not_late(
    settings, workspace, mastodon, work, monkeypatch
):
    delivery = uncertain_delivery(workspace, mastodon)
    monkeypatch.setattr(RecordingAdapter, "find_existing", lambda self, **kw: None)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.PUBLISHING_LATENESS_SECONDS + 60)
    type(delivery.post).objects.filter(pk=delivery.post_id).update(scheduled_at=long_ago)
    Delivery.objects.filter(pk=delivery.pk).update(due_at=long_ago, run_at=timezone.now())

    # Past the window it is not marked missed unseen (it may be live): it looks, finds nothing.
    assert work() == ["missed"]
    assert Delivery.objects.get(pk=delivery.pk).state == D.MISSED
    assert RecordingAdapter.outbox == []


def test_a_failure_for_good_is_logged_as_a_warning(workspace, mastodon, work, caplog):
    due_post(workspace, [mastodon])
    RecordingAdapter.faults = [PermanentError("The text is too long.", status=422)]
    caplog.set_level(logging.WARNING, logger="publishing.services")
    assert work() == [AttemptOutcome.FAILED]
    assert any("failed" in r.getMessage() and "too long" in r.getMessage() for r in caplog.records)


# --- the panel --------------------------------------------------------------------------------


def test_given_an_unknown_outcome_then_the_panel_asks_and_both_answers_work_from_it(
    client, manager, workspace, mastodon
):
    delivery = uncertain_delivery(workspace, mastodon)
    Delivery.objects.filter(pk=delivery.pk).update(state=D.UNKNOWN, error="Not Found")
    login(client, manager)
    panel = reverse("publishing:post_deliveries", args=[workspace.slug, delivery.post_id])

    html = client.get(panel).content.decode()
    assert 'data-testid="delivery-unknown"' in html
    assert 'data-testid="confirm-live"' in html and 'data-testid="post-again"' in html
    assert "Look again" in html

    live = reverse("publishing:delivery_confirm_live", args=[workspace.slug, delivery.pk])
    response = client.post(live, {"url": "not a link"}, follow=True)
    assert response.status_code == 200 and "public address" in response.content.decode()
    assert Delivery.objects.get(pk=delivery.pk).state == D.UNKNOWN
    client.post(live, {"url": "https://m.example/@acme/42"})
    assert Delivery.objects.get(pk=delivery.pk).state == D.PUBLISHED
    html = client.get(panel).content.decode()
    assert 'data-testid="delivery-unknown"' not in html and "https://m.example/@acme/42" in html


def test_given_an_unknown_outcome_then_a_viewer_sees_the_question_but_no_answers(
    client, viewer, workspace, mastodon
):
    delivery = uncertain_delivery(workspace, mastodon)
    Delivery.objects.filter(pk=delivery.pk).update(state=D.UNKNOWN)
    login(client, viewer)
    html = client.get(
        reverse("publishing:post_deliveries", args=[workspace.slug, delivery.post_id])
    ).content.decode()
    assert 'data-testid="delivery-unknown"' in html and 'data-testid="post-again"' not in html
    client.post(reverse("publishing:delivery_post_again", args=[workspace.slug, delivery.pk]))
    assert Delivery.objects.get(pk=delivery.pk).state == D.UNKNOWN
