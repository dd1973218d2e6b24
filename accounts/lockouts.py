"""Logins that resist guessing (issue 13): django-axes counts failed logins per account and per
address and refuses both for a while after too many (settings AXES_*); this module is what the
person sees then, what a workspace's owner sees of it, how long the records stay, and the same
kind of limit on password-reset e-mails.

Only failures are recorded (axes' AccessFailureLog: when, the username typed, the address, the
browser); never a password. They are kept FAILURES_KEEP_DAYS days."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger(__name__)

FAILURES_KEEP_DAYS = 30
LOG_DAYS = 30  # how far back the owner's list of lock-outs reaches
LOG_ROWS = 100


def cooloff_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page's answer while an account or address is locked
    out, in the reader's language (429: the same for a right password, so it tells nothing)."""
    # Not the username typed: people type their password into that field too.
    logger.warning("login refused: too many failures for the account or the address")
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": cooloff_minutes(), "limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@dataclass(frozen=True)
class Lockout:
    at: dt.datetime
    username: str
    address: str
    user_agent: str


def lockouts_for_members(usernames: list[str], emails: list[str]) -> list[Lockout]:
    """Lock-outs of the last LOG_DAYS days whose typed username names one of these accounts
    (by username or e-mail address), newest first: what an owner sees for their workspace."""
    from axes.models import AccessFailureLog

    names = [n for n in usernames if n] + [e for e in emails if e]
    if not names:
        return []
    typed = Q()
    for name in names:
        typed |= Q(username__iexact=name)
    rows = (
        AccessFailureLog.objects.filter(
            typed, locked_out=True, attempt_time__gte=timezone.now() - dt.timedelta(days=LOG_DAYS)
        )
        .order_by("-attempt_time")
        .values_list("attempt_time", "username", "ip_address", "user_agent")[:LOG_ROWS]
    )
    return [Lockout(at, name or "", ip or "", (agent or "")[:120]) for at, name, ip, agent in rows]


def sign_in_failures_purge(*, now: dt.datetime | None = None) -> int:
    """Beat, daily: failure records older than FAILURES_KEEP_DAYS go. Returns how many."""
    from axes.models import AccessAttempt, AccessFailureLog

    before = (now or timezone.now()) - dt.timedelta(days=FAILURES_KEEP_DAYS)
    deleted, _ = AccessFailureLog.objects.filter(attempt_time__lt=before).delete()
    AccessAttempt.objects.filter(attempt_time__lt=before).delete()
    return deleted


def password_reset_allowed(request: HttpRequest, email: str) -> tuple[bool, int]:
    """Count one password-reset request from this address and for this e-mail address:
    (allowed, seconds until the limit ends). PASSWORD_RESET_PER_HOUR each, an hour."""
    from accounts.throttle import address_count_take, client_address

    hour = 3600
    by_address, wait = address_count_take(
        "password-reset", client_address(request) or "-", window_seconds=hour
    )
    by_email, _wait = address_count_take(
        "password-reset-email", email.strip().lower() or "-", window_seconds=hour
    )
    limit = settings.PASSWORD_RESET_PER_HOUR
    return (by_address <= limit and by_email <= limit), wait
