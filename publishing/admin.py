from django.contrib import admin

from publishing.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seen")
    readonly_fields = ("name", "last_seen")
