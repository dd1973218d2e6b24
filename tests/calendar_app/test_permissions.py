"""The role table and workspace access: who may do what, and non-members see nothing."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from calendar_app.models import Role
from calendar_app.permissions import Action, access_workspace, can, require

ALLOWED = {
    Role.OWNER: set(Action),
    Role.MANAGER: set(Action)
    - {
        Action.MEMBER_MANAGE,
        Action.MEMBER_EMAILS_VIEW,
        Action.WORKSPACE_MANAGE,
        Action.TEST_CHANNEL_ADD,
        Action.TWO_FACTOR_REQUIRE,
        Action.SSO_REQUIRE,
        Action.SIGN_IN_LOG_VIEW,
    },
    Role.EDITOR: {
        Action.VIEW,
        Action.POST_CREATE,
        Action.POST_EDIT,
        Action.POST_DELETE,
        Action.POST_RESCHEDULE,
        Action.MEDIA_UPLOAD,
        Action.LABEL_MANAGE,
    },
    Role.VIEWER: {Action.VIEW},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_action_table(members, role, action):
    membership = members[role]
    expected = action in ALLOWED[role]
    assert can(membership, action) is expected
    if expected:
        require(membership, action)
    else:
        with pytest.raises(PermissionDenied) as refused:
            require(membership, action)
        assert str(refused.value)  # a reason for people, never empty


def test_no_membership_can_do_nothing():
    assert not any(can(None, action) for action in Action)


def test_member_gets_their_membership(members, workspace):
    membership = access_workspace(members[Role.EDITOR].user, "acme")
    assert membership.workspace == workspace and membership.role == Role.EDITOR


def test_non_member_gets_404_not_403(members, other_workspace):
    with pytest.raises(Http404):
        access_workspace(members[Role.OWNER].user, other_workspace.slug)


def test_unknown_workspace_gets_404(members):
    with pytest.raises(Http404):
        access_workspace(members[Role.OWNER].user, "does-not-exist")
