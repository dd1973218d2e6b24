"""The connect flows in the UI: choose a platform, sign in there (OAuth) or enter an app password
or bot token, come back to the one callback URL. Owners and managers only; views parse input,
call publishing.connections and show its refusals as messages for people."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from calendar_app.models import Channel, Membership
from calendar_app.params import parse_id, parse_text
from calendar_app.permissions import Action, can, require
from calendar_app.platforms import SPECS, Platform
from calendar_app.views.base import deny_message, workspace_context, workspace_view
from publishing import connections
from publishing.adapters.base import ConnectError
from publishing.adapters.registry import AdapterNotConfigured, get_adapter
from publishing.forms import connect_form_for

logger = logging.getLogger(__name__)

SESSION_KEY = "publishing.connect"


def _render(
    request: HttpRequest, membership: Membership, template: str, status: int = 200, **context
) -> HttpResponse:
    context = {
        **workspace_context(request, membership),
        "nav": "settings",
        "section": "channels",
        **context,
    }
    return render(request, template, context, status=status)


def _refuse(request: HttpRequest, membership: Membership, exc: PermissionDenied) -> HttpResponse:
    return _render(
        request, membership, "calendar_app/settings/denied.html", 403, reason=deny_message(exc)
    )


def callback_url(request: HttpRequest) -> str:
    """The OAuth redirect URL registered with every platform: https://<host>/connect/callback/."""
    return request.build_absolute_uri(reverse("publishing:oauth_callback"))


def platform_availability(platform: str) -> tuple[bool, str]:
    """(can be connected here, why not) for the platform chooser."""
    try:
        adapter = get_adapter(platform)
    except AdapterNotConfigured:
        return False, _("Not available on this server yet.")
    auth = adapter.capabilities.auth
    if auth in connections.OAUTH_AUTH and platform != Platform.MASTODON:
        options = adapter.options
        client_id = getattr(adapter, "client_id", "") or options.get("client_id", "")
        if not client_id:
            return False, _(
                "An administrator has to create the developer app first "
                "(%(setting)s_CLIENT_ID and %(setting)s_CLIENT_SECRET)."
            ) % {"setting": platform.upper()}
    if auth == "none":
        return False, ""
    return True, ""


def _log_connect_error(platform: str, exc: ConnectError) -> None:
    # `detail` is already free of secrets (http.scrub); it helps an administrator.
    logger.info("Connecting %s failed: %s (%s)", platform, exc.message, exc.detail)


@workspace_view()
def connect_choose(request: HttpRequest, membership: Membership) -> HttpResponse:
    try:
        require(membership, Action.CHANNEL_MANAGE)
    except PermissionDenied as exc:
        return _refuse(request, membership, exc)
    platforms = []
    real = [p for p in settings.PUBLISHING_ADAPTERS if p != Platform.TESTNET]
    for platform in sorted(real, key=lambda p: str(Platform(p).label)):
        available, reason = platform_availability(platform)
        platforms.append(
            {
                "key": platform,
                "label": Platform(platform).label,
                "icon": SPECS[platform].icon,
                "available": available,
                "reason": reason,
            }
        )
    return _render(
        request,
        membership,
        "publishing/connect_choose.html",
        platforms=platforms,
        # Test mode is offered apart from the real platforms, and only to owners.
        test_network=Platform.TESTNET in settings.PUBLISHING_ADAPTERS
        and can(membership, Action.TEST_CHANNEL_ADD),
    )


@workspace_view()
@require_POST
def connect_test_network(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Add a channel on the built-in test network (owners, on purpose)."""
    try:
        channel = connections.connection_add_test_channel(
            membership=membership,
            name=parse_text(request.POST.get("name"), max_length=120),
            feed_url=request.build_absolute_uri(
                reverse("publishing:sandbox", args=[membership.workspace.slug])
            ),
        )
    except PermissionDenied as exc:
        return _refuse(request, membership, exc)
    messages.success(
        request,
        _(
            "%(channel)s is a test channel: posts scheduled on it appear on the sandbox feed "
            "at their time, and nothing leaves this server."
        )
        % {"channel": channel.name},
    )
    return redirect("calendar:channels", membership.workspace.slug)


@workspace_view()
def connect_platform(request: HttpRequest, membership: Membership, platform: str) -> HttpResponse:
    """GET: the platform's form (or a "continue to X" button); POST: start the sign-in or
    connect with the secret. `?channel=<id>` reconnects that channel."""
    try:
        require(membership, Action.CHANNEL_MANAGE)
    except PermissionDenied as exc:
        return _refuse(request, membership, exc)
    if (
        platform not in settings.PUBLISHING_ADAPTERS
        or platform not in Platform.values
        or platform == Platform.TESTNET  # added with connect_test_network, not signed in to
    ):
        return redirect("publishing:connect", membership.workspace.slug)
    channel = None
    raw_channel = request.POST.get("channel") or request.GET.get("channel")
    if raw_channel:
        channel = Channel.objects.filter(
            workspace=membership.workspace, pk=parse_id(raw_channel) or 0
        ).first()
        if channel is None:
            raise Http404
    available, reason = platform_availability(platform)
    form_class = connect_form_for(platform)
    form = form_class(request.POST if request.method == "POST" else None)
    if request.method == "POST" and available and form.is_valid():
        args = form.connection_args()
        try:
            if get_adapter(platform).capabilities.auth in connections.OAUTH_AUTH:
                url, pending = connections.connection_start(
                    membership=membership,
                    platform=platform,
                    redirect_uri=callback_url(request),
                    config=args.get("config"),
                    channel_id=channel.pk if channel else None,
                )
                request.session[SESSION_KEY] = pending
                return HttpResponseRedirect(url)
            connected = connections.connection_connect_with_secret(
                membership=membership,
                platform=platform,
                channel_id=channel.pk if channel else None,
                **args,
            )
        except PermissionDenied as exc:
            return _refuse(request, membership, exc)
        except ConnectError as exc:
            _log_connect_error(platform, exc)
            form.add_error(None, exc.message)
        else:
            messages.success(request, _connected_message(connected))
            return redirect("calendar:channels", membership.workspace.slug)
    return _render(
        request,
        membership,
        "publishing/connect_form.html",
        status=400 if form.errors else 200,
        platform={"key": platform, "label": Platform(platform).label, "icon": SPECS[platform].icon},
        form=form,
        channel=channel,
        available=available,
        reason=reason,
        is_oauth=available and get_adapter(platform).capabilities.auth in connections.OAUTH_AUTH,
        callback_url=callback_url(request),
    )


def _connected_message(channel: Channel) -> str:
    if channel.handle:
        return _("%(channel)s (%(handle)s) is connected.") % {
            "channel": channel.name,
            "handle": channel.handle,
        }
    return _("%(channel)s is connected.") % {"channel": channel.name}


@require_GET
@login_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where every platform sends the user back: /connect/callback/?code=…&state=…"""
    signed_pending = request.session.pop(SESSION_KEY, None)  # one use only
    workspace_slug = connections.pending_field(signed_pending, "workspace")
    try:
        channel = connections.connection_finish(
            user=request.user,
            signed_pending=signed_pending,
            state=request.GET.get("state", ""),
            # OAuth 1.0a answers with oauth_verifier instead of code.
            code=request.GET.get("code") or request.GET.get("oauth_verifier", ""),
            error=request.GET.get("error", ""),
        )
    except (ConnectError, PermissionDenied) as exc:
        platform = connections.pending_field(signed_pending, "platform")
        if isinstance(exc, ConnectError):
            _log_connect_error(platform, exc)
        messages.error(request, getattr(exc, "message", "") or deny_message(exc))
        if workspace_slug:
            return redirect("publishing:connect", workspace_slug)
        return redirect("calendar:home")
    messages.success(request, _connected_message(channel))
    return redirect("calendar:channels", channel.workspace.slug)
