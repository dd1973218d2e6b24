"""The rulebook of a post's life: every action, the statuses it is allowed from, where it leads
and who may take it. Nothing else states a status list.

`available_actions(actor, post, facts)` answers "what may this member (or review link) do to
this post now"; `action_refusal` says why not, for people. The services refuse anything outside
it (through calendar_app.access), `post_transition` refuses any move the table does not list,
and the views, templates, the calendar's drag handles, bulk review and the queue offer exactly
what it returns. Who may act (roles, separation of duties) is asked of calendar_app.permissions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum, StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calendar_app import permissions
from calendar_app.models import ApprovalMode, Membership, Post, PostStatus, ReviewLink
from calendar_app.permissions import Action
from calendar_app.publication import NOTHING_PUBLISHED, Publication

S = PostStatus
ALL_STATUSES = frozenset(S)


class PostAction(StrEnum):
    # what members (and review links) do
    EDIT = "edit"
    RESCHEDULE = "reschedule"
    UNSCHEDULE = "unschedule"
    DELETE = "delete"
    DUPLICATE = "duplicate"
    COMMENT = "comment"
    SHARE = "share"  # issue a review link for it
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    SKIP_STEP = "skip_step"
    APPROVE_WITH_NEW_TIME = "approve_with_new_time"
    SCHEDULE = "schedule"
    PUBLISH_NOW = "publish_now"  # one channel's delivery, at once (and "retry now")
    # what follows from them or from time (never offered; recorded in the audit trail)
    APPROVE_PARTIAL = "approve_partial"
    APPROVER_EDIT = "approver_edit"
    SCHEDULE_AFTER_APPROVAL = "schedule_after_approval"
    SCHEDULE_WITH_TIME = "schedule_with_time"
    BACK_TO_APPROVED = "back_to_approved"
    EDIT_BACK_TO_REVIEW = "edit_back_to_review"
    EDIT_BACK_TO_DRAFT = "edit_back_to_draft"
    MISSED_APPROVAL = "missed_approval"
    APPROVAL_NOW_REQUIRED = "approval_now_required"
    DEMO_HISTORY = "demo_history"


A = PostAction


class Who(Enum):
    MEMBER = "member"  # any member whose role has the rule's permission
    AUTHOR = "author"
    DECIDER = "decider"  # may decide the current step (a member or a review link)
    SKIPPER = "skipper"
    SYSTEM = "system"  # a consequence, never offered to anyone


class Timing(Enum):
    ANY = "any"
    NOT_PASSED = "not_passed"  # an idea, or a time still ahead
    FUTURE = "future"  # a time, still ahead
    HAS_TIME = "has_time"


@dataclass(frozen=True)
class Rule:
    label: str
    from_statuses: frozenset[str]
    to_statuses: frozenset[str]  # the moves it may write; empty: it changes no status
    who: Who = Who.MEMBER
    permission: Action | None = None
    timing: Timing = Timing.ANY
    # Approval modes in which the action exists (None: all).
    modes: frozenset[str] | None = None
    # Statuses it is also allowed from where approval is not required (scheduling a draft).
    also_from_without_required_approval: frozenset[str] = frozenset()
    after_publication: bool = False  # allowed once something of the post went out
    while_going_out: bool = False  # allowed while a delivery is in a worker's hands
    external: bool = False  # a review link's recipient may take it too
    status_refusal: str = ""  # what to say when the status does not allow it
    timing_refusal: str = ""  # what to say when its time does not allow it


_EDITORIAL = ALL_STATUSES
_REVIEWING = frozenset({ApprovalMode.OPTIONAL, ApprovalMode.REQUIRED})
_MISSED = gettext_lazy("This post missed its time; approve it with a new time.")

RULES: dict[PostAction, Rule] = {
    A.EDIT: Rule(
        gettext_lazy("Edit"), _EDITORIAL, frozenset(), permission=Action.POST_EDIT,
        status_refusal=gettext_lazy("This post can no longer be changed."),
    ),
    A.RESCHEDULE: Rule(
        gettext_lazy("Move"), _EDITORIAL, frozenset(), permission=Action.POST_RESCHEDULE,
    ),
    A.UNSCHEDULE: Rule(
        gettext_lazy("Make it an idea again"), _EDITORIAL, frozenset(),
        permission=Action.POST_RESCHEDULE, timing=Timing.HAS_TIME,
    ),
    A.DELETE: Rule(gettext_lazy("Delete"), _EDITORIAL, frozenset(), permission=Action.POST_DELETE),
    A.DUPLICATE: Rule(
        gettext_lazy("Duplicate"), _EDITORIAL, frozenset(), permission=Action.POST_CREATE,
        after_publication=True, while_going_out=True,
    ),
    A.COMMENT: Rule(
        gettext_lazy("Comment"), _EDITORIAL, frozenset(), permission=Action.POST_EDIT,
        after_publication=True, while_going_out=True, external=True,
    ),
    A.SHARE: Rule(
        gettext_lazy("Share for review"), _EDITORIAL, frozenset(), permission=Action.REVIEW_LINK_MANAGE,
        after_publication=True, while_going_out=True,
    ),
    A.SUBMIT: Rule(
        gettext_lazy("Submit for review"),
        frozenset({S.DRAFT, S.CHANGES_REQUESTED, S.MISSED_APPROVAL}),
        frozenset({S.IN_REVIEW}),
        permission=Action.POST_EDIT, timing=Timing.NOT_PASSED, modes=_REVIEWING,
    ),
    A.WITHDRAW: Rule(
        gettext_lazy("Withdraw"),
        frozenset({S.IN_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.SCHEDULED, S.MISSED_APPROVAL}),
        frozenset({S.DRAFT}),
        who=Who.AUTHOR, permission=Action.POST_EDIT,
        status_refusal=gettext_lazy("This post is already a draft."),
    ),
    A.APPROVE: Rule(
        gettext_lazy("Approve"), frozenset({S.IN_REVIEW}), frozenset({S.IN_REVIEW, S.APPROVED}),
        who=Who.DECIDER, timing=Timing.NOT_PASSED, modes=_REVIEWING, external=True,
        status_refusal=gettext_lazy("This post is not waiting for approval."),
        timing_refusal=_MISSED,
    ),
    A.REQUEST_CHANGES: Rule(
        gettext_lazy("Request changes"),
        # Not once it missed its time: the missed sweep would take it straight back.
        frozenset({S.IN_REVIEW}),
        frozenset({S.CHANGES_REQUESTED}),
        who=Who.DECIDER, modes=_REVIEWING, external=True,
        status_refusal=gettext_lazy("This post is not waiting for approval."),
    ),
    A.SKIP_STEP: Rule(
        gettext_lazy("Skip this step"), frozenset({S.IN_REVIEW}), frozenset({S.IN_REVIEW, S.APPROVED}),
        who=Who.SKIPPER, timing=Timing.NOT_PASSED, modes=_REVIEWING,
        status_refusal=gettext_lazy("This post is not waiting for approval."),
        timing_refusal=_MISSED,
    ),
    A.APPROVE_WITH_NEW_TIME: Rule(
        gettext_lazy("Approve with a new time"),
        frozenset({S.MISSED_APPROVAL}),
        frozenset({S.IN_REVIEW}),
        who=Who.DECIDER, modes=_REVIEWING,
        status_refusal=gettext_lazy("Only a post that missed its approval can be approved with a new time."),
    ),
    A.SCHEDULE: Rule(
        gettext_lazy("Schedule"), frozenset({S.APPROVED}), frozenset({S.SCHEDULED}),
        permission=Action.POST_RESCHEDULE, timing=Timing.FUTURE,
        also_from_without_required_approval=frozenset({S.DRAFT}),
    ),
    A.PUBLISH_NOW: Rule(
        gettext_lazy("Publish now"), frozenset({S.SCHEDULED}), frozenset(),
        permission=Action.POST_RESCHEDULE, after_publication=True, while_going_out=True,
        status_refusal=gettext_lazy("Only a scheduled post can be published now."),
    ),
    # consequences
    A.APPROVE_PARTIAL: Rule(
        gettext_lazy("Approved (more approvals needed)"), frozenset({S.IN_REVIEW}),
        frozenset({S.IN_REVIEW}), who=Who.SYSTEM,
    ),
    A.APPROVER_EDIT: Rule(
        gettext_lazy("Changed by an approver"), frozenset({S.IN_REVIEW}), frozenset({S.IN_REVIEW}),
        who=Who.SYSTEM,
    ),
    A.SCHEDULE_AFTER_APPROVAL: Rule(
        gettext_lazy("Scheduled after approval"), frozenset({S.APPROVED}), frozenset({S.SCHEDULED}),
        who=Who.SYSTEM,
    ),
    A.SCHEDULE_WITH_TIME: Rule(
        gettext_lazy("Scheduled (it was given a time)"), frozenset({S.APPROVED}),
        frozenset({S.SCHEDULED}), who=Who.SYSTEM,
    ),
    A.BACK_TO_APPROVED: Rule(
        gettext_lazy("An idea again (stays approved)"), frozenset({S.SCHEDULED}),
        frozenset({S.APPROVED}), who=Who.SYSTEM,
    ),
    A.EDIT_BACK_TO_REVIEW: Rule(
        gettext_lazy("Back to review after a change"),
        frozenset({S.IN_REVIEW, S.APPROVED, S.SCHEDULED}),
        frozenset({S.IN_REVIEW}), who=Who.SYSTEM,
    ),
    A.EDIT_BACK_TO_DRAFT: Rule(
        gettext_lazy("Back to draft after a change"),
        frozenset({S.IN_REVIEW, S.APPROVED, S.SCHEDULED}),
        frozenset({S.DRAFT}), who=Who.SYSTEM,
    ),
    A.MISSED_APPROVAL: Rule(
        gettext_lazy("Missed its approval"), frozenset({S.IN_REVIEW, S.CHANGES_REQUESTED}),
        frozenset({S.MISSED_APPROVAL}), who=Who.SYSTEM,
    ),
    A.APPROVAL_NOW_REQUIRED: Rule(
        gettext_lazy("Approval became required"), frozenset({S.SCHEDULED}), frozenset({S.DRAFT}),
        who=Who.SYSTEM,
    ),
    A.DEMO_HISTORY: Rule(  # seed_demo_metrics: a simulated past, on a demo workspace only
        gettext_lazy("Simulated for the demo"), frozenset({S.DRAFT, S.APPROVED, S.MISSED_APPROVAL}),
        frozenset({S.SCHEDULED}), who=Who.SYSTEM,
    ),
}  # fmt: skip


def action_label(value: str) -> str:
    """The label of an action as recorded (AuditEvent.action); an unknown one as it is."""
    try:
        return str(RULES[PostAction(value)].label)
    except ValueError:
        return value


MEMBER_ACTIONS = frozenset(a for a, rule in RULES.items() if rule.who is not Who.SYSTEM)
EXTERNAL_ACTIONS = frozenset(a for a, rule in RULES.items() if rule.external)

# Statuses that carry a completed approval (a content edit there restarts the review).
APPROVED_STATUSES: frozenset[str] = frozenset({S.APPROVED, S.SCHEDULED})
# Statuses in which a post waits for its approvers.
AWAITING_APPROVAL: frozenset[str] = frozenset({S.IN_REVIEW, S.CHANGES_REQUESTED})
# Statuses in which a post has an active review round (the decisions are taken in it).
WITH_ACTIVE_ROUND: frozenset[str] = frozenset({S.IN_REVIEW, S.MISSED_APPROVAL})
# Statuses of a post on its way out (in review or past it): whoever wrote one is told when a
# channel it goes to cannot publish.
PLANNED: frozenset[str] = frozenset({S.IN_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.SCHEDULED})
# Statuses that do not lead to publishing by themselves: once their time passed, flagged stale.
NOT_HEADING_OUT: frozenset[str] = frozenset({S.DRAFT, S.APPROVED})


def time_has_passed(when: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """Whether a post's time is set and not ahead any more (the one statement of it)."""
    return when is not None and when <= (now or timezone.now())


# --- what the rules need to know beyond the post's row ------------------------------------------


@dataclass(frozen=True)
class PostFacts:
    """What the rules read beyond the post's own row, read once (calendar_app.access and the
    selectors build it). `step` is the active round's current step, None if none."""

    mode: str = ApprovalMode.REQUIRED
    allow_self_approval: bool = False
    skip_roles: frozenset[str] = frozenset()
    step: dict | None = None
    # who approved the current step for the current revision (users and link recipients)
    approved_by_users: frozenset[int] = frozenset()
    approved_by_emails: frozenset[str] = frozenset()
    publication: Publication = NOTHING_PUBLISHED
    now: dt.datetime = field(default_factory=timezone.now)


class Refusal(StrEnum):
    """Why an action is refused: `PERMISSION` (who you are) answers 403, `STATE` (what the post
    is now) 400."""

    PERMISSION = "permission"
    STATE = "state"


@dataclass(frozen=True)
class Refused:
    kind: Refusal
    message: str


def _timing_refusal(rule: Rule, post: Post, now: dt.datetime) -> str | None:
    when = post.scheduled_at
    if rule.timing is Timing.HAS_TIME and when is None:
        return _("This post has no time yet.")
    if rule.timing is Timing.FUTURE and (when is None or time_has_passed(when, now)):
        return _("Give the post a time in the future first.")
    if rule.timing is Timing.NOT_PASSED and time_has_passed(when, now):
        return str(rule.timing_refusal) or _("Its time has passed: move it to a future time first.")
    return None


def _state_refusal(rule: Rule, post: Post, facts: PostFacts) -> str | None:
    publication = facts.publication
    if publication.went_out and not rule.after_publication:
        return _(
            "It went out on %(channels)s: what was published stays on record and cannot be "
            "changed. Duplicate it to post something new."
        ) % {"channels": publication.names(publication.published)}
    if publication.going_out and not rule.while_going_out:
        return _("It is being published on %(channels)s right now: wait a moment.") % {
            "channels": publication.names(publication.in_flight)
        }
    if rule.modes is not None and facts.mode not in rule.modes:
        return _("This workspace does not use approvals.")
    allowed = rule.from_statuses
    if facts.mode != ApprovalMode.REQUIRED:
        allowed = allowed | rule.also_from_without_required_approval
    if post.status not in allowed:
        if rule.also_from_without_required_approval and post.status in (
            rule.also_from_without_required_approval
        ):
            return _("This workspace requires approval: only approved posts can be scheduled.")
        if rule.status_refusal:
            return str(rule.status_refusal)
        return _("“%(action)s” is not possible for a post that is %(status)s.") % {
            "action": rule.label,
            "status": S(post.status).label.lower(),
        }
    return _timing_refusal(rule, post, facts.now)


def _who_refusal(
    rule: Rule, actor: Membership | ReviewLink, post: Post, facts: PostFacts
) -> str | Refused | None:
    author_id, last_editor_id = post.author_id, post.content_edited_by_id
    if isinstance(actor, ReviewLink):
        if not rule.external:
            return _("A review link lets you approve, ask for changes or comment.")
        if rule.who is not Who.DECIDER:
            return None
        if refusal := permissions.link_refusal(
            actor,
            step=facts.step,
            author_id=author_id,
            last_editor_id=last_editor_id,
            allow_self=facts.allow_self_approval,
        ):
            return refusal
        if rule is RULES[A.APPROVE] and actor.recipient_email.lower() in facts.approved_by_emails:
            return Refused(
                Refusal.STATE,
                _("%(name)s already approved this step.") % {"name": actor.recipient_name},
            )
        return None
    if rule.permission is not None and not permissions.can(actor, rule.permission):
        return permissions.refusal_message(rule.permission)
    match rule.who:
        case Who.MEMBER:
            return None
        case Who.AUTHOR:
            return permissions.author_refusal(actor, author_id=author_id)
        case Who.SKIPPER:
            return permissions.skipper_refusal(
                actor,
                skip_roles=list(facts.skip_roles),
                author_id=author_id,
                last_editor_id=last_editor_id,
                allow_self=facts.allow_self_approval,
            )
        case Who.DECIDER:
            if refusal := permissions.decider_refusal(
                actor,
                step=facts.step,
                author_id=author_id,
                last_editor_id=last_editor_id,
                allow_self=facts.allow_self_approval,
            ):
                return refusal
            if rule is RULES[A.APPROVE] and actor.user_id in facts.approved_by_users:
                return Refused(Refusal.STATE, _("You already approved this step."))
            return None
    return _("Nobody may do that.")  # Who.SYSTEM


def action_refusal(
    actor: Membership | ReviewLink, post: Post, facts: PostFacts, action: PostAction
) -> Refused | None:
    """Why `actor` may not take `action` on `post` now (None: it may).

    The post's state is checked before the person, so that a viewer looking at a published post
    is told it went out rather than that viewers cannot edit.
    """
    rule = RULES[action]
    if rule.who is Who.SYSTEM:
        return Refused(Refusal.PERMISSION, _("Nobody may do that."))
    if isinstance(actor, Membership) and not permissions.can(actor, Action.VIEW):
        return Refused(Refusal.PERMISSION, permissions.refusal_message(Action.VIEW))
    if message := _state_refusal(rule, post, facts):
        return Refused(Refusal.STATE, message)
    if refused := _who_refusal(rule, actor, post, facts):
        return refused if isinstance(refused, Refused) else Refused(Refusal.PERMISSION, refused)
    return None


def available_actions(
    actor: Membership | ReviewLink, post: Post, facts: PostFacts
) -> frozenset[PostAction]:
    """Every action `actor` may take on `post` now: what the pages offer, and all they offer."""
    candidates = EXTERNAL_ACTIONS if isinstance(actor, ReviewLink) else MEMBER_ACTIONS
    return frozenset(a for a in candidates if action_refusal(actor, post, facts, a) is None)


def move_refusal(
    action: PostAction, from_status: str, to_status: str, publication: Publication
) -> str | None:
    """Why `post_transition` must not write this move (None: the table lists it)."""
    rule = RULES[action]
    if publication.went_out and not rule.after_publication:
        return _(
            "It went out on %(channels)s: what was published stays on record and cannot be changed."
        ) % {"channels": publication.names(publication.published)}
    if from_status not in rule.from_statuses | rule.also_from_without_required_approval or (
        to_status not in rule.to_statuses
    ):
        return _("A post that is %(from)s cannot become %(to)s.") % {
            "from": S(from_status).label,
            "to": S(to_status).label,
        }
    return None


# --- the state people see, derived from the deliveries -------------------------------------------


class ShownState(StrEnum):
    DRAFT = S.DRAFT.value
    IN_REVIEW = S.IN_REVIEW.value
    CHANGES_REQUESTED = S.CHANGES_REQUESTED.value
    APPROVED = S.APPROVED.value
    SCHEDULED = S.SCHEDULED.value
    MISSED_APPROVAL = S.MISSED_APPROVAL.value
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    MISSED = "missed"  # its time passed and it went out nowhere (never posted late)
    HELD = "held"  # due, and a channel it goes to cannot publish: waits for the fix


SHOWN_LABELS: dict[str, str] = {
    **{s.value: s.label for s in S},
    ShownState.PUBLISHING: gettext_lazy("Publishing"),
    ShownState.PUBLISHED: gettext_lazy("Published"),
    ShownState.PARTIALLY_PUBLISHED: gettext_lazy("Partially published"),
    ShownState.FAILED: gettext_lazy("Failed"),
    ShownState.MISSED: gettext_lazy("Missed"),
    ShownState.HELD: gettext_lazy("Held"),
}

# Bootstrap colour of a state's badge, and the Bootstrap icon shown with it.
STATUS_BADGE: dict[str, str] = {
    S.DRAFT: "secondary",
    S.IN_REVIEW: "warning",
    S.CHANGES_REQUESTED: "danger",
    S.APPROVED: "success",
    S.SCHEDULED: "primary",
    S.MISSED_APPROVAL: "dark",
    ShownState.PUBLISHING: "info",
    ShownState.PUBLISHED: "success",
    ShownState.PARTIALLY_PUBLISHED: "warning",
    ShownState.FAILED: "danger",
    ShownState.MISSED: "dark",
    ShownState.HELD: "warning",
}
STATUS_ICON: dict[str, str] = {
    S.DRAFT: "pencil",
    S.IN_REVIEW: "hourglass-split",
    S.CHANGES_REQUESTED: "arrow-return-left",
    S.APPROVED: "check-circle",
    S.SCHEDULED: "calendar-check",
    S.MISSED_APPROVAL: "exclamation-octagon",
    ShownState.PUBLISHING: "send",
    ShownState.PUBLISHED: "check-circle-fill",
    ShownState.PARTIALLY_PUBLISHED: "exclamation-triangle-fill",
    ShownState.FAILED: "exclamation-octagon-fill",
    ShownState.MISSED: "calendar-x",
    ShownState.HELD: "pause-circle-fill",
}


def shown_state(status: str, publication: Publication) -> ShownState:
    """What happened to the post, as people read it: its deliveries once it is on its way out,
    its workflow status before."""
    if publication.failed and publication.published:
        return ShownState.PARTIALLY_PUBLISHED
    if publication.held:  # a channel waits for a fix: what someone has to act on
        return ShownState.HELD
    if publication.failed and not (publication.in_flight or publication.waiting):
        return _failed_or_missed(publication)
    if publication.in_flight or (publication.published and publication.waiting):
        return ShownState.PUBLISHING
    if publication.published:
        return ShownState.PUBLISHED
    if publication.failed:
        return _failed_or_missed(publication)
    return ShownState(status)


def _failed_or_missed(publication: Publication) -> ShownState:
    missed_only = set(publication.failed) <= publication.missed
    return ShownState.MISSED if missed_only else ShownState.FAILED


def shown_reason(publication: Publication) -> str:
    """Which channels failed and why, and which hold the post (empty if none)."""
    reasons = [
        f"{publication.channel_names.get(c, c)}: {reason}"
        if reason
        else str(publication.channel_names.get(c, c))
        for c, reason in sorted(publication.failed.items())
    ]
    reasons += [
        _("%(channel)s: held until the channel is connected or resumed")
        % {"channel": publication.channel_names.get(c, c)}
        for c in sorted(publication.held)
    ]
    return "; ".join(reasons)
