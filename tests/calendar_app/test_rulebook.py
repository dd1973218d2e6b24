"""The rulebook is asked by everyone and agrees with itself: for every status (and a post that went
out, or is going out right now), every member (owner, manager, another editor, viewer, the
author) and every action, `available_actions` offers exactly what the service then accepts, the
workflow bar shows exactly those actions, the queue lists the post for exactly the members who may
decide it, and the calendar chip is draggable exactly when the post may be moved."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from calendar_app.access import post_facts
from calendar_app.models import AuditEvent, Membership, Post, ReviewLink, Role
from calendar_app.services import comments, posts, review
from calendar_app.services.content import PostInput, VariantInput, post_input_from
from calendar_app.services.workspaces import StepInput
from calendar_app.workflow import (
    MEMBER_ACTIONS,
    PostAction,
    PostStatus,
    action_refusal,
    available_actions,
)
from publishing import services as publishing_services
from publishing.models import Delivery
from tests.calendar_app.review.test_approval_services import IN_TWO_DAYS, NOW, refresh, set_policy
from tests.conftest import login
from tests.factories import ChannelFactory, DeliveryFactory, MembershipFactory, UserFactory

S = PostStatus
A = PostAction
PUBLISHED, GOING_OUT = "published", "going_out"
STATES = [*S.values, PUBLISHED, GOING_OUT]
ACTORS = ["owner", "manager", "editor", "viewer", "author"]
AFTER_ITS_TIME = IN_TWO_DAYS + dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


class Rollback(Exception):
    pass


@pytest.fixture
def team(members, workspace):
    """The author is an editor; "editor" is another one."""
    other = MembershipFactory(
        workspace=workspace, user=UserFactory(username="editor2"), role=Role.EDITOR
    )
    return {
        "owner": members[Role.OWNER],
        "manager": members[Role.MANAGER],
        "editor": other,
        "viewer": members[Role.VIEWER],
        "author": members[Role.EDITOR],
    }


@pytest.fixture
def channels(workspace):
    return [
        ChannelFactory(workspace=workspace, name="Mastodon"),
        ChannelFactory(workspace=workspace, platform="bluesky", name="Bluesky"),
    ]


def post_in(state: str, team, channels) -> Post:
    """A post by the author, on two channels, brought into `state` through the services."""
    author, manager = team["author"], team["manager"]
    post = posts.post_create(
        membership=author,
        data=PostInput(
            body="Hello", scheduled_at=IN_TWO_DAYS, variants={c: VariantInput() for c in channels}
        ),
    )
    if state != S.DRAFT:
        review.post_submit_for_review(membership=author, post_id=post.pk)
    if state == S.CHANGES_REQUESTED:
        review.post_request_changes(membership=manager, post_id=post.pk, comment="Shorter")
    elif state == S.MISSED_APPROVAL:
        review.approvals_mark_missed(now=IN_TWO_DAYS + dt.timedelta(minutes=1))
    elif state == S.APPROVED:
        data = post_input_from(post)
        data.scheduled_at = None
        posts.post_update(membership=author, post_id=post.pk, data=data, expected_version=None)
        review.post_approve(membership=manager, post_id=post.pk)
    elif state in (S.SCHEDULED, PUBLISHED, GOING_OUT):
        review.post_approve(membership=manager, post_id=post.pk)
    post = refresh(post)
    first, second = channels
    if state == S.SCHEDULED:
        DeliveryFactory(post=post, channel=first, state="pending", published_at=None)
    elif state == PUBLISHED:  # partly: one channel out, the other failed (retry now applies)
        DeliveryFactory(post=post, channel=first)
        DeliveryFactory(post=post, channel=second, state="failed", error="Refused")
    elif state == GOING_OUT:  # one channel in a worker's hands, the other still waiting
        DeliveryFactory(post=post, channel=first, state="queued", published_at=None)
        DeliveryFactory(post=post, channel=second, state="pending", published_at=None)
    elif post.scheduled_at is not None:
        # a delivery cancelled when the post left the schedule: "publish now" must refuse
        DeliveryFactory(post=post, channel=first, state="cancelled", published_at=None)
    return post


def retry_target(post: Post) -> Delivery | None:
    return Delivery.objects.filter(post=post, state__in=["failed", "pending", "cancelled"]).first()


def act(action: PostAction, member: Membership, post: Post) -> None:
    """Take `action` through the service a page would call."""
    pk = post.pk
    match action:
        case A.EDIT:
            data = post_input_from(post)
            data.body = "Changed"
            posts.post_update(membership=member, post_id=pk, data=data, expected_version=None)
        case A.RESCHEDULE:
            day = (AFTER_ITS_TIME + dt.timedelta(days=5)).date()
            posts.post_reschedule(membership=member, post_id=pk, day=day)
        case A.UNSCHEDULE:
            posts.post_unschedule(membership=member, post_id=pk)
        case A.DELETE:
            posts.post_delete(membership=member, post_id=pk)
        case A.DUPLICATE:
            posts.post_duplicate(membership=member, post_id=pk)
        case A.COMMENT:
            comments.post_comment_add(membership=member, post_id=pk, body="A thought")
        case A.SHARE:
            review.review_link_create(
                membership=member,
                post_ids=[pk],
                recipient_name="Clara",
                recipient_email="clara@client.example",
            )
        case A.SUBMIT:
            review.post_submit_for_review(membership=member, post_id=pk)
        case A.WITHDRAW:
            review.post_withdraw(membership=member, post_id=pk)
        case A.APPROVE:
            review.post_approve(membership=member, post_id=pk)
        case A.REQUEST_CHANGES:
            review.post_request_changes(membership=member, post_id=pk, comment="No")
        case A.SKIP_STEP:
            review.post_skip_step(membership=member, post_id=pk, comment="Deadline")
        case A.APPROVE_WITH_NEW_TIME:
            review.post_approve_and_reschedule(
                membership=member, post_id=pk, scheduled_at=AFTER_ITS_TIME + dt.timedelta(days=5)
            )
        case A.SCHEDULE:
            review.post_schedule(membership=member, post_id=pk)
        case A.PUBLISH_NOW:
            publishing_services.delivery_publish_now(
                membership=member, delivery_id=retry_target(post).pk
            )
        case _:
            raise AssertionError(action)


def accepted(action: PostAction, member: Membership, post: Post) -> bool:
    """Whether the service accepts `action`; undone either way."""
    events = AuditEvent.objects.filter(post=post).count()
    try:
        with transaction.atomic():
            act(action, member, post)
            raise Rollback
    except Rollback:
        return True
    except (ValidationError, PermissionDenied):
        after = refresh(post)
        assert (after.status, after.version, after.scheduled_at) == (
            post.status,
            post.version,
            post.scheduled_at,
        ), action
        assert AuditEvent.objects.filter(post=post).count() == events
        return False


def bar_actions(client, member: Membership, post: Post) -> tuple[set[str], str]:
    url = reverse("calendar:post_review_panel", args=["acme", post.pk]) + "?part=bar"
    bar = login(client, member).get(url).content.decode()
    found = re.search(r'data-actions="([^"]*)"', bar)
    return set(found.group(1).split()), bar


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("state", STATES)
def test_the_rulebook_the_services_and_the_pages_agree(
    request, client, team, channels, owner, state, actor
):
    set_policy(owner, skip_roles=["owner", "manager"])
    post = post_in(state, team, channels)
    if state == S.MISSED_APPROVAL:  # decided after its time, as in real life
        travel = time_machine.travel(AFTER_ITS_TIME, tick=False)
        travel.start()
        request.addfinalizer(travel.stop)
    member = team[actor]
    facts, _round, _revision = post_facts(post)
    offered = available_actions(member, post, facts)

    for action in sorted(MEMBER_ACTIONS):
        if action == A.UNSCHEDULE and post.scheduled_at is None:
            # An idea is one already: not offered, and asking is a no-op.
            assert action not in offered
            continue
        if action == A.PUBLISH_NOW and retry_target(post) is None:
            assert action not in offered  # an idea has nothing to publish
            continue
        assert accepted(action, member, post) is (action in offered), (
            action,
            action_refusal(member, post, facts, action),
        )

    shown, bar = bar_actions(client, member, post)
    assert shown == set(offered)
    assert ('data-testid="withdraw"' in bar) is (A.WITHDRAW in offered)
    assert ('data-testid="schedule"' in bar) is (A.SCHEDULE in offered)
    assert ('data-testid="skip"' in bar) is (A.SKIP_STEP in offered)
    assert ('data-testid="submit-review"' in bar) is (A.SUBMIT in offered)

    queue = client.get(reverse("calendar:review_queue", args=["acme"])).content.decode()
    listed = f'data-testid="queue-item" data-post-id="{post.pk}"' in queue
    assert listed is bool(offered & {A.APPROVE, A.REQUEST_CHANGES, A.APPROVE_WITH_NEW_TIME})
    assert ('data-testid="approve"' in queue) is (A.APPROVE in offered)

    if post.scheduled_at is not None:
        local = post.scheduled_at.astimezone(post.workspace.tz)
        month = client.get(
            reverse("calendar:month", args=["acme", local.year, local.month])
        ).content.decode()
        chip = re.search(rf'<a class="cal-chip[^>]*data-post-id="{post.pk}"[^>]*>', month)
        assert ('draggable="true"' in chip.group(0)) is (A.RESCHEDULE in offered)


# --- external reviewers ---------------------------------------------------------------------------


@pytest.fixture
def external_policy(owner):
    return set_policy(owner, steps=[StepInput(name="Client", roles=[], members=[], external=True)])


def link_from(member: Membership, post: Post, email: str = "clara@client.example") -> ReviewLink:
    link, _token = review.review_link_create(
        membership=member, post_ids=[post.pk], recipient_name="Clara", recipient_email=email
    )
    return link


@pytest.mark.parametrize("issuer", ["manager", "owner"])
@pytest.mark.parametrize("author", ["author", "manager"])
@pytest.mark.parametrize("allow_self", [False, True])
def test_a_review_link_decides_exactly_when_the_rulebook_says(
    client, team, channels, owner, issuer, author, allow_self
):
    """A link from the post's own author collects comments only, unless the policy lets
    authors approve their own posts (and then its approval is marked as such)."""
    set_policy(
        owner,
        steps=[StepInput(name="Client", roles=[], members=[], external=True)],
        allow_self_approval=allow_self,
    )
    post = posts.post_create(
        membership=team[author],
        data=PostInput(body="Hi", scheduled_at=IN_TWO_DAYS, variants={channels[0]: VariantInput()}),
    )
    review.post_submit_for_review(membership=team[author], post_id=post.pk)
    post = refresh(post)
    link = link_from(team[issuer], post)
    facts, _round, _revision = post_facts(post)
    offered = available_actions(link, post, facts)
    own = team[issuer] == team[author]
    assert (A.APPROVE in offered) is (allow_self or not own)
    assert A.COMMENT in offered

    try:
        review.post_external_decide(link=link, post_id=post.pk, approve=True)
        approved = True
    except PermissionDenied:
        approved = False
    assert approved is (A.APPROVE in offered)
    assert (refresh(post).status == S.SCHEDULED) is approved
    if approved:
        assert post.review_rounds.get().decisions.get().own_post is own


def test_two_external_approvals_need_two_recipients(client, team, channels, owner):
    set_policy(
        owner, steps=[StepInput(name="Client", roles=[], members=[], external=True, required=2)]
    )
    post = posts.post_create(
        membership=team["author"],
        data=PostInput(body="Hi", scheduled_at=IN_TWO_DAYS, variants={channels[0]: VariantInput()}),
    )
    review.post_submit_for_review(membership=team["author"], post_id=post.pk)
    first = link_from(team["manager"], post, "clara@client.example")
    again = link_from(team["owner"], post, "CLARA@client.example")  # the same person
    other = link_from(team["manager"], post, "carl@client.example")

    review.post_external_decide(link=first, post_id=post.pk, approve=True)
    with pytest.raises(ValidationError, match="already approved"):
        review.post_external_decide(link=first, post_id=post.pk, approve=True)
    with pytest.raises(ValidationError, match="already approved"):
        review.post_external_decide(link=again, post_id=post.pk, approve=True)
    assert refresh(post).status == S.IN_REVIEW
    review.post_external_decide(link=other, post_id=post.pk, approve=True)
    assert refresh(post).status == S.SCHEDULED


def test_a_review_link_is_issued_to_a_named_outsider_and_the_audit_trail_says_to_whom(
    team, channels, owner
):
    post = post_in(S.IN_REVIEW, team, channels)
    with pytest.raises(ValidationError, match="name"):
        review.review_link_create(
            membership=team["manager"], post_ids=[post.pk], recipient_name=" ",
            recipient_email="x@client.example",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="e-mail"):
        review.review_link_create(
            membership=team["manager"], post_ids=[post.pk], recipient_name="X",
            recipient_email="not an address",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="members review in the app"):
        review.review_link_create(
            membership=team["manager"], post_ids=[post.pk], recipient_name="Ed",
            recipient_email=team["author"].user.email.upper(),
        )  # fmt: skip
    link_from(team["manager"], post)
    event = AuditEvent.objects.get(post=post, action="share")
    assert event.actor == team["manager"].user
    assert "Clara <clara@client.example>" in event.comment
