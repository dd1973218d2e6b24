"""Publishing in the UI: the workspace's publishing log, a post's deliveries per channel (in the
editor), "publish now" / "retry now", marking a manual post done, and /healthz."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from calendar_app.access import post_facts
from calendar_app.channel_health import can_publish, channel_problem, held_posts
from calendar_app.models import Channel, Membership, Post
from calendar_app.params import next_url, parse_id, parse_text
from calendar_app.permissions import Action
from calendar_app.views.base import deny_message, workspace_context, workspace_view
from calendar_app.workflow import PostAction, available_actions
from publishing import selectors, services
from publishing.models import AttemptOutcome, DeliveryState

LOG_PAGE_SIZE = 50
PERIODS = {"1": 1, "7": 7, "30": 30}  # days


HELD_AHEAD = dt.timedelta(days=7)  # how far ahead the log names held posts


@workspace_view(Action.VIEW)
@require_GET
def publishing_log(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    channel_id = parse_id(request.GET.get("channel"))
    outcome = request.GET.get("outcome", "")
    if outcome not in {*AttemptOutcome.values, "running"}:
        outcome = ""
    period = request.GET.get("period", "")
    since = timezone.now() - dt.timedelta(days=PERIODS[period]) if period in PERIODS else None
    query = parse_text(request.GET.get("q"), max_length=100)
    attempts = selectors.attempts_for_log(
        workspace, channel_id=channel_id, outcome=outcome, query=query, since=since
    )
    page = Paginator(attempts, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "publishing/log.html",
        {
            **workspace_context(request, membership),
            "nav": "publishing",
            "page": page,
            "attention": selectors.deliveries_needing_attention(workspace),
            # What a channel holds now and in the coming week: said here, not discovered later.
            "held": held_posts(workspace, horizon=HELD_AHEAD),
            "channels": Channel.objects.filter(workspace=workspace).order_by("name"),
            "outcomes": AttemptOutcome.choices,
            "periods": [
                ("1", _("Last 24 hours")),
                ("7", _("Last 7 days")),
                ("30", _("Last 30 days")),
            ],
            "f": {"channel": channel_id, "outcome": outcome, "period": period, "q": query},
            "filter_query": filters.urlencode(),
        },
    )


@workspace_view(Action.VIEW)
@require_GET
def post_deliveries(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """The editor's panel: each channel's delivery state, link, reason and actions."""
    post = (
        Post.objects.select_related("workspace__approval_policy")
        .filter(pk=pk, workspace_id=membership.workspace_id)
        .first()
    )
    if post is None:
        raise Http404
    deliveries = selectors.post_deliveries(post.pk)
    publication = selectors.publication_of_rows(
        (
            d.channel_id,
            d.state,
            d.error,
            d.channel.name,
            not can_publish(d.channel.state, d.channel.platform),
        )
        for d in deliveries
    )
    facts, _round, _revision = post_facts(post, publication=publication)
    for delivery in deliveries:  # a delivery still to go out on a channel that cannot: why
        problem = (
            channel_problem(
                delivery.channel, workspace_slug=membership.workspace.slug, at=post.scheduled_at
            )
            if delivery.state in (DeliveryState.PENDING, DeliveryState.FAILED)
            else None
        )
        delivery.held = problem if problem is not None and problem.blocks else None
        delivery.warning = problem if problem is not None and not problem.blocks else None
    return render(
        request,
        "publishing/_post_deliveries.html",
        {
            "workspace": membership.workspace,
            "post": post,
            "deliveries": deliveries,
            "summary": selectors.publish_summary(deliveries),
            "may_publish": PostAction.PUBLISH_NOW in available_actions(membership, post, facts),
            "me": membership.user_id,
            "next": reverse("calendar:post_edit", args=[membership.workspace.slug, post.pk]),
        },
    )


def _report(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    if isinstance(exc, PermissionDenied):
        messages.error(request, deny_message(exc))
    else:
        for message in exc.messages:
            messages.error(request, message)


@workspace_view(Action.VIEW)
@require_POST
def delivery_publish_now(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """ "Publish now" (and "retry now" after a failure)."""
    back = next_url(request, reverse("publishing:log", args=[membership.workspace.slug]))
    try:
        delivery = services.delivery_publish_now(membership=membership, delivery_id=pk)
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
    else:
        messages.success(
            request,
            _("“%(post)s” goes out on %(channel)s now.")
            % {"post": delivery.post.display_title, "channel": delivery.channel.name},
        )
    return redirect(back)


@workspace_view(Action.VIEW)
@require_POST
def delivery_mark_done(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """A manual channel's post was made by hand: its public URL."""
    back = next_url(request, reverse("publishing:log", args=[membership.workspace.slug]))
    url = request.POST.get("url", "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        messages.error(request, _("Enter the public address (https://…) of the post."))
        return redirect(back)
    try:
        delivery = services.delivery_mark_done(membership=membership, delivery_id=pk, url=url)
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
    else:
        messages.success(
            request,
            _("“%(post)s” is marked as posted on %(channel)s.")
            % {"post": delivery.post.display_title, "channel": delivery.channel.name},
        )
    return redirect(back)


@workspace_view(Action.VIEW)
@require_POST
def delivery_confirm_live(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """A delivery whose outcome was unknown: "it is live, here is the link"."""
    back = next_url(request, reverse("publishing:log", args=[membership.workspace.slug]))
    try:
        delivery = services.delivery_confirm_live(
            membership=membership, delivery_id=pk, url=request.POST.get("url", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
    else:
        messages.success(
            request,
            _("“%(post)s” is recorded as live on %(channel)s.")
            % {"post": delivery.post.display_title, "channel": delivery.channel.name},
        )
    return redirect(back)


@workspace_view(Action.VIEW)
@require_POST
def delivery_post_again(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """A delivery whose outcome was unknown: "it is not live, post it again"."""
    back = next_url(request, reverse("publishing:log", args=[membership.workspace.slug]))
    try:
        delivery = services.delivery_post_again(membership=membership, delivery_id=pk)
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
    else:
        messages.success(
            request,
            _("“%(post)s” goes out on %(channel)s again now.")
            % {"post": delivery.post.display_title, "channel": delivery.channel.name},
        )
    return redirect(back)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and the last beat heartbeat; HTTP 503 when one is down."""
    ok, report = selectors.health_report()
    return JsonResponse({"ok": ok, **report}, status=200 if ok else 503)


@workspace_view(Action.VIEW)
@require_GET
def sandbox_feed(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The test network's feed: what the workspace's test channels published, newest first,
    with the simulated numbers as they stand now."""
    from publishing.adapters.testnet import simulated_numbers
    from publishing.models import SandboxPost

    channels = {
        c.account_id: c
        for c in Channel.objects.filter(workspace=membership.workspace, platform="testnet")
    }
    posts = SandboxPost.objects.filter(account_id__in=list(channels), deleted_at__isnull=True)
    page = Paginator(posts, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    for post in page.object_list:
        post.channel = channels.get(post.account_id)
        post.numbers = simulated_numbers(post.remote_id, post.created_at, now)
    return render(
        request,
        "publishing/sandbox.html",
        {
            **workspace_context(request, membership),
            "nav": "publishing",
            "page": page,
            "channels": list(channels.values()),
        },
    )
