"""Link tracking, the text side: which links are found in a post, how UTM parameters are added,
what happens with both switches off. No short links here (see test_links_shortening.py)."""

from __future__ import annotations

import pytest

from calendar_app.models import Campaign
from links.services import links_find, links_prepare_text, utm_tagged
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, WorkspaceFactory

UTM = "utm_source=mastodon&utm_medium=social&utm_campaign=spring-launch&utm_content=post-{id}"


@pytest.fixture
def tagging(db):
    workspace = WorkspaceFactory(utm_tagging=True)
    channel = ChannelFactory(workspace=workspace, platform="mastodon")
    campaign = CampaignFactory(workspace=workspace, name="Spring launch")
    post = PostFactory(workspace=workspace, campaign=campaign)
    return workspace, channel, post


def prepare(tagging, text: str, **kwargs) -> str:
    workspace, channel, post = tagging
    return links_prepare_text(text, workspace=workspace, channel=channel, post=post, **kwargs)


# --- finding links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("Read https://example.com/a.", ["https://example.com/a"]),
        ("Read https://example.com/a, then more!", ["https://example.com/a"]),
        ("Really? https://example.com/a?!", ["https://example.com/a"]),
        ("Go: https://example.com/a; now", ["https://example.com/a"]),
        ("(see https://example.com/a)", ["https://example.com/a"]),
        (
            "(see https://en.wikipedia.org/wiki/Kaffee_(Getränk)).",
            ["https://en.wikipedia.org/wiki/Kaffee_(Getränk)"],
        ),
        ("[our shop](https://example.com/shop)", ["https://example.com/shop"]),
        (
            "„https://example.com/de“ und «https://example.com/fr»",
            [
                "https://example.com/de",
                "https://example.com/fr",
            ],
        ),
        ('<a href="https://example.com/x">x</a>', ["https://example.com/x"]),
        ("Mehr:https://example.com/x", ["https://example.com/x"]),
        (
            "two https://a.example and http://b.example/p?q=1#top",
            [
                "https://a.example",
                "http://b.example/p?q=1#top",
            ],
        ),
        ("HTTPS://EXAMPLE.COM/UP", ["HTTPS://EXAMPLE.COM/UP"]),
        ("Write to mailto:team@example.com or ftp://files.example/x", []),
        ("a bare https:// and http://. are no links", []),
        ("notahttps://example.com", []),
        ("Nothing here.", []),
    ],
)
def test_links_find_table(text, urls):
    assert [found.url for found in links_find(text)] == urls


def test_positions_point_at_the_url_in_the_text():
    text = "(see https://example.com/a)."
    [found] = links_find(text)
    assert text[found.start : found.end] == "https://example.com/a"


# --- tagging one URL ------------------------------------------------------------------------------

PARAMS = {"utm_source": "mastodon", "utm_medium": "social", "utm_campaign": "c", "utm_content": ""}


@pytest.mark.parametrize(
    ("url", "tagged"),
    [
        ("https://ex.test", "https://ex.test?utm_source=mastodon&utm_medium=social&utm_campaign=c"),
        (
            "https://ex.test/p?a=1&b=",
            "https://ex.test/p?a=1&b=&utm_source=mastodon&utm_medium=social&utm_campaign=c",
        ),
        (
            "https://ex.test/p#section-2",
            "https://ex.test/p?utm_source=mastodon&utm_medium=social&utm_campaign=c#section-2",
        ),
        (
            "https://ex.test/p?a=1#frag?x=1",
            "https://ex.test/p?a=1&utm_source=mastodon&utm_medium=social&utm_campaign=c#frag?x=1",
        ),
        (
            "https://ex.test/p?",
            "https://ex.test/p?utm_source=mastodon&utm_medium=social&utm_campaign=c",
        ),
        (
            "https://ex.test/p?a=1&",
            "https://ex.test/p?a=1&utm_source=mastodon&utm_medium=social&utm_campaign=c",
        ),
        # the author's own utm_* win, whatever their case
        (
            "https://ex.test/p?utm_source=newsletter&UTM_CAMPAIGN=mine",
            "https://ex.test/p?utm_source=newsletter&UTM_CAMPAIGN=mine&utm_medium=social",
        ),
        (
            "https://ex.test/p?utm_source=a&utm_medium=b&utm_campaign=c",
            "https://ex.test/p?utm_source=a&utm_medium=b&utm_campaign=c",
        ),
        # the existing query is kept byte for byte (no re-encoding)
        (
            "https://ex.test/s?q=caf%C3%A9+au+lait&x=%2F",
            "https://ex.test/s?q=caf%C3%A9+au+lait&x=%2F"
            "&utm_source=mastodon&utm_medium=social&utm_campaign=c",
        ),
    ],
)
def test_utm_tagged_table(url, tagged):
    assert utm_tagged(url, PARAMS) == tagged


# --- the text as it goes out ----------------------------------------------------------------------


def test_given_tagging_then_every_link_gets_source_medium_campaign_and_content(tagging):
    post = tagging[2]
    text = prepare(
        tagging, "New beans! https://shop.example/beans. And https://blog.example/p?x=1#h"
    )

    utm = UTM.format(id=post.pk)
    assert text == (
        f"New beans! https://shop.example/beans?{utm}. And https://blog.example/p?x=1&{utm}#h"
    )


def test_given_the_same_link_twice_then_both_are_tagged_alike(tagging):
    text = prepare(tagging, "https://ex.test/a and again https://ex.test/a")
    first, second = text.split(" and again ")
    assert first == second
    assert "utm_source=mastodon" in first


def test_given_a_campaign_with_its_own_utm_value_then_that_is_used(tagging):
    post = tagging[2]
    Campaign.objects.filter(pk=post.campaign_id).update(utm_campaign="spring26")
    post.refresh_from_db()

    assert "utm_campaign=spring26&" in prepare(tagging, "https://ex.test/")


def test_given_a_german_campaign_name_then_utm_campaign_is_its_ascii_slug(tagging):
    post = tagging[2]
    Campaign.objects.filter(pk=post.campaign_id).update(name="Frühlings Röstung 2026!")
    post.refresh_from_db()

    assert "utm_campaign=fruhlings-rostung-2026&" in prepare(tagging, "https://ex.test/")


def test_given_no_campaign_then_utm_campaign_is_left_out(tagging):
    workspace, channel, _post = tagging
    post = PostFactory(workspace=workspace)

    text = links_prepare_text("https://ex.test/", workspace=workspace, channel=channel, post=post)

    assert (
        text == f"https://ex.test/?utm_source=mastodon&utm_medium=social&utm_content=post-{post.pk}"
    )


def test_given_an_explicit_campaign_then_it_is_used_instead_of_the_posts(tagging):
    workspace = tagging[0]
    other = CampaignFactory(workspace=workspace, name="Autumn", utm_campaign="autumn")

    assert "utm_campaign=autumn&" in prepare(tagging, "https://ex.test/", campaign=other)


def test_utm_source_is_the_channels_platform(tagging):
    workspace, _channel, post = tagging
    linkedin = ChannelFactory(workspace=workspace, platform="linkedin")

    text = links_prepare_text("https://ex.test/", workspace=workspace, channel=linkedin, post=post)

    assert text.startswith("https://ex.test/?utm_source=linkedin&utm_medium=social&")


def test_non_http_schemes_and_plain_text_are_untouched(tagging):
    text = "Mail mailto:team@example.com, files ftp://files.example/x, call tel:+49301234567."
    assert prepare(tagging, text) == text


def test_given_a_text_without_http_then_no_query_at_all(tagging, django_assert_num_queries):
    workspace, channel, _post = tagging
    post = PostFactory(workspace=workspace, campaign=tagging[2].campaign)
    post = type(post).objects.get(pk=post.pk)  # campaign not loaded
    with django_assert_num_queries(0):
        links_prepare_text(
            "Guten Morgen, no links today.", workspace=workspace, channel=channel, post=post
        )


def test_given_tagging_with_a_campaign_then_one_query_for_the_campaign_shared_by_all_texts(
    tagging, django_assert_num_queries
):
    workspace, channel, post = tagging
    post = type(post).objects.get(pk=post.pk)  # campaign not loaded
    with django_assert_num_queries(1):
        for text in ["https://a.example", "https://b.example", "https://c.example"]:
            links_prepare_text(text, workspace=workspace, channel=channel, post=post)


def test_given_both_switches_off_then_the_text_is_returned_as_is_without_a_query(
    db, django_assert_num_queries
):
    workspace = WorkspaceFactory(utm_tagging=False, shorten_links=False)
    channel = ChannelFactory(workspace=workspace)
    post = PostFactory(workspace=workspace, campaign=CampaignFactory(workspace=workspace))
    post = type(post).objects.get(pk=post.pk)
    text = "Read https://example.com/a and https://example.com/b."

    with django_assert_num_queries(0):
        assert links_prepare_text(text, workspace=workspace, channel=channel, post=post) == text


# --- the platform's text limit --------------------------------------------------------------------


def test_given_bluesky_and_a_text_that_tagging_would_push_over_300_then_it_goes_out_unchanged(
    tagging, caplog
):
    workspace, _channel, post = tagging
    bluesky = ChannelFactory(workspace=workspace, platform="bluesky")
    text = "x" * 250 + " https://shop.example/beans"  # 277 graphemes; tagged ~370

    prepared = links_prepare_text(text, workspace=workspace, channel=bluesky, post=post)

    assert prepared == text
    assert "links left untracked" in caplog.text


def test_given_mastodon_the_same_text_is_tagged_because_every_url_counts_23(tagging):
    workspace, channel, post = tagging
    # A link on a known top-level domain: Mastodon counts "shop.example" (no such TLD) in full.
    text = "x" * 450 + " https://shop.example.com/beans"

    assert "utm_source=mastodon" in links_prepare_text(
        text, workspace=workspace, channel=channel, post=post
    )


def test_given_bluesky_and_a_short_text_then_it_is_tagged(tagging):
    workspace, _channel, post = tagging
    bluesky = ChannelFactory(workspace=workspace, platform="bluesky")

    prepared = links_prepare_text(
        "New: https://shop.example/beans", workspace=workspace, channel=bluesky, post=post
    )
    assert "utm_source=bluesky" in prepared


def test_given_telegram_the_shorter_caption_limit_is_respected(tagging):
    workspace, _channel, post = tagging
    telegram = ChannelFactory(workspace=workspace, platform="telegram")
    text = "x" * 990 + " https://shop.example/beans"  # 1017: a caption with media allows 1024

    as_caption = links_prepare_text(
        text, workspace=workspace, channel=telegram, post=post, has_media=True
    )
    assert as_caption == text
    # Without media it is a message (4,096 characters): the link is tagged.
    as_message = links_prepare_text(text, workspace=workspace, channel=telegram, post=post)
    assert "utm_source=telegram" in as_message
