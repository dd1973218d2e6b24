"""Two approvers deciding the same step at the same moment advance the post once.

Runs on both databases: on PostgreSQL the two threads really race for the row lock
(select_for_update); SQLite serialises writers, so there the test checks the same outcome
with the second approver arriving while the first one's transaction is being written.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections

from calendar_app.models import AuditEvent, Post, ReviewDecision, ReviewRound, Role
from calendar_app.services import review
from calendar_app.services import workspaces as workspace_services
from calendar_app.services.content import PostInput, VariantInput
from calendar_app.services.posts import post_create
from calendar_app.services.workspaces import StepInput
from calendar_app.workflow import PostStatus
from tests.factories import ChannelFactory, MembershipFactory, UserFactory, WorkspaceFactory


@pytest.fixture
def team(transactional_db):
    workspace = WorkspaceFactory(slug="race")
    roles = {
        "owner": Role.OWNER,
        "manager_a": Role.MANAGER,
        "manager_b": Role.MANAGER,
        "editor": Role.EDITOR,
    }
    members = {
        name: MembershipFactory(workspace=workspace, user=UserFactory(username=name), role=role)
        for name, role in roles.items()
    }
    channel = ChannelFactory(workspace=workspace)
    return members, channel


def _race(calls):
    """Run the calls in threads released together; return each one's outcome."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[i] = "ok"
        except (ValidationError, PermissionDenied) as exc:
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("steps", [1, 2])
def test_given_two_managers_approving_the_same_step_at_once_then_it_advances_once(team, steps):
    members, channel = team
    workspace_services.policy_update(
        membership=members["owner"],
        mode="required",
        allow_self_approval=False,
        time_moves_need_review=False,
        reminder_hours=24,
        skip_roles=[],
        steps=[
            StepInput(name=f"Step {i + 1}", roles=["manager"], members=[]) for i in range(steps)
        ],
    )
    post = post_create(
        membership=members["editor"],
        data=PostInput(
            body="Race",
            scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
            variants={channel: VariantInput()},
        ),
    )
    review.post_submit_for_review(membership=members["editor"], post_id=post.pk)

    if connection.vendor == "sqlite":
        # One writer at a time: the second call runs against the first one's result.
        outcomes = []
        for name in ("manager_a", "manager_b"):
            try:
                review.post_approve(membership=members[name], post_id=post.pk, expected_step=0)
                outcomes.append("ok")
            except (ValidationError, PermissionDenied) as exc:
                outcomes.append(exc)
    else:
        outcomes = _race(
            [
                lambda name=name: review.post_approve(
                    membership=members[name], post_id=post.pk, expected_step=0
                )
                for name in ("manager_a", "manager_b")
            ]
        )

    assert outcomes.count("ok") == 1, outcomes
    refused = next(o for o in outcomes if o != "ok")
    # "already decided" (step moved on) or "not waiting for approval" (post moved on)
    assert isinstance(refused, ValidationError)
    assert refused.code in ("stale", "transition")
    round_ = ReviewRound.objects.get(post=post)
    assert round_.current_step == 1
    assert ReviewDecision.objects.filter(round=round_).count() == 1
    expected = PostStatus.SCHEDULED if steps == 1 else PostStatus.IN_REVIEW
    assert Post.objects.get(pk=post.pk).status == expected
    assert AuditEvent.objects.filter(post=post, action="approve").count() == 1


@pytest.mark.parametrize("sweep", ["reminders", "missed"])
def test_given_two_sweeps_at_the_same_moment_then_people_are_told_once(team, sweep):
    from notifications.models import Notification

    members, channel = team
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    post = post_create(
        membership=members["editor"],
        data=PostInput(body="Soon", scheduled_at=when, variants={channel: VariantInput()}),
    )
    review.post_submit_for_review(membership=members["editor"], post_id=post.pk)
    if sweep == "reminders":
        run = lambda: review.approvals_send_reminders()  # noqa: E731
        kind = "approval_reminder"
    else:
        run = lambda: review.approvals_mark_missed(now=when)  # noqa: E731
        kind = "approval_missed"

    counts: list[int] = []

    def call():
        counts.append(run())

    if connection.vendor == "sqlite":
        call()
        call()
    else:
        _race([call, call])

    assert sorted(counts) == [0, 1]
    manager = members["manager_a"].user
    assert Notification.objects.filter(recipient=manager, kind=kind).count() == 1
