"""External review: signed, expiring review links and the decisions taken through them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.models import (
    Membership,
    Post,
    ReviewLink,
    ReviewRound,
    Role,
)
from calendar_app.services.review.rounds import (
    record_approval,
    record_changes_requested,
    require_waiting_in_time,
    round_for_decision,
)
from calendar_app.workflow import PostStatus

S = PostStatus


# --- external reviewers ------------------------------------------------------------------------


def _external_refusal(round_: ReviewRound) -> str | None:
    step = round_.step
    if step is None or not step.get("external"):
        return _("This post is waiting for the team's approval, not yours.")
    return None


@transaction.atomic
def post_external_decide(
    *,
    link: ReviewLink,
    post_id: int,
    name: str,
    approve: bool,
    comment: str = "",
    expected_revision: int | None = None,
) -> Post:
    """An external reviewer (no account) approves or requests changes through a review link."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Enter your name so the team knows who decided."))
    if not link.posts.filter(pk=post_id).exists():
        raise PermissionDenied(_("This link does not cover that post."))
    post, round_, revision = round_for_decision(
        workspace=link.workspace,
        post_id=post_id,
        expected_step=None,
        expected_revision=expected_revision,
    )
    require_waiting_in_time(post)
    if refusal := _external_refusal(round_):
        raise PermissionDenied(refusal)
    if approve:
        record_approval(
            post,
            round_,
            user=None,
            external_name=name,
            review_link=link,
            revision=revision,
            comment=comment,
        )
    else:
        if not comment.strip():
            raise ValidationError(_("Say what should change: a comment is required."))
        record_changes_requested(
            post,
            round_,
            user=None,
            external_name=name,
            review_link=link,
            revision=revision,
            comment=comment,
        )
    return post


# --- review links ------------------------------------------------------------------------------

REVIEW_LINK_SALT = "calendar_app.review_link"
REVIEW_LINK_DAYS = 14
REVIEW_LINK_DAY_CHOICES = (1, 3, 7, 14, 30, 90)  # offered in the UI; any 1-90 is accepted


class ReviewLinkInvalid(PermissionDenied):
    """Tampered or unknown token."""


class ReviewLinkGone(Exception):
    """Expired or revoked link: the page answers 410."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_manage_review_links(membership: Membership) -> bool:
    return membership.role in (Role.OWNER, Role.MANAGER)


def _require_link_manager(membership: Membership) -> None:
    if not may_manage_review_links(membership):
        raise PermissionDenied(_("Only managers and owners may share review links."))


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def review_link_create(
    *, membership: Membership, post_ids: list[int], days: int = REVIEW_LINK_DAYS
) -> tuple[ReviewLink, str]:
    """A link for reviewers without an account; returns it and its token (shown only now).

    Managers and owners only: whoever holds the link may decide an external step, so an author
    must not be able to hand one to themselves.
    """
    _require_link_manager(membership)
    if not 1 <= days <= 90:
        raise ValidationError(_("A review link is valid for 1 to 90 days."))
    posts = list(Post.objects.filter(workspace=membership.workspace, pk__in=post_ids))
    if not posts or len(posts) != len(set(post_ids)):
        raise ValidationError(_("Choose posts of this workspace."), code="missing")
    secret = secrets.token_urlsafe(24)
    link = ReviewLink.objects.create(
        workspace=membership.workspace,
        token_hash=_token_hash(secret),
        created_by=membership.user,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    link.posts.set(posts)
    token = signing.TimestampSigner(salt=REVIEW_LINK_SALT).sign(f"{link.pk}.{secret}")
    return link, token


@transaction.atomic
def review_link_revoke(*, membership: Membership, link_id: int) -> ReviewLink:
    _require_link_manager(membership)
    try:
        link = ReviewLink.objects.select_for_update().get(
            pk=link_id, workspace=membership.workspace
        )
    except ReviewLink.DoesNotExist:
        raise ValidationError(_("This review link does not exist."), code="missing") from None
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


def review_link_resolve(token: str) -> ReviewLink:
    """The link a token stands for; ReviewLinkInvalid (403) or ReviewLinkGone (410) otherwise."""
    try:
        value = signing.TimestampSigner(salt=REVIEW_LINK_SALT).unsign(token)
        pk, secret = value.split(".", 1)
        link = ReviewLink.objects.select_related("workspace").get(pk=int(pk))
    except (signing.BadSignature, ValueError, ReviewLink.DoesNotExist):
        raise ReviewLinkInvalid(_("This review link is not valid.")) from None
    if not hmac.compare_digest(_token_hash(secret), link.token_hash):
        raise ReviewLinkInvalid(_("This review link is not valid."))
    if link.revoked_at is not None:
        raise ReviewLinkGone(_("This review link was revoked. Ask the team for a new one."))
    if link.expires_at <= timezone.now():
        raise ReviewLinkGone(_("This review link has expired. Ask the team for a new one."))
    return link
