"""Reads for notifications: the navbar count, the dropdown, the centre, the preferences."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, QuerySet, Value, When

from accounts.models import User
from notifications.models import DESCRIPTIONS, Kind, Notification, NotificationPreference

DROPDOWN_SIZE = 8


def unread_count(user: User) -> int:
    """One COUNT on the partial index of unread rows."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each group."""
    qs = Notification.objects.filter(recipient=user).select_related("workspace")
    if unread_only:
        return qs.filter(read_at__isnull=True).order_by("-created_at", "-id")
    return qs.annotate(
        read_rank=Case(
            When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("read_rank", "-created_at", "-id")


def latest_for(user: User, *, limit: int = DROPDOWN_SIZE) -> list[Notification]:
    """The newest notifications for the navbar dropdown, read or not."""
    return list(
        Notification.objects.filter(recipient=user)
        .select_related("workspace")
        .order_by("-created_at", "-id")[:limit]
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
