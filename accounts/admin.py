from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from accounts.models import AuthenticatorDevice, RecoveryCode, RecoveryCodeDevice, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*DjangoUserAdmin.fieldsets, (_("Preferences"), {"fields": ("language",)}))
    list_display = ("username", "email", "first_name", "last_name", "language", "is_staff")


class SecondFactorAdmin(admin.ModelAdmin):
    """Who has which second factor, to remove one a person lost; never its key or codes."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuthenticatorDevice)
class AuthenticatorDeviceAdmin(SecondFactorAdmin):
    pass


@admin.register(RecoveryCodeDevice)
class RecoveryCodeDeviceAdmin(SecondFactorAdmin):
    list_display = (*SecondFactorAdmin.list_display, "codes_left")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(codes_left=Count("codes"))

    @admin.display(description=_("codes left"), ordering="codes_left")
    def codes_left(self, device: RecoveryCodeDevice) -> int:
        return device.codes_left


@admin.register(RecoveryCode)
class RecoveryCodeAdmin(admin.ModelAdmin):
    """Only how many a device has left; the stored hash is not shown either."""

    list_display = ("pk", "device")
    list_select_related = ("device__user",)
    fields = ("device",)
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
