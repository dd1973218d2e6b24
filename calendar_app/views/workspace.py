"""Workspace settings: general, channels, campaigns, labels, members (and invitations).

Every member may look (read-only); changes are POSTed and refused with 403 and a message for
roles that may not make them. Objects of another workspace answer 404.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.lockouts import lockouts_for_members
from accounts.sso import sso_session
from calendar_app import selectors
from calendar_app import settings_forms as forms
from calendar_app.channel_health import channel_problem, held_posts
from calendar_app.models import (
    Campaign,
    Channel,
    ChannelState,
    Invitation,
    Label,
    Membership,
    Role,
)
from calendar_app.params import parse_id
from calendar_app.permissions import Action, can, invitation_role_refusal, require
from calendar_app.platforms import SPECS
from calendar_app.services import workspaces as services
from calendar_app.views.base import deny_message, workspace_context, workspace_view


def _render(
    request: HttpRequest,
    membership: Membership,
    template: str,
    section: str,
    status: int = 200,
    **context,
) -> HttpResponse:
    context = {
        **workspace_context(request, membership),
        "nav": "settings",
        "section": section,
        "specs": SPECS,
        "PAUSED": ChannelState.PAUSED,
        **context,
    }
    return render(request, f"calendar_app/settings/{template}", context, status=status)


def _refuse(
    request: HttpRequest, membership: Membership, exc: PermissionDenied, section: str
) -> HttpResponse:
    return _render(
        request, membership, "denied.html", section, status=403, reason=deny_message(exc)
    )


def _apply_errors(form: django_forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names, else on top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- general ----------------------------------------------------------------------------------


@workspace_view()
def settings_home(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    may_edit = can(membership, Action.WORKSPACE_MANAGE)
    form = forms.WorkspaceForm.for_workspace(
        workspace, request.POST if request.method == "POST" else None
    )
    if request.method == "POST":
        try:
            require(membership, Action.WORKSPACE_MANAGE)
            if form.is_valid():
                old_tz = workspace.tz
                updated = services.workspace_update(
                    membership=membership, sso_session=sso_session(request), **form.cleaned_data
                )
                messages.success(request, _("The workspace settings were saved."))
                if updated.timezone != old_tz.key:
                    _warn_time_zone_change(request, updated, old_tz)
                return redirect("calendar:settings", workspace.slug)
        except PermissionDenied as exc:
            return _refuse(request, membership, exc, "general")
        except ValidationError as exc:
            _apply_errors(form, exc)
    if not may_edit:
        forms.disable_all(form)
    return _render(request, membership, "general.html", "general", form=form, may_edit=may_edit)


def _warn_time_zone_change(request: HttpRequest, workspace, old_tz: zoneinfo.ZoneInfo) -> None:
    """Planned posts keep their moment when the time zone changes: say what that means for their
    local times, with the next one as the example."""
    upcoming = selectors.upcoming_scheduled_posts(workspace=workspace)
    if not upcoming.count:
        return
    at = upcoming.next_at
    messages.warning(
        request,
        ngettext(
            "%(count)d planned post keeps its exact moment and now shows at a new local time: "
            "%(old_time)s in %(old_tz)s is %(new_time)s in %(new_tz)s. Move it in the calendar "
            "if it should go out at the same local time as before.",
            "%(count)d planned posts keep their exact moment and now show at new local times: "
            "the next one, %(old_time)s in %(old_tz)s, is %(new_time)s in %(new_tz)s. Move them "
            "in the calendar if they should go out at the same local times as before.",
            upcoming.count,
        )
        % {
            "count": upcoming.count,
            "old_time": date_format(at.astimezone(old_tz), "SHORT_DATETIME_FORMAT"),
            "old_tz": old_tz.key,
            "new_time": date_format(at.astimezone(workspace.tz), "SHORT_DATETIME_FORMAT"),
            "new_tz": workspace.timezone,
        },
    )


# --- channels, campaigns, labels: one list page and one edit page each --------------------------


@dataclass(frozen=True)
class ObjectPages:
    """What differs between the channel, campaign and label settings pages."""

    model: type[models.Model]
    action: Action
    section: str
    list_route: str
    form_for: Callable  # (obj | None, data) -> Form
    create: Callable  # (membership=, **cleaned_data) -> obj
    update: Callable  # (membership=, <id_arg>=, **cleaned_data) -> obj
    id_arg: str
    added: str
    saved: str
    # name of a POSTed `action` -> (service(membership=, <id_arg>=), message with %(name)s)
    extra: dict[str, tuple[Callable, str]] = field(default_factory=dict)


CHANNELS = ObjectPages(
    model=Channel,
    action=Action.CHANNEL_MANAGE,
    section="channels",
    list_route="calendar:channels",
    form_for=forms.ChannelForm.for_channel,
    create=services.channel_create,
    update=services.channel_update,
    id_arg="channel_id",
    added=gettext_lazy("The channel %(name)s was added."),
    saved=gettext_lazy("The channel %(name)s was saved."),
    extra={
        "pause": (
            services.channel_pause,
            gettext_lazy(
                "%(name)s is paused: nothing will be published there until it is resumed."
            ),
        ),
        "resume": (services.channel_resume, gettext_lazy("%(name)s is active again.")),
    },
)
CAMPAIGNS = ObjectPages(
    model=Campaign,
    action=Action.CAMPAIGN_MANAGE,
    section="campaigns",
    list_route="calendar:campaigns",
    form_for=forms.CampaignForm.for_campaign,
    create=services.campaign_create,
    update=services.campaign_update,
    id_arg="campaign_id",
    added=gettext_lazy("The campaign %(name)s was created."),
    saved=gettext_lazy("The campaign %(name)s was saved."),
    extra={
        "delete": (
            services.campaign_delete,
            gettext_lazy("The campaign %(name)s was deleted. Its posts were kept."),
        )
    },
)
LABELS = ObjectPages(
    model=Label,
    action=Action.LABEL_MANAGE,
    section="labels",
    list_route="calendar:labels",
    form_for=forms.LabelForm.for_label,
    create=services.label_create,
    update=services.label_update,
    id_arg="label_id",
    added=gettext_lazy("The label %(name)s was created."),
    saved=gettext_lazy("The label %(name)s was saved."),
    extra={
        "delete": (
            services.label_delete,
            gettext_lazy("The label %(name)s was deleted and removed from its posts."),
        )
    },
)


def _object_edit(
    request: HttpRequest, membership: Membership, pages: ObjectPages, pk: int | None
) -> HttpResponse:
    workspace = membership.workspace
    obj = get_object_or_404(pages.model, pk=pk, workspace=workspace) if pk else None
    may_edit = can(membership, pages.action)
    form = pages.form_for(obj, request.POST if request.method == "POST" else None)
    try:
        if request.method == "POST":
            require(membership, pages.action)
            action = request.POST.get("action", "save")
            if obj is not None and action in pages.extra:
                service, done = pages.extra[action]
                service(membership=membership, **{pages.id_arg: obj.pk})
                messages.success(request, str(done) % {"name": obj.name})
                return redirect(pages.list_route, workspace.slug)
            if form.is_valid():
                if obj is None:
                    obj = pages.create(membership=membership, **form.cleaned_data)
                    done = pages.added
                else:
                    obj = pages.update(
                        membership=membership, **{pages.id_arg: obj.pk}, **form.cleaned_data
                    )
                    done = pages.saved
                messages.success(request, str(done) % {"name": obj.name})
                return redirect(pages.list_route, workspace.slug)
        elif obj is None:
            require(membership, pages.action)  # nothing to look at on an empty "new" form
    except PermissionDenied as exc:
        return _refuse(request, membership, exc, pages.section)
    except ValidationError as exc:
        _apply_errors(form, exc)
    if not may_edit:
        forms.disable_all(form)
    return _render(
        request,
        membership,
        f"{pages.section[:-1]}_form.html",
        pages.section,
        form=form,
        obj=obj,
        may_edit=may_edit,
    )


@workspace_view()
def channel_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    channels = Channel.objects.filter(workspace=membership.workspace).annotate(
        post_count=Count("variants")
    )
    holds = Counter(h.channel.pk for h in held_posts(membership.workspace, limit=1000))
    channels = list(channels)
    for channel in channels:  # how many planned posts wait for this channel to be fixed
        channel.holds = holds.get(channel.pk, 0)
        channel.problem = channel_problem(channel, workspace_slug=membership.workspace.slug)
    return _render(
        request,
        membership,
        "channels.html",
        "channels",
        channels=channels,
        may_edit=can(membership, Action.CHANNEL_MANAGE),
    )


@workspace_view()
def channel_edit(request: HttpRequest, membership: Membership, pk: int | None = None):
    return _object_edit(request, membership, CHANNELS, pk)


@workspace_view()
def campaign_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    campaigns = Campaign.objects.filter(workspace=membership.workspace).annotate(
        post_count=Count("posts")
    )
    return _render(
        request,
        membership,
        "campaigns.html",
        "campaigns",
        campaigns=list(campaigns),
        may_edit=can(membership, Action.CAMPAIGN_MANAGE),
    )


@workspace_view()
def campaign_edit(request: HttpRequest, membership: Membership, pk: int | None = None):
    return _object_edit(request, membership, CAMPAIGNS, pk)


@workspace_view()
def label_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    labels = Label.objects.filter(workspace=membership.workspace).annotate(
        post_count=Count("posts")
    )
    return _render(
        request,
        membership,
        "labels.html",
        "labels",
        labels=list(labels),
        may_edit=can(membership, Action.LABEL_MANAGE),
    )


@workspace_view()
def label_edit(request: HttpRequest, membership: Membership, pk: int | None = None):
    return _object_edit(request, membership, LABELS, pk)


# --- members ----------------------------------------------------------------------------------


@workspace_view()
def member_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The member list; owners invite people, change roles and remove members here (POST
    `action`). A new invitation's link is shown once, in the answer to its POST, and kept
    nowhere else (not in the session either)."""
    workspace = membership.workspace
    invite_form = _invite_form(membership)
    new_invitation_url = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "invite":
                require(membership, Action.MEMBER_INVITE)
                invite_form = _invite_form(membership, request.POST)
                if invite_form.is_valid():
                    invitation, token = services.invitation_create(
                        membership=membership, **invite_form.cleaned_data
                    )
                    # The same answer whoever the address belongs to (nobody is looked up).
                    messages.success(
                        request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                    )
                    new_invitation_url = request.build_absolute_uri(
                        reverse("invitation", args=[token])
                    )
                    invite_form = _invite_form(membership)
            else:
                messages.success(request, _member_action(request, membership, action))
                if not membership.role:  # the owner left the workspace
                    return redirect("calendar:home")
                return redirect("calendar:members", workspace.slug)
        except PermissionDenied as exc:
            return _refuse(request, membership, exc, "members")
        except ValidationError as exc:
            if action == "invite":
                _apply_errors(invite_form, exc)
            else:
                messages.error(request, " ".join(exc.messages))
    members = (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__username")
    )
    members = list(members)
    may_invite = can(membership, Action.MEMBER_INVITE)
    lockouts = []
    if can(membership, Action.SIGN_IN_LOG_VIEW):
        lockouts = lockouts_for_members(
            [m.user.username for m in members], [m.user.email for m in members]
        )
    return _render(
        request,
        membership,
        "members.html",
        "members",
        members=members,
        lockouts=lockouts,
        show_lockouts=can(membership, Action.SIGN_IN_LOG_VIEW),
        invite_form=invite_form,
        new_invitation_url=new_invitation_url,
        invitations=selectors.workspace_invitations(workspace) if may_invite else [],
        roles=Role.choices,
        may_edit=can(membership, Action.MEMBER_MANAGE),
        may_invite=may_invite,
        show_emails=can(membership, Action.MEMBER_EMAILS_VIEW),
    )


def _invite_form(membership: Membership, data=None) -> forms.MemberInviteForm:
    """The invitation form, offering only the roles this member may hand out."""
    form = forms.MemberInviteForm(data)
    form.fields["role"].choices = [
        (value, label)
        for value, label in Role.choices
        if invitation_role_refusal(membership, value) is None
    ]
    return form


def _member_action(request: HttpRequest, membership: Membership, action: str) -> str:
    """Run the POSTed change of a member or invitation; the success message."""
    if action == "revoke_invitation":
        require(membership, Action.MEMBER_INVITE)
        invitation_id = parse_id(request.POST.get("invitation"))
        if invitation_id is None:
            raise Http404
        try:
            revoked = services.invitation_revoke(membership=membership, invitation_id=invitation_id)
        except Invitation.DoesNotExist:
            raise Http404 from None
        return _("The invitation to %(email)s was withdrawn: its link no longer works.") % {
            "email": revoked.email
        }
    if action not in ("set_role", "remove"):
        raise ValidationError(_("Unknown action."))
    require(membership, Action.MEMBER_MANAGE)
    member_id = parse_id(request.POST.get("member"))
    if member_id is None:
        raise Http404
    target = get_object_or_404(
        Membership.objects.select_related("user"), pk=member_id, workspace=membership.workspace
    )
    if action == "set_role":
        role_form = forms.MemberRoleForm(request.POST)
        if not role_form.is_valid():
            raise ValidationError(_("Choose one of the roles offered."))
        changed = services.member_set_role(
            membership=membership, member_id=target.pk, role=role_form.cleaned_data["role"]
        )
        return _("%(user)s is now %(role)s.") % {
            "user": target.user,
            "role": changed.get_role_display(),
        }
    services.member_remove(membership=membership, member_id=target.pk)
    if target.pk == membership.pk:
        membership.role = ""  # left the workspace: nothing here to go back to
    return _("%(user)s was removed from the workspace.") % {"user": target.user}


# --- approvals ----------------------------------------------------------------------------------


@workspace_view()
def approval_policy(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The approval mode, separation of duties, reminders and the ordered steps (owners edit)."""
    from calendar_app import approval_forms
    from calendar_app.services import review
    from calendar_app.services import workspaces as workspace_services

    workspace = membership.workspace
    may_edit = can(membership, Action.WORKSPACE_MANAGE)
    policy = review.policy_for(workspace)
    if request.method == "POST":
        form = approval_forms.ApprovalPolicyForm(request.POST)
        steps = approval_forms.StepFormSet(
            request.POST, prefix="steps", form_kwargs={"workspace": workspace}
        )
        try:
            require(membership, Action.WORKSPACE_MANAGE)
            if form.is_valid() and steps.is_valid():
                workspace_services.policy_update(
                    membership=membership,
                    **form.cleaned_data,
                    steps=[s for s in (f.to_step() for f in steps.forms) if s is not None],
                )
                messages.success(
                    request,
                    _(
                        "The approval settings were saved. They apply to posts submitted from now on."
                    ),
                )
                return redirect("calendar:approval_policy", workspace.slug)
        except PermissionDenied as exc:
            return _refuse(request, membership, exc, "approvals")
        except ValidationError as exc:
            _apply_errors(form, exc)
    else:
        form = approval_forms.ApprovalPolicyForm(
            initial=approval_forms.ApprovalPolicyForm.initial_for(policy)
        )
        steps = approval_forms.StepFormSet(
            prefix="steps",
            initial=approval_forms.steps_initial(policy, review.policy_steps(policy), workspace),
            form_kwargs={"workspace": workspace},
        )
    if not may_edit:
        forms.disable_all(form)
        for step_form in steps.forms:
            forms.disable_all(step_form)
    return _render(
        request,
        membership,
        "approvals.html",
        "approvals",
        status=400 if request.method == "POST" else 200,
        form=form,
        steps=steps,
        may_edit=may_edit,
    )
