"""The invitation link: whoever holds it sees which workspace invites them, as what and by whom,
and accepts (logged in, or after creating an account) or declines. There is no workspace in the
URL: the signed token is all, like an external review link.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.forms import InviteeSignUpForm
from calendar_app.models import Invitation
from calendar_app.services import workspaces as services


def _unusable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """An invalid link answers 403, one that was used, withdrawn or expired 410; nothing changed."""
    if isinstance(exc, services.InvitationGone):
        return render(
            request, "calendar_app/invitations/unusable.html", {"message": exc.message}, status=410
        )
    return render(
        request, "calendar_app/invitations/unusable.html", {"message": str(exc)}, status=403
    )


def _context(invitation: Invitation, token: str) -> dict:
    here = reverse("invitation", args=[token])
    return {
        "invitation": invitation,
        "login_url": f"{reverse('login')}?{urlencode({'next': here})}",
        "sign_up_url": reverse("invitation_sign_up", args=[token]),
    }


@never_cache
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_resolve(token)
    except (services.InvitationInvalid, services.InvitationGone) as exc:
        return _unusable(request, exc)
    if request.method != "POST":
        return render(
            request, "calendar_app/invitations/invitation.html", _context(invitation, token)
        )
    action = request.POST.get("action", "")
    try:
        if action == "accept":
            if not request.user.is_authenticated:
                return redirect(_context(invitation, token)["login_url"])
            joined = services.invitation_accept(token=token, user=request.user)
            workspace = joined.membership.workspace
            params = {"workspace": workspace.name, "role": joined.membership.get_role_display()}
            if joined.joined:
                messages.success(
                    request, _("Welcome to “%(workspace)s”: you joined as %(role)s.") % params
                )
            else:
                messages.info(
                    request,
                    _("You are a member of “%(workspace)s” already (as %(role)s): nothing changed.")
                    % params,
                )
            return redirect("calendar:workspace_home", workspace.slug)
        if action == "decline":
            declined = services.invitation_decline(
                token=token, user=request.user if request.user.is_authenticated else None
            )
            return render(
                request, "calendar_app/invitations/declined.html", {"invitation": declined}
            )
    except (services.InvitationInvalid, services.InvitationGone) as exc:
        return _unusable(request, exc)
    context = {**_context(invitation, token), "error": _("Choose to accept or to decline.")}
    return render(request, "calendar_app/invitations/invitation.html", context, status=400)


@never_cache
def invitation_sign_up(request: HttpRequest, token: str) -> HttpResponse:
    """A minimal sign-up for invitees only: the account's e-mail is the invited address."""
    if request.user.is_authenticated:
        return redirect("invitation", token)
    try:
        invitation = services.invitation_resolve(token)
    except (services.InvitationInvalid, services.InvitationGone) as exc:
        return _unusable(request, exc)
    form = InviteeSignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user, joined = services.invitation_accept_with_new_account(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except (services.InvitationInvalid, services.InvitationGone) as exc:
            return _unusable(request, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            workspace = joined.membership.workspace
            messages.success(
                request,
                _("Welcome to “%(workspace)s”: you joined as %(role)s.")
                % {"workspace": workspace.name, "role": joined.membership.get_role_display()},
            )
            return redirect("calendar:workspace_home", workspace.slug)
    return render(
        request,
        "calendar_app/invitations/sign_up.html",
        {**_context(invitation, token), "form": form},
        status=400 if request.method == "POST" else 200,
    )
