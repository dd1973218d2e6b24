"""A post's content as the services validate it, and whether it fits each channel's platform.

`content_check_fits` is "the content fits every platform it goes to" (lengths, media, links); the
workflow's "may it go out" is `review.gate.post_cleared_for_publishing`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from calendar_app.models import Campaign, Channel, Label, MediaAsset, Post
from calendar_app.platforms import MediaInfo, variant_problems

NO_CHANNEL_PROBLEM = gettext_noop("Choose at least one channel before scheduling the post.")


@dataclass
class VariantInput:
    body_override: str = ""
    title_override: str = ""
    first_comment: str = ""
    media_override: list[MediaAsset] = field(default_factory=list)


@dataclass
class PostInput:
    body: str = ""
    title: str = ""
    note: str = ""
    scheduled_at: dt.datetime | None = None
    campaign: Campaign | None = None
    labels: list[Label] = field(default_factory=list)
    media: list[MediaAsset] = field(default_factory=list)
    # channel -> its variant; the keys are the channels the post goes to
    variants: dict[Channel, VariantInput] = field(default_factory=dict)


def media_info_of(assets: list[MediaAsset]) -> list[MediaInfo]:
    return [MediaInfo(kind=a.kind, size_bytes=a.size_bytes, name=a.original_name) for a in assets]


def post_input_problems(data: PostInput) -> dict[Channel, list[str]]:
    """Per channel, why this content could not be published there (only channels with problems)."""
    problems: dict[Channel, list[str]] = {}
    for channel, variant in data.variants.items():
        media = variant.media_override or data.media
        found = variant_problems(
            channel.platform,
            text=variant.body_override or data.body,
            title=variant.title_override or data.title,
            first_comment=variant.first_comment,
            media=media_info_of(media),
        )
        if media and channel.spec.fetches_media_by_url and not settings.PUBLIC_MEDIA_BASE_URL:
            # Said before scheduling rather than failing at publish time.
            found.append(
                _(
                    "%(platform)s fetches images and videos from a public web address, and none "
                    "is configured: ask your administrator to set PUBLIC_MEDIA_BASE_URL."
                )
                % {"platform": channel.spec.label}
            )
        if found:
            problems[channel] = found
    return problems


def content_check_fits(data: PostInput) -> None:
    """A post on the calendar must fit every channel it goes to (refused with the reasons)."""
    if data.scheduled_at is None:
        return
    if not data.variants:
        raise ValidationError(_(NO_CHANNEL_PROBLEM))
    problems = post_input_problems(data)
    if problems:
        raise ValidationError(
            [
                f"{channel.name}: {problem}"
                for channel, found in problems.items()
                for problem in found
            ]
        )


def post_input_from(post: Post) -> PostInput:
    """The current content of a saved post, as the services validate it."""
    variants = {
        v.channel: VariantInput(
            body_override=v.body_override,
            title_override=v.title_override,
            first_comment=v.first_comment,
            media_override=list(v.media_override.all()),
        )
        for v in post.variants.select_related("channel").prefetch_related("media_override")
    }
    return PostInput(
        body=post.body,
        title=post.title,
        note=post.note,
        scheduled_at=post.scheduled_at,
        campaign=post.campaign,
        labels=list(post.labels.all()),
        media=[pm.media for pm in post.post_media.select_related("media")],
        variants=variants,
    )


def post_check_fits(post: Post) -> None:
    """`content_check_fits` for a saved post as it is now."""
    content_check_fits(post_input_from(post))
