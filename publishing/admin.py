from django.contrib import admin

from publishing.models import (
    Attempt,
    ChannelCredentials,
    Delivery,
    OAuthAppRegistration,
    WorkerHeartbeat,
)


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


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ("started_at", "finished_at", "worker", "outcome", "http_status", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Deliveries change state only through the engine's services; the admin reads them."""

    list_display = ("post", "channel", "state", "due_at", "attempts", "published_at")
    list_filter = ("state", "channel__platform", "workspace")
    list_select_related = ("post", "channel")
    search_fields = ("remote_id", "idempotency_key")
    date_hierarchy = "due_at"
    inlines = [AttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ("delivery", "started_at", "finished_at", "worker", "outcome", "http_status")
    list_filter = ("outcome",)
    list_select_related = ("delivery",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
