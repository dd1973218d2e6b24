"""The platforms' own counting rules, checked against their own test data.

X: twitter-text's conformance suite (twitter/twitter-text conformance/validate.yml with
config/v3.json), read where shared/ keeps it beside the repository, never copied in. Every
case's expected fields are compared (weighted length, validity, permillage, ranges).
Mastodon: the rules of its StatusLengthValidator. The other platforms: their documented limits.
"""

import json
import os
from pathlib import Path

import pytest
import yaml

from calendar_app.counting import (
    X_TEXT_CONFIG,
    Counting,
    XTextConfig,
    count_text,
    parse_x_text,
    x_links,
)
from calendar_app.platforms import MediaInfo, spec_for, variant_problems
from tests.conftest import skip_or_fail


def _conformance_dir() -> Path:
    """The platforms' own suites: CONFORMANCE_DIR if set, else shared/ beside the repository,
    else the team's shared/ on these machines (a clean clone elsewhere, as .ci/run may use)."""
    candidates = [
        Path(os.environ["CONFORMANCE_DIR"]) if os.environ.get("CONFORMANCE_DIR") else None,
        Path(__file__).resolve().parents[3] / "shared" / "conformance",
        Path("/work/shared/conformance"),
    ]
    found = [c for c in candidates if c is not None and c.is_dir()]
    return found[0] if found else candidates[1]


CONFORMANCE = _conformance_dir()
VALIDATE = CONFORMANCE / "twitter-text-validate.yml"
CONFIG = CONFORMANCE / "twitter-text-config-v3.json"
# What X counts today (README in that folder): v3 with emoji, and the directional marks.
# WeightedTweetsCounterTest is the older v2 configuration and is left out on purpose.
SECTIONS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")


def _require_conformance_files() -> None:
    missing = [p.name for p in (VALIDATE, CONFIG) if not p.is_file()]
    if missing:
        message = (
            f"twitter-text conformance data missing: {', '.join(missing)} not in {CONFORMANCE} "
            "(the shared/ folder beside the repository)"
        )
        skip_or_fail(message, required_by="REQUIRE_CONFORMANCE")


def _cases():
    if not VALIDATE.is_file():
        return [pytest.param(None, None, id="conformance-data-missing")]
    tests = yaml.safe_load(VALIDATE.read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(section, case, id=f"{section}-{number}")
        for section in SECTIONS
        for number, case in enumerate(tests[section], start=1)
    ]


@pytest.fixture(scope="module")
def x_config() -> XTextConfig:
    _require_conformance_files()
    return XTextConfig.from_twitter_text(json.loads(CONFIG.read_text(encoding="utf-8")))


def test_the_built_in_x_configuration_is_twitter_texts_v3(x_config):
    assert x_config == X_TEXT_CONFIG


def test_the_suite_has_the_cases_it_had_when_this_test_was_written():
    _require_conformance_files()
    tests = yaml.safe_load(VALIDATE.read_text(encoding="utf-8"))["tests"]
    assert {section: len(tests[section]) for section in SECTIONS} == {
        "WeightedTweetsWithDiscountedEmojiCounterTest": 22,
        "UnicodeDirectionalMarkerCounterTest": 2,
    }


@pytest.mark.parametrize(("section", "case"), _cases())
def test_x_counts_as_twitter_texts_conformance_suite(x_config, section, case):
    parsed = parse_x_text(case["text"], x_config)
    got = {
        "weightedLength": parsed.weighted_length,
        "valid": parsed.valid,
        "permillage": parsed.permillage,
        "displayRangeStart": 0,
        "displayRangeEnd": parsed.display_range_end,
        "validRangeStart": 0,
        "validRangeEnd": parsed.valid_range_end,
    }

    expected = case["expected"]
    assert {"weightedLength", "valid"} <= expected.keys()
    assert {key: got[key] for key in expected} == expected, case["description"]
    assert count_text(case["text"], Counting.X_WEIGHTED) == expected["weightedLength"]


# --- X: what the suite does not spell out ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1️⃣", 2),  # a keycap with U+FE0F is one emoji
        ("#⃣ *️⃣", 5),
        ("© 2026", 6),  # © alone is text (weight 1), as on X
        ("©️", 2),  # ...and an emoji with U+FE0F
        ("☺︎", 4),  # a text-style request (U+FE0E) is no emoji: 2 + 2
        ("🏳️‍🌈 🇩🇪 👍🏽", 8),
        ("visit example.com now", 6 + 23 + 4),  # X links a bare domain...
        ("visit example.de now", 20),  # ...but not one label and a country code...
        ("visit example.de/path now", 6 + 23 + 4),  # ...unless it has a path
        ("visit example.co now", 6 + 23 + 4),  # .co and .tv are the exceptions
        ("mail info@example.com", 21),  # no link after an @
        ("http://x.y", 10),  # y is no top-level domain
        ("see https://example.com/a.", 4 + 23 + 1),  # the full stop is not part of the link
        ("https://t.co/abc/def", 23 + 4),  # a t.co link ends with its slug
    ],
)
def test_x_counts_links_and_emoji_as_twitter_text(text, expected):
    assert count_text(text, Counting.X_WEIGHTED) == expected


def test_x_refuses_the_characters_twitter_text_calls_invalid():
    assert parse_x_text("ok\ufeff").valid is False
    assert variant_problems("x", text="Hallo\ufeffWelt") == [
        "The text contains a character X does not accept (U+FEFF); remove it."
    ]


@pytest.mark.parametrize(
    "text",
    [
        "ä." * 3000 + "a_a.com",  # a dotted chain that only fails at its end
        "wörter.und.punkte" * 1000,
        "あ" * 25_000,
        "https://example.com/" + "(a" * 5000,
    ],
    ids=["failing-chain", "dotted-words", "cjk", "open-parentheses"],
)
def test_counting_a_long_paste_takes_no_time(text):
    # A plain regular-expression scan took seconds on the first two (it retried every
    # position of the chain), and the server counts every variant it saves.
    import time

    started = time.monotonic()
    count_text(text, Counting.X_WEIGHTED)
    count_text(text, Counting.URL_23)
    assert time.monotonic() - started < 0.5


# --- Mastodon ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hallo @anna@example.social!", len("Hallo @anna!")),  # the domain is not counted
        ("@anna@chaos.social @bob", len("@anna @bob")),
        ("cc @Anna_B@mastodon.example.org", len("cc @Anna_B")),
        ("mail anna@example.social", len("mail anna@example.social")),  # an address, no mention
        ("see https://example.org/" + "x" * 100, 4 + 23),
        ("gemini://example.org/a/b/c/d/e/f/g", 23),  # Mastodon links these schemes too
        ("www.example.org and example.org", 31),  # no scheme: no link on Mastodon
        ("https://example.org/@anna@example.social", 23),  # a mention inside a link is the link
        ("👩‍👩‍👧‍👦 e\u0301", 3),  # grapheme clusters, not code points
        ("see https://example.org.", 4 + 23 + 1),
        ("   ", 0),
    ],
)
def test_mastodon_counts_as_its_status_length_validator(text, expected):
    assert count_text(text, Counting.URL_23) == expected


def test_mastodon_accepts_500_characters_of_text_with_a_long_remote_mention():
    text = "@anna@a-very-long-instance-name.example.social " + "x" * (500 - len("@anna "))
    assert variant_problems("mastodon", text=text) == []


# --- the other platforms -----------------------------------------------------------------------


def test_threads_counts_an_emoji_by_its_utf8_bytes():
    assert count_text("Hi 👋", Counting.EMOJI_BYTES) == 3 + 4
    assert count_text("1️⃣", Counting.EMOJI_BYTES) == 7  # a keycap is an emoji: 1 + 3 + 3 bytes
    assert count_text("Grüße", Counting.EMOJI_BYTES) == 5  # letters stay characters


def test_bluesky_refuses_a_text_over_3000_bytes_even_under_300_graphemes():
    family = "👨‍👩‍👧"  # one grapheme, 18 bytes
    assert variant_problems("bluesky", text=family * 160) == []
    assert variant_problems("bluesky", text=family * 170) == [
        "The text takes 3060 bytes; Bluesky stores at most 3000 (60 too many)."
    ]


def test_youtube_descriptions_are_limited_in_utf8_bytes():
    video = [MediaInfo("video", 1000)]
    assert variant_problems("youtube", text="a" * 5000, title="T", media=video) == []
    assert variant_problems("youtube", text="ü" * 2501, title="T", media=video) == [
        "The text takes 5002 bytes; YouTube stores at most 5000 (2 too many)."
    ]


@pytest.mark.parametrize(
    ("platform", "limit"),
    [
        ("x", 280),
        ("linkedin", 3000),
        ("facebook", 63206),
        ("instagram", 2200),
        ("threads", 500),
        ("mastodon", 500),
        ("bluesky", 300),
        ("youtube", 5000),
        ("pinterest", 500),
        ("telegram", 4096),
    ],
)
def test_text_limits_are_the_documented_ones(platform, limit):
    assert spec_for(platform).text_limit == limit


def test_x_links_are_in_code_points_of_the_text():
    text = "Grüße 👋 https://example.com/ä und example.org"
    assert [text[start : start + length] for start, length in x_links(text)] == [
        "https://example.com/ä",
        "example.org",
    ]
