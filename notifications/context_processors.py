"""The navbar bell's unread count: one COUNT for signed-in users, no query for anyone else."""

from notifications.selectors import closed_to, unread_count


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": unread_count(user, closed=closed_to(request))}
