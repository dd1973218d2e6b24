"""What an attacker tried, each through the pages as they would: an author clearing their own
step (skip, a review link of their own, one link approving twice), and rewriting what went out
(dragging, editing, withdrawing a published post). Every one of these got through before the
rulebook; none may now."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from calendar_app.models import AuditEvent, Post, ReviewDecision, Role
from calendar_app.services import review
from calendar_app.services.workspaces import StepInput
from calendar_app.workflow import PostStatus
from tests.calendar_app.review.test_approval_services import NOW, new_post, refresh, set_policy
from tests.conftest import login
from tests.factories import DeliveryFactory

S = PostStatus


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def url(name: str, *args) -> str:
    return reverse(f"calendar:{name}", args=["acme", *args])


def submitted(client, member, channel) -> Post:
    post = new_post(member, channel)
    login(client, member).post(url("post_workflow", post.pk), {"action": "submit"})
    post = refresh(post)
    assert post.status == S.IN_REVIEW
    return post


def link_path(client, manager, post, name: str, email: str) -> str:
    """A review link for `post` issued by `manager` from the post's panel, opened by the
    reviewer: the path of its page (the token is in the client's cookie now)."""
    login(client, manager).post(
        url("review_link_create", post.pk), {"recipient_name": name, "recipient_email": email}
    )
    thread = client.get(url("post_review_panel", post.pk) + "?part=thread").content.decode()
    found = re.search(r'value="http://testserver(/review/[^"]+)"', thread)
    assert found, thread
    client.logout()
    opened = client.get(found.group(1))
    assert opened.status_code == 303
    return opened["Location"]


# --- an author clearing their own step ------------------------------------------------------------


@pytest.mark.parametrize("author_role", [Role.OWNER, Role.EDITOR])
def test_given_an_author_who_may_skip_when_skipping_their_own_step_then_it_is_refused(
    client, members, channel, author_role
):
    set_policy(members[Role.OWNER], skip_roles=["owner", "editor"])
    author = members[author_role]
    post = submitted(client, author, channel)

    client.post(url("review_decide", post.pk), {"decision": "approve"})
    client.post(url("review_decide", post.pk), {"decision": "skip", "comment": "Urgent"})

    post = refresh(post)
    assert post.status == S.IN_REVIEW
    assert not ReviewDecision.objects.filter(round__post=post).exists()


def test_given_one_external_step_needing_two_when_one_link_approves_twice_then_one_counts(
    client, members, channel
):
    set_policy(
        members[Role.OWNER],
        steps=[StepInput(name="Client", roles=[], members=[], external=True, required=2)],
    )
    post = submitted(client, members[Role.EDITOR], channel)
    path = link_path(client, members[Role.MANAGER], post, "Client Carl", "carl@client.example")

    for _ in range(2):
        client.post(path, {"post": post.pk, "name": "Client Carl", "decision": "approve"})

    assert refresh(post).status == S.IN_REVIEW
    assert ReviewDecision.objects.filter(round__post=post, kind="approve").count() == 1


def test_given_a_managers_own_post_when_approving_through_links_they_issued_then_refused(
    client, members, channel
):
    set_policy(
        members[Role.OWNER],
        steps=[StepInput(name="Client", roles=[], members=[], external=True, required=2)],
    )
    manager = members[Role.MANAGER]
    post = submitted(client, manager, channel)
    first = link_path(client, manager, post, "Totally A Client", "a@client.example")
    second = link_path(client, manager, post, "Another Client", "b@client.example")

    client.post(first, {"post": post.pk, "name": "Totally A Client", "decision": "approve"})
    page = client.post(second, {"post": post.pk, "name": "Another Client", "decision": "approve"})

    assert refresh(post).status == S.IN_REVIEW
    assert not ReviewDecision.objects.filter(round__post=post, kind="approve").exists()
    assert "wrote this post" in page.content.decode()


# --- what went out stays on record -------------------------------------------------------------


@pytest.fixture
def published(client, members, channel) -> Post:
    """An editor's post, approved by the manager, that went out on its channel."""
    post = submitted(client, members[Role.EDITOR], channel)
    login(client, members[Role.MANAGER]).post(
        url("review_decide", post.pk), {"decision": "approve"}
    )
    client.logout()
    post = refresh(post)
    assert post.status == S.SCHEDULED
    DeliveryFactory(post=post, channel=channel)
    return post


def _month(client, post) -> str:
    local = post.scheduled_at.astimezone(post.workspace.tz)
    return client.get(url("month", local.year, local.month)).content.decode()


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.EDITOR])
def test_given_a_published_post_when_dragged_to_another_day_then_refused_and_not_draggable(
    client, members, published, role
):
    login(client, members[role])
    chip = re.search(
        rf'<a class="cal-chip[^>]*data-post-id="{published.pk}"[^>]*>', _month(client, published)
    )
    assert chip and 'draggable="false"' in chip.group(0)
    assert "cal-chip-published" in chip.group(0)

    day = (published.scheduled_at + dt.timedelta(days=3)).date().isoformat()
    response = client.post(url("post_reschedule", published.pk), {"date": day})
    assert response.status_code == 400
    assert "stays on record" in response.json()["error"]
    response = client.post(url("post_unschedule", published.pk))
    assert response.status_code == 400
    assert refresh(published).scheduled_at == published.scheduled_at


def test_given_a_published_post_when_its_text_is_posted_then_nothing_changes(
    client, members, published, channel
):
    local = published.scheduled_at.astimezone(published.workspace.tz)
    response = login(client, members[Role.EDITOR]).post(
        url("post_edit", published.pk),
        {
            "version": published.version,
            "title": "Rewritten history",
            "body": "Rewritten history",
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "channels": [channel.pk],
        },
    )
    assert response.status_code == 409
    assert "stays on record" in response.content.decode()
    after = refresh(published)
    assert (after.body, after.version) == (published.body, published.version)


def test_given_a_published_post_then_it_reads_published_and_offers_no_withdraw(
    client, members, published
):
    login(client, members[Role.EDITOR])  # the author
    bar = client.get(url("post_review_panel", published.pk) + "?part=bar").content.decode()
    assert 'data-testid="withdraw"' not in bar
    assert "Published" in re.search(r'data-testid="workflow-status">(.*?)</span>', bar).group(1)

    client.post(url("post_workflow", published.pk), {"action": "withdraw"})
    after = refresh(published)
    assert after.status == S.SCHEDULED
    assert not AuditEvent.objects.filter(post=published, action="withdraw").exists()


def test_given_a_published_post_when_approval_becomes_required_then_it_stays_as_it_went_out(
    members, channel
):
    """Switching the policy sends unapproved scheduled posts back to draft; one that went out
    is history and keeps its status."""
    owner = members[Role.OWNER]
    set_policy(owner, mode="none")
    post = new_post(members[Role.EDITOR], channel)
    review.post_schedule(membership=members[Role.EDITOR], post_id=post.pk)
    DeliveryFactory(post=post, channel=channel)
    set_policy(owner, mode="required")
    assert refresh(post).status == S.SCHEDULED
    assert not AuditEvent.objects.filter(post=post, action="approval_now_required").exists()
