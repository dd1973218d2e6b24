"""An attacker's names and texts are shown as text on every calendar view, never as markup."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from calendar_app.models import PostVariant
from tests.conftest import login
from tests.factories import CampaignFactory, ChannelFactory, LabelFactory, PostFactory

NOW = dt.datetime(2027, 1, 10, 11, 0, tzinfo=dt.UTC)
EVIL = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
def hostile_post(workspace):
    channel = ChannelFactory(workspace=workspace, name=EVIL)
    campaign = CampaignFactory(workspace=workspace, name=EVIL)
    label = LabelFactory(workspace=workspace, name=EVIL)
    post = PostFactory(
        workspace=workspace,
        title=EVIL,
        body=EVIL,
        campaign=campaign,
        scheduled_at=dt.datetime(2027, 1, 12, 9, 0, tzinfo=dt.UTC),
    )
    post.labels.add(label)
    PostVariant.objects.create(post=post, channel=channel)
    PostFactory(workspace=workspace, title=EVIL, scheduled_at=None)  # an idea
    return post


@pytest.mark.parametrize(
    "url",
    [
        reverse("calendar:month", args=["acme", 2027, 1]),
        reverse("calendar:week", args=["acme", 2027, 2]),
        reverse("calendar:list", args=["acme"]) + "?from=2027-01-01",
        reverse("calendar:list", args=["acme"]) + "?ideas=1",
    ],
)
def test_hostile_names_are_escaped(client, editor, hostile_post, url):
    with time_machine.travel(NOW, tick=False):
        login(client, editor)
        response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "<script>alert(1)" not in text
    assert "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_hostile_content_is_escaped_in_the_post_editor(client, members, hostile_post, role):
    from calendar_app.models import Role

    with time_machine.travel(NOW, tick=False):
        login(client, members[Role(role)])
        response = client.get(reverse("calendar:post_edit", args=["acme", hostile_post.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "<script>alert(1)" not in text
    assert "<img src=x" not in text
