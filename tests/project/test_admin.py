"""Every model of ours has a working admin page, and the admin never shows a stored secret."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory

OUR_APPS = ("accounts", "calendar_app", "publishing", "notifications", "links", "analytics")
MODELS = [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def test_every_model_is_registered():
    missing = [m._meta.label for m in MODELS if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_changelist_and_add_pages_load(client, db, model):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    info = (model._meta.app_label, model._meta.model_name)

    assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    add = client.get(reverse("admin:{}_{}_add".format(*info)))
    assert add.status_code in (200, 403)  # read-only records refuse adding


def test_credentials_admin_shows_neither_the_token_nor_its_ciphertext(client, channel):
    from publishing.adapters.base import Credentials
    from publishing.credentials import credentials_save

    row = credentials_save(
        channel=channel,
        credentials=Credentials(access_token="tok-SECRET-123", refresh_token="ref-SECRET-456"),
    )
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    pages = [
        client.get(reverse("admin:publishing_channelcredentials_changelist")),
        client.get(reverse("admin:publishing_channelcredentials_change", args=[row.pk])),
    ]

    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert "SECRET" not in text
        assert row.ciphertext[:40] not in text
