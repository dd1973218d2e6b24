"""Link tracking, short links: one TrackedLink per (post, channel, target), the same text on every
retry, random codes, our own short links left alone, and no shortening without a public address."""

from __future__ import annotations

import re

import pytest

from links import services
from links.models import TrackedLink
from links.services import links_prepare_text
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, WorkspaceFactory

BASE = "https://go.example.test"
SHORT = re.compile(re.escape(BASE) + r"/l/([0-9A-Za-z]{10})")


@pytest.fixture(autouse=True)
def public_base(settings):
    settings.PUBLIC_BASE_URL = BASE


@pytest.fixture
def scene(db):
    workspace = WorkspaceFactory(shorten_links=True)
    channel = ChannelFactory(workspace=workspace, platform="mastodon")
    campaign = CampaignFactory(workspace=workspace, name="Spring launch")
    post = PostFactory(workspace=workspace, campaign=campaign)
    return workspace, channel, post


def prepare(scene, text: str, **kwargs) -> str:
    workspace, channel, post = scene
    kwargs = {"workspace": workspace, "channel": channel, "post": post, **kwargs}
    return links_prepare_text(text, **kwargs)


def test_given_shortening_then_each_link_becomes_a_short_link_to_its_target(scene):
    workspace, channel, post = scene

    text = prepare(scene, "Beans: https://shop.example/beans. Blog (https://blog.example/p)!")

    codes = SHORT.findall(text)
    assert len(codes) == 2
    assert text == f"Beans: {BASE}/l/{codes[0]}. Blog ({BASE}/l/{codes[1]})!"
    links = {link.code: link for link in TrackedLink.objects.all()}
    assert links[codes[0]].target_url == "https://shop.example/beans"
    assert links[codes[1]].target_url == "https://blog.example/p"
    for link in links.values():
        assert (link.workspace, link.channel, link.post) == (workspace, channel, post)
        assert link.campaign_id == post.campaign_id
        assert (link.clicks, link.bot_clicks) == (0, 0)


def test_given_the_same_text_twice_then_the_same_short_links_and_no_new_rows(scene):
    text = "https://shop.example/beans and https://blog.example/p"
    first = prepare(scene, text)
    second = prepare(scene, text)

    assert first == second
    assert TrackedLink.objects.count() == 2


def test_given_the_same_link_twice_in_a_text_then_one_short_link_used_twice(scene):
    text = prepare(scene, "https://shop.example/beans — again: https://shop.example/beans")

    codes = SHORT.findall(text)
    assert len(codes) == 2 and codes[0] == codes[1]
    assert TrackedLink.objects.count() == 1


def test_given_the_body_and_the_first_comment_share_a_link_then_they_share_the_short_link(scene):
    body = prepare(scene, "https://shop.example/beans")
    comment = prepare(scene, "Link: https://shop.example/beans")
    assert comment == f"Link: {body}"


def test_given_another_channel_or_post_then_its_own_short_link(scene):
    workspace, _channel, _post = scene
    other_channel = ChannelFactory(workspace=workspace, platform="bluesky")
    other_post = PostFactory(workspace=workspace)
    text = "https://shop.example/beans"

    codes = {
        SHORT.findall(prepare(scene, text))[0],
        SHORT.findall(prepare(scene, text, channel=other_channel))[0],
        SHORT.findall(prepare(scene, text, post=other_post))[0],
    }
    assert len(codes) == 3
    assert TrackedLink.objects.count() == 3


def test_given_tagging_and_shortening_then_the_short_link_targets_the_tagged_url(scene):
    workspace, _channel, post = scene
    workspace.utm_tagging = True

    [code] = SHORT.findall(prepare(scene, "https://shop.example/beans?size=1kg#buy"))

    assert TrackedLink.objects.get(code=code).target_url == (
        "https://shop.example/beans?size=1kg&utm_source=mastodon&utm_medium=social"
        f"&utm_campaign=spring-launch&utm_content=post-{post.pk}#buy"
    )


def test_our_own_short_links_are_left_alone(scene):
    workspace = scene[0]
    workspace.utm_tagging = True
    text = f"Already short: {BASE}/l/AbCdEf1234 and {BASE.upper()}/l/Zz99Zz99Zz."

    assert prepare(scene, text) == text
    assert not TrackedLink.objects.exists()


def test_codes_are_ten_base62_characters_and_differ(scene, settings):
    # Twenty short links fit Mastodon's 500 only as links of 23, which takes a known top-level
    # domain (go.example.test would count in full).
    settings.PUBLIC_BASE_URL = "https://go.example.com"
    text = " ".join(f"https://ex.test/{i}" for i in range(20))
    codes = re.findall(r"https://go\.example\.com/l/([0-9A-Za-z]{10})", prepare(scene, text))
    assert len(set(codes)) == 20
    assert all(re.fullmatch(r"[0-9A-Za-z]{10}", code) for code in codes)


def test_given_a_code_collision_then_another_code_is_drawn(scene, monkeypatch):
    workspace, _channel, _post = scene
    taken = TrackedLink.objects.create(
        workspace=workspace, code="TAKEN00000", target_url="https://x.test", target_hash="x"
    )
    draws = iter(["TAKEN00000", "TAKEN00000", "FREE000000"])
    monkeypatch.setattr(services, "_new_code", lambda: next(draws))

    text = prepare(scene, "https://shop.example/beans")

    assert text == f"{BASE}/l/FREE000000"
    assert TrackedLink.objects.get(code="FREE000000").target_url == "https://shop.example/beans"
    assert TrackedLink.objects.get(pk=taken.pk).target_url == "https://x.test"


def test_given_a_link_made_concurrently_then_it_is_taken_over(scene, monkeypatch):
    """Another process created the same (post, channel, target) after our read: our insert hits
    the unique key, and its link is used instead of failing the delivery."""
    workspace, channel, post = scene
    theirs = TrackedLink.objects.create(
        workspace=workspace,
        code="THEIRS0000",
        target_url="https://shop.example/beans",
        target_hash=services._target_hash("https://shop.example/beans"),
        post=post,
        channel=channel,
    )
    manager, real_filter, calls = TrackedLink.objects, TrackedLink.objects.filter, []

    def stale_first_read(*args, **kwargs):
        calls.append(kwargs)
        return manager.none() if len(calls) == 1 else real_filter(*args, **kwargs)

    monkeypatch.setattr(manager, "filter", stale_first_read)

    assert prepare(scene, "https://shop.example/beans") == f"{BASE}/l/{theirs.code}"
    assert len(calls) == 2  # the stale read, then the read after the refused insert
    assert TrackedLink.objects.count() == 1


def test_given_no_free_code_then_it_gives_up_loudly(scene, monkeypatch):
    workspace = scene[0]
    TrackedLink.objects.create(
        workspace=workspace, code="TAKEN00000", target_url="https://x.test", target_hash="x"
    )
    monkeypatch.setattr(services, "_new_code", lambda: "TAKEN00000")
    with pytest.raises(services.IntegrityError):
        prepare(scene, "https://shop.example/beans")


def test_given_shortening_without_a_public_base_url_then_links_go_out_unshortened(
    scene, settings, caplog
):
    settings.PUBLIC_BASE_URL = ""
    text = "https://shop.example/beans"

    assert prepare(scene, text) == text
    assert not TrackedLink.objects.exists()
    assert "PUBLIC_BASE_URL is not set" in caplog.text


def test_given_a_target_longer_than_the_column_then_it_stays_long(scene):
    long_url = "https://ex.test/" + "a" * 2100
    assert prepare(scene, long_url) == long_url
    assert not TrackedLink.objects.exists()


def test_query_budget_first_time_and_on_a_retry(scene, django_assert_num_queries):
    text = "https://a.example https://b.example https://a.example"
    # one read of the existing links, then per new link (2): savepoint, insert, release
    with django_assert_num_queries(1 + 2 * 3):
        first = prepare(scene, text)
    with django_assert_num_queries(1):  # a retry: one read, nothing new
        assert prepare(scene, text) == first


def test_given_bluesky_and_a_long_link_then_the_short_link_keeps_the_text_within_300(scene):
    workspace, _channel, post = scene
    workspace.utm_tagging = True
    bluesky = ChannelFactory(workspace=workspace, platform="bluesky")
    text = "x" * 180 + " https://shop.example/" + "long-path-" * 9  # 292 graphemes

    prepared = links_prepare_text(text, workspace=workspace, channel=bluesky, post=post)

    [code] = SHORT.findall(prepared)  # tagged (about 90 more) and shortened: it fits
    assert prepared == "x" * 180 + f" {BASE}/l/{code}"
    assert "utm_source=bluesky" in TrackedLink.objects.get(code=code).target_url
