"""The test network (publishing.adapters.testnet): a platform inside this installation, so a
newcomer sees the whole loop. Posts go to the workspace's sandbox feed at their time, exactly
once, with numbers that grow in the following minutes; test channels are added on purpose by
owners only and never appear in another workspace."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from calendar_app.models import Channel, ChannelState, Role
from publishing import dispatch, services
from publishing.adapters.base import Account, Credentials, PublishRequest
from publishing.adapters.testnet import TestNetworkAdapter as SandboxAdapter
from publishing.adapters.testnet import simulated_numbers
from publishing.models import Delivery, SandboxPost
from tests.conftest import login
from tests.factories import ChannelFactory, MembershipFactory
from tests.publishing_helpers import due_post, no_approval

NONE = Credentials(access_token="")


@pytest.fixture
def account():
    return Account(account_id="tn-test", config={"feed_url": "http://testserver/w/acme/sandbox/"})


@pytest.fixture
def adapter():
    return SandboxAdapter()


def test_given_a_thread_and_a_first_comment_then_each_part_is_posted_once(db, adapter, account):
    request = PublishRequest(
        text="Hallo Testnetz", thread=["Teil zwei"], first_comment="Erster!", idempotency_key="k1"
    )

    first = adapter.publish(account=account, credentials=NONE, request=request)
    again = adapter.publish(account=account, credentials=NONE, request=request)
    found = adapter.find_existing(account=account, credentials=NONE, request=request)

    assert [p.remote_id for p in again.parts] == [p.remote_id for p in first.parts]
    assert [p.remote_id for p in found.parts] == [p.remote_id for p in first.parts]
    assert SandboxPost.objects.count() == 3
    main, part, comment = (SandboxPost.objects.get(remote_id=p.remote_id) for p in first.parts)
    assert (main.text, part.reply_to, comment.reply_to) == (
        "Hallo Testnetz",
        main.remote_id,
        main.remote_id,
    )
    assert first.url == f"http://testserver/w/acme/sandbox/#post-{main.remote_id}"
    assert adapter.remote_id_from_url(first.url) == main.remote_id


def test_given_nothing_posted_then_the_look_up_finds_nothing(db, adapter, account):
    request = PublishRequest(text="Nie gepostet", idempotency_key="never")

    assert adapter.find_existing(account=account, credentials=NONE, request=request) is None


def test_the_numbers_grow_in_the_minutes_after_posting_and_are_the_same_when_asked_again():
    posted = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    at = [simulated_numbers("tp-1", posted, posted + dt.timedelta(minutes=m)) for m in (0, 5, 60)]

    assert at[0]["impressions"] == 0
    assert at[0]["impressions"] < at[1]["impressions"] < at[2]["impressions"]
    assert at[1]["likes"] <= at[2]["likes"]
    assert simulated_numbers("tp-1", posted, posted + dt.timedelta(minutes=5)) == at[1]
    assert simulated_numbers("tp-2", posted, posted + dt.timedelta(hours=2)) != at[2]


def test_given_a_deleted_post_then_it_has_no_numbers_and_leaves_the_feed(db, adapter, account):
    result = adapter.publish(
        account=account, credentials=NONE, request=PublishRequest(text="x", idempotency_key="d")
    )

    adapter.delete(account=account, credentials=NONE, remote_id=result.remote_id)

    assert (
        adapter.fetch_metrics(account=account, credentials=NONE, remote_ids=[result.remote_id])
        == []
    )
    assert adapter.fetch_account_metrics(account=account, credentials=NONE).values["posts"] == 0


# --- the whole loop -----------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    messages: list = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: messages.extend(taken))
    return messages


def test_given_a_scheduled_post_on_a_test_channel_then_it_is_on_the_sandbox_feed_at_its_time(
    client, owner, workspace, sent, django_capture_on_commit_callbacks
):
    """No stored secret, no network: the engine publishes it like any post, exactly once."""
    no_approval(workspace)
    login(client, owner)
    client.post("/w/acme/settings/channels/connect-test-network/", {"name": "Testnetz"})
    channel = Channel.objects.get(workspace=workspace, platform="testnet")
    post = due_post(workspace, [channel], body="Unser erster Testbeitrag", author=owner.user)

    for _ in range(2):  # a second pass finds nothing more to do
        with django_capture_on_commit_callbacks(execute=True):
            dispatch.deliveries_dispatch_due()
        for pk, job, _run_at in list(sent):
            services.delivery_publish(delivery_id=pk, job=job, worker="w1")
        sent.clear()

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == "published"
    assert delivery.url.startswith("http://testserver/w/acme/sandbox/#post-")
    assert SandboxPost.objects.filter(account_id=channel.account_id).count() == 1
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        feed = client.get("/w/acme/sandbox/").content.decode()
    assert "Unser erster Testbeitrag" in feed
    assert f'id="post-{delivery.remote_id}"' in feed
    assert 'data-testid="sandbox-numbers"' in feed


def test_given_a_test_post_out_then_its_numbers_are_pulled_within_minutes_and_grow(
    client, owner, workspace, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """The newcomer watches the numbers grow: the first pull two minutes after posting (a
    real platform's is at 15), the next ones minutes apart."""
    from publishing.metrics import sweep as sweep_module
    from publishing.metrics.pull import remote_posts_pull
    from publishing.models import RemotePost

    no_approval(workspace)
    login(client, owner)
    client.post("/w/acme/settings/channels/connect-test-network/", {"name": "Testnetz"})
    channel = Channel.objects.get(workspace=workspace, platform="testnet")
    post = due_post(workspace, [channel], body="Zahlen, bitte", author=owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    for pk, job, _run_at in list(sent):
        services.delivery_publish(delivery_id=pk, job=job, worker="w1")
    delivery = Delivery.objects.get(post=post, state="published")
    batches = []
    monkeypatch.setattr(
        sweep_module, "pull_batches_send", lambda taken, *, countdown=None: batches.extend(taken)
    )

    seen = []
    for minutes in (0, 2, 5):
        now = delivery.published_at + dt.timedelta(minutes=minutes, seconds=1)
        batches.clear()
        with django_capture_on_commit_callbacks(execute=True):
            sweep_module.metrics_sweep(now=now)
        with time_machine.travel(now):  # the network's numbers follow the clock
            for batch in batches:
                assert (
                    remote_posts_pull(
                        channel_id=batch.channel_id,
                        remote_post_ids=batch.remote_post_ids,
                        lease=batch.lease.isoformat(),
                        now=now,
                    )
                    == "pulled"
                )
        remote = RemotePost.objects.get(delivery=delivery)
        seen.append((len(batches), remote.impressions, remote.next_pull_at - delivery.published_at))

    assert seen[0] == (0, None, dt.timedelta(minutes=2))  # enrolled, first pull ahead
    assert seen[1][0] == 1 and seen[1][1] > 0 and seen[1][2] == dt.timedelta(minutes=5)
    assert seen[2][0] == 1 and seen[2][1] > seen[1][1] and seen[2][2] == dt.timedelta(minutes=10)


# --- added on purpose, by owners, in their own workspace only -----------------------------------


def test_the_connect_page_offers_test_mode_to_owners_apart_from_the_real_platforms(
    client, owner, manager
):
    page = login(client, owner).get("/w/acme/settings/channels/connect/").content.decode()

    assert 'data-testid="test-mode"' in page
    assert 'data-testid="connect-testnet"' not in page  # not one of the real platforms
    assert 'data-testid="unavailable-testnet"' not in page

    client.logout()
    page = login(client, manager).get("/w/acme/settings/channels/connect/").content.decode()
    assert 'data-testid="test-mode"' not in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.VIEWER])
def test_given_anyone_but_an_owner_when_adding_a_test_channel_then_refused(client, members, role):
    login(client, members[role])

    response = client.post("/w/acme/settings/channels/connect-test-network/", {"name": "x"})

    assert response.status_code in (302, 403)
    assert not Channel.objects.filter(platform="testnet").exists()


def test_given_an_owner_adds_a_test_channel_then_it_is_connected_and_labelled(client, owner):
    login(client, owner)

    response = client.post(
        "/w/acme/settings/channels/connect-test-network/", {"name": "Testnetz"}, follow=True
    )

    channel = Channel.objects.get(platform="testnet")
    assert channel.state == ChannelState.CONNECTED and channel.workspace == owner.workspace
    page = response.content.decode()
    assert "nothing leaves this server" in page
    assert 'data-testid="test-channel"' in page and 'data-testid="sandbox-link"' in page


def test_the_sandbox_feed_shows_only_this_workspaces_test_posts(client, owner, workspace):
    other = MembershipFactory(role=Role.OWNER)
    theirs = ChannelFactory(workspace=other.workspace, platform="testnet", account_id="tn-them")
    mine = ChannelFactory(workspace=workspace, platform="testnet", account_id="tn-me")
    SandboxPost.objects.create(
        account_id=theirs.account_id, remote_id="tp-a", idempotency_key="a", text="Ihr Geheimnis"
    )
    SandboxPost.objects.create(
        account_id=mine.account_id, remote_id="tp-b", idempotency_key="b", text="Unser Beitrag"
    )

    page = login(client, owner).get("/w/acme/sandbox/").content.decode()

    assert "Unser Beitrag" in page and "Ihr Geheimnis" not in page


def test_a_workspace_without_a_test_channel_has_an_empty_sandbox_that_says_how_to_add_one(
    client, owner
):
    page = login(client, owner).get("/w/acme/sandbox/").content.decode()

    assert 'data-testid="sandbox-no-channel"' in page
