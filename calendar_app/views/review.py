"""Review pages: the "Waiting for me" queue, decisions (single and bulk), the editor's workflow
panel, comments, version history with diffs, and the external review link pages.

Views parse input, call one service in services.review, and render or redirect with a
message; refusals are shown, never half-applied.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.throttle import client_address
from calendar_app import selectors
from calendar_app.access import post_facts
from calendar_app.diffs import revision_diff
from calendar_app.models import (
    ApprovalMode,
    AuditEvent,
    Membership,
    Post,
    PostComment,
    PostMedia,
    PostRevision,
    PostVariant,
    ReviewDecision,
    ReviewLink,
    ReviewRound,
    RoundState,
)
from calendar_app.params import MAX_ID, next_url, parse_date, parse_int, parse_time
from calendar_app.permissions import Action, can
from calendar_app.services import comments as comment_services
from calendar_app.services import review
from calendar_app.timeutils import local_to_utc
from calendar_app.views.base import deny_message, workspace_context, workspace_view
from calendar_app.workflow import (
    SHOWN_LABELS,
    STATUS_BADGE,
    STATUS_ICON,
    PostAction,
    PostStatus,
    Refusal,
    action_label,
    action_refusal,
    available_actions,
    shown_reason,
    shown_state,
)

S = PostStatus


def _report(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    """Show a refusal as messages; a post of another workspace (or none) answers 404."""
    if getattr(exc, "code", None) == "missing":
        raise Http404
    if isinstance(exc, PermissionDenied):
        messages.error(request, deny_message(exc))
    else:
        for message in exc.messages:
            messages.error(request, message)


def _post_or_404(membership: Membership, pk: int) -> Post:
    try:
        return Post.objects.select_related("author", "workspace").get(
            pk=pk, workspace_id=membership.workspace_id
        )
    except Post.DoesNotExist:
        raise Http404 from None


# --- the queue --------------------------------------------------------------------------------


@workspace_view(Action.VIEW)
@require_GET
def review_queue(request: HttpRequest, membership: Membership) -> HttpResponse:
    items = selectors.review_queue(membership)
    return render(
        request,
        "calendar_app/review/queue.html",
        {
            **workspace_context(request, membership),
            "nav": "review",
            "items": items,
            "may_share": can(membership, Action.REVIEW_LINK_MANAGE),
            "new_link": request.session.pop("review_link_queue", None),
            "review_link_day_choices": review.REVIEW_LINK_DAY_CHOICES,
            "status_badge": STATUS_BADGE,
        },
    )


@workspace_view(Action.VIEW)
@require_GET
def review_count(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The navbar's count badge, loaded by htmx after the page so pages pay no query for it."""
    count = selectors.review_queue_count(membership)
    return render(request, "calendar_app/review/_count.html", {"count": count})


def _approver_edit(request: HttpRequest) -> review.ApproverEdit | None:
    if "body" not in request.POST:
        return None
    variant_bodies = {
        channel_id: request.POST[key]
        for key in request.POST
        if key.startswith("variant_") and (channel_id := parse_int(key.removeprefix("variant_")))
    }
    return review.ApproverEdit(body=request.POST["body"], variant_bodies=variant_bodies)


@workspace_view(Action.VIEW)
@require_POST
def review_decide(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """Approve, request changes, skip, or approve a missed post with a new time."""
    decision = request.POST.get("decision", "")
    step = parse_int(request.POST.get("expected_step"))
    revision = parse_int(request.POST.get("expected_revision"))
    comment = request.POST.get("comment", "")
    back = next_url(request, reverse("calendar:review_queue", args=[membership.workspace.slug]))
    try:
        if decision == "approve":
            decided = review.post_approve(
                membership=membership,
                post_id=pk,
                expected_step=step,
                expected_revision=revision,
                comment=comment,
                edit=_approver_edit(request),
            )
            if not decided.approved:
                messages.warning(request, decided.notice)
                return redirect(back)
            post = decided.post
            done = _("You approved “%(title)s”.")
        elif decision == "request_changes":
            post = review.post_request_changes(
                membership=membership,
                post_id=pk,
                comment=comment,
                expected_step=step,
                expected_revision=revision,
            )
            done = _("You asked for changes to “%(title)s”.")
        elif decision == "skip":
            post = review.post_skip_step(
                membership=membership, post_id=pk, comment=comment, expected_step=step
            )
            done = _("You skipped a step of “%(title)s”.")
        elif decision == "approve_reschedule":
            post = review.post_approve_and_reschedule(
                membership=membership,
                post_id=pk,
                scheduled_at=_new_time(request, membership),
                expected_step=step,
            )
            done = _("You approved “%(title)s” for its new time.")
        else:
            raise ValidationError(_("Choose a decision."))
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
        return redirect(back)
    messages.success(request, done % {"title": post.display_title})
    return redirect(back)


def _new_time(request: HttpRequest, membership: Membership) -> dt.datetime:
    day, at = parse_date(request.POST.get("date")), parse_time(request.POST.get("time"))
    if day is None or at is None:
        raise ValidationError(_("Enter the new date and time."))
    return local_to_utc(day, at, membership.workspace.tz)


@workspace_view(Action.VIEW)
@require_POST
def review_bulk(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Approve the selected posts, each in its own transaction, and report each refusal."""
    approved: list[str] = []
    refused: list[str] = []
    for pk in filter(None, (parse_int(v) for v in request.POST.getlist("post"))):
        try:
            decided = review.post_approve(
                membership=membership,
                post_id=pk,
                expected_step=parse_int(request.POST.get(f"step_{pk}")),
                expected_revision=parse_int(request.POST.get(f"revision_{pk}")),
            )
            approved.append(decided.post.display_title)
        except PermissionDenied as exc:
            refused.append(deny_message(exc))
        except ValidationError as exc:
            refused.append(" ".join(exc.messages))
    if approved:
        messages.success(
            request,
            ngettext("You approved %(count)d post.", "You approved %(count)d posts.", len(approved))
            % {"count": len(approved)},
        )
    elif not refused:
        messages.info(request, _("Select the posts to approve first."))
    for reason in refused:
        messages.error(request, reason)
    return redirect("calendar:review_queue", membership.workspace.slug)


# --- the editor's workflow panel ------------------------------------------------------------


def _panel_context(request: HttpRequest, membership: Membership, post: Post) -> dict:
    """The workflow bar and the thread: what the post is, and exactly the actions the rulebook
    offers this member now (workflow.available_actions)."""
    workspace = membership.workspace
    facts, active, _revision = post_facts(post)
    latest = review.latest_revision(post)
    actions = available_actions(membership, post, facts)
    state = shown_state(post.status, facts.publication)
    comments = list(
        PostComment.objects.filter(post=post).select_related("author", "variant_channel")
    )
    decisions = list(
        ReviewDecision.objects.filter(round__post=post)
        .select_related("user", "revision", "review_link")
        .order_by("-created_at", "-id")[:20]
    )
    links = list(
        ReviewLink.objects.filter(
            posts=post, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
    )
    return {
        "workspace": workspace,
        "membership": membership,
        "post": post,
        "mode_none": facts.mode == ApprovalMode.NONE,
        "mode_required": facts.mode == ApprovalMode.REQUIRED,
        "active_round": active if active is not None and active.step is not None else None,
        "current_step": facts.step,
        "actions": actions,
        "may_decide": bool(actions & selectors.DECISIONS),
        "shown_state": state,
        "shown_label": SHOWN_LABELS[state],
        "shown_reason": shown_reason(facts.publication),
        "went_out": facts.publication.went_out,
        "latest_revision": latest,
        "comments": comments,
        "decisions": decisions,
        "review_links": links,
        "channels": list(post.variants.select_related("channel")),
        "review_link_day_choices": review.REVIEW_LINK_DAY_CHOICES,
        "status_badge": STATUS_BADGE.get(state, "secondary"),
        "status_icon": STATUS_ICON.get(state, "circle"),
        "part": "thread" if request.GET.get("part") == "thread" else "bar",
        "new_link": (
            request.session.pop(f"review_link_{post.pk}", None)
            if request.GET.get("part") == "thread"
            else None
        ),
    }


@workspace_view(Action.VIEW)
@require_GET
def post_review_panel(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    post = _post_or_404(membership, pk)
    return render(
        request, "calendar_app/review/_panel.html", _panel_context(request, membership, post)
    )


@workspace_view(Action.VIEW)
@require_POST
def post_workflow(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """The editor's buttons: submit for review, withdraw, schedule."""
    action = request.POST.get("action", "")
    version = parse_int(request.POST.get("version"))
    services = {
        "submit": (
            review.post_submit_for_review,
            _("“%(title)s” was submitted for review."),
        ),
        "withdraw": (review.post_withdraw, _("“%(title)s” was withdrawn; it is a draft again.")),
        "schedule": (review.post_schedule, _("“%(title)s” is scheduled.")),
    }
    back = next_url(request, reverse("calendar:post_edit", args=[membership.workspace.slug, pk]))
    if action not in services:
        messages.error(request, _("Choose an action."))
        return redirect(back)
    service, done = services[action]
    try:
        post = service(membership=membership, post_id=pk, expected_version=version)
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
        return redirect(back)
    messages.success(request, done % {"title": post.display_title})
    return redirect(back)


@workspace_view(Action.VIEW)
@require_POST
def post_comment(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    back = next_url(request, reverse("calendar:post_edit", args=[membership.workspace.slug, pk]))
    try:
        comment_services.post_comment_add(
            membership=membership,
            post_id=pk,
            body=request.POST.get("body", ""),
            channel_id=parse_int(request.POST.get("channel")),
            internal=request.POST.get("visibility", "internal") != "shared",
        )
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
        return redirect(back)
    messages.success(request, _("Your comment was added."))
    return redirect(back)


# --- history and diffs ------------------------------------------------------------------------


@workspace_view(Action.VIEW)
@require_GET
def post_history(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    post = _post_or_404(membership, pk)
    revisions = list(
        PostRevision.objects.filter(post=post)
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "decisions",
                queryset=ReviewDecision.objects.select_related("user").order_by("created_at"),
            )
        )
        .order_by("number")
    )
    by_number = {r.number: r for r in revisions}
    newest = revisions[-1].number if revisions else None
    b = by_number.get(parse_int(request.GET.get("b")) or newest or 0)
    a_default = b.number - 1 if b is not None and b.number > 1 else None
    a = by_number.get(parse_int(request.GET.get("a")) or a_default or 0)
    tz = membership.workspace.tz
    # A single revision is shown as it is (compared with itself: no marks).
    diff = revision_diff((a or b).snapshot, b.snapshot, tz) if b else []
    events = list(
        AuditEvent.objects.filter(post=post).select_related("actor", "revision").order_by("id")
    )
    for event in events:
        event.action_label = action_label(event.action)
    return render(
        request,
        "calendar_app/review/history.html",
        {
            **workspace_context(request, membership),
            "nav": "calendar",
            "post": post,
            "revisions": list(reversed(revisions)),
            "a": a,
            "b": b,
            "diff": diff,
            "events": events,
            "status_labels": dict(S.choices),
        },
    )


# --- review links -----------------------------------------------------------------------------


@workspace_view(Action.VIEW)
@require_POST
def review_link_create(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    back = next_url(request, reverse("calendar:post_edit", args=[membership.workspace.slug, pk]))
    try:
        _link, token = review.review_link_create(
            membership=membership,
            post_ids=[pk],
            recipient_name=request.POST.get("recipient_name", ""),
            recipient_email=request.POST.get("recipient_email", ""),
            days=parse_int(request.POST.get("days"), low=-MAX_ID) or review.REVIEW_LINK_DAYS,
        )
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
        return redirect(back)
    url = request.build_absolute_uri(reverse("external_review", args=[token]))
    # Shown once in the panel; only its hash is stored.
    request.session[f"review_link_{pk}"] = url
    messages.success(request, _("A review link was created. Copy it now: it is shown only once."))
    return redirect(back)


@workspace_view(Action.VIEW)
@require_POST
def review_link_share(request: HttpRequest, membership: Membership) -> HttpResponse:
    """One review link for the posts selected in the queue; the address is shown once."""
    ids = [pk for pk in (parse_int(v) for v in request.POST.getlist("post")) if pk]
    if not ids:
        messages.info(request, _("Select the posts to share first."))
        return redirect("calendar:review_queue", membership.workspace.slug)
    try:
        link, token = review.review_link_create(
            membership=membership,
            post_ids=ids,
            recipient_name=request.POST.get("recipient_name", ""),
            recipient_email=request.POST.get("recipient_email", ""),
            days=parse_int(request.POST.get("days"), low=-MAX_ID) or review.REVIEW_LINK_DAYS,
        )
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
        return redirect("calendar:review_queue", membership.workspace.slug)
    # Shown once on the queue with a copy button; only its hash is stored.
    request.session["review_link_queue"] = {
        "url": request.build_absolute_uri(reverse("external_review", args=[token])),
        "name": link.recipient_name,
        "count": len(ids),
    }
    messages.success(
        request,
        ngettext(
            "A review link for %(count)d post was created for %(name)s. Copy it now: it is "
            "shown only once.",
            "A review link for %(count)d posts was created for %(name)s. Copy it now: it is "
            "shown only once.",
            len(ids),
        )
        % {"count": len(ids), "name": link.recipient_name},
    )
    return redirect("calendar:review_queue", membership.workspace.slug)


@workspace_view(Action.VIEW)
@require_POST
def review_link_revoke(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    back = next_url(request, reverse("calendar:review_queue", args=[membership.workspace.slug]))
    try:
        review.review_link_revoke(membership=membership, link_id=pk)
    except (ValidationError, PermissionDenied) as exc:
        _report(request, exc)
        return redirect(back)
    messages.success(request, _("The review link was revoked."))
    return redirect(back)


# --- the external reviewer's page (no account) ----------------------------------------------


# The shared link carries the token; the browser trades it once for a cookie and the pages
# after it live at /review/<link id>/, so no later request (access logs, history, Referer) holds
# the token. One cookie per link, scoped to its pages: several open links per browser work.
REVIEW_COOKIE_SALT = "calendar_app.review_link.cookie"


def _review_cookie_name(link_id: int) -> str:
    return f"review_link_{link_id}"


def _private(response: HttpResponse) -> HttpResponse:
    # Nothing of a review page in any cache, and no address of ours in another site's Referer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _link_refused(
    request: HttpRequest,
    exc: review.ReviewLinkInvalid | review.ReviewLinkGone | review.ReviewLinkThrottled,
) -> HttpResponse:
    if isinstance(exc, review.ReviewLinkThrottled):
        status = 429
    elif isinstance(exc, review.ReviewLinkGone):
        status = 410
    else:
        status = 403
    response = render(
        request, "calendar_app/review/link_error.html", {"message": str(exc)}, status=status
    )
    if isinstance(exc, review.ReviewLinkThrottled):
        response["Retry-After"] = str(exc.retry_after)
    return _private(response)


@require_http_methods(["GET", "POST"])
def external_review(request: HttpRequest, token: str) -> HttpResponse:
    """The shared link: swaps the token for a cookie and redirects (303) to the link's page.
    A POST here (a page opened before the swap existed) is not acted on, only redirected."""
    try:
        link = review.review_link_open(token=token, address=client_address(request))
    except (review.ReviewLinkInvalid, review.ReviewLinkGone, review.ReviewLinkThrottled) as exc:
        return _link_refused(request, exc)
    page = reverse("external_review_page", args=[link.pk])
    response = HttpResponseRedirect(page, status=303)
    response.set_signed_cookie(
        _review_cookie_name(link.pk),
        token,
        salt=REVIEW_COOKIE_SALT,
        max_age=max(0, int((link.expires_at - timezone.now()).total_seconds())),
        path=page,
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return _private(response)


def _cookie_token(request: HttpRequest, link_id: int) -> str | None:
    """The token this browser holds for the link: None without a cookie, "" for one we did not
    sign (so that it counts as a bad attempt)."""
    name = _review_cookie_name(link_id)
    if name not in request.COOKIES:
        return None
    try:
        return request.get_signed_cookie(name, salt=REVIEW_COOKIE_SALT)
    except signing.BadSignature:
        return ""


@require_http_methods(["GET", "POST"])
def external_review_page(request: HttpRequest, link_id: int) -> HttpResponse:
    """The reviewer's page and what it posts (decisions, comments), authenticated by the
    link's cookie only."""
    try:
        link = review.review_link_open(
            token=_cookie_token(request, link_id),
            address=client_address(request),
            link_id=link_id,
        )
    except (review.ReviewLinkInvalid, review.ReviewLinkGone, review.ReviewLinkThrottled) as exc:
        response = _link_refused(request, exc)
        # A cookie that no longer opens anything goes (the next one comes with the link).
        name = _review_cookie_name(link_id)
        if name in request.COOKIES and not isinstance(exc, review.ReviewLinkThrottled):
            response.delete_cookie(
                name,
                path=reverse("external_review_page", args=[link_id]),
                samesite="Lax",
            )
        return response
    return _private(_external_review_page(request, link))


def _external_review_page(request: HttpRequest, link: ReviewLink) -> HttpResponse:
    error = ""
    status = 200
    if request.method == "POST":
        post_id = parse_int(request.POST.get("post"))
        name = request.POST.get("name", "")
        try:
            if request.POST.get("decision") in ("approve", "request_changes"):
                review.post_external_decide(
                    link=link,
                    post_id=post_id or 0,
                    approve=request.POST["decision"] == "approve",
                    comment=request.POST.get("comment", ""),
                    expected_revision=parse_int(request.POST.get("expected_revision")),
                )
                messages.success(request, _("Thank you, your decision was recorded."))
            else:
                comment_services.post_comment_add(
                    membership=None,
                    link=link,
                    post_id=post_id or 0,
                    body=request.POST.get("comment", ""),
                    external_name=name,
                )
                messages.success(request, _("Thank you, your comment was added."))
            if not link.recipient_name:
                request.session["review_name"] = name.strip()[:120]
            return redirect("external_review_page", link.pk)
        except (ValidationError, PermissionDenied) as exc:
            error = (
                deny_message(exc) if isinstance(exc, PermissionDenied) else " ".join(exc.messages)
            )
            status = 400
    posts = list(
        link.posts.select_related("author")
        .prefetch_related(
            Prefetch("variants", queryset=PostVariant.objects.select_related("channel")),
            Prefetch("post_media", queryset=PostMedia.objects.select_related("media")),
            Prefetch(
                "comments",
                queryset=PostComment.objects.filter(internal=False).select_related("author"),
                to_attr="shared_comments",
            ),
            Prefetch(
                "review_rounds",
                queryset=ReviewRound.objects.filter(state=RoundState.ACTIVE),
                to_attr="active_rounds",
            ),
            Prefetch(
                "revisions", queryset=PostRevision.objects.order_by("-number"), to_attr="revs"
            ),
        )
        .order_by("scheduled_at", "id")
    )
    for post in posts:
        round_ = post.active_rounds[0] if post.active_rounds else None
        step = round_.step if round_ else None
        facts, _round, _revision = post_facts(post)
        post.actions = available_actions(link, post, facts)
        post.may_decide = PostAction.APPROVE in post.actions
        # Why this link can only comment on a post that waits for a decision.
        refused = action_refusal(link, post, facts, PostAction.APPROVE)
        post.decide_refusal = (
            refused.message
            if refused is not None and refused.kind is Refusal.PERMISSION and step is not None
            else ""
        )
        post.shown_label = SHOWN_LABELS[shown_state(post.status, facts.publication)]
        post.step_name = step["name"] if step else ""
        post.latest_revision = post.revs[0].number if post.revs else None
        post.local_time = (
            post.scheduled_at.astimezone(link.workspace.tz) if post.scheduled_at else None
        )
    return render(
        request,
        "calendar_app/review/external.html",
        {
            "link": link,
            "workspace": link.workspace,
            "posts": posts,
            "error": error,
            "name": link.recipient_name or request.session.get("review_name", ""),
            "status_badge": STATUS_BADGE,
        },
        status=status,
    )
