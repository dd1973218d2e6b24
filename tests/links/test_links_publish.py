"""Link tracking in the publishing engine: the text that actually goes out (recording adapter),
the same text on every attempt of a delivery, and the hot path's query budget."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.utils import timezone

from calendar_app.models import PostVariant, Workspace
from links.models import TrackedLink
from publishing import dispatch, services
from publishing.adapters.base import TransientError
from publishing.adapters.recording import RecordingAdapter
from publishing.models import Delivery, DeliveryState
from tests.factories import CampaignFactory
from tests.publishing_helpers import connected_channel, due_post, no_approval

BASE = "https://go.example.test"
SHORT = re.compile(re.escape(BASE) + r"/l/[0-9A-Za-z]{10}")


class AttemptRecorder(RecordingAdapter):
    """The recording adapter that also keeps the text of every attempt, failed ones too."""

    texts: list[tuple[str, str]] = []

    def publish(self, *, account, credentials, request, on_part=None):
        type(self).texts.append((request.text, request.first_comment))
        return super().publish(
            account=account, credentials=credentials, request=request, on_part=on_part
        )


@pytest.fixture(autouse=True)
def engine(settings, workspace, members):
    backend = {"BACKEND": f"{__name__}.AttemptRecorder"}
    settings.PUBLISHING_ADAPTERS = {"mastodon": backend, "linkedin": backend}
    settings.PUBLISHING_REDIS_URL = ""  # no rate limiting: not what is tested here
    settings.PUBLIC_BASE_URL = BASE
    RecordingAdapter.reset()
    AttemptRecorder.texts = []
    no_approval(workspace)
    yield
    RecordingAdapter.reset()


@pytest.fixture
def sent(monkeypatch):
    """Publish tasks the dispatcher sends, as (delivery id, job, run_at), instead of the broker."""
    messages: list = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: messages.extend(taken))
    return messages


@pytest.fixture
def queue(sent, django_capture_on_commit_callbacks):
    """One dispatcher pass; the (delivery id, job) pairs it sent."""

    def run() -> list[tuple[int, int]]:
        with django_capture_on_commit_callbacks(execute=True):
            dispatch.deliveries_dispatch_due()
        taken = [(pk, job) for pk, job, _run_at in sent]
        sent.clear()
        return taken

    return run


@pytest.fixture
def work(queue):
    """One dispatcher pass, then every publish task it sent, run here like a worker would."""
    return lambda: [
        services.delivery_publish(delivery_id=pk, job=job, worker="w1") for pk, job in queue()
    ]


@pytest.fixture
def mastodon(workspace):
    return connected_channel(workspace, name="Acme Mastodon")


def switches(workspace: Workspace, *, tagging: bool, shorten: bool) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(utm_tagging=tagging, shorten_links=shorten)


def sent_texts() -> list[str]:
    return [request.text for request in RecordingAdapter.outbox]


def test_given_tagging_then_the_published_text_and_first_comment_carry_utm_parameters(
    workspace, mastodon, work
):
    switches(workspace, tagging=True, shorten=False)
    campaign = CampaignFactory(workspace=workspace, name="Spring launch", utm_campaign="spring26")
    post = due_post(workspace, [mastodon], campaign=campaign, body="Beans: https://shop.example/b.")
    PostVariant.objects.filter(post=post).update(first_comment="More: https://blog.example/p")

    assert work() == ["published"]

    utm = f"utm_source=mastodon&utm_medium=social&utm_campaign=spring26&utm_content=post-{post.pk}"
    [request] = RecordingAdapter.outbox
    assert request.text == f"Beans: https://shop.example/b?{utm}."
    assert request.first_comment == f"More: https://blog.example/p?{utm}"
    assert not TrackedLink.objects.exists()


def test_given_two_channels_then_each_gets_its_own_utm_source(workspace, mastodon, work):
    switches(workspace, tagging=True, shorten=False)
    linkedin = connected_channel(workspace, platform="linkedin", name="Acme LinkedIn")
    due_post(workspace, [mastodon, linkedin], body="https://shop.example/")

    assert sorted(work()) == ["published", "published"]

    sources = sorted(re.search(r"utm_source=(\w+)", t).group(1) for t in sent_texts())
    assert sources == ["linkedin", "mastodon"]


def test_given_shortening_then_the_published_text_has_our_short_link_to_the_tagged_target(
    workspace, mastodon, work
):
    switches(workspace, tagging=True, shorten=True)
    post = due_post(workspace, [mastodon], body="Beans: https://shop.example/b!")

    assert work() == ["published"]

    [text] = sent_texts()
    short = SHORT.search(text).group()
    assert text == f"Beans: {short}!"
    link = TrackedLink.objects.get()
    assert short.endswith(f"/l/{link.code}")
    assert link.target_url == (
        f"https://shop.example/b?utm_source=mastodon&utm_medium=social&utm_content=post-{post.pk}"
    )
    assert (link.post_id, link.channel_id, link.workspace_id) == (
        post.pk,
        mastodon.pk,
        workspace.pk,
    )


def test_given_a_transient_failure_then_the_retry_sends_exactly_the_same_text(
    workspace, mastodon, work
):
    switches(workspace, tagging=True, shorten=True)
    post = due_post(workspace, [mastodon], body="https://shop.example/b and https://blog.example/")
    PostVariant.objects.filter(post=post).update(first_comment="https://shop.example/b")
    RecordingAdapter.faults = [TransientError("Mastodon answered 503.", status=503)]

    assert work() == ["retry"]
    Delivery.objects.filter(post=post).update(run_at=timezone.now())
    assert work() == ["published"]

    first, second = AttemptRecorder.texts
    assert first == second
    assert len(SHORT.findall(first[0])) == 2
    assert TrackedLink.objects.count() == 2  # the comment reuses the body's short link
    assert Delivery.objects.get(post=post).state == DeliveryState.PUBLISHED


def test_given_both_switches_off_then_the_text_goes_out_unchanged(workspace, mastodon, work):
    switches(workspace, tagging=False, shorten=False)
    body = "Beans: https://shop.example/b?x=1#y."
    due_post(workspace, [mastodon], body=body, campaign=CampaignFactory(workspace=workspace))

    assert work() == ["published"]

    assert sent_texts() == [body]
    assert not TrackedLink.objects.exists()


# The engine's own hot-path budget (test_publishing_engine.py): PostgreSQL 2 statements, SQLite 9.
def hot_path_budget() -> int:
    return 2 if connection.vendor == "postgresql" else 5 + 2 * 2


def test_given_switches_off_then_links_cost_the_hot_path_no_query(
    workspace, mastodon, queue, django_assert_num_queries
):
    switches(workspace, tagging=False, shorten=False)
    campaign = CampaignFactory(workspace=workspace)
    due_post(workspace, [mastodon], body="https://shop.example/b", campaign=campaign)
    [(pk, job)] = queue()
    with django_assert_num_queries(hot_path_budget()):
        assert services.delivery_publish(delivery_id=pk, job=job) == "published"


def test_given_tagging_with_a_campaign_then_one_query_more_for_the_campaign(
    workspace, mastodon, queue, django_assert_num_queries
):
    switches(workspace, tagging=True, shorten=False)
    campaign = CampaignFactory(workspace=workspace)
    due_post(workspace, [mastodon], body="https://shop.example/b", campaign=campaign)
    [(pk, job)] = queue()
    with django_assert_num_queries(hot_path_budget() + 1):
        assert services.delivery_publish(delivery_id=pk, job=job) == "published"
    assert "utm_campaign=" in sent_texts()[0]


def test_given_a_post_due_later_then_nothing_is_made_ahead(workspace, mastodon, work):
    switches(workspace, tagging=True, shorten=True)
    due_post(
        workspace, [mastodon], body="https://x.example", at=timezone.now() + dt.timedelta(days=1)
    )

    assert work() == []
    assert not TrackedLink.objects.exists()


def test_given_shortening_only_then_no_campaign_query_and_a_retry_costs_one_read(
    workspace, mastodon, queue, django_assert_num_queries
):
    switches(workspace, tagging=False, shorten=True)
    campaign = CampaignFactory(workspace=workspace)
    post = due_post(workspace, [mastodon], body="https://shop.example/b", campaign=campaign)
    [(pk, job)] = queue()
    # + the read of existing short links, + savepoint, insert, release of the new one
    with django_assert_num_queries(hot_path_budget() + 4):
        assert services.delivery_publish(delivery_id=pk, job=job) == "published"
    assert TrackedLink.objects.get().campaign_id == campaign.pk  # without reading the campaign

    # the same delivery again (e.g. "publish now" after a cleared result): one read, no insert
    Delivery.objects.filter(post=post).update(
        state=DeliveryState.PENDING, run_at=timezone.now(), remote_id="", parts=[]
    )
    RecordingAdapter.reset()
    [(pk, job)] = queue()
    with django_assert_num_queries(hot_path_budget() + 1):
        assert services.delivery_publish(delivery_id=pk, job=job) == "published"
