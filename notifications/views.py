"""The notification centre, the navbar dropdown, and the preferences page.

Every view works on the signed-in user's own notifications; anyone else's answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications.forms import PreferencesForm
from notifications.models import Notification
from notifications.selectors import (
    closed_to,
    latest_for,
    notifications_for,
    preferences_for,
)
from notifications.services import (
    is_local_path,
    notification_mark_read,
    notification_preferences_set,
)

PAGE_SIZE = 25


@login_required
@require_GET
def notification_list(request):
    unread_only = request.GET.get("show") == "unread"
    notifications = notifications_for(
        request.user, unread_only=unread_only, closed=closed_to(request)
    )
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"page": page, "unread_only": unread_only},
    )


@login_required
@require_GET
def notification_menu(request):
    """The dropdown under the bell (loaded by htmx when it opens)."""
    return _menu(request)


def _menu(request):
    # The unread count for the badge comes from the context processor.
    items = latest_for(request.user, closed=closed_to(request))
    return render(request, "notifications/_menu.html", {"items": items})


@login_required
@require_POST
def notification_open(request, pk: int):
    """Mark one notification read and go to what it is about (only ever a local path)."""
    notification = get_object_or_404(
        Notification.objects.exclude(closed_to(request)), pk=pk, recipient=request.user
    )
    notification_mark_read(user=request.user, ids=[notification.pk])
    if notification.url and is_local_path(notification.url):
        return redirect(notification.url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request):
    notification_mark_read(user=request.user, all=True)
    if request.htmx:
        return _menu(request)  # the badge updates out of band
    messages.success(request, _("All notifications are marked as read."))
    target = request.POST.get("next", "")
    return redirect(target if is_local_path(target) else reverse("notifications:list"))


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    rows = preferences_for(request.user)
    if request.method == "POST":
        form = PreferencesForm(request.POST, rows=rows)
        if form.is_valid():
            notification_preferences_set(user=request.user, choices=form.choices())
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:preferences")
    else:
        form = PreferencesForm(rows=rows)
    return render(request, "notifications/preferences.html", {"form": form})
