"""The post editor: create, edit (read-only for viewers), the live server check, delete."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from calendar_app.access import post_facts
from calendar_app.channel_health import channel_problems
from calendar_app.counting import count_text
from calendar_app.forms import PostForm
from calendar_app.models import Membership, Post, PostMedia, PostVariant
from calendar_app.params import parse_date, parse_id, parse_time
from calendar_app.permissions import Action
from calendar_app.platforms import SPECS, specs_as_json
from calendar_app.selectors import media_for_editor
from calendar_app.services import posts as post_services
from calendar_app.services import review
from calendar_app.services.media import media_asset_json
from calendar_app.views.base import workspace_context, workspace_view
from calendar_app.workflow import (
    SHOWN_LABELS,
    STATUS_BADGE,
    PostAction,
    Refusal,
    action_refusal,
    available_actions,
    shown_state,
)


def _post_with_content(membership: Membership, pk: int) -> Post:
    """The post of this workspace with everything the editor shows, in a fixed number of queries."""
    queryset = Post.objects.select_related(
        "campaign", "author", "workspace__approval_policy"
    ).prefetch_related(
        "labels",
        Prefetch("post_media", queryset=PostMedia.objects.select_related("media")),
        Prefetch(
            "variants",
            queryset=PostVariant.objects.select_related("channel").prefetch_related(
                "media_override"
            ),
        ),
    )
    try:
        return queryset.get(pk=pk, workspace_id=membership.workspace_id)
    except Post.DoesNotExist:
        raise Http404 from None


def _month_url(membership: Membership, post: Post) -> str:
    """Where to go after saving or deleting: the post's month, or the list for ideas."""
    workspace = membership.workspace
    if post.scheduled_at is None:
        return reverse("calendar:list", args=[workspace.slug])
    local = post.scheduled_at.astimezone(workspace.tz)
    return reverse("calendar:month", args=[workspace.slug, local.year, local.month])


def _initial_from_query(request: HttpRequest) -> dict:
    """Prefill from the calendar: ?date=YYYY-MM-DD&time=HH:MM, or ?idea=1 for an idea."""
    initial: dict = {}
    if request.GET.get("idea"):
        return initial
    for name, parse in (("date", parse_date), ("time", parse_time)):
        if request.GET.get(name):
            if (value := parse(request.GET[name])) is None:
                return {}
            initial[name] = value
    if "date" in initial and "time" not in initial:
        initial["time"] = dt.time(9, 0)
    return initial


def _editor_context(request, membership: Membership, form: PostForm, post: Post | None) -> dict:
    workspace = membership.workspace
    panels = form.channel_panels()
    # Only the picker's first page and the assets this form refers to (saved or just posted):
    # the rest of the library is fetched by the picker on demand (media_picker).
    used_ids = form.ordered_ids("media")
    for panel in panels:
        used_ids += form.ordered_ids(panel.media.name)
    media = media_for_editor(workspace, used_ids=used_ids)

    def assets(ids: list[str]) -> list:
        return [media.by_id[i] for i in ids if i in media.by_id]

    for panel in panels:
        panel.media_assets = assets(form.ordered_ids(panel.media.name))
    channels_json = {
        str(channel.pk): {
            "id": channel.pk,
            "platform": channel.platform,
            "name": channel.name,
            "handle": channel.handle,
            "avatar": channel.avatar.url if channel.avatar else None,
            "state": channel.state,
        }
        for channel in form.workspace_channels
    }
    return {
        **workspace_context(request, membership),
        "nav": "calendar",
        "form": form,
        "post": post,
        "panels": panels,
        "labels": list(workspace.labels.all()),
        "selected_labels": form.selected_ids("labels"),
        "post_media": assets(form.ordered_ids("media")),
        "library": media.recent,
        "library_json": [media_asset_json(asset) for asset in media.by_id.values()],
        "channels_json": channels_json,
        "specs": specs_as_json(),
        "stale": getattr(form, "stale", False),
        "status_badge": STATUS_BADGE.get(post.status, "secondary") if post else None,
    }


def _save_and_redirect(request, membership: Membership, form: PostForm, post: Post | None):
    """Run the service for a valid form; on refusal put the reasons on the form (nothing saved)."""
    data = form.to_post_input()
    try:
        if post is None:
            saved = post_services.post_create(membership=membership, data=data)
        else:
            saved = post_services.post_update(
                membership=membership,
                post_id=post.pk,
                data=data,
                expected_version=form.expected_version(),
            )
    except post_services.StaleEdit as exc:
        form.stale = True
        form.add_error(None, exc)
        return None
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    if saved.scheduled_at is None:
        messages.success(request, _("The idea “%(title)s” was saved.") % {"title": saved})
    else:
        local = timezone.localtime(saved.scheduled_at, membership.workspace.tz)
        messages.success(
            request,
            _("“%(title)s” was saved for %(date)s at %(time)s.")
            % {
                "title": saved,
                "date": date_format(local, "SHORT_DATE_FORMAT"),
                "time": time_format(local, "H:i"),
            },
        )
    if notice := getattr(saved, "review_notice", ""):
        messages.warning(request, notice)
    if "save_submit" in request.POST:
        # "Submit for review" in the workflow bar saves the form first, then submits.
        try:
            review.post_submit_for_review(membership=membership, post_id=saved.pk)
            messages.success(request, _("“%(title)s” was submitted for review.") % {"title": saved})
        except (ValidationError, PermissionDenied) as exc:
            for message in getattr(exc, "messages", None) or [str(exc)]:
                messages.error(request, message)
        return redirect("calendar:post_edit", membership.workspace.slug, saved.pk)
    if "save_continue" in request.POST:
        return redirect("calendar:post_edit", membership.workspace.slug, saved.pk)
    return redirect(_month_url(membership, saved))


@workspace_view(Action.POST_CREATE)
@require_http_methods(["GET", "POST"])
def post_create(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    channels = list(workspace.channels.all())
    if request.method == "POST":
        form = PostForm(request.POST, workspace=workspace, channels=channels)
        if form.is_valid():
            response = _save_and_redirect(request, membership, form, None)
            if response is not None:
                return response
    else:
        form = PostForm(
            initial=_initial_from_query(request), workspace=workspace, channels=channels
        )
    return render(
        request,
        "calendar_app/posts/editor.html",
        _editor_context(request, membership, form, None),
        status=400 if form.errors else 200,
    )


@workspace_view(Action.VIEW)
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    post = _post_with_content(membership, pk)
    facts, _round, _revision = post_facts(post)
    refused = action_refusal(membership, post, facts, PostAction.EDIT)
    if refused is not None:
        if request.method == "POST" and refused.kind is Refusal.PERMISSION:
            raise PermissionDenied(refused.message)
        state = shown_state(post.status, facts.publication)
        return render(
            request,
            "calendar_app/posts/detail.html",
            {
                **workspace_context(request, membership),
                "nav": "calendar",
                "post": post,
                "variants": list(post.variants.all()),
                "post_media": [pm.media for pm in post.post_media.all()],
                "shown_state": state,
                "shown_label": SHOWN_LABELS[state],
                "status_badge": STATUS_BADGE.get(state, "secondary"),
                # Why it cannot be edited, unless it is only the role (the page says that).
                "read_only_reason": refused.message if refused.kind is Refusal.STATE else "",
                "actions": available_actions(membership, post, facts),
                "back_url": _month_url(membership, post),
            },
            status=409 if request.method == "POST" else 200,
        )

    workspace = membership.workspace
    channels = list(workspace.channels.all())
    if request.method == "POST":
        form = PostForm(request.POST, workspace=workspace, channels=channels)
        if form.is_valid():
            response = _save_and_redirect(request, membership, form, post)
            if response is not None:
                return response
    else:
        form = PostForm(initial=PostForm.initial_for(post), workspace=workspace, channels=channels)
    status = 409 if getattr(form, "stale", False) else (400 if form.errors else 200)
    return render(
        request,
        "calendar_app/posts/editor.html",
        _editor_context(request, membership, form, post),
        status=status,
    )


@workspace_view(Action.POST_CREATE)
@require_POST
def post_check(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The editor's live check: the server's reasons per channel, for the form as it is now."""
    form = PostForm(request.POST, workspace=membership.workspace)
    problems: list[tuple] = []
    general: list[str] = []
    health = []
    counts: dict[str, dict] = {}
    scheduled = False
    if form.is_valid():
        data = form.to_post_input()
        scheduled = data.scheduled_at is not None
        # Editing: a time that did not change is not "in the past" (the save accepts it too).
        post_id = parse_id(request.GET.get("post"))
        previous = (
            Post.objects.filter(pk=post_id, workspace_id=membership.workspace_id)
            .values_list("scheduled_at", flat=True)
            .first()
            if post_id is not None
            else None
        )
        general, by_channel = post_services.post_input_check(data, previous_scheduled_at=previous)
        problems = list(by_channel.items())
        health = channel_problems(
            data.variants, workspace_slug=membership.workspace.slug, at=data.scheduled_at
        )
        counts = {
            # The server's count of each channel's text: the live counter shows it once it
            # arrives (its own count is a quick estimate), so both say the same.
            str(channel.pk): {
                "text": text,
                "used": count_text(text, SPECS[channel.platform].counting),
            }
            for channel, variant in data.variants.items()
            if channel.platform in SPECS
            for text in [variant.body_override or data.body]
        }
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            general += [f"{label}: {e}" if label else e for e in errors]
    return render(
        request,
        "calendar_app/posts/_check.html",
        {
            "problems": problems,
            "general": general,
            "health": health,
            "health_blocks": any(p.blocks for p in health),
            "scheduled": scheduled,
            "form_valid": form.is_valid(),
            "counts": counts,
        },
    )


@workspace_view(Action.POST_DELETE)
@require_http_methods(["GET", "POST"])
def post_delete(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    post = _post_with_content(membership, pk)
    if request.method == "POST":
        back = _month_url(membership, post)
        title = str(post)
        try:
            post_services.post_delete(membership=membership, post_id=post.pk)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("calendar:post_edit", membership.workspace.slug, post.pk)
        messages.success(request, _("“%(title)s” was deleted.") % {"title": title})
        return redirect(back)
    facts, _round, _revision = post_facts(post)
    if refused := action_refusal(membership, post, facts, PostAction.DELETE):
        messages.error(request, refused.message)
        return redirect("calendar:post_edit", membership.workspace.slug, post.pk)
    return render(
        request,
        "calendar_app/posts/delete.html",
        {**workspace_context(request, membership), "nav": "calendar", "post": post},
    )


@workspace_view(Action.POST_CREATE)
@require_POST
def post_duplicate(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """A copy of the post as a new idea, opened in the editor."""
    try:
        copy = post_services.post_duplicate(membership=membership, post_id=pk)
    except ValidationError as exc:
        if getattr(exc, "code", None) == "missing":
            raise Http404 from None
        for message in exc.messages:
            messages.error(request, message)
        return redirect("calendar:post_edit", membership.workspace.slug, pk)
    messages.success(
        request,
        _("A copy of the post was saved as an idea. Give it a time and submit it when ready."),
    )
    return redirect("calendar:post_edit", membership.workspace.slug, copy.pk)
