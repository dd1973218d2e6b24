"""The Celery application and the beat schedule (built here, in one place).

Tasks are discovered in each app's tasks.py; routes to queues are in settings (CELERY_TASK_ROUTES).
Every periodic entry has an `expires` shorter than its interval, so a backlog (e.g. after the
worker was down) never runs the same sweep twice.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("calendar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_SECONDS = 30.0
CREDENTIALS_REFRESH_SECONDS = 5 * 60.0  # tokens expiring within 30 min are refreshed ahead
APPROVAL_REMINDERS_SECONDS = 5 * 60.0  # a reminder is at most 5 min late
APPROVALS_MISSED_SECONDS = 60.0  # a post's time passing unapproved is marked within a minute
HELD_WARNINGS_SECONDS = 60.0  # a post its channel holds is told of within a minute of its time
DISPATCH_SECONDS = 1.0  # a sweep for due deliveries every second...
DISPATCH_FOLLOW_SECONDS = 0.95  # ...that then hands each over at its time until the next one
RECONCILE_SECONDS = 30.0
METRICS_SWEEP_SECONDS = 60.0  # due metrics pulls are handed over within a minute
ACCOUNT_SNAPSHOTS_SECONDS = 3600.0  # each channel's account numbers in the first hour of its day
NOTIFICATIONS_PURGE_SECONDS = 24 * 3600.0  # old notifications leave the bell once a day
LINK_VISITORS_PURGE_SECONDS = 3600.0  # yesterday's visitor hashes go within the first hour
SIGN_IN_FAILURES_PURGE_SECONDS = 24 * 3600.0  # failed-login records older than 30 days, daily

# Celery's Django fixup closes the database connection before and after every task unless this
# is set (celery#4116): reconnecting made an ORM publish task ~40% slower. The publish task
# calls close_old_connections() itself, which honours CONN_MAX_AGE and drops broken ones.
app.conf.CELERY_DB_REUSE_MAX = 1000

app.conf.beat_schedule = {
    "deliveries-dispatch-due": {
        "task": "publishing.tasks.deliveries_dispatch_due",
        "schedule": DISPATCH_SECONDS,
        "kwargs": {"follow_seconds": DISPATCH_FOLLOW_SECONDS},
        "options": {"expires": DISPATCH_SECONDS * 0.9},
    },
    "deliveries-reconcile": {
        "task": "publishing.tasks.deliveries_reconcile",
        "schedule": RECONCILE_SECONDS,
        "options": {"expires": RECONCILE_SECONDS - 5},
    },
    "beat-heartbeat": {
        "task": "publishing.tasks.beat_heartbeat",
        "schedule": HEARTBEAT_SECONDS,
        "options": {"expires": HEARTBEAT_SECONDS - 5},
    },
    "credentials-refresh-due": {
        "task": "publishing.tasks.credentials_refresh_due",
        "schedule": CREDENTIALS_REFRESH_SECONDS,
        "options": {"expires": CREDENTIALS_REFRESH_SECONDS - 30},
    },
    "approval-reminders-send": {
        "task": "calendar_app.tasks.approval_reminders_send",
        "schedule": APPROVAL_REMINDERS_SECONDS,
        "options": {"expires": APPROVAL_REMINDERS_SECONDS - 30},
    },
    "approvals-mark-missed": {
        "task": "calendar_app.tasks.approvals_mark_missed",
        "schedule": APPROVALS_MISSED_SECONDS,
        "options": {"expires": APPROVALS_MISSED_SECONDS - 10},
    },
    "posts-warn-held": {
        "task": "calendar_app.tasks.posts_warn_held",
        "schedule": HELD_WARNINGS_SECONDS,
        "options": {"expires": HELD_WARNINGS_SECONDS - 10},
    },
    # On the metrics queue (routed by name), never in the way of the dispatcher.
    "metrics-sweep": {
        "task": "publishing.tasks.metrics_sweep",
        "schedule": METRICS_SWEEP_SECONDS,
        "options": {"expires": METRICS_SWEEP_SECONDS - 10},
    },
    "metrics-account-snapshots": {
        "task": "publishing.tasks.metrics_account_snapshots_due",
        "schedule": ACCOUNT_SNAPSHOTS_SECONDS,
        "options": {"expires": ACCOUNT_SNAPSHOTS_SECONDS - 300},
    },
    "notifications-purge-old": {
        "task": "notifications.tasks.notifications_purge_old",
        "schedule": NOTIFICATIONS_PURGE_SECONDS,
        "options": {"expires": NOTIFICATIONS_PURGE_SECONDS - 3600},
    },
    "link-visitors-purge": {
        "task": "links.tasks.link_visitors_purge",
        "schedule": LINK_VISITORS_PURGE_SECONDS,
        "options": {"expires": LINK_VISITORS_PURGE_SECONDS - 300},
    },
    "sign-in-failures-purge": {
        "task": "accounts.tasks.sign_in_failures_purge",
        "schedule": SIGN_IN_FAILURES_PURGE_SECONDS,
        "options": {"expires": SIGN_IN_FAILURES_PURGE_SECONDS - 3600},
    },
}
