"""What each platform accepts: text limits and how they are counted, media rules, titles.

This is editorial knowledge used by the post editor (live counters, previews) and by the
server before anything is saved; the publishing adapters declare the same limits through it.
The counting rules are mirrored in static/calendar_app/editor.js for the live counter.
Each rule names its source beside it; how a text is counted lives in calendar_app.counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from calendar_app.counting import Counting, count_text, x_invalid_characters


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


@dataclass(frozen=True)
class PlatformSpec:
    key: str
    icon: str  # bootstrap-icons name
    text_limit: int | None
    counting: str = Counting.CHARACTERS
    text_byte_limit: int | None = None  # a cap on the UTF-8 bytes as well (Bluesky, YouTube)
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


# Where each text rule comes from. "PLATFORMS.md" is the team's reference sheet
# (shared/PLATFORMS.md); where it marks a figure as third-party or unverified, so does this.
SPECS: dict[str, PlatformSpec] = {
    s.key: s
    for s in [
        PlatformSpec(
            "x",
            "twitter-x",
            # 280 weighted characters, counted by twitter-text v3 (docs.x.com "Counting
            # characters"; twitter/twitter-text config/v3.json and conformance/validate.yml).
            280,
            Counting.X_WEIGHTED,
            max_images=4,
            max_image_bytes=5_000_000,
        ),
        # 3,000 characters of commentary: a third-party figure (PLATFORMS.md §2); LinkedIn's
        # Posts API pages name no limit.
        PlatformSpec("linkedin", "linkedin", 3000, max_images=20),
        # 63,206 characters: unverified (PLATFORMS.md §3); the Graph API pages name no limit.
        PlatformSpec("facebook", "facebook", 63206, max_images=10),
        PlatformSpec(
            "instagram",
            "instagram",
            # A 2,200-character caption: third-party (PLATFORMS.md §4). The caps on hashtags
            # (30, lately reported as 5) and @-tags (20) are unverified and not checked.
            2200,
            text_required=False,
            media_required=True,
            fetches_media_by_url=True,
        ),
        # "Text posts are limited to 500 characters. Emojis are counted as the number of UTF-8
        # bytes." (developers.facebook.com/docs/threads/posts, Limitations).
        PlatformSpec("threads", "threads", 500, Counting.EMOJI_BYTES, fetches_media_by_url=True),
        # 500 by default, per instance in /api/v2/instance (configuration.statuses); counted as
        # StatusLengthValidator counts (mastodon/mastodon app/validators/
        # status_length_validator.rb): graphemes, 23 per link, remote mentions as @username.
        PlatformSpec("mastodon", "mastodon", 500, Counting.URL_23, max_images=4),
        PlatformSpec(
            "bluesky",
            "bluesky",
            # The record's text: maxGraphemes 300 and maxLength 3,000 (UTF-8 bytes) in the
            # lexicon app.bsky.feed.post (bluesky-social/atproto lexicons). A link counts in
            # full: the record keeps the whole URL.
            300,
            Counting.GRAPHEMES,
            text_byte_limit=3000,
            max_images=4,
            max_image_bytes=1_000_000,
        ),
        PlatformSpec(
            "youtube",
            "youtube",
            # snippet.description: "a maximum length of 5000 bytes"; snippet.title: 100
            # characters (developers.google.com/youtube/v3/docs/videos). Both refuse < and >,
            # which the YouTube adapter checks.
            5000,
            text_byte_limit=5000,
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
            # Description 500, title 100 characters: third-party (PLATFORMS.md §9).
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
            # "1-4096 characters after entities parsing", captions "0-1024 characters"
            # (core.telegram.org/bots/api, sendMessage and sendPhoto), in code points: a probe
            # of the live API had 4,096 emoji (8,192 UTF-16 units) accepted and 4,097 refused
            # (github.com/FerroxLabs/wayland issue 934). Entity offsets are UTF-16, the limit not.
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
            # No text limit ("no practical limit", PLATFORMS.md §11). The 200-character title is
            # our own ceiling, not WordPress's (post_title is a TEXT column).
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
    if spec.text_byte_limit is not None and (size := len(text.encode())) > spec.text_byte_limit:
        problems.append(
            _(
                "The text takes %(size)d bytes; %(platform)s stores at most %(limit)d (%(over)d too many)."
            )
            % {
                "size": size,
                "platform": spec.label,
                "limit": spec.text_byte_limit,
                "over": size - spec.text_byte_limit,
            }
        )
    if spec.counting == Counting.X_WEIGHTED and (bad := x_invalid_characters(text)):
        problems.append(
            _("The text contains a character %(platform)s does not accept (%(chars)s); remove it.")
            % {"platform": spec.label, "chars": ", ".join(f"U+{ord(c):04X}" for c in bad)}
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
            "textByteLimit": spec.text_byte_limit,
            "counting": str(spec.counting),
            "titleLimit": spec.title_limit,
            "titleRequired": spec.title_required,
            "mediaRequired": spec.media_required,
            "firstComment": spec.supports_first_comment,
        }
        for key, spec in SPECS.items()
    }
