"""The media library page and uploads (library form and the editor's inline fetch upload)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from calendar_app.models import Membership
from calendar_app.permissions import Action, can
from calendar_app.services.media import media_asset_json
from calendar_app.services.media import media_upload as service_media_upload
from calendar_app.views.base import deny_message, workspace_context, workspace_view


@workspace_view(Action.VIEW)
@require_GET
def media_library(request: HttpRequest, membership: Membership) -> HttpResponse:
    assets = list(membership.workspace.media.select_related("uploaded_by"))
    return render(
        request,
        "calendar_app/media/library.html",
        {
            **workspace_context(request, membership),
            "nav": "media",
            "assets": assets,
            "max_image": settings.MEDIA_MAX_IMAGE_BYTES,
            "max_video": settings.MEDIA_MAX_VIDEO_BYTES,
        },
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
