"""Who may do what in a workspace: one table of role -> actions, and the access helpers.

Every view and service asks here; nothing else decides permissions.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from calendar_app.models import Membership, Role, Workspace


class Action(StrEnum):
    VIEW = "view"
    POST_CREATE = "post_create"
    POST_EDIT = "post_edit"
    POST_DELETE = "post_delete"
    POST_RESCHEDULE = "post_reschedule"
    MEDIA_UPLOAD = "media_upload"
    LABEL_MANAGE = "label_manage"
    CAMPAIGN_MANAGE = "campaign_manage"
    CHANNEL_MANAGE = "channel_manage"
    MEMBER_MANAGE = "member_manage"
    WORKSPACE_MANAGE = "workspace_manage"


_EDITOR = frozenset(
    {
        Action.VIEW,
        Action.POST_CREATE,
        Action.POST_EDIT,
        Action.POST_DELETE,
        Action.POST_RESCHEDULE,
        Action.MEDIA_UPLOAD,
        Action.LABEL_MANAGE,
    }
)
_MANAGER = _EDITOR | {Action.CAMPAIGN_MANAGE, Action.CHANNEL_MANAGE}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.MANAGER: _MANAGER,
    Role.EDITOR: _EDITOR,
    Role.VIEWER: frozenset({Action.VIEW}),
}

_REFUSALS = {
    Action.VIEW: _("You are not a member of this workspace."),
    Action.POST_CREATE: _("Your role may not create posts in this workspace."),
    Action.POST_EDIT: _("Your role may not edit posts in this workspace."),
    Action.POST_DELETE: _("Your role may not delete posts in this workspace."),
    Action.POST_RESCHEDULE: _("Your role may not reschedule posts in this workspace."),
    Action.MEDIA_UPLOAD: _("Your role may not upload media in this workspace."),
    Action.LABEL_MANAGE: _("Your role may not manage labels in this workspace."),
    Action.CAMPAIGN_MANAGE: _("Only managers and owners may manage campaigns."),
    Action.CHANNEL_MANAGE: _("Only managers and owners may manage channels."),
    Action.MEMBER_MANAGE: _("Only owners may manage members."),
    Action.WORKSPACE_MANAGE: _("Only owners may change the workspace settings."),
}


def can(membership: Membership | None, action: Action) -> bool:
    return membership is not None and action in ROLE_ACTIONS.get(membership.role, frozenset())


def require(membership: Membership | None, action: Action) -> None:
    """Raise PermissionDenied, with a message for people, unless the member may do `action`."""
    if not can(membership, action):
        raise PermissionDenied(str(_REFUSALS[action]))


def access_workspace(user, slug: str) -> Membership:
    """The user's membership in the workspace `slug`, with the workspace joined.

    Answers 404 (never 403) for a workspace the user is not a member of, so that the existence
    of other workspaces is not revealed.
    """
    if not user.is_authenticated:
        raise Http404
    try:
        return Membership.objects.select_related("workspace").get(user=user, workspace__slug=slug)
    except Membership.DoesNotExist:
        raise Http404 from None


def allowed_actions(membership: Membership | None) -> frozenset[Action]:
    if membership is None:
        return frozenset()
    return ROLE_ACTIONS.get(membership.role, frozenset())


def workspaces_for(user) -> list[Workspace]:
    if not user.is_authenticated:
        return []
    return list(Workspace.objects.filter(memberships__user=user).order_by("name"))
