"""Forms of the workspace settings pages. They only parse input; the services validate and write."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.sso import sso_configured
from calendar_app.models import Campaign, Channel, Label, Role, Workspace
from calendar_app.params import DateField
from calendar_app.platforms import Platform


@cache
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )
    return [(z, z.replace("_", " ")) for z in [*zones, "UTC"]]


class ColorInput(forms.TextInput):
    input_type = "color"

    def __init__(self, attrs=None):
        super().__init__({"class": "form-control form-control-color", **(attrs or {})})


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class WorkspaceForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=timezone_choices,
        help_text=_(
            "Posts are planned and shown in this time zone. Changing it keeps every planned "
            "post's exact moment, so their local times shift."
        ),
    )
    language = forms.ChoiceField(
        label=_("Language of the content"),
        choices=settings.LANGUAGES,
        help_text=_("The language your team writes posts in."),
    )
    # Link tracking (applied by the links app when a post goes out).
    utm_tagging = forms.BooleanField(
        label=_("Add UTM parameters to links"),
        required=False,
        help_text=_(
            "Links in posts get utm_source (the platform), utm_medium=social, utm_campaign and "
            "utm_content when they go out, so your web analytics show where visitors came from. "
            "Parameters already in a link are kept."
        ),
    )
    shorten_links = forms.BooleanField(
        label=_("Count clicks with short links"),
        required=False,
        help_text=_(
            "Links are replaced by short links on this site that count people's clicks, also "
            "where the platform reports none. Previews fetched by platforms and bots are not "
            "counted; no IP addresses are stored."
        ),
    )

    two_factor_required = forms.BooleanField(
        label=_("Members must use two-factor authentication"),
        required=False,
        help_text=_(
            "Members who have not set up two-factor authentication, or did not confirm their "
            "login with a code, cannot open this workspace until they do; they are asked to. "
            "Their other workspaces stay as they are. Set it up for yourself first."
        ),
    )
    sso_required = forms.BooleanField(
        label=_("Members must sign in with single sign-on"),
        required=False,
        help_text=_(
            "Members can open this workspace only after signing in with the organisation's "
            "identity provider, not with a password; others are sent to the login page. Sign "
            "in with it yourself first."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.PUBLIC_BASE_URL:
            self.fields["shorten_links"].help_text = _(
                "Not available: short links need the public address of this site. Ask your "
                "administrator to set PUBLIC_BASE_URL."
            )

    @classmethod
    def for_workspace(cls, workspace: Workspace, data=None) -> WorkspaceForm:
        initial = {
            "name": workspace.name,
            "timezone": workspace.timezone,
            "language": workspace.language,
            "utm_tagging": workspace.utm_tagging,
            "shorten_links": workspace.shorten_links,
            "two_factor_required": workspace.two_factor_required,
            "sso_required": workspace.sso_required,
        }
        form = cls(data, initial=initial)
        if not sso_configured() and not workspace.sso_required:
            # Without single sign-on on this site the switch is not offered; one already on
            # stays visible, so that an owner can switch it off.
            del form.fields["sso_required"]
        return form


class ChannelForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    name = forms.CharField(
        label=_("Display name"), max_length=120, help_text=_("How the team recognises the channel.")
    )
    handle = forms.CharField(
        label=_("Handle"), max_length=200, required=False, help_text=_("For example @nordlicht.")
    )
    account_id = forms.CharField(
        label=_("Account id"),
        max_length=200,
        required=False,
        help_text=_(
            "Optional for now: channels are added by hand until accounts can be connected."
        ),
    )

    @classmethod
    def for_channel(cls, channel: Channel | None, data=None) -> ChannelForm:
        initial = (
            {
                "platform": channel.platform,
                "name": channel.name,
                "handle": channel.handle,
                "account_id": channel.account_id,
            }
            if channel
            else {}
        )
        return cls(data, initial=initial)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    color = forms.CharField(label=_("Colour"), max_length=7, initial="#0d6efd", widget=ColorInput)
    starts_on = DateField(label=_("Start"), required=False, widget=DateInput)
    ends_on = DateField(label=_("End"), required=False, widget=DateInput)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    utm_campaign = forms.SlugField(
        label=_("UTM campaign"),
        max_length=100,
        required=False,
        help_text=_(
            "The utm_campaign value of links in this campaign's posts (letters, digits, - and "
            "_). Empty: made from the name, e.g. spring-launch."
        ),
    )
    budget = forms.DecimalField(
        label=_("Budget"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("What the campaign costs; the campaign report shows the cost per click."),
    )
    currency = forms.CharField(
        label=_("Currency"),
        required=False,  # empty: EUR
        max_length=3,
        initial="EUR",
        help_text=_("ISO 4217 code, for example EUR, CHF or USD."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}),
    )

    @classmethod
    def for_campaign(cls, campaign: Campaign | None, data=None) -> CampaignForm:
        initial = (
            {
                "name": campaign.name,
                "color": campaign.color,
                "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "description": campaign.description,
                "utm_campaign": campaign.utm_campaign,
                "budget": campaign.budget,
                "currency": campaign.currency,
            }
            if campaign
            else {}
        )
        form = cls(data, initial=initial)
        if campaign is not None:  # what an empty UTM campaign stands for
            form.fields["utm_campaign"].widget.attrs["placeholder"] = slugify(campaign.name)
        return form

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper() or "EUR"


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    color = forms.CharField(label=_("Colour"), max_length=7, initial="#6c757d", widget=ColorInput)

    @classmethod
    def for_label(cls, label: Label | None, data=None) -> LabelForm:
        initial = {"name": label.name, "color": label.color} if label else {}
        return cls(data, initial=initial)


class MemberInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_(
            "They receive a link to accept or decline, and can create an account there if they "
            "have none. They become a member only when they accept."
        ),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


def disable_all(form: forms.Form) -> forms.Form:
    """Render a form read-only for members whose role may not change it."""
    for field in form.fields.values():
        field.disabled = True
    return form
