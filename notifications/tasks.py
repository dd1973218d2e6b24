"""Celery tasks for notifications: thin wrappers around services (default queue)."""

from celery import shared_task

from notifications import services


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_kwargs={"max_retries": 5},
)
def notification_email_send(
    *, recipient_id: int, kind: str, workspace_id: int, params: dict, url: str
) -> None:
    """Send one notification e-mail; a mail server that is down is retried with backoff."""
    services.notification_email_send(
        recipient_id=recipient_id, kind=kind, workspace_id=workspace_id, params=params, url=url
    )


@shared_task(ignore_result=True)
def notifications_purge_old() -> None:
    """Beat, daily: old notifications leave the bell (services.READ_KEEP_DAYS...)."""
    services.notifications_purge_old()
