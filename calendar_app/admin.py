from django.contrib import admin

from calendar_app.models import (
    Campaign,
    Channel,
    Label,
    MediaAsset,
    Membership,
    Post,
    PostMedia,
    PostVariant,
    Workspace,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "timezone", "language", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role", "workspace")
    search_fields = ("user__username", "user__email", "workspace__name")
    autocomplete_fields = ["user", "workspace"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "platform", "handle", "workspace", "state")
    list_filter = ("platform", "state", "workspace")
    search_fields = ("name", "handle", "account_id")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "color", "starts_on", "ends_on")
    list_filter = ("workspace",)
    search_fields = ("name",)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "color")
    list_filter = ("workspace",)
    search_fields = ("name",)


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ("original_name", "kind", "mime_type", "size_bytes", "workspace", "created_at")
    list_filter = ("kind", "workspace")
    search_fields = ("original_name", "alt_text")


class PostVariantInline(admin.StackedInline):
    model = PostVariant
    extra = 0
    raw_id_fields = ["channel"]
    filter_horizontal = ["media_override"]


class PostMediaInline(admin.TabularInline):
    model = PostMedia
    extra = 0
    raw_id_fields = ["media"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("__str__", "workspace", "status", "scheduled_at", "author", "campaign")
    list_filter = ("status", "workspace", "campaign")
    search_fields = ("title", "body", "note")
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["author", "campaign"]
    filter_horizontal = ["labels"]
    inlines = [PostVariantInline, PostMediaInline]
    # status has one writer, the workflow services
    readonly_fields = ("status", "version", "created_at", "updated_at")


@admin.register(PostVariant)
class PostVariantAdmin(admin.ModelAdmin):
    list_display = ("post", "channel")
    list_filter = ("channel__platform",)
    raw_id_fields = ["post", "channel"]
