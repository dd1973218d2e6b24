"""Reads for notifications: the navbar count, the dropdown, the centre, the preferences."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.models import User
from notifications.models import DESCRIPTIONS, Kind, Notification, NotificationPreference

DROPDOWN_SIZE = 8


def closed_to(request) -> Q:
    """The workspaces the request's session may not open (two factors or single sign-on
    required and not passed), whose notifications it does not see either."""
    from accounts.sso import sso_session
    from calendar_app.permissions import workspaces_closed_to_session

    return workspaces_closed_to_session(request.user, sso_session=sso_session(request))


def _visible(user: User, closed: Q | None) -> QuerySet[Notification]:
    """The user's notifications, without those of workspaces this session may not open
    (`closed`, calendar_app.permissions.workspaces_closed_to_session)."""
    qs = Notification.objects.filter(recipient=user)
    return qs.exclude(closed) if closed is not None else qs


def unread_count(user: User, *, closed: Q | None = None) -> int:
    """One COUNT on the partial index of unread rows."""
    return _visible(user, closed).filter(read_at__isnull=True).count()


def notifications_for(
    user: User, *, unread_only: bool = False, closed: Q | None = None
) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each group."""
    qs = _visible(user, closed).select_related("workspace")
    if unread_only:
        return qs.filter(read_at__isnull=True).order_by("-created_at", "-id")
    return qs.annotate(
        read_rank=Case(
            When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("read_rank", "-created_at", "-id")


def latest_for(
    user: User, *, limit: int = DROPDOWN_SIZE, closed: Q | None = None
) -> list[Notification]:
    """The newest notifications for the navbar dropdown, read or not."""
    return list(
        _visible(user, closed).select_related("workspace").order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PreferenceRow:
    kind: str
    label: str
    description: str
    in_app: bool
    email: bool


def preferences_for(user: User) -> list[PreferenceRow]:
    """Every kind with the user's choice (both on where they made none)."""
    stored = {pref.kind: pref for pref in NotificationPreference.objects.filter(user=user)}
    rows = []
    for kind in Kind:
        pref = stored.get(kind.value)
        rows.append(
            PreferenceRow(
                kind=kind.value,
                label=str(kind.label),
                description=str(DESCRIPTIONS[kind]),
                in_app=pref.in_app if pref else True,
                email=pref.email if pref else True,
            )
        )
    return rows
