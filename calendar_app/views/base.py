"""What every workspace page shares: membership lookup, the permission check, base context."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from calendar_app.permissions import (
    Action,
    access_workspace,
    allowed_actions,
    require,
    workspaces_for,
)


def workspace_view(action: Action = Action.VIEW):
    """Decorate `view(request, membership, **kwargs)`; answers 404 to non-members.

    `request.membership` and `request.workspace` are set for templates.
    """

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, ws: str, **kwargs):
            membership = access_workspace(request.user, ws)
            require(membership, action)
            request.membership = membership
            request.workspace = membership.workspace
            # Every time on a workspace's pages is in the workspace's time zone (templates
            # convert aware datetimes to the current zone), not the server's UTC.
            with timezone.override(membership.workspace.tz):
                return view(request, membership, **kwargs)

        return wrapper

    return decorator


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
