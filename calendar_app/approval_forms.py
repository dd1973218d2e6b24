"""Forms of the approval policy page: the policy itself and a formset of ordered steps."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from calendar_app.models import ApprovalMode, ApprovalPolicy, Membership, Role
from calendar_app.params import IdModelMultipleChoiceField
from calendar_app.services.workspaces import StepInput

APPROVER_ROLES = [
    (Role.OWNER.value, Role.OWNER.label),
    (Role.MANAGER.value, Role.MANAGER.label),
    (Role.EDITOR.value, Role.EDITOR.label),
]


class ApprovalPolicyForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Approval mode"), choices=ApprovalMode.choices, widget=forms.RadioSelect
    )
    allow_self_approval = forms.BooleanField(
        label=_("Authors may approve their own posts"), required=False
    )
    time_moves_need_review = forms.BooleanField(
        label=_("Moving an approved post to another time needs a new review"), required=False
    )
    reminder_hours = forms.IntegerField(
        label=_("Remind approvers this many hours before the post's time (0 = never)"),
        min_value=0,
        max_value=336,
    )
    skip_roles = forms.MultipleChoiceField(
        label=_("Roles that may skip a step (every skip is recorded)"),
        choices=APPROVER_ROLES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    @classmethod
    def initial_for(cls, policy: ApprovalPolicy) -> dict:
        return {
            "mode": policy.mode,
            "allow_self_approval": policy.allow_self_approval,
            "time_moves_need_review": policy.time_moves_need_review,
            "reminder_hours": policy.reminder_hours,
            "skip_roles": policy.skip_roles,
        }


class ApprovalStepForm(forms.Form):
    name = forms.CharField(label=_("Step name"), max_length=80, required=False)
    roles = forms.MultipleChoiceField(
        label=_("Roles that may approve"),
        choices=APPROVER_ROLES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    members = IdModelMultipleChoiceField(
        label=_("Members who may approve"),
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    external = forms.BooleanField(label=_("An external reviewer may approve"), required=False)
    required = forms.IntegerField(label=_("Approvals needed"), min_value=1, max_value=10, initial=1)

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = (
            Membership.objects.filter(workspace=workspace)
            .exclude(role=Role.VIEWER)
            .select_related("user")
            .order_by("user__username")
        )
        self.fields["members"].label_from_instance = lambda m: str(m.user)

    def to_step(self) -> StepInput | None:
        data = self.cleaned_data
        if not data or not data.get("name") or data.get("DELETE"):
            return None
        return StepInput(
            name=data["name"],
            roles=list(data["roles"]),
            members=[m.user for m in data["members"]],
            external=data["external"],
            required=data["required"] or 1,
        )


StepFormSet = forms.formset_factory(ApprovalStepForm, extra=1, can_delete=True, max_num=8)


def steps_initial(policy: ApprovalPolicy, steps: list[dict], workspace) -> list[dict]:
    members = {
        m.user_id: m.pk
        for m in Membership.objects.filter(workspace=workspace).only("id", "user_id")
    }
    return [
        {
            "name": s["name"],
            "roles": s["roles"],
            "members": [members[u] for u in s["members"] if u in members],
            "external": s["external"],
            "required": s["required"],
        }
        for s in steps
    ]
