"""The media library page, the editor picker's JSON pages, and uploads (library form and the
editor's inline fetch upload)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from calendar_app.media_forms import MediaPickerForm, MediaSearchForm
from calendar_app.models import Membership
from calendar_app.permissions import Action, can
from calendar_app.selectors import media_assets, media_picker_page
from calendar_app.services.media import media_asset_json
from calendar_app.services.media import media_upload as service_media_upload
from calendar_app.views.base import deny_message, workspace_context, workspace_view

LIBRARY_PAGE_SIZE = 60


@workspace_view(Action.VIEW)
@require_GET
def media_library(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The library, newest first, 60 a page, searchable by file name and alt text.

    A page number that is not one (or past the end) shows the first (or last) page.
    """
    search = MediaSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    assets = media_assets(membership.workspace, query=query)
    page = Paginator(assets, LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "calendar_app/media/library.html",
        {
            **workspace_context(request, membership),
            "nav": "media",
            "search": search,
            "query": query,
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
            "query_string": urlencode({"q": query}) if query else "",
            "max_image": settings.MEDIA_MAX_IMAGE_BYTES,
            "max_video": settings.MEDIA_MAX_VIDEO_BYTES,
        },
        status=200 if search.is_valid() else 400,
    )


@workspace_view(Action.VIEW)
@require_GET
def media_picker(request: HttpRequest, membership: Membership) -> JsonResponse:
    """The editor picker's next assets as JSON: `?q=` to search, `?before=<id>` for older ones.

    Newest first, MEDIA_PICKER_PAGE_SIZE at a time; `next_before` asks for the following page.
    """
    search = MediaPickerForm(request.GET)
    if not search.is_valid():
        return JsonResponse({"error": search.error_text()}, status=400)
    page = media_picker_page(
        membership.workspace,
        query=search.cleaned_data["q"],
        before=search.cleaned_data["before"],
    )
    return JsonResponse(
        {
            "assets": [media_asset_json(asset) for asset in page.assets],
            "has_more": page.has_more,
            "next_before": page.next_before,
        }
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@workspace_view(Action.VIEW)
@require_POST
def media_upload(request: HttpRequest, membership: Membership) -> HttpResponse:
    """Store the posted files. JSON for the editor's fetch (one file), else back to the library."""
    as_json = _wants_json(request)
    if not can(membership, Action.MEDIA_UPLOAD):
        if as_json:
            return JsonResponse(
                {"error": _("Your role may not upload media in this workspace.")}, status=403
            )
        raise PermissionDenied(_("Your role may not upload media in this workspace."))
    files = request.FILES.getlist("file")
    alt_text = request.POST.get("alt_text", "")
    if not files:
        error = _("Choose a file to upload.")
        if as_json:
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error)
        return redirect("calendar:media_library", membership.workspace.slug)

    if as_json:
        try:
            asset = service_media_upload(
                membership=membership, uploaded_file=files[0], alt_text=alt_text
            )
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        except PermissionDenied as exc:
            return JsonResponse({"error": deny_message(exc)}, status=403)
        return JsonResponse(media_asset_json(asset), status=201)

    stored = 0
    for uploaded in files:
        try:
            service_media_upload(membership=membership, uploaded_file=uploaded, alt_text=alt_text)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            stored += 1
    if stored:
        messages.success(
            request,
            ngettext(
                "%(count)d file was added to the media library.",
                "%(count)d files were added to the media library.",
                stored,
            )
            % {"count": stored},
        )
    return redirect("calendar:media_library", membership.workspace.slug)
