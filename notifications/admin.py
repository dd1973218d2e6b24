from django.contrib import admin

from notifications.models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "workspace", "read_at")
    list_filter = ("kind", "workspace")
    list_select_related = ("recipient", "workspace")
    raw_id_fields = ("recipient", "actor", "post")
    date_hierarchy = "created_at"


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "in_app", "email")
    list_filter = ("kind",)
    raw_id_fields = ("user",)
