"""The post editor form: parses the editor's fields into a services.posts.PostInput.

Everything it offers (channels, campaigns, labels, media) is limited to the workspace; an id of
another workspace is an invalid choice. Business rules stay in the services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext_lazy as _

from calendar_app.models import Channel, MediaAsset, Post, Workspace
from calendar_app.params import DateField, IdModelChoiceField, IdModelMultipleChoiceField
from calendar_app.platforms import PlatformSpec
from calendar_app.services.content import PostInput, VariantInput
from calendar_app.timeutils import local_to_utc


class OrderedModelMultipleChoiceField(IdModelMultipleChoiceField):
    """Like ModelMultipleChoiceField, but returns a list in the order the ids were sent."""

    widget = forms.MultipleHiddenInput

    def clean(self, value):
        objects = super().clean(value)
        by_pk = {str(obj.pk): obj for obj in objects}
        ordered, seen = [], set()
        for raw in value or []:
            key = str(raw).strip()
            if key in by_pk and key not in seen:
                seen.add(key)
                ordered.append(by_pk[key])
        return ordered


def variant_prefix(channel_id: int) -> str:
    return f"v{channel_id}-"


@dataclass
class ChannelPanel:
    """One channel's tab in the editor: its bound variant fields and whether it is selected."""

    channel: Channel
    spec: PlatformSpec
    selected: bool
    body: forms.BoundField
    title: forms.BoundField | None
    first_comment: forms.BoundField | None
    media: forms.BoundField
    media_assets: list[MediaAsset] = field(default_factory=list)


class PostForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 7, "data-editor": "master-body"}),
        help_text=_("The master text. Each channel uses it unless you write its own text."),
    )
    note = forms.CharField(
        label=_("Internal note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only your team sees this."),
    )
    date = DateField(
        label=_("Date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    time = forms.TimeField(
        label=_("Time"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    campaign = IdModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, empty_label=_("No campaign")
    )
    labels = IdModelMultipleChoiceField(
        label=_("Labels"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    channels = IdModelMultipleChoiceField(
        label=_("Channels"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    media = OrderedModelMultipleChoiceField(label=_("Media"), queryset=None, required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args,
        workspace: Workspace,
        channels: list[Channel] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.workspace_channels = (
            list(workspace.channels.all()) if channels is None else list(channels)
        )
        self.fields["campaign"].queryset = workspace.campaigns.all()
        self.fields["labels"].queryset = workspace.labels.all()
        self.fields["channels"].queryset = workspace.channels.all()
        self.fields["media"].queryset = MediaAsset.objects.filter(workspace=workspace)
        for channel in self.workspace_channels:
            spec = channel.spec
            prefix = variant_prefix(channel.pk)
            self.fields[prefix + "body_override"] = forms.CharField(
                label=_("Text for %(channel)s") % {"channel": channel.name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 6, "data-role": "body-override"}),
            )
            if spec.title_limit is not None:
                self.fields[prefix + "title_override"] = forms.CharField(
                    label=_("Title for %(channel)s") % {"channel": channel.name},
                    max_length=200,
                    required=False,
                    widget=forms.TextInput(attrs={"data-role": "title-override"}),
                )
            if spec.supports_first_comment:
                self.fields[prefix + "first_comment"] = forms.CharField(
                    label=_("First comment"),
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2, "data-role": "first-comment"}),
                )
            self.fields[prefix + "media_override"] = OrderedModelMultipleChoiceField(
                label=_("Media for %(channel)s") % {"channel": channel.name},
                queryset=MediaAsset.objects.filter(workspace=workspace),
                required=False,
            )

    # --- building from a saved post ---------------------------------------------------------

    @staticmethod
    def initial_for(post: Post) -> dict:
        """Initial data for editing `post` (expects labels, media and variants prefetched)."""
        initial: dict = {
            "title": post.title,
            "body": post.body,
            "note": post.note,
            "campaign": post.campaign_id,
            "labels": [label.pk for label in post.labels.all()],
            "media": [pm.media_id for pm in post.post_media.all()],
            "version": post.version,
            "channels": [],
        }
        if post.scheduled_at is not None:
            local = post.scheduled_at.astimezone(post.workspace.tz)
            initial["date"] = local.date()
            initial["time"] = local.time().replace(second=0, microsecond=0)
        for variant in post.variants.all():
            prefix = variant_prefix(variant.channel_id)
            initial["channels"].append(variant.channel_id)
            initial[prefix + "body_override"] = variant.body_override
            initial[prefix + "title_override"] = variant.title_override
            initial[prefix + "first_comment"] = variant.first_comment
            initial[prefix + "media_override"] = [m.pk for m in variant.media_override.all()]
        return initial

    # --- validation -------------------------------------------------------------------------

    def clean(self):
        cleaned = super().clean()
        day, time_of_day = cleaned.get("date"), cleaned.get("time")
        both_or_neither = _(
            "Enter both a date and a time, or leave both empty to save the post as an idea."
        )
        if day and not time_of_day and "time" not in self.errors:
            self.add_error("time", both_or_neither)
        elif time_of_day and not day and "date" not in self.errors:
            self.add_error("date", both_or_neither)
        return cleaned

    def scheduled_at(self) -> dt.datetime | None:
        day, time_of_day = self.cleaned_data.get("date"), self.cleaned_data.get("time")
        if day and time_of_day:
            return local_to_utc(day, time_of_day, self.workspace.tz)
        return None

    def to_post_input(self) -> PostInput:
        """The cleaned form as the services take it (call only when the form is valid)."""
        data = self.cleaned_data
        variants: dict[Channel, VariantInput] = {}
        selected = {c.pk for c in data["channels"]}
        for channel in self.workspace_channels:
            if channel.pk not in selected:
                continue
            prefix = variant_prefix(channel.pk)
            variants[channel] = VariantInput(
                body_override=data.get(prefix + "body_override", "").strip(),
                title_override=data.get(prefix + "title_override", "").strip(),
                first_comment=data.get(prefix + "first_comment", "").strip(),
                media_override=list(data.get(prefix + "media_override") or []),
            )
        return PostInput(
            body=data["body"].strip(),
            title=data["title"].strip(),
            note=data["note"].strip(),
            scheduled_at=self.scheduled_at(),
            campaign=data["campaign"],
            labels=list(data["labels"]),
            media=list(data["media"]),
            variants=variants,
        )

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")

    # --- rendering helpers ------------------------------------------------------------------

    def selected_ids(self, name: str) -> set[str]:
        """The ids currently chosen in a multi-value field, as strings (bound or initial)."""
        value = self[name].value() or []
        if not isinstance(value, list | tuple):
            value = [value]
        return {str(v) for v in value if v not in (None, "")}

    def ordered_ids(self, name: str) -> list[str]:
        value = self[name].value() or []
        if not isinstance(value, list | tuple):
            value = [value]
        seen: list[str] = []
        for v in value:
            if str(v) not in seen and v not in (None, ""):
                seen.append(str(v))
        return seen

    def channel_panels(self) -> list[ChannelPanel]:
        selected = self.selected_ids("channels")
        panels = []
        for channel in self.workspace_channels:
            prefix = variant_prefix(channel.pk)
            panels.append(
                ChannelPanel(
                    channel=channel,
                    spec=channel.spec,
                    selected=str(channel.pk) in selected,
                    body=self[prefix + "body_override"],
                    title=self[prefix + "title_override"]
                    if prefix + "title_override" in self.fields
                    else None,
                    first_comment=self[prefix + "first_comment"]
                    if prefix + "first_comment" in self.fields
                    else None,
                    media=self[prefix + "media_override"],
                )
            )
        return panels
