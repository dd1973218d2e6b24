"""A workspace's approval policy as the rules read it: the saved one, or the default (approval
required, one step for managers and owners) until its owner saves one."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from calendar_app.models import ApprovalPolicy, Role, Workspace

# The chain a workspace uses until its owner saves its own steps (named when snapshotted, in
# the language of the moment).
DEFAULT_STEP_NAME = gettext_lazy("Approval")


def default_step() -> dict:
    return {
        "name": str(DEFAULT_STEP_NAME),
        "roles": [Role.MANAGER.value, Role.OWNER.value],
        "members": [],
        "external": False,
        "required": 1,
    }


# --- policy -------------------------------------------------------------------------------------


def policy_for(workspace: Workspace) -> ApprovalPolicy:
    """The workspace's policy; an unsaved default (approval required) if it never set one."""
    try:
        return workspace.approval_policy
    except ApprovalPolicy.DoesNotExist:
        return ApprovalPolicy(workspace=workspace)


def policy_steps(policy: ApprovalPolicy) -> list[dict]:
    """The steps as plain data (the form a review round snapshots them in)."""
    steps: list[dict] = []
    if policy.pk is not None:
        for step in policy.steps.prefetch_related("approver_members"):
            steps.append(
                {
                    "name": step.name,
                    "roles": list(step.approver_roles),
                    "members": sorted(u.pk for u in step.approver_members.all()),
                    "external": step.external,
                    "required": max(1, step.required_approvals),
                }
            )
    return steps or [default_step()]
