"""What every workspace page shares: membership lookup, the permission check, base context."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.sso import sso_session
from calendar_app.permissions import (
    Action,
    access_workspace,
    allowed_actions,
    require,
    sso_refusal,
    two_factor_refusal,
    workspaces_for,
)


def workspace_view(action: Action = Action.VIEW):
    """Decorate `view(request, membership, **kwargs)`; answers 404 to non-members.

    A member of a workspace that requires two-factor authentication, from a session not
    verified with it, is sent to their security page (and back here afterwards); one of a
    workspace that requires single sign-on, from a session that did not sign in with it, to the
    login page (and back).
    `request.membership` and `request.workspace` are set for templates.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, ws: str, **kwargs):
            membership = access_workspace(request.user, ws)
            sso = sso_session(request)
            if refusal := sso_refusal(membership, sso_session=sso):
                return sign_in_redirect(request, refusal)
            if refusal := two_factor_refusal(membership, request.user, sso_session=sso):
                return two_factor_redirect(request, refusal)
            require(membership, action)
            request.membership = membership
            request.workspace = membership.workspace
            # Every time on a workspace's pages is in the workspace's time zone (templates
            # convert aware datetimes to the current zone), not the server's UTC.
            with timezone.override(membership.workspace.tz):
                return view(request, membership, **kwargs)

        return wrapper

    return decorator


def two_factor_redirect(request, refusal: str) -> HttpResponse:
    return _away(request, refusal, reverse("account_security"))


def sign_in_redirect(request, refusal: str) -> HttpResponse:
    return _away(request, refusal, reverse("login"))


def _away(request, refusal: str, to: str) -> HttpResponse:
    messages.warning(request, refusal)
    url = f"{to}?{urlencode({'next': request.get_full_path()})}"
    if getattr(request, "htmx", False):
        # A fragment request would swap the security page into the fragment's place.
        return HttpResponse(headers={"HX-Redirect": url})
    return redirect(url)


def workspace_context(request, membership) -> dict:
    """Context every page inside a workspace needs (navbar, switcher, what the user may do)."""
    return {
        "workspace": membership.workspace,
        "membership": membership,
        "can": {action.value: True for action in allowed_actions(membership)},
        "my_workspaces": workspaces_for(request.user),
    }


def deny_message(exc: PermissionDenied) -> str:
    return str(exc) or "Permission denied."
