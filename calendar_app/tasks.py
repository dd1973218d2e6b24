"""Celery tasks of the editorial side: thin wrappers around services; the schedule lives in
config/celery.py."""

from celery import shared_task

from calendar_app.services import review


@shared_task(ignore_result=True)
def approval_reminders_send() -> int:
    """Beat: remind approvers of posts still in review shortly before their time (once each)."""
    return review.approvals_send_reminders()


@shared_task(ignore_result=True)
def approvals_mark_missed() -> int:
    """Beat: posts whose time came before their approval are marked and never published."""
    return review.approvals_mark_missed()


@shared_task(ignore_result=True)
def posts_warn_held() -> int:
    """Beat: tell of planned posts whose channel holds them, ahead of time and at it, and of
    channels whose connection ends soon."""
    from calendar_app.services.held import channels_warn_access_ending, posts_warn_held

    return posts_warn_held() + channels_warn_access_ending()
