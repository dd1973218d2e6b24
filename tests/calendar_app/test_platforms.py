"""Text counting and variant validation per platform."""

import pytest

from calendar_app.counting import Counting, count_text
from calendar_app.platforms import MediaInfo, variant_problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("Read https://example.com/a/very/long/path/that/is/long?x=1 now", 5 + 23 + 4),
        ("日本語", 6),  # CJK weighs 2 on X
        ("👍", 2),
        ("👩‍👩‍👧‍👦", 2),  # a ZWJ family is one emoji
        ("Grüße", 5),
    ],
)
def test_x_weighted_count(text, expected):
    assert count_text(text, Counting.X_WEIGHTED) == expected


def test_bluesky_counts_graphemes_not_code_points():
    family = "👩‍👩‍👧‍👦"  # 7 code points, 1 grapheme
    assert count_text(family * 3, Counting.GRAPHEMES) == 3


def test_mastodon_counts_each_url_as_23():
    assert count_text("see https://example.org/" + "x" * 100, Counting.URL_23) == 4 + 23


def test_x_refuses_281_characters_with_the_reason():
    problems = variant_problems("x", text="a" * 281)
    assert problems == ["The text is 281 characters long; X allows 280 (1 too many)."]


def test_x_accepts_exactly_280():
    assert variant_problems("x", text="a" * 280) == []


def test_instagram_requires_media():
    problems = variant_problems("instagram", text="caption")
    assert len(problems) == 1 and "needs media" in problems[0]


def test_youtube_requires_title_and_video_and_refuses_images():
    problems = variant_problems(
        "youtube", text="desc", title="", media=[MediaInfo(kind="image", size_bytes=10)]
    )
    assert any("needs a title" in p for p in problems)
    assert any("does not accept image" in p for p in problems)


def test_telegram_caption_limit_applies_with_media():
    media = [MediaInfo(kind="image", size_bytes=1000)]
    assert variant_problems("telegram", text="a" * 2000) == []
    assert "allows 1024" in variant_problems("telegram", text="a" * 2000, media=media)[0]


def test_bluesky_refuses_images_over_one_megabyte():
    media = [MediaInfo(kind="image", size_bytes=1_500_000, name="big.jpg")]
    assert variant_problems("bluesky", text="hi", media=media) == [
        "big.jpg is larger than the 1 MB Bluesky accepts for images."
    ]


def test_pinterest_has_no_first_comment():
    media = [MediaInfo(kind="image", size_bytes=1000)]
    assert variant_problems("pinterest", text="", first_comment="hi", media=media) == [
        "Pinterest has no first comment."
    ]


def test_telegram_albums_mix_photos_and_videos_up_to_ten_files():
    mixed = [MediaInfo("image", 1000), MediaInfo("video", 1000), MediaInfo("video", 1000)]
    assert variant_problems("telegram", text="Album", media=mixed) == []
    eleven = [MediaInfo("image", 1000)] * 6 + [MediaInfo("video", 1000)] * 5
    problems = variant_problems("telegram", text="Album", media=eleven)
    assert problems == ["Telegram allows at most 10 media files in one post; this post has 11."]


def test_mastodon_still_refuses_to_mix_images_and_a_video():
    mixed = [MediaInfo("image", 1000), MediaInfo("video", 1000)]
    assert "cannot mix" in variant_problems("mastodon", text="x", media=mixed)[0]
