"""The forms of the connect flows: what a user types to connect an account.

OAuth platforms need nothing (Mastodon: the server address); app-password and bot-token
platforms ask for the account and the secret. A secret field is never rendered with its value.
Each form turns its data into the arguments of publishing.connections via `connection_args()`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


def _secret_field(label, help_text) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class ConnectForm(forms.Form):
    """No input: the platform's sign-in page does it all."""

    def connection_args(self) -> dict[str, Any]:
        return {"config": {}}


class MastodonConnectForm(ConnectForm):
    instance_url = forms.CharField(
        label=_("Mastodon server"),
        max_length=255,
        help_text=_("The address of the server the account lives on, e.g. mastodon.social."),
        widget=forms.TextInput(attrs={"placeholder": "mastodon.social", "autocomplete": "url"}),
    )

    def connection_args(self) -> dict[str, Any]:
        return {"config": {"instance_url": self.cleaned_data["instance_url"]}}


class BlueskyConnectForm(ConnectForm):
    handle = forms.CharField(
        label=_("Handle"),
        max_length=253,
        help_text=_("Your Bluesky handle (e.g. acme.bsky.social) or the account's e-mail."),
    )
    app_password = _secret_field(
        _("App password"),
        _(
            "Create one under Settings → Privacy and security → App passwords. Never use your main password."
        ),
    )
    pds_url = forms.CharField(
        label=_("Server (PDS)"),
        max_length=255,
        required=False,
        initial="https://bsky.social",
        help_text=_("Leave as it is unless the account is hosted on its own server."),
    )

    def connection_args(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "handle": data["handle"],
            "secret": data["app_password"],
            "config": {"pds_url": data["pds_url"] or "https://bsky.social"},
        }


class WordPressConnectForm(ConnectForm):
    site_url = forms.CharField(
        label=_("Site address"),
        max_length=255,
        help_text=_("The address of the blog, e.g. https://blog.example.com."),
    )
    username = forms.CharField(label=_("User name"), max_length=150)
    app_password = _secret_field(
        _("Application password"),
        _("Create one in WordPress under Users → Profile → Application Passwords."),
    )

    def connection_args(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "handle": data["username"],
            "secret": data["app_password"],
            "config": {"site_url": data["site_url"], "username": data["username"]},
        }


class TelegramConnectForm(ConnectForm):
    chat_id = forms.CharField(
        label=_("Channel"),
        max_length=200,
        help_text=_("The channel's @name, its t.me link, or its numeric id (-100…)."),
    )
    bot_token = _secret_field(
        _("Bot token"),
        _("From @BotFather. Add the bot to the channel as an administrator who may post."),
    )

    def connection_args(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"secret": data["bot_token"], "config": {"chat_id": data["chat_id"]}}


CONNECT_FORMS: dict[str, type[ConnectForm]] = {
    "mastodon": MastodonConnectForm,
    "bluesky": BlueskyConnectForm,
    "wordpress": WordPressConnectForm,
    "telegram": TelegramConnectForm,
}


def connect_form_for(platform: str) -> type[ConnectForm]:
    return CONNECT_FORMS.get(platform, ConnectForm)
