"""Writes for workspace settings: the workspace itself, channels, campaigns, labels, members (and
the invitations by which people join) and the approval policy.

Each service checks the actor's permission first, locks what it changes and raises
ValidationError (keyed by form field where one is to blame) or PermissionDenied with a message
for people. Objects of another workspace are looked up as if they did not exist (DoesNotExist).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.sso import sso_configured, sso_provider_name
from accounts.two_factor import two_factor_enabled
from calendar_app.currencies import is_currency_code
from calendar_app.models import (
    ApprovalMode,
    ApprovalPolicy,
    ApprovalStep,
    Campaign,
    Channel,
    ChannelState,
    Invitation,
    InvitationState,
    Label,
    Membership,
    Post,
    Role,
    Workspace,
)
from calendar_app.permissions import Action, invitation_role_refusal, require
from calendar_app.platforms import Platform
from calendar_app.publication import publication_of
from calendar_app.services.review.gate import post_cleared_for_publishing
from calendar_app.services.review.transition import post_transition
from calendar_app.tokens import TokenInvalid, secret_matches, secret_new, token_open, token_sign
from calendar_app.workflow import PostAction, PostStatus

M = TypeVar("M", bound=models.Model)


def _locked(model: type[M], membership: Membership, pk: int) -> M:
    """Row `pk` of `model` in the actor's workspace, locked; DoesNotExist for anything else."""
    return model.objects.select_for_update().get(pk=pk, workspace_id=membership.workspace_id)


def _save(obj: M, *, duplicate: ValidationError, exclude: list[str] | None = None) -> M:
    """Validate the fields and save; a unique violation that slipped past our checks (a race)
    becomes `duplicate` instead of a 500."""
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise duplicate from exc
    return obj


# --- workspace --------------------------------------------------------------------------------


@transaction.atomic
def workspace_update(
    *,
    membership: Membership,
    name: str,
    timezone: str,
    language: str,
    utm_tagging: bool | None = None,
    shorten_links: bool | None = None,
    two_factor_required: bool | None = None,
    sso_required: bool | None = None,
    sso_session: bool = False,
) -> Workspace:
    """Change the workspace's settings; the link-tracking, two-factor and single sign-on
    switches only when given. Requiring two-factor authentication or single sign-on is an
    owner's decision, and only one who uses it themselves (`sso_session`: the owner's session
    signed in through the identity provider): they would be sent away from the workspace on
    their next page otherwise."""
    require(membership, Action.WORKSPACE_MANAGE)
    if shorten_links and not settings.PUBLIC_BASE_URL:
        # Said here rather than silently sending long links when posts go out.
        raise ValidationError(
            {
                "shorten_links": _(
                    "Short links need the public address of this site, and none is "
                    "configured: ask your administrator to set PUBLIC_BASE_URL."
                )
            }
        )
    workspace = Workspace.objects.select_for_update().get(pk=membership.workspace_id)
    if two_factor_required is not None and two_factor_required != workspace.two_factor_required:
        require(membership, Action.TWO_FACTOR_REQUIRE)
        if two_factor_required and not two_factor_enabled(membership.user):
            raise ValidationError(
                {
                    "two_factor_required": _(
                        "Set up two-factor authentication for yourself first (Two-factor "
                        "authentication, in your menu at the top right)."
                    )
                }
            )
        workspace.two_factor_required = two_factor_required
    if sso_required is not None and sso_required != workspace.sso_required:
        require(membership, Action.SSO_REQUIRE)
        if sso_required and not sso_configured():
            raise ValidationError(
                {
                    "sso_required": _(
                        "Single sign-on is not set up on this site: ask your administrator to "
                        "configure it (OIDC_* settings)."
                    )
                }
            )
        if sso_required and not sso_session:
            raise ValidationError(
                {
                    "sso_required": _(
                        "Sign in with %(provider)s yourself first (on the login page): you "
                        "would be sent away from this workspace otherwise."
                    )
                    % {"provider": sso_provider_name()}
                }
            )
        workspace.sso_required = sso_required
    workspace.name = name.strip()
    workspace.timezone = timezone.strip()
    workspace.language = language
    if utm_tagging is not None:
        workspace.utm_tagging = utm_tagging
    if shorten_links is not None:
        workspace.shorten_links = shorten_links
    workspace.full_clean(exclude=["slug"], validate_unique=False)
    workspace.save(
        update_fields=[
            "name",
            "timezone",
            "language",
            "utm_tagging",
            "shorten_links",
            "two_factor_required",
            "sso_required",
        ]
    )
    # Keep the caller's membership (and its cached workspace, incl. `tz`) consistent.
    membership.workspace = workspace
    return workspace


# --- channels ---------------------------------------------------------------------------------


def _channel_duplicate(platform: str) -> ValidationError:
    return ValidationError(
        {
            "account_id": _(
                "This workspace already has a %(platform)s channel with this account id."
            )
            % {"platform": Channel(platform=platform).get_platform_display()}
        }
    )


def _check_channel_unique(channel: Channel) -> None:
    if not channel.account_id:
        return
    clash = Channel.objects.filter(
        workspace_id=channel.workspace_id,
        platform=channel.platform,
        account_id=channel.account_id,
    ).exclude(pk=channel.pk)
    if clash.exists():
        raise _channel_duplicate(channel.platform)


@transaction.atomic
def channel_create(
    *,
    membership: Membership,
    platform: str,
    name: str,
    handle: str = "",
    account_id: str = "",
) -> Channel:
    """Add a channel by hand, to plan for it before its account is connected.

    Only a manual channel is ready at once; any other waits for its account to be connected
    (publishing holds its deliveries until then, instead of failing them).
    """
    require(membership, Action.CHANNEL_MANAGE)
    channel = Channel(
        workspace=membership.workspace,
        platform=platform,
        name=name.strip(),
        handle=handle.strip(),
        account_id=account_id.strip(),
        state=(
            ChannelState.CONNECTED if platform == Platform.MANUAL else ChannelState.NEEDS_RECONNECT
        ),
    )
    _check_channel_unique(channel)
    return _save(channel, duplicate=_channel_duplicate(platform), exclude=["avatar"])


@transaction.atomic
def channel_update(
    *,
    membership: Membership,
    channel_id: int,
    platform: str,
    name: str,
    handle: str = "",
    account_id: str = "",
) -> Channel:
    require(membership, Action.CHANNEL_MANAGE)
    channel = _locked(Channel, membership, channel_id)
    if platform != channel.platform and channel.variants.exists():
        # Its posts were checked against the old platform's rules; they could not be published.
        raise ValidationError(
            {
                "platform": _(
                    "The platform of a channel that already has posts cannot be changed. Add a new channel instead."
                )
            }
        )
    channel.platform = platform
    channel.name = name.strip()
    channel.handle = handle.strip()
    channel.account_id = account_id.strip()
    _check_channel_unique(channel)
    return _save(channel, duplicate=_channel_duplicate(platform), exclude=["avatar"])


@transaction.atomic
def channel_pause(*, membership: Membership, channel_id: int) -> Channel:
    """Stop publishing to a channel until it is resumed; its posts stay on the calendar. The
    state it had is kept for resuming."""
    require(membership, Action.CHANNEL_MANAGE)
    channel = _locked(Channel, membership, channel_id)
    if channel.state != ChannelState.PAUSED:
        channel.state_before_pause = channel.state
        channel.state = ChannelState.PAUSED
        channel.save(update_fields=["state", "state_before_pause"])
    return channel


@transaction.atomic
def channel_resume(*, membership: Membership, channel_id: int) -> Channel:
    """Publish to a paused channel again: it returns to the state it had when it was paused, so
    one that needed reconnecting (or was marked so while paused) still needs it."""
    require(membership, Action.CHANNEL_MANAGE)
    channel = _locked(Channel, membership, channel_id)
    if channel.state == ChannelState.PAUSED:
        channel.state = channel.state_before_pause or ChannelState.CONNECTED
        channel.state_before_pause = ""
        channel.save(update_fields=["state", "state_before_pause"])
    return channel


# --- campaigns --------------------------------------------------------------------------------


def _name_taken(model: type[models.Model], workspace_id: int, name: str, pk: int | None) -> bool:
    return (
        model.objects.filter(workspace_id=workspace_id, name__iexact=name).exclude(pk=pk).exists()
    )


def _campaign_duplicate(name: str) -> ValidationError:
    return ValidationError(
        {
            "name": _("A campaign named “%(name)s” already exists in this workspace.")
            % {"name": name}
        }
    )


def _check_campaign(campaign: Campaign) -> None:
    if not is_currency_code(campaign.currency):
        raise ValidationError(
            {
                "currency": _(
                    "“%(code)s” is not a currency code. Enter an ISO 4217 code, for example "
                    "EUR, CHF or USD."
                )
                % {"code": campaign.currency}
            }
        )
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise ValidationError(
            {
                "ends_on": _(
                    "A campaign cannot end before it starts. Choose an end on or after the start."
                )
            }
        )
    if _name_taken(Campaign, campaign.workspace_id, campaign.name, campaign.pk):
        raise _campaign_duplicate(campaign.name)


@transaction.atomic
def campaign_create(
    *,
    membership: Membership,
    name: str,
    color: str = "#0d6efd",
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    description: str = "",
    utm_campaign: str = "",
    budget: Decimal | None = None,
    currency: str = "EUR",
) -> Campaign:
    require(membership, Action.CAMPAIGN_MANAGE)
    campaign = Campaign(
        workspace=membership.workspace,
        name=name.strip(),
        color=color,
        starts_on=starts_on,
        ends_on=ends_on,
        description=description.strip(),
        utm_campaign=utm_campaign.strip(),
        budget=budget,
        currency=currency.strip().upper(),
    )
    _check_campaign(campaign)
    return _save(campaign, duplicate=_campaign_duplicate(campaign.name))


@transaction.atomic
def campaign_update(
    *,
    membership: Membership,
    campaign_id: int,
    name: str,
    color: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    description: str = "",
    utm_campaign: str = "",
    budget: Decimal | None = None,
    currency: str = "EUR",
) -> Campaign:
    require(membership, Action.CAMPAIGN_MANAGE)
    campaign = _locked(Campaign, membership, campaign_id)
    campaign.name = name.strip()
    campaign.color = color
    campaign.starts_on = starts_on
    campaign.ends_on = ends_on
    campaign.description = description.strip()
    campaign.utm_campaign = utm_campaign.strip()
    campaign.budget = budget
    campaign.currency = currency.strip().upper()
    _check_campaign(campaign)
    return _save(campaign, duplicate=_campaign_duplicate(campaign.name))


@transaction.atomic
def campaign_delete(*, membership: Membership, campaign_id: int) -> None:
    """Delete a campaign; its posts stay, without a campaign."""
    require(membership, Action.CAMPAIGN_MANAGE)
    _locked(Campaign, membership, campaign_id).delete()


# --- labels -----------------------------------------------------------------------------------


def _label_duplicate(name: str) -> ValidationError:
    return ValidationError(
        {"name": _("A label named “%(name)s” already exists in this workspace.") % {"name": name}}
    )


@transaction.atomic
def label_create(*, membership: Membership, name: str, color: str = "#6c757d") -> Label:
    require(membership, Action.LABEL_MANAGE)
    label = Label(workspace=membership.workspace, name=name.strip(), color=color)
    if _name_taken(Label, label.workspace_id, label.name, None):
        raise _label_duplicate(label.name)
    return _save(label, duplicate=_label_duplicate(label.name))


@transaction.atomic
def label_update(*, membership: Membership, label_id: int, name: str, color: str) -> Label:
    require(membership, Action.LABEL_MANAGE)
    label = _locked(Label, membership, label_id)
    label.name = name.strip()
    label.color = color
    if _name_taken(Label, label.workspace_id, label.name, label.pk):
        raise _label_duplicate(label.name)
    return _save(label, duplicate=_label_duplicate(label.name))


@transaction.atomic
def label_delete(*, membership: Membership, label_id: int) -> None:
    """Delete a label; it disappears from the posts that carried it."""
    require(membership, Action.LABEL_MANAGE)
    _locked(Label, membership, label_id).delete()


# --- members ----------------------------------------------------------------------------------


def _lock_workspace_members(membership: Membership) -> None:
    """Serialise membership changes per workspace, so two owners cannot demote each other at once."""
    Workspace.objects.select_for_update().filter(pk=membership.workspace_id).first()


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": _("Choose one of the roles offered.")})


def membership_is_last_owner(target: Membership) -> bool:
    """Whether `target` is its workspace's only owner, who may not lose the role or leave (nor
    delete their account: accounts.services). Ask under the workspace's member lock."""
    if target.role != Role.OWNER:
        return False
    return not (
        Membership.objects.filter(workspace_id=target.workspace_id, role=Role.OWNER)
        .exclude(pk=target.pk)
        .exists()
    )


def _check_keeps_an_owner(target: Membership) -> None:
    if membership_is_last_owner(target):
        raise ValidationError(
            _("%(user)s is the last owner of this workspace. Make someone else an owner first.")
            % {"user": target.user}
        )


# --- invitations ------------------------------------------------------------------------------
# People join a workspace only by accepting an invitation sent to an e-mail address: nobody is
# looked up by name or address, and the inviter's answer is the same whoever the address
# belongs to (a member already, an account, nobody yet).

INVITATION_SALT = "calendar_app.invitation"


class InvitationInvalid(PermissionDenied):
    """Tampered or unknown token: the page answers 403."""


class InvitationGone(Exception):
    """Accepted, declined, revoked or expired: the page answers 410 and nothing changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Joined:
    membership: Membership
    joined: bool  # False: a member already, who keeps their role


def _invitation_gone_message(state: str) -> str:
    return {
        InvitationState.ACCEPTED: _("This invitation was already accepted."),
        InvitationState.DECLINED: _("This invitation was declined."),
        InvitationState.REVOKED: _(
            "This invitation was withdrawn. Ask the person who invited you for a new one."
        ),
        InvitationState.EXPIRED: _(
            "This invitation has expired. Ask the person who invited you for a new one."
        ),
    }[state]


def _open_invitations(workspace_id: int, email: str) -> models.QuerySet[Invitation]:
    return Invitation.objects.filter(
        workspace_id=workspace_id,
        email=email,
        accepted_at__isnull=True,
        declined_at__isnull=True,
        revoked_at__isnull=True,
    )


@transaction.atomic
def invitation_create(*, membership: Membership, email: str, role: str) -> tuple[Invitation, str]:
    """Invite `email` to the workspace as `role`; returns the invitation and its token (shown
    once: only its hash is stored). The invitee is e-mailed the link once this commits.

    Whether the address belongs to a member or an account is not looked at here (it is found
    out when the link is accepted). An open invitation to the same address is replaced:
    inviting again is how to resend.
    """
    require(membership, Action.MEMBER_INVITE)
    _check_role(role)
    refusal = invitation_role_refusal(membership, role)
    if refusal:
        raise PermissionDenied(refusal)
    email = email.strip().lower()
    try:
        validate_email(email)
        valid = len(email) <= Invitation._meta.get_field("email").max_length
    except ValidationError:
        valid = False
    if not valid:
        raise ValidationError({"email": _("Enter a valid e-mail address.")})
    _lock_workspace_members(membership)
    now = timezone.now()
    _open_invitations(membership.workspace_id, email).update(
        revoked_at=now, revoked_by=membership.user
    )
    secret, token_hash = secret_new()
    invitation = Invitation.objects.create(
        workspace=membership.workspace,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=membership.user,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.INVITATION_DAYS),
    )
    token = token_sign(salt=INVITATION_SALT, pk=invitation.pk, secret=secret)
    # Sent from here, not by a task: the token must not wait in the broker in clear. A mail
    # server that is down is logged (never the link) and the inviter has the link to pass on.
    transaction.on_commit(
        lambda: invitation_email_send(invitation=invitation, token=token), robust=True
    )
    return invitation, token


def invitation_url(token: str) -> str:
    """The invitation page's address on this site (SITE_URL), for the e-mail."""
    return urljoin(settings.SITE_URL.rstrip("/") + "/", reverse("invitation", args=[token])[1:])


def invitation_email_send(*, invitation: Invitation, token: str) -> None:
    """The invitation e-mail, in the workspace's language: the invitee may have no account yet,
    and looking one up by the address is what invitations avoid."""
    workspace = invitation.workspace
    with translation.override(workspace.language or settings.LANGUAGE_CODE):
        context = {
            "workspace": workspace,
            "inviter": invitation.invited_by,
            "role": invitation.get_role_display(),
            "link": invitation_url(token),
            "expires": formats.date_format(
                invitation.expires_at.astimezone(workspace.tz), "SHORT_DATETIME_FORMAT"
            ),
        }
        subject = render_to_string("calendar_app/email/invitation_subject.txt", context)
        body = render_to_string("calendar_app/email/invitation_body.txt", context)
    send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


@transaction.atomic
def invitation_revoke(*, membership: Membership, invitation_id: int) -> Invitation:
    """Withdraw an open invitation: its link stops working. DoesNotExist for another
    workspace's; one already answered or expired is refused and stays as it is."""
    require(membership, Action.MEMBER_INVITE)
    _lock_workspace_members(membership)
    invitation = _locked(Invitation, membership, invitation_id)
    state = invitation.state
    if state in (InvitationState.ACCEPTED, InvitationState.DECLINED, InvitationState.EXPIRED):
        raise ValidationError(
            _("This invitation can no longer be withdrawn: it was answered or has expired.")
        )
    if state == InvitationState.PENDING:
        invitation.revoked_at = timezone.now()
        invitation.revoked_by = membership.user
        invitation.save(update_fields=["revoked_at", "revoked_by"])
    return invitation


def invitation_resolve(token: str, *, lock: bool = False) -> Invitation:
    """The pending invitation `token` stands for (workspace and inviter joined);
    InvitationInvalid or InvitationGone (saying why) otherwise."""
    rows = Invitation.objects.select_related("workspace", "invited_by")
    if lock:
        rows = rows.select_for_update(of=("self",))
    try:
        pk, secret = token_open(salt=INVITATION_SALT, token=token)
        invitation = rows.get(pk=pk)
    except (TokenInvalid, Invitation.DoesNotExist):
        raise InvitationInvalid(_("This invitation link is not valid.")) from None
    if not secret_matches(secret, invitation.token_hash):
        raise InvitationInvalid(_("This invitation link is not valid."))
    state = invitation.state
    if state != InvitationState.PENDING:
        raise InvitationGone(_invitation_gone_message(state))
    return invitation


def _invitation_lock(token: str) -> Invitation:
    """Resolve and lock, taking the workspace's member lock first (the order invitation_create
    and invitation_revoke take them in), then checking the state again under the lock."""
    workspace_id = invitation_resolve(token).workspace_id
    Workspace.objects.select_for_update().filter(pk=workspace_id).first()
    return invitation_resolve(token, lock=True)


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Joined:
    """Join the invitation's workspace as its role. Any logged-in account may accept (the link
    is the proof; the invitation records which account used it). A member already keeps their
    role and nothing else changes, but the invitation is used up all the same."""
    invitation = _invitation_lock(token)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    existing = (
        Membership.objects.select_related("workspace")
        .filter(workspace_id=invitation.workspace_id, user=user)
        .first()
    )
    if existing is not None:
        return Joined(membership=existing, joined=False)
    membership = Membership.objects.create(
        workspace=invitation.workspace, user=user, role=invitation.role
    )
    return Joined(membership=membership, joined=True)


@transaction.atomic
def invitation_decline(*, token: str, user: User | None) -> Invitation:
    """Say no: the link stops working and nobody joins. Possible without an account."""
    invitation = _invitation_lock(token)
    invitation.declined_at = timezone.now()
    invitation.declined_by = user
    invitation.save(update_fields=["declined_at", "declined_by"])
    return invitation


@transaction.atomic
def invitation_accept_with_new_account(
    *, token: str, username: str, password: str, first_name: str = "", last_name: str = ""
) -> tuple[User, Joined]:
    """Create an account for the invited address and accept with it, in one step: no account is
    left behind when the invitation cannot be used (any more)."""
    invitation = invitation_resolve(token)
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken. Choose another one.")})
    user = User(
        username=username,
        email=invitation.email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
    )
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password1": exc.messages}) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same name, registered a moment ago
        raise ValidationError(
            {"username": _("This username is taken. Choose another one.")}
        ) from None
    return user, invitation_accept(token=token, user=user)


@transaction.atomic
def member_set_role(*, membership: Membership, member_id: int, role: str) -> Membership:
    require(membership, Action.MEMBER_MANAGE)
    _check_role(role)
    _lock_workspace_members(membership)
    target = _locked(Membership, membership, member_id)
    if target.role == role:
        return target
    if role != Role.OWNER:
        _check_keeps_an_owner(target)
    target.role = role
    target.save(update_fields=["role"])
    if target.pk == membership.pk:
        membership.role = role
    return target


@transaction.atomic
def member_remove(*, membership: Membership, member_id: int) -> None:
    require(membership, Action.MEMBER_MANAGE)
    _lock_workspace_members(membership)
    target = _locked(Membership, membership, member_id)
    _check_keeps_an_owner(target)
    target.delete()


S = PostStatus


# --- approval policy --------------------------------------------------------------------------


@dataclass
class StepInput:
    name: str
    roles: list[str]
    members: list[User]
    external: bool = False
    required: int = 1


@transaction.atomic
def policy_update(
    *,
    membership: Membership,
    mode: str,
    allow_self_approval: bool,
    time_moves_need_review: bool,
    reminder_hours: int,
    skip_roles: list[str],
    steps: list[StepInput],
) -> ApprovalPolicy:
    """Replace the workspace's policy and steps. Posts already in review keep their snapshot."""
    require(membership, Action.WORKSPACE_MANAGE)
    workspace = membership.workspace
    if mode not in ApprovalMode.values:
        raise ValidationError(_("Choose an approval mode."))
    valid_roles = {Role.OWNER.value, Role.MANAGER.value, Role.EDITOR.value}
    if any(r not in valid_roles for r in skip_roles):
        raise ValidationError(_("Only owners, managers and editors can be allowed to skip steps."))
    if mode != ApprovalMode.NONE and not steps:
        raise ValidationError(_("Add at least one approval step."))
    member_ids = set(
        Membership.objects.filter(workspace=workspace)
        .exclude(role=Role.VIEWER)
        .values_list("user_id", flat=True)
    )
    for step in steps:
        if not step.name.strip():
            raise ValidationError(_("Every step needs a name."))
        if any(r not in valid_roles for r in step.roles):
            raise ValidationError(_("Viewers cannot approve posts."))
        if any(u.pk not in member_ids for u in step.members):
            raise ValidationError(
                _("Named approvers must be members of this workspace who are not viewers.")
            )
        if not (step.roles or step.members or step.external):
            raise ValidationError(
                _("The step “%(name)s” needs at least one role, member or external reviewer.")
                % {"name": step.name}
            )
        if step.required < 1:
            raise ValidationError(_("A step needs at least one approval."))
    policy, _created = ApprovalPolicy.objects.select_for_update().get_or_create(workspace=workspace)
    policy.mode = mode
    policy.allow_self_approval = allow_self_approval
    policy.time_moves_need_review = time_moves_need_review
    policy.reminder_hours = reminder_hours
    policy.skip_roles = sorted(set(skip_roles))
    policy.save()
    policy.steps.all().delete()
    for position, step in enumerate(steps):
        row = ApprovalStep.objects.create(
            policy=policy,
            position=position,
            name=step.name.strip(),
            approver_roles=sorted(set(step.roles)),
            external=step.external,
            required_approvals=step.required,
        )
        row.approver_members.set(step.members)
    if mode == ApprovalMode.REQUIRED:
        _unschedule_unapproved(workspace, actor=membership.user)
    return policy


def _unschedule_unapproved(workspace: Workspace, *, actor: User) -> int:
    """Posts scheduled while approval was not required would silently never go out once it is:
    send them back to draft, visibly and on the record, so their authors submit them."""
    moved = 0
    candidates = (
        Post.objects.select_for_update()
        .filter(workspace=workspace, status=S.SCHEDULED)
        .order_by("id")
    )
    for post in candidates:
        if post_cleared_for_publishing(post) or publication_of(post.pk).went_out:
            continue  # what went out stays as it is
        post_transition(
            post=post,
            to_status=S.DRAFT,
            action=PostAction.APPROVAL_NOW_REQUIRED,
            actor=actor,
            comment=_("Approval is now required in this workspace: submit the post for review."),
        )
        moved += 1
    return moved
