"""What each platform accepts: text limits and how they are counted, media rules, titles.

This is editorial knowledge used by the post editor (live counters, previews) and by the
server before anything is saved; the publishing adapters declare the same limits through it.
The counting rules are mirrored in static/calendar_app/editor.js for the live counter.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import regex
from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    X = "x", "X"
    LINKEDIN = "linkedin", "LinkedIn"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    THREADS = "threads", "Threads"
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"
    YOUTUBE = "youtube", "YouTube"
    PINTEREST = "pinterest", "Pinterest"
    TELEGRAM = "telegram", "Telegram"
    WORDPRESS = "wordpress", "WordPress"
    MANUAL = "manual", _("Manual (e.g. Xing)")
    # The built-in test network (publishing.adapters.testnet): posts stay on this server.
    TESTNET = "testnet", _("Test network")


class Counting(models.TextChoices):
    CHARACTERS = "characters"  # Unicode code points
    X_WEIGHTED = "x_weighted"  # twitter-text: URLs 23, CJK and emoji 2
    URL_23 = "url_23"  # code points, every URL counts 23 (Mastodon)
    GRAPHEMES = "graphemes"  # user-perceived characters (Bluesky)
    EMOJI_BYTES = "emoji_bytes"  # code points, emoji counted as their UTF-8 bytes (Threads)


@dataclass(frozen=True)
class PlatformSpec:
    key: str
    icon: str  # bootstrap-icons name
    text_limit: int | None
    counting: str = Counting.CHARACTERS
    text_required: bool = True
    media_required: bool = False
    media_kinds: frozenset[str] = frozenset({"image", "video"})
    max_images: int = 10
    max_videos: int = 1
    mixed_media: bool = False  # images and a video in one post
    max_items: int | None = None  # images and videos together (Telegram albums: 10)
    max_image_bytes: int | None = None
    title_limit: int | None = None
    title_required: bool = False
    supports_first_comment: bool = True
    caption_limit_with_media: int | None = None  # Telegram captions are shorter than messages
    fetches_media_by_url: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return str(Platform(self.key).label)


SPECS: dict[str, PlatformSpec] = {
    s.key: s
    for s in [
        PlatformSpec(
            "x", "twitter-x", 280, Counting.X_WEIGHTED, max_images=4, max_image_bytes=5_000_000
        ),
        PlatformSpec("linkedin", "linkedin", 3000, max_images=20),
        PlatformSpec("facebook", "facebook", 63206, max_images=10),
        PlatformSpec(
            "instagram",
            "instagram",
            2200,
            text_required=False,
            media_required=True,
            fetches_media_by_url=True,
        ),
        PlatformSpec("threads", "threads", 500, Counting.EMOJI_BYTES, fetches_media_by_url=True),
        PlatformSpec("mastodon", "mastodon", 500, Counting.URL_23, max_images=4),
        PlatformSpec(
            "bluesky",
            "bluesky",
            300,
            Counting.GRAPHEMES,
            max_images=4,
            max_image_bytes=1_000_000,
        ),
        PlatformSpec(
            "youtube",
            "youtube",
            5000,
            text_required=False,
            media_required=True,
            media_kinds=frozenset({"video"}),
            max_images=0,
            title_limit=100,
            title_required=True,
        ),
        PlatformSpec(
            "pinterest",
            "pinterest",
            500,
            text_required=False,
            media_required=True,
            max_images=1,
            title_limit=100,
            supports_first_comment=False,
            # Pins take a public image URL when there is one, else the image inline (base64).
        ),
        PlatformSpec(
            "telegram",
            "telegram",
            4096,
            max_image_bytes=10_000_000,
            caption_limit_with_media=1024,
            # An album (sendMediaGroup) holds up to 10 photos and videos, mixed.
            max_videos=10,
            mixed_media=True,
            max_items=10,
        ),
        PlatformSpec(
            "wordpress",
            "wordpress",
            None,
            max_images=1,
            max_videos=0,
            media_kinds=frozenset({"image"}),
            title_required=True,
            title_limit=200,
        ),
        PlatformSpec("manual", "person-workspace", None, text_required=False),
        # Rules of its own making: a Mastodon-sized text, four images or one video.
        PlatformSpec("testnet", "cone-striped", 500, max_images=4),
    ]
}


def spec_for(platform: str) -> PlatformSpec:
    return SPECS[platform]


# --- counting ------------------------------------------------------------------------------

URL_RE = regex.compile(r"(?:https?://|www\.)[^\s<>\"']+", regex.IGNORECASE)
GRAPHEME_RE = regex.compile(r"\X")
EMOJI_RE = regex.compile(r"^(?:\p{Extended_Pictographic}|\p{Regional_Indicator})")
X_URL_WEIGHT = 23
# twitter-text v3: code points in these ranges weigh 1, all others 2 (CJK, emoji...).
X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def _x_char_weight(char: str) -> int:
    cp = ord(char)
    return 1 if any(lo <= cp <= hi for lo, hi in X_LIGHT_RANGES) else 2


def _count_x(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total = 0
    pos = 0
    for match in URL_RE.finditer(text):
        total += _count_x_plain(text[pos : match.start()]) + X_URL_WEIGHT
        pos = match.end()
    return total + _count_x_plain(text[pos:])


def _count_x_plain(text: str) -> int:
    total = 0
    for cluster in GRAPHEME_RE.findall(text):
        if EMOJI_RE.match(cluster):
            total += 2  # an emoji, even a ZWJ sequence, weighs 2
        else:
            total += sum(_x_char_weight(c) for c in cluster)
    return total


def count_text(text: str, counting: str) -> int:
    """Length of `text` as the platform counts it against its limit."""
    if counting == Counting.X_WEIGHTED:
        return _count_x(text)
    if counting == Counting.URL_23:
        return len(URL_RE.sub("x" * X_URL_WEIGHT, text))
    if counting == Counting.GRAPHEMES:
        return len(GRAPHEME_RE.findall(text))
    if counting == Counting.EMOJI_BYTES:
        return sum(
            len(cluster.encode()) if EMOJI_RE.match(cluster) else len(cluster)
            for cluster in GRAPHEME_RE.findall(text)
        )
    return len(text)


def text_limit_for(spec: PlatformSpec, *, has_media: bool) -> int | None:
    if has_media and spec.caption_limit_with_media:
        return spec.caption_limit_with_media
    return spec.text_limit


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # "image" | "video"
    size_bytes: int
    name: str = ""


def variant_problems(
    platform: str,
    *,
    text: str,
    title: str = "",
    first_comment: str = "",
    media: list[MediaInfo] | tuple[MediaInfo, ...] = (),
) -> list[str]:
    """Human-readable reasons why this variant cannot be published on `platform` (empty: fine)."""
    spec = spec_for(platform)
    problems: list[str] = []
    media = list(media)
    images = [m for m in media if m.kind == "image"]
    videos = [m for m in media if m.kind == "video"]

    if spec.text_required and not text.strip() and not media:
        problems.append(_("%(platform)s needs a text.") % {"platform": spec.label})
    limit = text_limit_for(spec, has_media=bool(media))
    if limit is not None:
        used = count_text(text, spec.counting)
        if used > limit:
            problems.append(
                _(
                    "The text is %(used)d characters long; %(platform)s allows %(limit)d (%(over)d too many)."
                )
                % {"used": used, "platform": spec.label, "limit": limit, "over": used - limit}
            )
    if spec.title_required and not title.strip():
        problems.append(_("%(platform)s needs a title.") % {"platform": spec.label})
    if spec.title_limit is not None and len(title) > spec.title_limit:
        problems.append(
            _("The title is %(used)d characters long; %(platform)s allows %(limit)d.")
            % {"used": len(title), "platform": spec.label, "limit": spec.title_limit}
        )
    if spec.media_required and not media:
        kinds = " / ".join(sorted(str(_(k)) for k in spec.media_kinds))
        problems.append(
            _("%(platform)s needs media (%(kinds)s).") % {"platform": spec.label, "kinds": kinds}
        )
    for kind, items in (("image", images), ("video", videos)):
        if items and kind not in spec.media_kinds:
            problems.append(
                _("%(platform)s does not accept %(kind)s files.")
                % {"platform": spec.label, "kind": _(kind)}
            )
    if "image" in spec.media_kinds and len(images) > spec.max_images:
        problems.append(
            _("%(platform)s allows at most %(max)d images; this post has %(count)d.")
            % {"platform": spec.label, "max": spec.max_images, "count": len(images)}
        )
    if "video" in spec.media_kinds and len(videos) > spec.max_videos:
        problems.append(
            _("%(platform)s allows at most %(max)d video(s); this post has %(count)d.")
            % {"platform": spec.label, "max": spec.max_videos, "count": len(videos)}
        )
    if spec.max_items is not None and len(images) + len(videos) > spec.max_items:
        problems.append(
            _(
                "%(platform)s allows at most %(max)d media files in one post; this post has %(count)d."
            )
            % {"platform": spec.label, "max": spec.max_items, "count": len(images) + len(videos)}
        )
    if images and videos and not spec.mixed_media:
        problems.append(
            _("%(platform)s cannot mix images and videos in one post.") % {"platform": spec.label}
        )
    if spec.max_image_bytes:
        for image in images:
            if image.size_bytes > spec.max_image_bytes:
                problems.append(
                    _("%(name)s is larger than the %(limit)s MB %(platform)s accepts for images.")
                    % {
                        "name": image.name or _("An image"),
                        "limit": f"{spec.max_image_bytes / 1_000_000:g}",
                        "platform": spec.label,
                    }
                )
    if first_comment.strip() and not spec.supports_first_comment:
        problems.append(_("%(platform)s has no first comment.") % {"platform": spec.label})
    return problems


def specs_as_json() -> dict[str, dict]:
    """The rules the live counter in the editor needs, for json_script."""
    return {
        key: {
            "label": spec.label,
            "icon": spec.icon,
            "limit": spec.text_limit,
            "captionLimitWithMedia": spec.caption_limit_with_media,
            "counting": str(spec.counting),
            "titleLimit": spec.title_limit,
            "titleRequired": spec.title_required,
            "mediaRequired": spec.media_required,
            "firstComment": spec.supports_first_comment,
        }
        for key, spec in SPECS.items()
    }
