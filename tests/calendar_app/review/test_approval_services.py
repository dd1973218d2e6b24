"""The approval workflow's services: the transition table for every role, multi-step chains,
separation of duties, re-approval after edits, time-only moves, reminders, the missed sweep, the
audit trail and what the publishing engine may send."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from calendar_app.models import (
    ApprovalMode,
    ApprovalPolicy,
    AuditEvent,
    DecisionKind,
    Post,
    PostRevision,
    ReviewDecision,
    ReviewRound,
    Role,
    RoundState,
)
from calendar_app.services import review
from calendar_app.services import workspaces as workspace_services
from calendar_app.services.content import PostInput, VariantInput, post_input_from
from calendar_app.services.posts import post_create, post_reschedule, post_update
from calendar_app.services.review import ApproverEdit
from calendar_app.services.workspaces import StepInput
from calendar_app.workflow import RULES, PostAction, PostStatus, Who
from notifications.models import Notification
from tests.factories import MembershipFactory, UserFactory

S = PostStatus
NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
IN_TWO_DAYS = NOW + dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


# --- helpers (also used by the view tests) ------------------------------------------------------


def set_policy(owner, *, steps=None, **fields) -> ApprovalPolicy:
    values = {
        "mode": ApprovalMode.REQUIRED,
        "allow_self_approval": False,
        "time_moves_need_review": False,
        "reminder_hours": 24,
        "skip_roles": [],
    } | fields
    steps = steps or [StepInput(name="Team lead", roles=["manager", "owner"], members=[])]
    return workspace_services.policy_update(membership=owner, steps=steps, **values)


def new_post(editor, channel, *, when=IN_TWO_DAYS, body="Hello Mastodon") -> Post:
    return post_create(
        membership=editor,
        data=PostInput(body=body, scheduled_at=when, variants={channel: VariantInput()}),
    )


def post_in(state: str, editor, manager, channel) -> Post:
    """A post by `editor` brought into `state` through the services."""
    post = new_post(editor, channel)
    if state == S.DRAFT:
        return post
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    if state == S.IN_REVIEW:
        return refresh(post)
    if state == S.CHANGES_REQUESTED:
        review.post_request_changes(membership=manager, post_id=post.pk, comment="Shorter")
        return refresh(post)
    if state == S.MISSED_APPROVAL:
        review.approvals_mark_missed(now=IN_TWO_DAYS + dt.timedelta(minutes=1))
        return refresh(post)
    if state == S.APPROVED:
        # An approved idea: without a time it is not scheduled.
        data = post_input_from(post)
        data.scheduled_at = None
        post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
        review.post_approve(membership=manager, post_id=post.pk)
        return refresh(post)
    if state == S.SCHEDULED:
        review.post_approve(membership=manager, post_id=post.pk)
        return refresh(post)
    raise AssertionError(state)


def refresh(post: Post) -> Post:
    return Post.objects.get(pk=post.pk)


def kinds_for(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


# --- the transition table -----------------------------------------------------------------------

ROLES = [Role.OWNER, Role.MANAGER, Role.EDITOR, Role.VIEWER]
STATES = [S.DRAFT, S.IN_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.SCHEDULED, S.MISSED_APPROVAL]
LATER = NOW + dt.timedelta(days=5)


def _act(action: str, membership, post: Post) -> None:
    pk = post.pk
    match action:
        case "submit":
            review.post_submit_for_review(membership=membership, post_id=pk)
        case "approve":
            review.post_approve(membership=membership, post_id=pk)
        case "request_changes":
            review.post_request_changes(membership=membership, post_id=pk, comment="No")
        case "withdraw":
            review.post_withdraw(membership=membership, post_id=pk)
        case "schedule":
            review.post_schedule(membership=membership, post_id=pk)
        case "skip":
            review.post_skip_step(membership=membership, post_id=pk, comment="Urgent")
        case "approve_and_reschedule":
            review.post_approve_and_reschedule(
                membership=membership, post_id=pk, scheduled_at=LATER
            )
        case _:
            raise AssertionError(action)


# (state, action) -> (roles allowed, resulting status). The editor is the author; owners may
# skip steps; the one step is approved by managers and owners. Everything else is refused.
ALLOWED = {
    (S.DRAFT, "submit"): ({Role.OWNER, Role.MANAGER, Role.EDITOR}, S.IN_REVIEW),
    (S.CHANGES_REQUESTED, "submit"): ({Role.OWNER, Role.MANAGER, Role.EDITOR}, S.IN_REVIEW),
    (S.IN_REVIEW, "approve"): ({Role.OWNER, Role.MANAGER}, S.SCHEDULED),
    (S.IN_REVIEW, "request_changes"): ({Role.OWNER, Role.MANAGER}, S.CHANGES_REQUESTED),
    (S.IN_REVIEW, "skip"): ({Role.OWNER}, S.SCHEDULED),
    (S.MISSED_APPROVAL, "approve_and_reschedule"): ({Role.OWNER, Role.MANAGER}, S.SCHEDULED),
    **{(state, "withdraw"): ({Role.EDITOR}, S.DRAFT) for state in STATES if state != S.DRAFT},
}
ACTIONS = [
    "submit",
    "approve",
    "request_changes",
    "withdraw",
    "schedule",
    "skip",
    "approve_and_reschedule",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_transition_table(request, members, channel, state, action, role):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    set_policy(owner, skip_roles=["owner"])
    post = post_in(state, editor, manager, channel)
    assert post.status == state
    allowed_roles, result = ALLOWED.get((state, action), (set(), None))
    events_before = AuditEvent.objects.filter(post=post).count()
    if state == S.MISSED_APPROVAL:  # act after the missed time, as in real life
        travel = time_machine.travel(IN_TWO_DAYS + dt.timedelta(hours=1), tick=False)
        travel.start()
        request.addfinalizer(travel.stop)

    if role in allowed_roles:
        _act(action, members[role], post)
        after = refresh(post)
        assert after.status == result
        assert after.version > post.version
        last = AuditEvent.objects.filter(post=post).order_by("-id").first()
        assert last.to_status == result
    else:
        with pytest.raises((ValidationError, PermissionDenied)):
            _act(action, members[role], post)
        after = refresh(post)
        assert (after.status, after.version) == (post.status, post.version)
        assert AuditEvent.objects.filter(post=post).count() == events_before


def test_every_action_has_a_rule_and_every_rule_names_real_statuses():
    assert set(RULES) == set(PostAction)
    for rule in RULES.values():
        assert rule.from_statuses | rule.to_statuses <= set(S.values)
        assert rule.label


def test_every_status_can_be_left_by_some_member_action():
    """No status is a dead end for people (a draft can be submitted, a scheduled post
    withdrawn, a missed one approved with a new time...)."""
    for status in S.values:
        assert any(
            status in rule.from_statuses and rule.to_statuses - {status}
            for rule in RULES.values()
            if rule.who is not Who.SYSTEM
        ), status


def test_given_an_unlisted_move_when_transitioning_then_it_is_refused_and_nothing_changes(
    editor, channel
):
    post = new_post(editor, channel)
    from django.db import transaction

    with pytest.raises(ValidationError, match="cannot become"), transaction.atomic():
        review.post_transition(post=post, to_status=S.APPROVED, action=PostAction.SCHEDULE)
    assert refresh(post).status == S.DRAFT
    assert not AuditEvent.objects.filter(post=post).exists()


# --- the core guarantee ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.EDITOR])
def test_given_approval_required_when_scheduling_a_draft_then_it_is_refused(members, channel, role):
    post = new_post(members[Role.EDITOR], channel)
    with pytest.raises(ValidationError, match="only approved posts can be scheduled"):
        review.post_schedule(membership=members[role], post_id=post.pk)
    assert not review.post_cleared_for_publishing(refresh(post))


@pytest.mark.parametrize("mode", [ApprovalMode.NONE, ApprovalMode.OPTIONAL])
def test_given_no_required_approval_when_scheduling_a_draft_then_it_is_scheduled(
    owner, editor, channel, mode
):
    set_policy(owner, mode=mode)
    post = new_post(editor, channel)
    review.post_schedule(membership=editor, post_id=post.pk)
    post = refresh(post)
    assert post.status == S.SCHEDULED
    assert review.post_cleared_for_publishing(post)


def test_given_no_approval_mode_when_submitting_then_it_is_refused(owner, editor, channel):
    set_policy(owner, mode=ApprovalMode.NONE)
    post = new_post(editor, channel)
    with pytest.raises(ValidationError, match="does not use approvals"):
        review.post_submit_for_review(membership=editor, post_id=post.pk)


@pytest.mark.parametrize(
    "state, publishable",
    [
        (S.DRAFT, False),
        (S.IN_REVIEW, False),
        (S.CHANGES_REQUESTED, False),
        (S.APPROVED, False),  # an approved idea has no time
        (S.SCHEDULED, True),
        (S.MISSED_APPROVAL, False),
    ],
)
def test_post_cleared_for_publishing_per_state(members, channel, state, publishable):
    post = post_in(state, members[Role.EDITOR], members[Role.MANAGER], channel)
    assert review.post_cleared_for_publishing(post) is publishable


def test_given_a_scheduled_post_whose_status_was_forged_then_it_is_not_publishable(editor, channel):
    """A status written around the services (no approved round) is not enough to go out."""
    post = new_post(editor, channel)
    Post.objects.filter(pk=post.pk).update(status=S.SCHEDULED)
    assert not review.post_cleared_for_publishing(refresh(post))


def test_given_content_changed_behind_the_services_then_it_is_not_publishable(
    editor, manager, channel
):
    post = post_in(S.SCHEDULED, editor, manager, channel)
    Post.objects.filter(pk=post.pk).update(body="Something nobody approved")
    assert not review.post_cleared_for_publishing(refresh(post))


# --- steps, counts and separation of duties ---------------------------------------------------


def test_given_two_steps_then_each_step_is_approved_by_its_approvers_in_order(members, channel):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    lawyer = MembershipFactory(
        workspace=owner.workspace, user=UserFactory(username="lawyer"), role=Role.EDITOR
    )
    set_policy(
        owner,
        steps=[
            StepInput(name="Team lead", roles=["manager"], members=[]),
            StepInput(name="Legal", roles=[], members=[lawyer.user]),
        ],
    )
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    assert kinds_for(manager.user) == ["submitted"]
    assert kinds_for(lawyer.user) == []

    with pytest.raises(PermissionDenied, match="not an approver"):
        review.post_approve(membership=lawyer, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk, expected_step=0)
    assert refresh(post).status == S.IN_REVIEW
    assert kinds_for(lawyer.user) == ["submitted"]
    with pytest.raises(PermissionDenied):
        review.post_approve(membership=manager, post_id=post.pk)

    review.post_approve(membership=lawyer, post_id=post.pk, expected_step=1)
    assert refresh(post).status == S.SCHEDULED
    assert kinds_for(editor.user) == ["approved"]


def test_given_a_step_needing_two_approvals_then_one_does_not_advance_it(members, channel):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    set_policy(
        owner, steps=[StepInput(name="Two", roles=["manager", "owner"], members=[], required=2)]
    )
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    assert refresh(post).status == S.IN_REVIEW
    with pytest.raises(ValidationError, match="already approved"):
        review.post_approve(membership=manager, post_id=post.pk)
    review.post_approve(membership=owner, post_id=post.pk)
    assert refresh(post).status == S.SCHEDULED


def test_after_an_approvers_edit_earlier_approvals_of_the_step_must_be_given_again(
    members, channel
):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    second = MembershipFactory(
        workspace=owner.workspace, user=UserFactory(username="manager2"), role=Role.MANAGER
    )
    set_policy(
        owner, steps=[StepInput(name="Two", roles=["manager", "owner"], members=[], required=2)]
    )
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk)
    review.post_approve(
        membership=owner,
        post_id=post.pk,
        edit=ApproverEdit(body="Owner's words", variant_bodies={}),
    )
    assert refresh(post).status == S.IN_REVIEW  # the manager approved the old text only
    review.post_approve(membership=manager, post_id=post.pk, expected_revision=2)
    assert refresh(post).status == S.IN_REVIEW  # the owner wrote revision 2: one more needed
    review.post_approve(membership=second, post_id=post.pk, expected_revision=2)
    post = refresh(post)
    assert post.status == S.SCHEDULED
    assert review.post_cleared_for_publishing(post)


@pytest.mark.parametrize("allow_self, allowed", [(False, False), (True, True)])
def test_separation_of_duties(members, channel, allow_self, allowed):
    owner, manager = members[Role.OWNER], members[Role.MANAGER]
    set_policy(owner, allow_self_approval=allow_self)
    post = new_post(manager, channel)
    review.post_submit_for_review(membership=manager, post_id=post.pk)
    if allowed:
        review.post_approve(membership=manager, post_id=post.pk)
        assert refresh(post).status == S.SCHEDULED
    else:
        with pytest.raises(PermissionDenied, match="your own post"):
            review.post_approve(membership=manager, post_id=post.pk)
        assert refresh(post).status == S.IN_REVIEW


def test_given_a_viewer_named_on_a_step_then_the_policy_refuses_it(members):
    with pytest.raises(ValidationError, match="not viewers"):
        set_policy(
            members[Role.OWNER],
            steps=[StepInput(name="X", roles=[], members=[members[Role.VIEWER].user])],
        )


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EDITOR, Role.VIEWER])
def test_only_owners_edit_the_policy(members, role):
    with pytest.raises(PermissionDenied):
        set_policy(members[role])


def test_given_a_policy_change_then_posts_already_in_review_keep_their_steps(members, channel):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    set_policy(owner, steps=[StepInput(name="Owner only", roles=["owner"], members=[])])
    review.post_approve(membership=manager, post_id=post.pk)  # the snapshot lets managers
    assert refresh(post).status == S.SCHEDULED
    later = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=later.pk)
    with pytest.raises(PermissionDenied):
        review.post_approve(membership=manager, post_id=later.pk)


def test_a_skip_is_recorded(members, channel):
    owner, editor = members[Role.OWNER], members[Role.EDITOR]
    set_policy(owner, skip_roles=["owner"])
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_skip_step(membership=owner, post_id=post.pk, comment="Press deadline")
    decision = ReviewDecision.objects.get(round__post=post)
    assert (decision.kind, decision.user, decision.comment) == (
        DecisionKind.SKIP,
        owner.user,
        "Press deadline",
    )
    assert AuditEvent.objects.filter(post=post, action="skip_step").exists()


# --- stale decisions and concurrency ----------------------------------------------------------


def test_given_a_step_already_decided_when_approving_it_again_then_it_is_refused(members, channel):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    set_policy(
        owner,
        steps=[
            StepInput(name="A", roles=["manager", "owner"], members=[]),
            StepInput(name="B", roles=["manager", "owner"], members=[]),
        ],
    )
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_approve(membership=manager, post_id=post.pk, expected_step=0)
    with pytest.raises(ValidationError, match="already decided"):
        review.post_approve(membership=owner, post_id=post.pk, expected_step=0)
    assert ReviewRound.objects.get(post=post).current_step == 1


def test_given_an_older_revision_when_approving_then_it_is_refused(editor, manager, channel):
    post = post_in(S.IN_REVIEW, editor, manager, channel)
    seen = review.latest_revision(post).number
    data = post_input_from(post)
    data.body = "Changed while the manager was reading"
    post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
    with pytest.raises(ValidationError, match="was changed since you opened it"):
        review.post_approve(membership=manager, post_id=post.pk, expected_revision=seen)
    assert refresh(post).status == S.IN_REVIEW


# --- revisions and re-approval after edits ------------------------------------------------------


def test_given_a_scheduled_post_when_its_text_changes_then_it_goes_back_to_review(
    editor, manager, channel
):
    post = post_in(S.SCHEDULED, editor, manager, channel)
    data = post_input_from(post)
    data.body = "A new text"
    saved = post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)

    assert "went back to review because its content changed" in saved.review_notice
    post = refresh(post)
    assert post.status == S.IN_REVIEW
    assert not review.post_cleared_for_publishing(post)
    rounds = list(ReviewRound.objects.filter(post=post).order_by("id"))
    assert [r.state for r in rounds] == [RoundState.APPROVED, RoundState.ACTIVE]
    # The earlier approval stays in the history, for the earlier revision.
    first_approval = ReviewDecision.objects.get(round=rounds[0])
    assert first_approval.revision.snapshot["body"] == "Hello Mastodon"
    assert kinds_for(manager.user).count("submitted") == 2

    review.post_approve(membership=manager, post_id=post.pk)
    post = refresh(post)
    assert post.status == S.SCHEDULED
    assert review.post_cleared_for_publishing(post)


@pytest.mark.parametrize(
    "change",
    ["title", "channels", "variant"],
)
def test_any_content_change_needs_a_new_review(editor, manager, channel, workspace, change):
    from tests.factories import ChannelFactory

    post = post_in(S.SCHEDULED, editor, manager, channel)
    data = post_input_from(post)
    if change == "title":
        data.title = "New title"
    elif change == "channels":
        data.variants[ChannelFactory(workspace=workspace, platform="mastodon")] = VariantInput()
    else:
        data.variants[channel].body_override = "Only on Mastodon"
    post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
    assert refresh(post).status == S.IN_REVIEW


def test_given_an_internal_note_changes_then_the_approval_stays(editor, manager, channel):
    post = post_in(S.SCHEDULED, editor, manager, channel)
    data = post_input_from(post)
    data.note = "Internal: check the photo credit"
    saved = post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
    assert saved.review_notice == ""
    assert refresh(post).status == S.SCHEDULED


@pytest.mark.parametrize(
    "time_moves_need_review, status, notice",
    [(False, S.SCHEDULED, False), (True, S.IN_REVIEW, True)],
)
def test_time_only_move_follows_the_policy_switch(
    members, channel, time_moves_need_review, status, notice
):
    owner, manager, editor = members[Role.OWNER], members[Role.MANAGER], members[Role.EDITOR]
    set_policy(owner, time_moves_need_review=time_moves_need_review)
    post = post_in(S.SCHEDULED, editor, manager, channel)
    moved = post_reschedule(
        membership=editor, post_id=post.pk, day=(NOW + dt.timedelta(days=4)).date()
    )
    assert refresh(post).status == status
    assert bool(moved.review_notice) is notice
    if notice:
        assert "its time changed" in moved.review_notice


def test_revisions_are_numbered_and_written_only_on_change(editor, channel):
    post = new_post(editor, channel)
    data = post_input_from(post)
    post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
    assert list(PostRevision.objects.filter(post=post).values_list("number", flat=True)) == [1]
    data.body = "Second"
    post_update(membership=editor, post_id=post.pk, data=data, expected_version=None)
    revisions = list(PostRevision.objects.filter(post=post))
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[1].snapshot["body"] == "Second"
    assert revisions[1].author == editor.user


def test_an_approver_edit_is_a_revision_that_someone_else_must_approve(
    members, editor, manager, channel
):
    """The approver who changed the text made the latest change: like an author, they cannot
    clear the step for it. Another approver approves the new revision."""
    post = post_in(S.IN_REVIEW, editor, manager, channel)
    decided = review.post_approve(
        membership=manager,
        post_id=post.pk,
        edit=ApproverEdit(body="Hello Mastodon, fixed typo", variant_bodies={}),
        expected_revision=1,
    )
    assert not decided.approved and "another approver" in decided.notice
    post = refresh(post)
    assert (post.status, post.body) == (S.IN_REVIEW, "Hello Mastodon, fixed typo")
    assert post.content_edited_by == manager.user
    latest = review.latest_revision(post)
    assert (latest.number, latest.author) == (2, manager.user)
    assert not ReviewDecision.objects.filter(round__post=post).exists()
    with pytest.raises(PermissionDenied, match="latest change"):
        review.post_approve(membership=manager, post_id=post.pk)

    review.post_approve(membership=members[Role.OWNER], post_id=post.pk, expected_revision=2)
    post = refresh(post)
    assert post.status == S.SCHEDULED
    decision = ReviewDecision.objects.get(round__post=post, kind=DecisionKind.APPROVE)
    assert (decision.revision, decision.user) == (latest, members[Role.OWNER].user)
    assert review.post_cleared_for_publishing(post)


# --- audit trail ------------------------------------------------------------------------------


def test_the_audit_trail_records_who_when_from_to_comment_and_revision(editor, manager, channel):
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    review.post_request_changes(membership=manager, post_id=post.pk, comment="Add a link")
    events = list(AuditEvent.objects.filter(post=post).order_by("id"))
    assert [(e.action, e.from_status, e.to_status, e.actor) for e in events] == [
        ("submit", S.DRAFT, S.IN_REVIEW, editor.user),
        ("request_changes", S.IN_REVIEW, S.CHANGES_REQUESTED, manager.user),
    ]
    assert events[1].comment == "Add a link"
    assert events[1].revision.number == 1
    assert all(e.created_at == NOW for e in events)
    assert kinds_for(editor.user) == ["changes_requested"]


def test_request_changes_needs_a_comment(editor, manager, channel):
    post = post_in(S.IN_REVIEW, editor, manager, channel)
    with pytest.raises(ValidationError, match="comment is required"):
        review.post_request_changes(membership=manager, post_id=post.pk, comment="  ")
    assert refresh(post).status == S.IN_REVIEW


# --- cross-workspace ------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_a_post_of_another_workspace_is_never_found(members, channel, other_workspace, action):
    from tests.factories import PostFactory

    foreign = PostFactory(workspace=other_workspace)
    with pytest.raises(ValidationError) as exc:
        _act(action, members[Role.OWNER], foreign)
    assert exc.value.code == "missing"
    assert refresh(foreign).status == S.DRAFT


# --- reminders and the missed-approval sweep ----------------------------------------------------


def test_a_reminder_is_sent_once_within_the_window(editor, manager, owner, channel):
    post = post_in(S.IN_REVIEW, editor, manager, channel)  # due in 48 h, window 24 h
    assert review.approvals_send_reminders(now=NOW) == 0
    due_soon = IN_TWO_DAYS - dt.timedelta(hours=23)
    assert review.approvals_send_reminders(now=due_soon) == 1
    assert review.approvals_send_reminders(now=due_soon) == 0
    assert review.approvals_send_reminders(now=due_soon + dt.timedelta(hours=1)) == 0
    assert kinds_for(manager.user).count("approval_reminder") == 1
    assert kinds_for(owner.user).count("approval_reminder") == 1
    assert "approval_reminder" not in kinds_for(editor.user)
    assert ReviewRound.objects.get(post=post).reminder_sent_at == due_soon


def test_given_reminders_off_then_none_is_sent(members, channel):
    set_policy(members[Role.OWNER], reminder_hours=0)
    post_in(S.IN_REVIEW, members[Role.EDITOR], members[Role.MANAGER], channel)
    assert review.approvals_send_reminders(now=IN_TWO_DAYS - dt.timedelta(hours=1)) == 0


def test_a_post_not_approved_by_its_time_is_marked_missed_once(editor, manager, channel):
    post = post_in(S.IN_REVIEW, editor, manager, channel)
    assert review.approvals_mark_missed(now=IN_TWO_DAYS - dt.timedelta(seconds=1)) == 0
    assert review.approvals_mark_missed(now=IN_TWO_DAYS) == 1
    assert review.approvals_mark_missed(now=IN_TWO_DAYS) == 0
    assert refresh(post).status == S.MISSED_APPROVAL
    assert not review.post_cleared_for_publishing(refresh(post))
    assert kinds_for(editor.user) == ["approval_missed"]
    assert kinds_for(manager.user).count("approval_missed") == 1


def test_a_post_past_its_time_is_not_approved_before_the_sweep_marks_it(editor, manager, channel):
    post = post_in(S.IN_REVIEW, editor, manager, channel)
    with (
        time_machine.travel(IN_TWO_DAYS + dt.timedelta(seconds=10), tick=False),
        pytest.raises(ValidationError, match="missed its time"),
    ):
        review.post_approve(membership=manager, post_id=post.pk)
    assert refresh(post).status == S.IN_REVIEW


def test_a_missed_post_is_approved_and_rescheduled_in_one_action(editor, manager, channel):
    post = post_in(S.MISSED_APPROVAL, editor, manager, channel)
    with time_machine.travel(IN_TWO_DAYS + dt.timedelta(hours=1), tick=False):
        new_time = IN_TWO_DAYS + dt.timedelta(days=1)
        review.post_approve_and_reschedule(
            membership=manager, post_id=post.pk, scheduled_at=new_time
        )
        post = refresh(post)
        assert (post.status, post.scheduled_at) == (S.SCHEDULED, new_time)
        assert review.post_cleared_for_publishing(post)
