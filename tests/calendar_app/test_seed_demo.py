"""`manage.py seed_demo`: the demo workspace is complete, valid and idempotent."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo

import pytest
import time_machine
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.utils import timezone

from calendar_app.models import (
    Campaign,
    Channel,
    Label,
    MediaAsset,
    Membership,
    Post,
    PostMedia,
    PostVariant,
    Role,
    Workspace,
)
from calendar_app.services.content import post_input_from, post_input_problems

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MODELS = [
    Workspace,
    Membership,
    Channel,
    Campaign,
    Label,
    MediaAsset,
    Post,
    PostVariant,
    PostMedia,
    get_user_model(),
]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def login_request():
    """What a login form posts from (django-axes counts failures per request's address)."""
    from django.test import RequestFactory

    return RequestFactory().post("/accounts/login/")


def seed(monkeypatch, password: str | None = "kaffee-demo-2026") -> str:
    if password is None:
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DEMO_PASSWORD", password)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def snapshot() -> list:
    return list(
        Post.objects.order_by("pk").values_list("pk", "title", "body", "scheduled_at", "version")
    )


def test_given_a_seeded_database_when_seeding_again_then_nothing_changes(db, monkeypatch):
    seed(monkeypatch)
    before, posts_before = counts(), snapshot()

    seed(monkeypatch)

    assert counts() == before
    assert snapshot() == posts_before


def test_given_an_empty_database_when_seeding_then_the_demo_workspace_is_complete(db, monkeypatch):
    seed(monkeypatch)
    workspace = Workspace.objects.get(slug="nordlicht")
    assert (workspace.name, workspace.timezone, workspace.language) == (
        "Nordlicht Kaffee",
        "Europe/Berlin",
        "de",
    )
    assert set(workspace.channels.values_list("platform", flat=True)) == {
        "instagram",
        "linkedin",
        "mastodon",
        "bluesky",
        "x",
        "facebook",
        "wordpress",
        "manual",
        "testnet",
    }
    assert workspace.channels.get(platform="manual").name == "Xing"
    # The test network is the one channel that really publishes in the demo.
    test = workspace.channels.get(platform="testnet")
    assert test.state == "connected" and test.account_id
    assert test.config["feed_url"].endswith("/w/nordlicht/sandbox/")
    assert workspace.campaigns.count() == 3
    assert all(c.color and c.starts_on and c.ends_on for c in workspace.campaigns.all())
    assert workspace.labels.count() == 4
    assert 40 <= workspace.posts.count() <= 50
    assert workspace.posts.filter(scheduled_at__isnull=True).count() >= 3
    assert workspace.media.filter(kind="image").count() >= 3
    assert PostVariant.objects.exclude(body_override="").exists()
    assert PostVariant.objects.exclude(first_comment="").exists()
    roles = dict(workspace.memberships.values_list("user__username", "role"))
    assert roles == {"admin": Role.OWNER, "manager": Role.MANAGER, "editor": Role.EDITOR}
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser


def test_given_the_seed_then_every_post_goes_to_one_to_three_channels(db, monkeypatch):
    seed(monkeypatch)
    per_post = [p.variants.count() for p in Post.objects.all()]
    assert per_post and all(1 <= n <= 3 for n in per_post)


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 3, 14, 10, 0, tzinfo=BERLIN),  # the month with the spring DST change
        dt.datetime(2026, 10, 31, 23, 30, tzinfo=BERLIN),  # the last evening of a month
        dt.datetime(2026, 2, 1, 0, 30, tzinfo=BERLIN),  # just after midnight on the first
    ],
    ids=["march", "month-end", "month-start"],
)
def test_given_any_day_when_seeding_then_posts_fill_this_month_and_future_ones_are_publishable(
    db, monkeypatch, now
):
    with time_machine.travel(now, tick=False):
        seed(monkeypatch)
        first = now.date().replace(day=1)
        next_first = (first + dt.timedelta(days=32)).replace(day=1)
        scheduled = list(Post.objects.filter(scheduled_at__isnull=False))
        local_days = {p.scheduled_at.astimezone(BERLIN).date() for p in scheduled}
        assert min(local_days) == first
        assert next_first <= max(local_days) < next_first + dt.timedelta(days=5)
        future = [p for p in scheduled if p.scheduled_at > timezone.now()]
        assert future
        for post in future:
            assert post_input_problems(post_input_from(post)) == {}, post.title


def test_given_demo_password_when_seeding_then_the_three_users_log_in_with_it(db, monkeypatch):
    seed(monkeypatch, password="kaffee-demo-2026")
    for username in ("admin", "manager", "editor"):
        user = authenticate(login_request(), username=username, password="kaffee-demo-2026")
        assert user is not None and user.username == username
        assert "kaffee-demo-2026" not in user.password  # hashed, never clear text


def test_given_no_demo_password_when_seeding_twice_then_fresh_passwords_are_printed(
    db, monkeypatch
):
    def printed(output: str) -> dict[str, str]:
        return dict(re.findall(r"^\s+(admin|manager|editor)\s+\w+\s+(\S+)$", output, re.M))

    first = printed(seed(monkeypatch, password=None))
    second = printed(seed(monkeypatch, password=None))

    assert set(first) == set(second) == {"admin", "manager", "editor"}
    assert all(first[u] != second[u] for u in first)
    assert authenticate(login_request(), username="editor", password=first["editor"]) is None
    assert authenticate(login_request(), username="editor", password=second["editor"]) is not None


def test_given_the_seed_output_then_it_shows_the_url_and_the_login_table(db, monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    output = seed(monkeypatch)
    assert "http://127.0.0.1:8123/w/nordlicht/" in output
    assert re.search(r"^\s+admin\s+owner\s+kaffee-demo-2026$", output, re.M)


def test_the_demo_images_font_has_german_letters():
    """Pillow's default font drew "R☒sterei": the demo's own font has every German letter."""
    from PIL import ImageFont

    from calendar_app.management.commands.seed_demo import DEMO_FONT

    font = ImageFont.truetype(str(DEMO_FONT), 40)
    missing = bytes(font.getmask("\U0010fffd"))  # a letter no font has: the "no glyph" box
    for letter in "äöüÄÖÜß„“€\u2013":
        assert bytes(font.getmask(letter)) != missing, letter


def test_the_demos_published_posts_link_to_no_real_platform(db, monkeypatch):
    """An invented id behind "View on Instagram" opened somebody else's post or a 404."""
    from publishing.models import Delivery, RemotePost

    seed(monkeypatch)
    call_command("seed_demo_metrics", stdout=io.StringIO())

    assert Delivery.objects.filter(state="published").exists()
    assert RemotePost.objects.exists()
    # The only addresses are the test network's feed, on this server.
    linked = Delivery.objects.exclude(url="")
    assert linked.exists()
    assert all(
        d.channel.platform == "testnet" and "/w/nordlicht/sandbox/#post-" in d.url for d in linked
    )
    assert not RemotePost.objects.exclude(url="").exclude(channel__platform="testnet").exists()
