from django.contrib import admin

from links.models import LinkClick, LinkVisitor, TrackedLink


@admin.register(TrackedLink)
class TrackedLinkAdmin(admin.ModelAdmin):
    """Short links are made when posts go out; the admin reads them."""

    list_display = (
        "code",
        "target_url",
        "channel",
        "campaign",
        "clicks",
        "unique_clicks",
        "bot_clicks",
    )
    list_filter = ("workspace",)
    list_select_related = ("channel", "campaign")
    search_fields = ("code", "target_url")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LinkClick)
class LinkClickAdmin(admin.ModelAdmin):
    list_display = ("link", "clicked_at", "referrer_host", "is_unique")
    list_select_related = ("link",)
    date_hierarchy = "clicked_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LinkVisitor)
class LinkVisitorAdmin(admin.ModelAdmin):
    """Today's visitor hashes (keyed, never an address): readable for an operator who wonders
    why a click was not counted twice; written only by the redirect."""

    list_display = ("link", "day", "visitor")
    list_select_related = ("link",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
