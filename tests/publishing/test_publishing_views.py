"""The publishing UI: the log with filters, the editor's delivery panel, publish/retry now,
marking a manual post done, /healthz, and the post's state derived from its deliveries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from calendar_app.models import Channel
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState, WorkerHeartbeat
from publishing.selectors import PostPublishState, publish_summary
from tests.conftest import login
from tests.publishing_helpers import connected_channel, due_post, no_approval

D = DeliveryState


def make_delivery(post, channel, *, state=D.PUBLISHED, error="", url="", key=None) -> Delivery:
    return Delivery.objects.create(
        post=post,
        channel=channel,
        workspace=post.workspace,
        state=state,
        due_at=post.scheduled_at,
        run_at=post.scheduled_at,
        idempotency_key=key or f"k-{post.pk}-{channel.pk}",
        error=error,
        url=url,
    )


def make_attempt(delivery, *, outcome=AttemptOutcome.PUBLISHED, error="", status=None) -> Attempt:
    now = timezone.now()
    return Attempt.objects.create(
        delivery=delivery,
        workspace=delivery.workspace,
        started_at=now,
        finished_at=now + dt.timedelta(milliseconds=120),
        worker="celery@box",
        outcome=outcome,
        error=error,
        http_status=status,
        idempotency_key=delivery.idempotency_key,
    )


@pytest.fixture
def scene(workspace, members):
    no_approval(workspace)
    masto = connected_channel(workspace, name="Acme Mastodon")
    blue = connected_channel(workspace, platform="bluesky", name="Acme Bluesky")
    good = due_post(workspace, [masto, blue], title="Launch day")
    bad = due_post(workspace, [masto], title="Broken one")
    ok = make_delivery(good, masto, url="https://m.example/1")
    make_attempt(ok)
    partial = make_delivery(good, blue, state=D.FAILED, error="Bluesky refused the text.")
    make_attempt(partial, outcome=AttemptOutcome.FAILED, error="Bluesky refused", status=400)
    failed = make_delivery(bad, masto, state=D.FAILED, error="Timed out.")
    make_attempt(failed, outcome=AttemptOutcome.RETRY, error="Timed out", status=504)
    return {"masto": masto, "blue": blue, "good": good, "bad": bad, "failed": failed}


def log_url(ws="acme"):
    return reverse("publishing:log", args=[ws])


# --- the log -------------------------------------------------------------------------------------


def test_given_attempts_when_a_member_opens_the_log_then_all_are_listed_with_failures_on_top(
    client, viewer, scene, django_assert_num_queries
):
    login(client, viewer)
    with django_assert_num_queries(10):  # the 10th: what channels hold (one query)
        response = client.get(log_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="attempt-row"') == 3
    assert html.count('data-testid="attention-row"') == 2
    assert "Bluesky refused the text." in html
    assert "Retry now" not in html  # viewers cannot


@pytest.mark.parametrize(
    ("params", "rows"),
    [
        ({"outcome": "failed"}, 1),
        ({"outcome": "retry"}, 1),
        ({"outcome": "running"}, 0),
        ({"q": "broken"}, 1),
        ({"period": "1"}, 3),
        ({"outcome": "bogus"}, 3),  # ignored
    ],
)
def test_log_filters(client, editor, scene, params, rows):
    login(client, editor)
    html = client.get(log_url(), params).content.decode()
    assert html.count('data-testid="attempt-row"') == rows


def test_log_filter_by_channel(client, editor, scene):
    login(client, editor)
    html = client.get(log_url(), {"channel": scene["blue"].pk}).content.decode()
    assert html.count('data-testid="attempt-row"') == 1
    assert "Retry now" in html


def test_given_another_workspace_then_its_log_is_404(client, editor, scene, other_workspace):
    login(client, editor)
    assert client.get(log_url("other")).status_code == 404


# --- actions -------------------------------------------------------------------------------------


def test_given_a_failed_delivery_when_an_editor_retries_now_then_it_is_pending_now(
    client, editor, scene
):
    login(client, editor)
    url = reverse("publishing:delivery_publish_now", args=["acme", scene["failed"].pk])

    response = client.post(url, {"next": "/w/acme/publishing/"})

    assert response.status_code == 302 and response["Location"] == "/w/acme/publishing/"
    delivery = Delivery.objects.get(pk=scene["failed"].pk)
    assert (delivery.state, delivery.late_ok, delivery.error) == (D.PENDING, True, "")
    assert delivery.run_at <= timezone.now()


def test_given_a_viewer_when_retrying_then_refused_with_a_message(client, viewer, scene):
    login(client, viewer)
    url = reverse("publishing:delivery_publish_now", args=["acme", scene["failed"].pk])

    response = client.post(url, follow=True)

    assert Delivery.objects.get(pk=scene["failed"].pk).state == D.FAILED
    assert list(response.context["messages"])


def test_given_a_published_delivery_then_publish_now_is_refused(client, editor, scene):
    login(client, editor)
    published = Delivery.objects.get(post=scene["good"], channel=scene["masto"])
    url = reverse("publishing:delivery_publish_now", args=["acme", published.pk])

    response = client.post(url, follow=True)

    assert "cannot be published now" in str(next(iter(response.context["messages"])))
    assert Delivery.objects.get(pk=published.pk).state == D.PUBLISHED


def test_given_a_delivery_of_another_workspace_then_actions_answer_404(
    client, editor, other_workspace
):
    no_approval(other_workspace)
    channel = Channel.objects.get(workspace=other_workspace)
    delivery = make_delivery(due_post(other_workspace, [channel]), channel, state=D.FAILED)
    login(client, editor)

    for name in ("delivery_publish_now", "delivery_done"):
        response = client.post(
            reverse(f"publishing:{name}", args=["acme", delivery.pk]),
            {"url": "https://xing.example/1"},
        )
        assert response.status_code == 404
    assert Delivery.objects.get(pk=delivery.pk).state == D.FAILED


def test_given_a_manual_delivery_when_the_assignee_marks_it_done_then_published_with_url(
    client, editor, workspace
):
    no_approval(workspace)
    xing = connected_channel(workspace, platform="manual", name="Xing")
    delivery = make_delivery(due_post(workspace, [xing]), xing, state=D.PUBLISHING)
    delivery.assignee = editor.user
    delivery.save()
    login(client, editor)
    url = reverse("publishing:delivery_done", args=["acme", delivery.pk])

    client.post(url, {"url": "not a url"})
    assert Delivery.objects.get(pk=delivery.pk).state == D.PUBLISHING

    client.post(url, {"url": "https://xing.example/posts/9"})
    delivery.refresh_from_db()
    assert (delivery.state, delivery.url) == (D.PUBLISHED, "https://xing.example/posts/9")


# --- the editor panel ----------------------------------------------------------------------------


def test_given_a_partially_published_post_then_the_editor_panel_shows_each_channel(
    client, editor, scene, django_assert_num_queries
):
    login(client, editor)
    url = reverse("publishing:post_deliveries", args=["acme", scene["good"].pk])

    with django_assert_num_queries(6):
        response = client.get(url)

    html = response.content.decode()
    assert html.count('data-testid="delivery-row"') == 2
    assert "Partially published" in html
    assert "https://m.example/1" in html
    assert "Bluesky refused the text." in html
    assert "Retry now" in html


@pytest.mark.parametrize(
    ("language", "reserved", "error", "text"),
    [
        (
            "en",
            True,
            "",
            "Waiting for the channel's posting limit: goes out at 1 Jul 2026, 09:36",
        ),
        (
            "de",
            True,
            "",
            "Wartet auf das Veröffentlichungslimit des Kanals: wird am 01.07.2026 09:36",
        ),
        ("en", False, "Mastodon answered 503.", "Next try at 1 Jul 2026, 09:36"),
        ("de", False, "Mastodon answered 503.", "Nächster Versuch am 01.07.2026 09:36."),
    ],
)
def test_given_a_delivery_waiting_past_its_time_then_the_panel_says_until_when(
    client, editor, workspace, language, reserved, error, text
):
    no_approval(workspace)
    channel = connected_channel(workspace, name="Acme Instagram")
    at = dt.datetime(2026, 7, 1, 7, 0, tzinfo=dt.UTC)  # 09:00 in Berlin
    post = due_post(workspace, [channel], at=at)
    delivery = make_delivery(post, channel, state=D.PENDING, error=error)
    Delivery.objects.filter(pk=delivery.pk).update(
        run_at=at + dt.timedelta(minutes=36), rate_reserved=reserved
    )
    editor.user.language = language
    editor.user.save(update_fields=["language"])
    login(client, editor)

    panel = reverse("publishing:post_deliveries", args=["acme", post.pk])
    with time_machine.travel(at + dt.timedelta(minutes=10), tick=False):
        html = client.get(panel).content
    assert text in html.decode().replace("&#x27;", "'")
    # Once that time has passed the line is gone (it is due: never a "next try" in the past).
    with time_machine.travel(at + dt.timedelta(minutes=40), tick=False):
        html = client.get(panel).content.decode()
    assert 'data-testid="delivery-next-try"' not in html


def test_given_a_channel_that_is_not_connected_then_its_delivery_says_held_and_publish_now_refuses(
    client, manager, workspace
):
    no_approval(workspace)
    channel = connected_channel(workspace, name="Acme Bluesky")
    Channel.objects.filter(pk=channel.pk).update(state="needs_reconnect")
    post = due_post(workspace, [channel])
    delivery = make_delivery(post, channel, state=D.PENDING)
    login(client, manager)

    html = client.get(reverse("publishing:post_deliveries", args=["acme", post.pk])).content
    html = html.decode()
    assert 'data-testid="delivery-held"' in html and "Acme Bluesky is not connected" in html
    assert reverse("calendar:channel_edit", args=["acme", channel.pk]) in html
    response = client.post(
        reverse("publishing:delivery_publish_now", args=["acme", delivery.pk]), follow=True
    )
    text = response.content.decode()
    assert "Acme Bluesky is not connected" in text and "goes out on" not in text
    assert Delivery.objects.get(pk=delivery.pk).run_at == delivery.run_at


def test_given_a_post_of_another_workspace_then_the_panel_is_404(client, editor, other_workspace):
    channel = Channel.objects.get(workspace=other_workspace)
    post = due_post(other_workspace, [channel])
    login(client, editor)
    response = client.get(reverse("publishing:post_deliveries", args=["acme", post.pk]))
    assert response.status_code == 404


# --- derived state -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], None),
        ([D.CANCELLED], None),
        ([D.PUBLISHED, D.PUBLISHED], PostPublishState.PUBLISHED),
        ([D.PUBLISHED, D.CANCELLED], PostPublishState.PUBLISHED),
        ([D.PUBLISHED, D.FAILED], PostPublishState.PARTIALLY_PUBLISHED),
        ([D.PUBLISHED, D.MISSED], PostPublishState.PARTIALLY_PUBLISHED),
        ([D.FAILED, D.PENDING], PostPublishState.FAILED),
        ([D.MISSED], PostPublishState.FAILED),
        ([D.PUBLISHED, D.QUEUED], PostPublishState.PUBLISHING),
        ([D.PUBLISHING], PostPublishState.PUBLISHING),
        ([D.PENDING, D.PENDING], PostPublishState.WAITING),
    ],
)
def test_post_publish_state_is_derived_from_its_deliveries(states, expected):
    channel = Channel(name="c")
    deliveries = [Delivery(state=s, channel=channel, error="x") for s in states]
    summary = publish_summary(deliveries)
    assert (summary.state if summary else None) == expected


# --- /healthz ------------------------------------------------------------------------------------


def test_given_all_up_then_healthz_is_200(client, db):
    WorkerHeartbeat.objects.create(name="beat", last_seen=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["database"]["ok"] and body["broker"]["ok"] and body["beat"]["ok"]


def test_given_a_stale_beat_then_healthz_is_503(client, db):
    WorkerHeartbeat.objects.create(name="beat", last_seen=timezone.now() - dt.timedelta(minutes=10))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["beat"]["ok"] is False


def test_given_no_beat_ever_then_healthz_is_503(client, db):
    assert client.get("/healthz").status_code == 503


def test_given_the_broker_down_then_healthz_is_503(client, db, monkeypatch):
    from config.celery import app

    WorkerHeartbeat.objects.create(name="beat", last_seen=timezone.now())
    # The setting first: monkeypatch keeps the value read now to restore it, and Celery reads
    # the environment before its own setting, so patching the environment first would make the
    # dead URL the "old" value. Then the environment, which CI sets and which would win.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["database"]["ok"] is True
    # and nothing of the dead broker is left for workers started by later tests
    monkeypatch.undo()
    assert app.conf.broker_url != "redis://127.0.0.1:1/0"


def test_given_the_database_down_then_healthz_is_503(client, db, monkeypatch):
    from django.db import connection

    def broken():
        raise connection.Database.OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "OperationalError"}


def test_the_favicon_is_served_not_a_404(client, db):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("calendar_app/favicon.svg")
    page = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in page
