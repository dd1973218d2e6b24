from django.contrib import admin

from publishing.models import (
    AccountSnapshot,
    Attempt,
    ChannelCredentials,
    Delivery,
    MetricSnapshot,
    OAuthAppRegistration,
    RemotePost,
    SandboxPost,
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the metrics workers write; the admin reads them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RemotePost)
class RemotePostAdmin(ReadOnlyAdmin):
    list_display = ("remote_id", "channel", "source", "published_at", "next_pull_at", "step")
    list_filter = ("source", "channel__platform", "workspace")
    list_select_related = ("channel",)
    search_fields = ("remote_id", "text")
    date_hierarchy = "published_at"


@admin.register(SandboxPost)
class SandboxPostAdmin(ReadOnlyAdmin):
    list_display = ("remote_id", "account_id", "created_at", "deleted_at")
    search_fields = ("remote_id", "account_id", "text")
    date_hierarchy = "created_at"


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("remote_post", "seq", "taken_at", "likes", "comments", "shares", "impressions")
    list_select_related = ("remote_post",)
    raw_id_fields = ("remote_post",)


@admin.register(AccountSnapshot)
class AccountSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("channel", "day", "followers", "following", "posts")
    list_filter = ("workspace",)
    list_select_related = ("channel",)
    date_hierarchy = "day"
