"""Access helpers (Zulip's `access_*`): look an object up scoped to the actor's workspace, check
that the rulebook allows the action now, lock the row and check the version, in one call.

A post of another workspace answers exactly like one that does not exist (ValidationError with
code "missing", which the views turn into a 404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.models import (
    DecisionKind,
    Membership,
    Post,
    PostRevision,
    ReviewDecision,
    ReviewLink,
    ReviewRound,
    RoundState,
)
from calendar_app.policy import policy_for
from calendar_app.publication import (
    NOTHING_PUBLISHED,
    Publication,
    publication_of,
    publications_for,
)
from calendar_app.services.locking import check_version
from calendar_app.workflow import (
    WITH_ACTIVE_ROUND,
    PostAction,
    PostFacts,
    Refusal,
    Refused,
    action_refusal,
    available_actions,
)


@dataclass(frozen=True)
class PostAccess:
    """A post as one actor may act on it: the row (locked if asked), the facts the rules read,
    and the review round and latest revision they were read from."""

    post: Post
    facts: PostFacts
    round: ReviewRound | None
    revision: PostRevision | None

    def actions(self, actor: Membership | ReviewLink) -> frozenset[PostAction]:
        return available_actions(actor, self.post, self.facts)


def raise_refusal(refused: Refused) -> None:
    if refused.kind is Refusal.PERMISSION:
        raise PermissionDenied(refused.message)
    raise ValidationError(refused.message, code="transition")


def post_facts(
    post: Post,
    *,
    publication: Publication | None = None,
    now: dt.datetime | None = None,
) -> tuple[PostFacts, ReviewRound | None, PostRevision | None]:
    """What the rules need to know about `post` beyond its row: the policy and the publication,
    and for a post waiting for a decision its active round, latest revision and who approved
    the current step (two queries, five while in review)."""
    policy = policy_for(post.workspace)
    round_ = revision = None
    if post.status in WITH_ACTIVE_ROUND:
        round_ = post.review_rounds.filter(state=RoundState.ACTIVE).first()
    users: frozenset[int] = frozenset()
    emails: frozenset[str] = frozenset()
    if round_ is not None and round_.step is not None:
        revision = post.revisions.order_by("-number").first()
        approvals = list(
            ReviewDecision.objects.filter(
                round=round_, step=round_.current_step, kind=DecisionKind.APPROVE, revision=revision
            ).values_list("user_id", "review_link__recipient_email")
        )
        users = frozenset(u for u, _e in approvals if u is not None)
        emails = frozenset(e.lower() for _u, e in approvals if e)
    facts = PostFacts(
        mode=policy.mode,
        allow_self_approval=policy.allow_self_approval,
        skip_roles=frozenset(policy.skip_roles),
        step=round_.step if round_ is not None else None,
        approved_by_users=users,
        approved_by_emails=emails,
        publication=publication if publication is not None else publication_of(post.pk),
        now=now or timezone.now(),
    )
    return facts, round_, revision


def _lookup(workspace_id: int, post_id: int, *, lock: bool) -> Post:
    posts = Post.objects.select_related("workspace__approval_policy")
    if lock:
        posts = posts.select_for_update(of=("self",))
    try:
        return posts.get(pk=post_id, workspace_id=workspace_id)
    except Post.DoesNotExist:
        raise ValidationError(_("This post does not exist (any more)."), code="missing") from None


def access_post(
    membership: Membership,
    post_id: int,
    *,
    action: PostAction | None,
    lock: bool = True,
    expected_version: int | None = None,
) -> PostAccess:
    """The post `post_id` of the member's workspace, if the rulebook lets them take `action` on
    it now (None: only look at it). Locks it for the rest of the transaction unless `lock` is
    off; refuses a write based on an older version (StaleEdit) before anything else."""
    post = _lookup(membership.workspace_id, post_id, lock=lock)
    check_version(post, expected_version)
    facts, round_, revision = post_facts(post)
    if action is not None and (refused := action_refusal(membership, post, facts, action)):
        raise_refusal(refused)
    return PostAccess(post=post, facts=facts, round=round_, revision=revision)


def access_post_for_decision(
    actor: Membership | ReviewLink,
    post_id: int,
    *,
    action: PostAction,
    expected_step: int | None,
    expected_revision: int | None,
) -> PostAccess:
    """The post for a decision by a member or a review link. A decision taken on an older page
    (another step, another revision than the decider saw) is refused as stale first; then the
    rulebook decides."""
    if isinstance(actor, ReviewLink):
        if not actor.posts.filter(pk=post_id).exists():
            raise PermissionDenied(_("This link does not cover that post."))
        workspace_id = actor.workspace_id
    else:
        workspace_id = actor.workspace_id
    post = _lookup(workspace_id, post_id, lock=True)
    facts, round_, revision = post_facts(post)
    if round_ is not None and expected_step is not None and expected_step != round_.current_step:
        raise ValidationError(
            _("This step of “%(title)s” was already decided by someone else. Reload the page.")
            % {"title": post.display_title},
            code="stale",
        )
    if expected_revision is not None and (revision is None or revision.number != expected_revision):
        raise ValidationError(
            _("“%(title)s” was changed since you opened it. Review the new version.")
            % {"title": post.display_title},
            code="stale",
        )
    if refused := action_refusal(actor, post, facts, action):
        raise_refusal(refused)
    return PostAccess(post=post, facts=facts, round=round_, revision=revision)


def access_post_by_link(
    link: ReviewLink, post_id: int, *, action: PostAction, lock: bool = True
) -> PostAccess:
    """The post `post_id` if the review link covers it and lets its recipient take `action`."""
    if not link.posts.filter(pk=post_id).exists():
        raise PermissionDenied(_("This link does not cover that post."))
    post = _lookup(link.workspace_id, post_id, lock=lock)
    facts, round_, revision = post_facts(post)
    if refused := action_refusal(link, post, facts, action):
        raise_refusal(refused)
    return PostAccess(post=post, facts=facts, round=round_, revision=revision)


def publications_by_post(post_ids: list[int]) -> dict[int, Publication]:
    """Publications of several posts in one query (lists and the queue)."""
    found = publications_for(Q(post_id__in=post_ids)) if post_ids else {}
    return {pk: found.get(pk, NOTHING_PUBLISHED) for pk in post_ids}
