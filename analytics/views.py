"""The analytics pages: dashboard, top and bottom posts, one post, campaigns, best time to
post, the printable report, CSV exports and the editor's two hints.

Every member of the workspace (viewers too) may see them; another workspace answers 404 (the
workspace_view decorator). Views parse the filters, call one selector and render.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from analytics import exports, presenters, selectors
from analytics.forms import PeriodForm, RankingForm
from analytics.periods import Period
from calendar_app.models import Membership
from calendar_app.permissions import Action
from calendar_app.views.base import workspace_context, workspace_view

EXPORT_TABLES = ("daily", "channels", "campaigns", "posts", "heatmap")


def _period_form(request: HttpRequest, membership: Membership, default: str = "30") -> PeriodForm:
    return PeriodForm(request.GET or None, tz=membership.workspace.tz, default=default)


def _page(
    request: HttpRequest,
    membership: Membership,
    template: str,
    form: PeriodForm | None,
    section: str,
    **context,
) -> HttpResponse:
    period: Period | None = context.get("period")
    # The printable report has no navigation: no switcher, no permissions to look up.
    frame = (
        {"workspace": membership.workspace, "membership": membership}
        if section == "print"
        else workspace_context(request, membership)
    )
    full = {
        **frame,
        "nav": "analytics",
        "section": section,
        "form": form,
        "picker": form.initial_for_display() if form is not None else None,
        "period_query": period.query() if period else "",
        **context,
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, template, full, status=status)


@workspace_view(Action.VIEW)
@require_GET
def dashboard(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = _period_form(request, membership)
    period = form.chosen_period()
    data = selectors.dashboard(workspace=membership.workspace, period=period)
    return _page(
        request,
        membership,
        "analytics/dashboard.html",
        form,
        "dashboard",
        period=period,
        data=data,
        trends=presenters.trend_charts(data),
        heatmap_svg=presenters.heatmap_svg(data.heatmap),
        glance=presenters.glance(data),
    )


@workspace_view(Action.VIEW)
@require_GET
def ranked_posts(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = _period_form(request, membership)
    ranking = RankingForm(request.GET or None)
    period = form.chosen_period()
    metric = ranking.metric_key()
    workspace = membership.workspace
    return _page(
        request,
        membership,
        "analytics/posts.html",
        form,
        "posts",
        period=period,
        ranking=ranking,
        metric=metric,
        top=selectors.ranked_posts(workspace=workspace, period=period, metric=metric),
        bottom=selectors.ranked_posts(
            workspace=workspace, period=period, metric=metric, ascending=True
        ),
    )


@workspace_view(Action.VIEW)
@require_GET
def campaigns(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = _period_form(request, membership, default="90")
    period = form.chosen_period()
    return _page(
        request,
        membership,
        "analytics/campaigns.html",
        form,
        "campaigns",
        period=period,
        campaigns=selectors.campaign_report(workspace=membership.workspace, period=period),
    )


@workspace_view(Action.VIEW)
@require_GET
def best_time(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = _period_form(request, membership, default="90")
    period = form.chosen_period()
    heatmap = selectors.heatmap(workspace=membership.workspace, period=period)
    return _page(
        request,
        membership,
        "analytics/best_time.html",
        form,
        "best_time",
        period=period,
        heatmap=heatmap,
        heatmap_svg=presenters.heatmap_svg(heatmap),
        heatmap_table=presenters.heatmap_rows(heatmap),
        hours=[f"{hour:02d}" for hour in range(24)],
        best_slots=heatmap.best(3),
        best_hour=heatmap.best_hour,
    )


def _post_page(
    request: HttpRequest, membership: Membership, report: selectors.PostReport | None, csv_url: str
) -> HttpResponse:
    if report is None:
        raise Http404
    return _page(
        request,
        membership,
        "analytics/post.html",
        None,
        "posts",
        report=report,
        charts=presenters.curve_charts(report),
        csv_url=csv_url,
    )


@workspace_view(Action.VIEW)
@require_GET
def post_detail(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    report = selectors.post_report(workspace=membership.workspace, post_id=pk)
    url = reverse("analytics:post_series_csv", args=[membership.workspace.slug, pk])
    return _post_page(request, membership, report, url)


@workspace_view(Action.VIEW)
@require_GET
def remote_post_detail(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    report = selectors.remote_post_report(workspace=membership.workspace, remote_post_id=pk)
    url = reverse("analytics:remote_post_series_csv", args=[membership.workspace.slug, pk])
    return _post_page(request, membership, report, url)


@workspace_view(Action.VIEW)
@require_GET
def print_report(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Everything on one page for paper or PDF: no navigation, print styles."""
    form = _period_form(request, membership)
    period = form.chosen_period()
    workspace = membership.workspace
    data = selectors.dashboard(workspace=workspace, period=period)
    return _page(
        request,
        membership,
        "analytics/print.html",
        form,
        "print",
        period=period,
        data=data,
        trends=presenters.trend_charts(data),
        heatmap_svg=presenters.heatmap_svg(data.heatmap, chart_id="print-heatmap"),
        glance=presenters.glance(data),
        top=selectors.ranked_posts(workspace=workspace, period=period, metric="interactions"),
    )


# --- CSV -----------------------------------------------------------------------------------------


@workspace_view(Action.VIEW)
@require_GET
def export(request: HttpRequest, membership: Membership, table: str) -> HttpResponse:
    if table not in EXPORT_TABLES:
        raise Http404
    workspace = membership.workspace
    default = "90" if table in {"campaigns", "heatmap"} else "30"
    form = _period_form(request, membership, default=default)
    if form.errors:
        messages = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(messages, status=400, content_type="text/plain; charset=utf-8")
    period = form.chosen_period()
    if table == "daily":
        header, rows = exports.daily_rows(selectors.daily_table(workspace=workspace, period=period))
    elif table == "channels":
        header, rows = exports.channel_rows(
            selectors.channel_table(workspace=workspace, period=period)
        )
    elif table == "campaigns":
        header, rows = exports.campaign_rows(
            selectors.campaign_report(workspace=workspace, period=period)
        )
    elif table == "heatmap":
        header, rows = exports.heatmap_rows(selectors.heatmap(workspace=workspace, period=period))
    else:
        metric = RankingForm(request.GET or None).metric_key()
        ranked = [
            (
                "top",
                selectors.ranked_posts(workspace=workspace, period=period, metric=metric),
            ),
            (
                "bottom",
                selectors.ranked_posts(
                    workspace=workspace, period=period, metric=metric, ascending=True
                ),
            ),
        ]
        header, rows = exports.ranked_rows(ranked, workspace.tz, metric)
    return exports.csv_response(exports.filename(workspace.slug, table, period), header, rows)


@workspace_view(Action.VIEW)
@require_GET
def post_series_csv(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    workspace = membership.workspace
    report = selectors.post_report(workspace=workspace, post_id=pk)
    if report is None:
        raise Http404
    header, rows = exports.series_rows(report, workspace.tz)
    return exports.csv_response(exports.filename(workspace.slug, f"post-{pk}"), header, rows)


@workspace_view(Action.VIEW)
@require_GET
def remote_post_series_csv(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    workspace = membership.workspace
    report = selectors.remote_post_report(workspace=workspace, remote_post_id=pk)
    if report is None:
        raise Http404
    header, rows = exports.series_rows(report, workspace.tz)
    return exports.csv_response(exports.filename(workspace.slug, f"published-{pk}"), header, rows)


# --- the editor's hints (loaded by htmx from the slots analytics.hints puts in the editor) -------


@workspace_view(Action.VIEW)
@require_GET
def hint_best_time(request: HttpRequest, membership: Membership) -> HttpResponse:
    heatmap = selectors.best_slots(workspace=membership.workspace)
    return render(
        request,
        "analytics/_hint_best_time.html",
        {
            "workspace": membership.workspace,
            "heatmap": heatmap,
            "best_slots": heatmap.best(3),
            "days": heatmap.period.days,
        },
    )


@workspace_view(Action.VIEW)
@require_GET
def hint_post(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    summary = selectors.post_summary(workspace=membership.workspace, post_id=pk)
    if summary is None:
        return HttpResponse("")  # not live anywhere yet: the slot stays empty
    return render(
        request,
        "analytics/_hint_post.html",
        {"workspace": membership.workspace, "post_id": pk, "summary": summary},
    )
