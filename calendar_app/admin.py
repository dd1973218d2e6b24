from django.contrib import admin

from calendar_app.models import (
    ApprovalPolicy,
    ApprovalStep,
    AuditEvent,
    Campaign,
    Channel,
    Invitation,
    Label,
    MediaAsset,
    Membership,
    Post,
    PostComment,
    PostMedia,
    PostRevision,
    PostVariant,
    ReviewDecision,
    ReviewLink,
    ReviewRound,
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


@admin.register(PostMedia)
class PostMediaAdmin(admin.ModelAdmin):
    list_display = ("post", "media", "position")
    raw_id_fields = ["post", "media"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened (audit, decisions, revisions): readable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    extra = 0
    filter_horizontal = ["approver_members"]


@admin.register(ApprovalStep)
class ApprovalStepAdmin(admin.ModelAdmin):
    list_display = ("policy", "position", "name", "required_approvals", "external")
    filter_horizontal = ["approver_members"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "workspace",
        "mode",
        "allow_self_approval",
        "time_moves_need_review",
        "updated_at",
    )
    list_filter = ("mode",)
    inlines = [ApprovalStepInline]


@admin.register(PostRevision)
class PostRevisionAdmin(ReadOnlyAdmin):
    list_display = ("post", "number", "author", "created_at")
    raw_id_fields = ["post", "author"]


@admin.register(ReviewRound)
class ReviewRoundAdmin(ReadOnlyAdmin):
    list_display = ("post", "state", "current_step", "submitted_by", "created_at", "finished_at")
    list_filter = ("state",)


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ("round", "step", "kind", "user", "external_name", "created_at")
    list_filter = ("kind",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "workspace",
        "post",
        "action",
        "from_status",
        "to_status",
        "actor",
    )
    list_filter = ("action", "workspace")
    date_hierarchy = "created_at"


@admin.register(PostComment)
class PostCommentAdmin(admin.ModelAdmin):
    list_display = ("post", "author", "external_name", "internal", "created_at")
    list_filter = ("internal",)
    raw_id_fields = ["post", "author"]


@admin.register(ReviewLink)
class ReviewLinkAdmin(admin.ModelAdmin):
    list_display = ("workspace", "created_by", "created_at", "expires_at", "revoked_at")
    # only a hash of the token is stored; nothing here can reveal or re-create a link
    readonly_fields = ("token_hash", "created_by", "created_at")
    filter_horizontal = ["posts"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations are issued, answered and withdrawn on the member page only (the token exists
    nowhere but in the link, so one made here could not be sent)."""

    list_display = ("workspace", "email", "role", "invited_by", "created_at", "expires_at")
    list_filter = ("role",)
    search_fields = ("email",)
    exclude = ("token_hash",)
