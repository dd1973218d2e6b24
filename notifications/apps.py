from django.apps import AppConfig
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from calendar_app.models import Membership

        post_delete.connect(
            forget_left_workspace, sender=Membership, dispatch_uid="notifications-left-workspace"
        )


def forget_left_workspace(sender, instance, **kwargs) -> None:
    """Someone who leaves a workspace (or is removed) no longer reads what was said in it: its
    notifications go with the membership (their texts may quote comments and prices)."""
    from notifications.models import Notification

    Notification.objects.filter(
        recipient_id=instance.user_id, workspace_id=instance.workspace_id
    ).delete()
