"""Who may do what in a workspace: one table of role -> actions, the separation-of-duties rules
of the approval workflow, and the workspace lookup.

Every permission decision lives here; the post rulebook (calendar_app.workflow) asks these for
"who", services and views ask the rulebook.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.sso import sso_configured, sso_provider_name
from accounts.two_factor import two_factor_enabled
from calendar_app.models import Membership, ReviewLink, Role, Workspace


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
    # Invite people by e-mail, see and revoke open invitations.
    MEMBER_INVITE = "member_invite"
    # See members' e-mail addresses on the member list.
    MEMBER_EMAILS_VIEW = "member_emails_view"
    WORKSPACE_MANAGE = "workspace_manage"
    REVIEW_LINK_MANAGE = "review_link_manage"
    # A channel on the built-in test network: added on purpose, by an owner only (test mode).
    TEST_CHANNEL_ADD = "test_channel_add"
    # Require two-factor authentication of every member: an owner only, as it can lock people out.
    TWO_FACTOR_REQUIRE = "two_factor_require"
    # Require single sign-on of every member: an owner only, for the same reason.
    SSO_REQUIRE = "sso_require"
    # The members' locked-out logins (when, from which address): an owner only, like e-mails.
    SIGN_IN_LOG_VIEW = "sign_in_log_view"


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
# Managers invite (issue 13: "owners and managers invite"), at most to their own role
# (invitation_role_refusal); changing roles and removing members stays with the owners.
_MANAGER = _EDITOR | {
    Action.CAMPAIGN_MANAGE,
    Action.CHANNEL_MANAGE,
    Action.REVIEW_LINK_MANAGE,
    Action.MEMBER_INVITE,
}

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
    Action.MEMBER_INVITE: _("Only managers and owners may invite members."),
    Action.MEMBER_EMAILS_VIEW: _("Only owners see the members' e-mail addresses."),
    Action.WORKSPACE_MANAGE: _("Only owners may change the workspace settings."),
    Action.REVIEW_LINK_MANAGE: _("Only managers and owners may share review links."),
    Action.TEST_CHANNEL_ADD: _("Only owners may add a channel on the test network."),
    Action.TWO_FACTOR_REQUIRE: _("Only owners may require two-factor authentication."),
    Action.SSO_REQUIRE: _("Only owners may require single sign-on."),
    Action.SIGN_IN_LOG_VIEW: _("Only owners see the members' locked-out logins."),
}


def can(membership: Membership | None, action: Action) -> bool:
    return membership is not None and action in ROLE_ACTIONS.get(membership.role, frozenset())


def refusal_message(action: Action) -> str:
    return str(_REFUSALS[action])


def require(membership: Membership | None, action: Action) -> None:
    """Raise PermissionDenied, with a message for people, unless the member may do `action`."""
    if not can(membership, action):
        raise PermissionDenied(refusal_message(action))


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


def sso_refusal(membership: Membership, *, sso_session: bool) -> str | None:
    """Why this member may not open the workspace's pages from this session, or None: a
    workspace that requires single sign-on opens only to a session that signed in through the
    identity provider (accounts.sso.sso_session). The message names the workspace, as the
    member is sent to the login page."""
    workspace = membership.workspace
    if not workspace.sso_required or sso_session:
        return None
    if not sso_configured():
        # Closed rather than open: a lost configuration must not quietly admit passwords.
        # An administrator configures it again or lifts the requirement in the admin.
        return str(
            _(
                "%(workspace)s requires single sign-on, which this site no longer offers: ask "
                "your administrator."
            )
        ) % {"workspace": workspace.name}
    return str(
        _("%(workspace)s requires single sign-on: sign in with %(provider)s to open it.")
    ) % {"workspace": workspace.name, "provider": sso_provider_name()}


def two_factor_refusal(membership: Membership, user, *, sso_session: bool = False) -> str | None:
    """Why this member may not open the workspace's pages from this session, or None.

    A workspace that requires two-factor authentication opens only to a session verified with
    a second factor (django_otp's OTPMiddleware gives `user.is_verified()`), or to a single
    sign-on session when OIDC_COUNTS_AS_TWO_FACTOR says the identity provider asked for one;
    the message names the workspace, as the member is sent away from it to set up or confirm
    their second factor.
    """
    workspace = membership.workspace
    if not workspace.two_factor_required or session_passed_two_factor(
        user, sso_session=sso_session
    ):
        return None
    if two_factor_enabled(user):
        return str(
            _(
                "%(workspace)s requires two-factor authentication: enter a code from your "
                "authenticator app to confirm this session."
            )
        ) % {"workspace": workspace.name}
    return str(
        _(
            "%(workspace)s requires two-factor authentication: set it up to open the "
            "workspace's pages."
        )
    ) % {"workspace": workspace.name}


def session_passed_two_factor(user, *, sso_session: bool) -> bool:
    """Whether this session counts as two-factor: verified with a second factor (django_otp's
    OTPMiddleware gives `user.is_verified()`; none without it, e.g. a bare RequestFactory
    request), or a single sign-on when OIDC_COUNTS_AS_TWO_FACTOR trusts the provider's."""
    if getattr(user, "is_verified", bool)():
        return True
    return sso_session and settings.OIDC_COUNTS_AS_TWO_FACTOR


def workspaces_closed_to_session(user, *, sso_session: bool, prefix: str = "workspace__") -> Q:
    """The workspaces this session may not open (sso_refusal, two_factor_refusal), as a filter
    on `prefix`: for what lists several workspaces at once (the notifications), which must not
    show a closed workspace's texts either. Matches nothing when everything is open."""
    closed = Q(pk__in=[])
    if not sso_session:
        closed |= Q(**{f"{prefix}sso_required": True})
    if not session_passed_two_factor(user, sso_session=sso_session):
        closed |= Q(**{f"{prefix}two_factor_required": True})
    return closed


# Higher first: nobody hands out more than they hold.
ROLE_RANK = {Role.OWNER: 3, Role.MANAGER: 2, Role.EDITOR: 1, Role.VIEWER: 0}


def invitation_role_refusal(membership: Membership, role: str) -> str | None:
    """Why this member may not invite someone as `role`, or None. Whoever may invite (today
    managers and owners; see ROLE_ACTIONS) invites at most to their own role, so a manager
    never makes an owner."""
    if not can(membership, Action.MEMBER_INVITE):
        return refusal_message(Action.MEMBER_INVITE)
    if ROLE_RANK.get(role, 0) > ROLE_RANK.get(membership.role, -1):
        return str(_("You cannot invite someone as %(role)s: that role is above your own.")) % {
            "role": Role(role).label
        }
    return None


def allowed_actions(membership: Membership | None) -> frozenset[Action]:
    if membership is None:
        return frozenset()
    return ROLE_ACTIONS.get(membership.role, frozenset())


def workspaces_for(user) -> list[Workspace]:
    if not user.is_authenticated:
        return []
    return list(Workspace.objects.filter(memberships__user=user).order_by("name"))


def managers_of(workspace_id: int) -> list:
    """The users who manage a workspace (its managers and owners): told when something needs a
    manager (a failed delivery, a channel that needs reconnecting)."""
    return [
        m.user
        for m in Membership.objects.filter(
            workspace_id=workspace_id, role__in=[Role.OWNER, Role.MANAGER]
        ).select_related("user")
    ]


# --- separation of duties ---------------------------------------------------------------------
# One rule: the author of a post, and whoever last changed its content, never clears a required
# step of it (approving, skipping, or through a review link they issued), unless the workspace's
# policy says authors may approve their own posts. A step needing N approvals needs N people.


def own_work(user_id: int | None, *, author_id: int | None, last_editor_id: int | None) -> bool:
    """Whether `user_id` wrote this post or made its latest content change."""
    return user_id is not None and user_id in (author_id, last_editor_id)


def decider_refusal(
    membership: Membership,
    *,
    step: dict | None,
    author_id: int | None,
    last_editor_id: int | None,
    allow_self: bool,
) -> str | None:
    """Why this member may not decide (approve or ask for changes on) `step`, or None."""
    if step is None:
        return str(_("This post is not waiting for approval."))
    if membership.role == Role.VIEWER:
        return str(_("Viewers cannot approve posts."))
    if not allow_self and membership.user_id == author_id:
        return str(_("You cannot approve your own post in this workspace."))
    if not allow_self and membership.user_id == last_editor_id:
        return str(
            _(
                "You made the latest change to this post, so someone else must approve it "
                "(or ask for changes)."
            )
        )
    if membership.role not in step.get("roles", []) and membership.user_id not in step.get(
        "members", []
    ):
        if step.get("external"):
            return str(_("The step “%(step)s” is decided by an external reviewer.")) % {
                "step": step["name"]
            }
        return str(_("You are not an approver of the step “%(step)s”.")) % {"step": step["name"]}
    return None


def skipper_refusal(
    membership: Membership,
    *,
    skip_roles: list[str],
    author_id: int | None,
    last_editor_id: int | None,
    allow_self: bool,
) -> str | None:
    """Why this member may not skip a step of the post, or None. A skip clears a step like an
    approval does, so the same separation of duties applies."""
    if membership.role == Role.VIEWER or membership.role not in skip_roles:
        return str(_("Your role may not skip approval steps in this workspace."))
    if not allow_self and own_work(
        membership.user_id, author_id=author_id, last_editor_id=last_editor_id
    ):
        return str(_("You cannot skip a step of a post you wrote or changed last."))
    return None


def link_refusal(
    link: ReviewLink,
    *,
    step: dict | None,
    author_id: int | None,
    last_editor_id: int | None,
    allow_self: bool,
) -> str | None:
    """Why the recipient of this review link may not decide `step` of the post, or None."""
    if step is None:
        return str(_("This post is not waiting for approval."))
    if not step.get("external"):
        return str(_("This post is waiting for the team's approval, not yours."))
    if not link.recipient_email:
        return str(
            _(
                "This link was not issued to a named reviewer, so it can collect comments but "
                "not decisions. Ask the team for a link of your own."
            )
        )
    if not allow_self and own_work(
        link.created_by_id, author_id=author_id, last_editor_id=last_editor_id
    ):
        return str(
            _(
                "This link was shared by the person who wrote this post, so it can collect your "
                "comments but not your approval. Ask the team for a link from someone else."
            )
        )
    return None


def author_refusal(membership: Membership, *, author_id: int | None) -> str | None:
    if membership.user_id != author_id:
        return str(_("Only the author can withdraw a post."))
    return None
