"""Comments on posts, from the team and from external reviewers; @username tells that member."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from calendar_app.access import access_post, access_post_by_link
from calendar_app.models import (
    Membership,
    PostComment,
    ReviewLink,
    Workspace,
)
from calendar_app.services.notices import post_notify
from calendar_app.workflow import PostAction

# --- comments ---------------------------------------------------------------------------------

MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]+)")


def mentioned_users(workspace: Workspace, body: str) -> list[User]:
    names = {m.rstrip(".") for m in MENTION_RE.findall(body)}
    if not names:
        return []
    return list(
        User.objects.filter(memberships__workspace=workspace, username__in=names).distinct()
    )


@transaction.atomic
def post_comment_add(
    *,
    membership: Membership | None,
    post_id: int,
    body: str,
    channel_id: int | None = None,
    internal: bool = True,
    link: ReviewLink | None = None,
    external_name: str = "",
) -> PostComment:
    """A comment on a post, optionally on one channel's variant; @username tells that member.

    Members other than viewers may comment (internal or shared); an external reviewer comments
    through a review link, always shared and under the name the link was issued to (a link from
    before named recipients: the name they give). Only members' mentions notify anyone: an
    outsider's text never reaches a member's inbox as a mention.
    """
    body = body.strip()
    if not body:
        raise ValidationError(_("Write something before sending the comment."))
    if membership is not None:
        post = access_post(membership, post_id, action=PostAction.COMMENT).post
        author = membership.user
        external_name = ""
    else:
        if link is None:
            raise PermissionDenied(_("This link does not cover that post."))
        post = access_post_by_link(link, post_id, action=PostAction.COMMENT).post
        external_name = link.recipient_name or external_name.strip()
        if not external_name:
            raise ValidationError(_("Enter your name so the team knows who wrote this."))
        author = None
        internal = False
    channel = None
    if channel_id is not None:
        variant = post.variants.select_related("channel").filter(channel_id=channel_id).first()
        if variant is None:
            raise ValidationError(_("This post does not go to that channel."))
        channel = variant.channel
    comment = PostComment.objects.create(
        post=post,
        variant_channel=channel,
        author=author,
        external_name=external_name[:120],
        body=body,
        internal=internal,
    )
    mentioned = mentioned_users(post.workspace, body) if author is not None else []
    if mentioned:
        post_notify(
            "mentioned",
            recipients=mentioned,
            post=post,
            actor=author,
            detail=body[:200],
        )
    # The post's author and whoever took part in the thread hear of it (the mentioned already
    # did; the writer never hears of their own comment). An outsider's words are not carried
    # into anyone's inbox or e-mail: the notification says who commented, the text is read in
    # the app.
    participants = User.objects.filter(
        pk__in=PostComment.objects.filter(post=post, author__isnull=False)
        .exclude(pk=comment.pk)
        .values("author_id")
    )
    told = {u.pk for u in mentioned}
    recipients = [u for u in [post.author, *participants] if u is not None and u.pk not in told]
    if recipients:
        if author is not None:
            post_notify(
                "commented", recipients=recipients, post=post, actor=author, detail=body[:200]
            )
        else:
            post_notify(
                "commented",
                recipients=recipients,
                post=post,
                actor=None,
                actor_name=_("%(name)s (external)") % {"name": external_name},
            )
    return comment
