"""Writes for a person's own account: deleting it (the data protection right to erasure).

Deletion pseudonymises instead of removing the row: every post, comment, decision, revision and
audit event keeps its user id (so separation of duties, "own post" badges and history still tell
people apart) while the name, username and address are gone and pages read "Deleted user".
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.two_factor import two_factor_forget_user
from calendar_app.models import Invitation, Membership, Workspace
from calendar_app.services.workspaces import membership_is_last_owner
from notifications.services import notifications_forget_user

DELETED_USERNAME = "deleted-{pk}"


@transaction.atomic(durable=True)
def account_delete(*, user: User, password: str) -> User:
    """Delete `user`'s account, confirmed by their password; returns the pseudonymised row.

    Refused (ValidationError, nothing changed) for a wrong password and while they are the last
    owner of a workspace. Otherwise, in one transaction: they leave every workspace, their
    notifications, notification settings and second factors are deleted, their names, e-mail address and
    password are removed (the username becomes "deleted-<id>"), the account can no longer log
    in (every session of it stops working), and the e-mail address is blanked on the
    invitations they answered. What they wrote stays with the workspaces.
    """
    account = User.objects.select_for_update().get(pk=user.pk)
    if account.deleted_at is not None or not account.is_active:
        raise ValidationError(_("This account is already deleted."))
    if not account.check_password(password):
        raise ValidationError(
            {"password": _("The password is not correct. Your account was not deleted.")}
        )
    # The lock membership changes take (calendar_app.services.workspaces), in one order, so
    # two owners cannot both leave a workspace at once.
    list(
        Workspace.objects.select_for_update(of=("self",))
        .filter(memberships__user=account)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    memberships = list(
        Membership.objects.filter(user=account).select_related("workspace").order_by("pk")
    )
    sole = [m.workspace.name for m in memberships if membership_is_last_owner(m)]
    if sole:
        raise ValidationError(
            _(
                "You are the last owner of these workspaces: %(workspaces)s. Make someone else "
                "an owner there first (Settings → Members). Your account was not deleted."
            )
            % {"workspaces": ", ".join(sole)}
        )

    Membership.objects.filter(user=account).delete()
    notifications_forget_user(user=account)
    two_factor_forget_user(user=account)  # a TOTP key and recovery codes are personal data too
    Invitation.objects.filter(Q(accepted_by=account) | Q(declined_by=account)).update(email="")

    username = DELETED_USERNAME.format(pk=account.pk)
    if User.objects.filter(username=username).exclude(pk=account.pk).exists():
        username = f"{username}-{timezone.now():%Y%m%d%H%M%S}"  # someone chose that name
    account.username = username
    account.first_name = ""
    account.last_name = ""
    account.email = ""
    account.language = ""
    account.is_active = False
    account.is_staff = False
    account.is_superuser = False
    account.last_login = None
    account.deleted_at = timezone.now()
    # A new password hash also changes the session hash: every session of it ends.
    account.set_unusable_password()
    account.save()
    account.groups.clear()
    account.user_permissions.clear()
    return account
