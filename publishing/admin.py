from django.contrib import admin

from publishing.models import ChannelCredentials, OAuthAppRegistration, WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seen")
    readonly_fields = ("name", "last_seen")


@admin.register(ChannelCredentials)
class ChannelCredentialsAdmin(admin.ModelAdmin):
    """Which channels have credentials and when they expire; never the secrets themselves."""

    list_display = ("channel", "expires_at", "updated_at", "version")
    list_select_related = ("channel",)
    fields = ("channel", "expires_at", "updated_at", "version")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OAuthAppRegistration)
class OAuthAppRegistrationAdmin(admin.ModelAdmin):
    """Our app on each self-hosted instance; delete a row to make the app register again."""

    list_display = ("platform", "instance", "client_id", "redirect_uri", "created_at")
    fields = ("platform", "instance", "redirect_uri", "client_id", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
