"""External review: signed, expiring review links and the decisions taken through them."""

from __future__ import annotations

import datetime as dt
import math

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.throttle import address_count_peek, address_count_reset, address_count_take
from calendar_app.access import access_post, access_post_for_decision
from calendar_app.models import (
    Membership,
    Post,
    ReviewLink,
)
from calendar_app.permissions import Action, require
from calendar_app.services.review.rounds import record_approval, record_changes_requested
from calendar_app.services.review.transition import audit_record
from calendar_app.tokens import TokenInvalid, secret_matches, secret_new, token_open, token_sign
from calendar_app.workflow import PostAction

A = PostAction


# --- external reviewers ------------------------------------------------------------------------


@transaction.atomic
def post_external_decide(
    *,
    link: ReviewLink,
    post_id: int,
    approve: bool,
    comment: str = "",
    expected_revision: int | None = None,
) -> Post:
    """The recipient of a review link approves or requests changes (under the name the link was
    issued to). One decision per link and revision; the rulebook refuses links issued by the
    post's author and links without a named recipient (permissions.link_refusal)."""
    action = A.APPROVE if approve else A.REQUEST_CHANGES
    if not approve and not comment.strip():
        raise ValidationError(_("Say what should change: a comment is required."))
    access = access_post_for_decision(
        link, post_id, action=action, expected_step=None, expected_revision=expected_revision
    )
    if approve:
        record_approval(access, user=None, review_link=link, comment=comment)
    else:
        record_changes_requested(access, user=None, review_link=link, comment=comment)
    return access.post


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


@transaction.atomic
def review_link_create(
    *,
    membership: Membership,
    post_ids: list[int],
    recipient_name: str,
    recipient_email: str,
    days: int = REVIEW_LINK_DAYS,
) -> tuple[ReviewLink, str]:
    """A link for one reviewer without an account; returns it and its token (shown only now).

    Managers and owners only. The link is issued to one recipient: their decisions carry their
    name, and a step needing two external approvals needs two recipients. The audit trail of
    each post says who issued a link to whom.
    """
    require(membership, Action.REVIEW_LINK_MANAGE)
    accesses = [access_post(membership, pk, action=A.SHARE) for pk in sorted(set(post_ids))]
    if not accesses:
        raise ValidationError(_("Choose posts of this workspace."), code="missing")
    if not 1 <= days <= 90:
        raise ValidationError(_("A review link is valid for 1 to 90 days."))
    recipient_name = " ".join(recipient_name.split())[:120]
    recipient_email = recipient_email.strip().lower()
    if not recipient_name:
        raise ValidationError(_("Enter the reviewer's name."))
    try:
        validate_email(recipient_email)
    except ValidationError:
        raise ValidationError(_("Enter the reviewer's e-mail address.")) from None
    if Membership.objects.filter(
        workspace=membership.workspace, user__email__iexact=recipient_email
    ).exists():
        raise ValidationError(
            _("%(email)s belongs to a member of this workspace: members review in the app.")
            % {"email": recipient_email}
        )
    secret, token_hash = secret_new()
    link = ReviewLink.objects.create(
        workspace=membership.workspace,
        token_hash=token_hash,
        created_by=membership.user,
        expires_at=timezone.now() + dt.timedelta(days=days),
        recipient_name=recipient_name,
        recipient_email=recipient_email,
    )
    link.posts.set([a.post for a in accesses])
    for access in accesses:
        audit_record(
            post=access.post,
            action=A.SHARE,
            actor=membership.user,
            comment=_("Review link for %(name)s <%(email)s>, valid until %(date)s.")
            % {
                "name": recipient_name,
                "email": recipient_email,
                "date": formats.date_format(
                    link.expires_at.astimezone(membership.workspace.tz), "SHORT_DATE_FORMAT"
                ),
            },
        )
    return link, token_sign(salt=REVIEW_LINK_SALT, pk=link.pk, secret=secret)


@transaction.atomic
def review_link_revoke(*, membership: Membership, link_id: int) -> ReviewLink:
    require(membership, Action.REVIEW_LINK_MANAGE)
    try:
        link = ReviewLink.objects.select_for_update().get(
            pk=link_id, workspace=membership.workspace
        )
    except ReviewLink.DoesNotExist:
        raise ValidationError(_("This review link does not exist."), code="missing") from None
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        for post in link.posts.all():
            audit_record(
                post=post,
                action=A.SHARE,
                actor=membership.user,
                comment=_("Review link for %(name)s revoked.")
                % {"name": link.recipient_name or _("a reviewer")},
            )
    return link


def review_link_resolve(token: str, *, link_id: int | None = None) -> ReviewLink:
    """The link a token stands for (and only link `link_id`, when given); ReviewLinkInvalid
    (403) or ReviewLinkGone (410) otherwise."""
    try:
        pk, secret = token_open(salt=REVIEW_LINK_SALT, token=token)
        if link_id is not None and pk != link_id:
            raise TokenInvalid
        link = ReviewLink.objects.select_related("workspace").get(pk=pk)
    except (TokenInvalid, ReviewLink.DoesNotExist):
        raise ReviewLinkInvalid(_("This review link is not valid.")) from None
    if not secret_matches(secret, link.token_hash):
        raise ReviewLinkInvalid(_("This review link is not valid."))
    if link.revoked_at is not None:
        raise ReviewLinkGone(_("This review link was revoked. Ask the team for a new one."))
    if link.expires_at <= timezone.now():
        raise ReviewLinkGone(_("This review link has expired. Ask the team for a new one."))
    return link


# --- guessing -----------------------------------------------------------------------------------

# Bad tokens (or tampered cookies) one client address may try per window before every review
# link answers 429 to it: a reviewer mistypes a few, a guesser needs billions.
REVIEW_LINK_BAD_ATTEMPTS = 30
REVIEW_LINK_ATTEMPT_WINDOW_SECONDS = 600
REVIEW_LINK_ATTEMPT_SCOPE = "review_link"


class ReviewLinkThrottled(Exception):
    """Too many bad attempts from one address: the page answers 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        self.retry_after = retry_after
        self.message = ngettext(
            "There were too many attempts with invalid review links from your network. Please "
            "wait %(minutes)d minute and try again.",
            "There were too many attempts with invalid review links from your network. Please "
            "wait %(minutes)d minutes and try again.",
            minutes,
        ) % {"minutes": minutes}
        super().__init__(self.message)


def review_link_open(*, token: str | None, address: str, link_id: int | None = None) -> ReviewLink:
    """`review_link_resolve`, guarded against guessing: an address with too many bad attempts
    in the current window is refused before its token is looked at (ReviewLinkThrottled), and
    every bad token counts. `token` None: this browser holds no token for `link_id` (a
    bookmarked page, cleared cookies), which is no guess and counts nothing."""
    attempts, retry_after = address_count_peek(
        REVIEW_LINK_ATTEMPT_SCOPE, address, window_seconds=REVIEW_LINK_ATTEMPT_WINDOW_SECONDS
    )
    if attempts >= REVIEW_LINK_BAD_ATTEMPTS:
        raise ReviewLinkThrottled(retry_after)
    if token is None:
        raise ReviewLinkInvalid(
            _("Open the review link you were sent once more to continue reviewing.")
        )
    try:
        return review_link_resolve(token, link_id=link_id)
    except ReviewLinkInvalid:
        address_count_take(
            REVIEW_LINK_ATTEMPT_SCOPE, address, window_seconds=REVIEW_LINK_ATTEMPT_WINDOW_SECONDS
        )
        raise


def review_link_attempts_reset(address: str) -> None:
    """Forget the address's bad attempts of the current window (tests, an operator)."""
    address_count_reset(
        REVIEW_LINK_ATTEMPT_SCOPE, address, window_seconds=REVIEW_LINK_ATTEMPT_WINDOW_SECONDS
    )
