"""Celery tasks of link tracking: thin wrappers around services (default queue)."""

from celery import shared_task

from links import services


@shared_task(ignore_result=True)
def link_visitors_purge() -> int:
    """Beat, hourly: the visitor hashes of past days go (services.link_visitors_purge)."""
    return services.link_visitors_purge()
