"""A seeded random walk of a few thousand actions by random members, review links and the
publishing engine: whatever the order, no post is cleared for publishing without its policy's
approvals from people other than the ones who wrote it, and nothing that went out ever changes.

After every approving move the round is checked too, not only what the engine's gate lets
through (the gate re-checks approvers on its own and would hide a hole in the services: with
the author's own skip let through, only that check fails).

The checks here are written independently of the services: who "wrote" an approved revision is
read from the revision history (the author of the latest content change before it), not from
the fields the services keep.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from calendar_app.models import (
    DecisionKind,
    Post,
    PostRevision,
    ReviewDecision,
    ReviewLink,
    ReviewRound,
    Role,
    RoundState,
)
from calendar_app.services import comments, posts, review
from calendar_app.services.content import PostInput, VariantInput, post_input_from
from calendar_app.services.review import ApproverEdit
from calendar_app.services.workspaces import StepInput
from tests.calendar_app.review.test_approval_services import NOW, set_policy
from tests.factories import ChannelFactory, DeliveryFactory, MembershipFactory, UserFactory

STEPS = 1200
POLICIES = {
    "one team step, anyone senior may skip": dict(
        steps=[StepInput(name="Lead", roles=["manager", "owner"], members=[])],
        skip_roles=["owner", "manager", "editor"],
    ),
    "team then two clients": dict(
        steps=[
            StepInput(name="Lead", roles=["manager", "owner"], members=[]),
            StepInput(name="Clients", roles=[], members=[], external=True, required=2),
        ],
        skip_roles=["owner"],
    ),
    "two of the team, editors approve too": dict(
        steps=[StepInput(name="Two", roles=["manager", "owner", "editor"], members=[], required=2)],
        skip_roles=[],
    ),
}
EMAILS = ["clara@client.example", "carl@client.example", "CLARA@client.example"]
CLEARING = {"approve", "approve_edit", "skip", "link_approve"}
ANY_MOVE = [
    "create", "edit", "move", "idea", "submit", "submit", "withdraw", "approve", "approve",
    "approve", "approve_edit", "changes", "skip", "schedule", "link", "link", "link_approve",
    "link_approve", "link_approve", "comment", "publish",
]  # fmt: skip
FITTING = {
    "draft": ["submit", "submit", "edit", "schedule"],
    "changes_requested": ["edit", "submit", "submit"],
    "missed_approval": ["move", "submit"],
    "in_review": [
        "approve", "approve", "approve", "approve_edit", "changes", "skip", "skip", "link",
        "link_approve", "link_approve", "link_approve", "withdraw",
    ],
    "approved": ["schedule", "move", "edit"],
    "scheduled": ["publish", "publish", "edit", "move", "idea"],
}  # fmt: skip


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def content_author(revision: PostRevision) -> int | None:
    """Who wrote the content of `revision`: the author of the latest revision up to it whose
    content differs from the one before (a time-only change writes nobody's text)."""
    history = list(
        PostRevision.objects.filter(post_id=revision.post_id, number__lte=revision.number)
        .order_by("number")
        .values_list("author_id", "snapshot")
    )
    writer = None
    previous = None
    for author_id, snapshot in history:
        content = review.content_of(snapshot)
        if content != previous:
            writer = author_id
        previous = content
    return writer


def assert_cleared_by_others(post: Post) -> None:
    """The last approved round of a post cleared for publishing: every step has as many
    different approvers as it needs, none of them (or the issuer of their link) the post's
    author or the writer of the revision they approved; or a skip by such another person."""
    round_ = (
        ReviewRound.objects.filter(post=post)
        .exclude(state=RoundState.CANCELLED)
        .order_by("-id")
        .first()
    )
    assert round_ is not None and round_.state == RoundState.APPROVED, post
    for index, step in enumerate(round_.steps):
        people = set()
        skipped = False
        for decision in ReviewDecision.objects.filter(round=round_, step=index).select_related(
            "revision", "review_link"
        ):
            if decision.kind == DecisionKind.REQUEST_CHANGES:
                continue
            acting = decision.user_id if decision.user_id else decision.review_link.created_by_id
            writers = {post.author_id, content_author(decision.revision)}
            assert acting not in writers, (post, index, decision.kind, acting, writers)
            if decision.kind == DecisionKind.SKIP:
                skipped = True
            else:
                people.add(
                    decision.user_id or f"link:{decision.review_link.recipient_email.lower()}"
                )
        assert skipped or len(people) >= step["required"], (post, index, people)


@pytest.mark.parametrize("seed", [7, 2026])
@pytest.mark.parametrize("policy", list(POLICIES))
def test_a_random_walk_never_clears_an_unapproved_post_nor_changes_what_went_out(
    workspace, seed, policy
):
    rng = random.Random(seed)
    owner = MembershipFactory(workspace=workspace, user=UserFactory(username="o"), role=Role.OWNER)
    team = [owner] + [
        MembershipFactory(workspace=workspace, user=UserFactory(username=name), role=role)
        for name, role in [
            ("m1", Role.MANAGER),
            ("m2", Role.MANAGER),
            ("e1", Role.EDITOR),
            ("e2", Role.EDITOR),
            ("v", Role.VIEWER),
        ]
    ]
    channels = [ChannelFactory(workspace=workspace), ChannelFactory(workspace=workspace)]
    set_policy(owner, **POLICIES[policy])
    links: list[ReviewLink] = []
    went_out: dict[int, tuple] = {}  # post id -> (time, content) when it went out
    done = refused = 0

    def some_post() -> Post | None:
        # Mostly one still on its way; sometimes one that went out (all is refused there).
        live = Post.objects.exclude(pk__in=list(went_out))
        if not live.exists() or rng.random() < 0.2:
            live = Post.objects.all()
        ids = list(live.order_by("pk").values_list("pk", flat=True))  # as on any db
        return Post.objects.get(pk=rng.choice(ids)) if ids else None

    def engine_pass() -> None:
        """The publishing engine's one question of each post: is it cleared? Then one of its
        channels goes out."""
        for post in Post.objects.exclude(pk__in=list(went_out)).order_by("pk"):
            if review.post_cleared_for_publishing(post):
                assert_cleared_by_others(post)
                DeliveryFactory(post=post, channel=rng.choice(channels))
                went_out[post.pk] = (
                    post.scheduled_at,
                    review.content_of(review.revision_snapshot(post)),
                )

    def when() -> dt.datetime:
        return NOW + dt.timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))

    for _ in range(STEPS):
        member = rng.choice(team)
        post = some_post()
        # Mostly a move that fits the post's status (so posts get somewhere), else any move
        # (so the rules have plenty to refuse).
        fitting = FITTING.get(post.status) if post is not None else None
        move = rng.choice(fitting if fitting and rng.random() < 0.6 else ANY_MOVE)
        live = Post.objects.exclude(pk__in=list(went_out)).count()
        if post is None or (move == "create" and live >= 4):
            move = "create" if post is None else "edit"
        try:
            match move:
                case "create":
                    posts.post_create(
                        membership=member,
                        data=PostInput(
                            body=f"Text {rng.random()}",
                            scheduled_at=when(),
                            variants={c: VariantInput() for c in channels},
                        ),
                    )
                case "edit":
                    data = post_input_from(post)
                    data.body = f"Edited {rng.random()}"
                    posts.post_update(
                        membership=member, post_id=post.pk, data=data, expected_version=None
                    )
                case "move":
                    posts.post_reschedule(membership=member, post_id=post.pk, day=when().date())
                case "idea":
                    posts.post_unschedule(membership=member, post_id=post.pk)
                case "submit":
                    review.post_submit_for_review(membership=member, post_id=post.pk)
                case "withdraw":
                    review.post_withdraw(membership=member, post_id=post.pk)
                case "approve":
                    review.post_approve(membership=member, post_id=post.pk)
                case "approve_edit":
                    review.post_approve(
                        membership=member,
                        post_id=post.pk,
                        edit=ApproverEdit(body=f"Fixed {rng.random()}", variant_bodies={}),
                    )
                case "changes":
                    review.post_request_changes(membership=member, post_id=post.pk, comment="No")
                case "skip":
                    review.post_skip_step(membership=member, post_id=post.pk, comment="Now")
                case "schedule":
                    review.post_schedule(membership=member, post_id=post.pk)
                case "link":
                    link, _token = review.review_link_create(
                        membership=member,
                        post_ids=[post.pk],
                        recipient_name="Client",
                        recipient_email=rng.choice(EMAILS),
                    )
                    link.post_ids = {post.pk}
                    links.append(link)
                case "link_approve":
                    # Mostly a link for this post; sometimes one for another (refused).
                    covering = [lk for lk in links if post.pk in lk.post_ids] or links
                    if not covering:
                        continue
                    review.post_external_decide(
                        link=rng.choice(covering if rng.random() < 0.9 else links),
                        post_id=post.pk,
                        approve=rng.random() < 0.85,
                        comment="Please change it",
                    )
                case "comment":
                    comments.post_comment_add(membership=member, post_id=post.pk, body="Hm")
                case "publish":
                    engine_pass()
            done += 1
            # The services themselves (not only the engine's gate) never approve a round
            # without the approvals of others.
            if post is not None and move in CLEARING:
                latest = ReviewRound.objects.filter(post=post).order_by("-id").first()
                if latest is not None and latest.state == RoundState.APPROVED:
                    assert_cleared_by_others(Post.objects.get(pk=post.pk))
        except (ValidationError, PermissionDenied):
            refused += 1
        for pk, (time, content) in went_out.items():
            after = Post.objects.get(pk=pk)
            assert after.scheduled_at == time, (move, pk)
            assert review.content_of(review.revision_snapshot(after)) == content, (move, pk)

    # The walk went somewhere: posts went out, and the rules refused a good share of moves.
    assert went_out, (done, refused)
    assert done > STEPS // 10 and refused > STEPS // 10, (done, refused)
