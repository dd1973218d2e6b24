"""Writes of link tracking: preparing a post's text as it goes out (UTM parameters, short links),
counting a click on a short link and purging the visitor hashes of past days.

The publishing engine calls `links_prepare_text` for every text it sends. It must give the same
result on every retry of a delivery (the reconciler finds posts that already went out by their
text), so short links are one row per (post, channel, target), made once and reused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import string
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from calendar_app.counting import count_text
from calendar_app.models import Campaign, Channel, Post, Workspace
from calendar_app.platforms import SPECS, Platform
from links.bots import is_bot
from links.models import LinkClick, LinkVisitor, TrackedLink
from links.visitors import USER_AGENT_MAX_LENGTH, visitor_hash

logger = logging.getLogger(__name__)

CODE_ALPHABET = string.ascii_letters + string.digits  # base62
CODE_LENGTH = 10  # 62^10 ≈ 8·10^17: not guessable, and short enough for a post
CODE_ATTEMPTS = 5  # a collision is already unlikely; five in a row means something else is wrong
UTM_MEDIUM = "social"
MAX_TARGET_LENGTH = TrackedLink._meta.get_field("target_url").max_length

# An http(s) URL up to the next blank, quote or angle bracket (also typographic quotes such as
# German „…“ and «…»). Not inside a word or right after a slash (e.g. "xhttp://", "a/https://").
_QUOTES = "\u201e\u201c\u201d\u201a\u2018\u2019\u00ab\u00bb\u2039\u203a"
_URL = re.compile(rf"(?<![\w/@])https?://[^\s<>\"'`{_QUOTES}]+", re.IGNORECASE)
# Sentence punctuation that ends a sentence rather than a URL ("see https://x.test/a.").
_TRAILING = ".,;:!?*…"
_BRACKETS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class FoundURL:
    start: int
    end: int
    url: str


def links_find(text: str) -> list[FoundURL]:
    """The http(s) URLs in `text` with their positions, without trailing punctuation and
    unbalanced closing brackets ("(see https://x.test/a_(b))." → "https://x.test/a_(b)")."""
    found = []
    for match in _URL.finditer(text):
        url = match.group()
        while url:
            last = url[-1]
            if last in _TRAILING or (
                last in _BRACKETS and url.count(_BRACKETS[last]) < url.count(last)
            ):
                url = url[:-1]
            else:
                break
        try:
            has_host = bool(urlsplit(url).hostname)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            has_host = False
        if has_host:
            found.append(FoundURL(match.start(), match.start() + len(url), url))
    return found


def utm_tagged(url: str, params: dict[str, str]) -> str:
    """`url` with the `params` it does not have yet (compared case-insensitively) appended to
    its query; everything else, including the author's own utm_* and the fragment, unchanged."""
    before, hash_, fragment = url.partition("#")
    base, _question, query = before.partition("?")
    present = {key.lower() for key, _value in parse_qsl(query, keep_blank_values=True)}
    missing = [(key, value) for key, value in params.items() if value and key not in present]
    if not missing:
        return url
    joiner = "&" if query and not query.endswith("&") else ""
    return f"{base}?{query}{joiner}{urlencode(missing)}{hash_}{fragment}"


def utm_campaign_for(campaign: Campaign | None) -> str:
    """The utm_campaign value of a campaign: its own, else its name as a slug ("" if none)."""
    if campaign is None:
        return ""
    return campaign.utm_campaign or slugify(campaign.name)


def utm_params(*, channel: Channel, post: Post | None, campaign: Campaign | None) -> dict[str, str]:
    return {
        # a manual channel (e.g. Xing) is named by its own name, not "manual"
        "utm_source": (
            (slugify(channel.name) or channel.platform)
            if channel.platform == Platform.MANUAL
            else channel.platform
        ),
        "utm_medium": UTM_MEDIUM,
        "utm_campaign": utm_campaign_for(campaign),
        "utm_content": f"post-{post.pk}" if post is not None and post.pk else "",
    }


def short_link_prefix() -> str:
    """Where our short links live ("https://example.com/l/"), or "" when no public address is
    configured (PUBLIC_BASE_URL): then links cannot be shortened."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    if not base:
        return ""
    return base + reverse("links:redirect", kwargs={"code": "x"})[:-1]


def short_link_url(code: str) -> str:
    return short_link_prefix() + code


def _target_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def tracked_links_get_or_create(
    *,
    targets: list[str],
    workspace: Workspace,
    channel: Channel,
    post: Post,
    campaign_id: int | None,
) -> dict[str, TrackedLink]:
    """{target: its TrackedLink} for this post on this channel: the existing ones in one query,
    the missing ones created with a random code (a code collision is retried with a new one; a
    concurrent creation of the same link is taken over)."""
    hashes = {_target_hash(t): t for t in targets}
    links = {
        hashes[link.target_hash]: link
        for link in TrackedLink.objects.filter(
            post=post, channel=channel, target_hash__in=list(hashes)
        )
    }
    for target_hash, target in hashes.items():
        if target in links:
            continue
        for _attempt in range(CODE_ATTEMPTS):
            try:
                with transaction.atomic():
                    links[target] = TrackedLink.objects.create(
                        workspace=workspace,
                        code=_new_code(),
                        target_url=target,
                        target_hash=target_hash,
                        post=post,
                        channel=channel,
                        campaign_id=campaign_id,
                    )
                break
            except IntegrityError:
                # Either the same link was just made by someone else (take it) or the code was
                # taken (try another one).
                existing = TrackedLink.objects.filter(
                    post=post, channel=channel, target_hash=target_hash
                ).first()
                if existing is not None:
                    links[target] = existing
                    break
        else:
            raise IntegrityError(f"no free short link code after {CODE_ATTEMPTS} attempts")
    return links


_POST_CAMPAIGN = object()  # default of `campaign`: the post's own, read only when needed


def links_prepare_text(
    text: str,
    *,
    workspace: Workspace,
    channel: Channel,
    post: Post,
    campaign: Campaign | object | None = _POST_CAMPAIGN,
    has_media: bool = False,
) -> str:
    """The text as it goes out on `channel`: with the workspace's link tracking applied.

    With `workspace.utm_tagging`, every http(s) link gets utm_source (the platform),
    utm_medium=social, utm_campaign (the campaign's, omitted without one) and utm_content
    (post-<id>), keeping its own query and fragment and any utm_* the author set. With
    `workspace.shorten_links` (and PUBLIC_BASE_URL configured), each link is replaced by our
    short link, the same one for the same target on every call. Our own short links are left
    alone. `campaign` defaults to the post's campaign, read only when a link needs it. A text
    that fits the platform's limit but would not with its links tracked goes out unchanged
    (`has_media`: the text is a caption, where some platforms allow less, e.g. Telegram).

    Costs no query when both switches are off or the text has no link; with tagging, one for
    the campaign (if the post has one and it was not loaded); with shortening, one for the
    existing short links plus one insert per new one."""
    if not (workspace.utm_tagging or workspace.shorten_links) or "http" not in text.lower():
        return text
    prefix = short_link_prefix()
    found = [
        f for f in links_find(text) if not (prefix and f.url.lower().startswith(prefix.lower()))
    ]
    if not found:
        return text
    campaign_id = post.campaign_id if campaign is _POST_CAMPAIGN else getattr(campaign, "pk", None)

    targets = {f.url: f.url for f in found}
    if workspace.utm_tagging:
        if campaign is _POST_CAMPAIGN:
            campaign = post.campaign  # cached on the post: one query for all its texts
        params = utm_params(channel=channel, post=post, campaign=campaign)
        targets = {url: utm_tagged(url, params) for url in targets}

    replacements = dict(targets)
    if workspace.shorten_links:
        if not prefix:
            logger.warning(
                "Workspace %s shortens links but PUBLIC_BASE_URL is not set: links go out long.",
                workspace.pk,
            )
        else:
            shortenable = [t for t in targets.values() if len(t) <= MAX_TARGET_LENGTH]
            links = tracked_links_get_or_create(
                targets=shortenable,
                workspace=workspace,
                channel=channel,
                post=post,
                campaign_id=campaign_id,
            )
            replacements = {
                url: short_link_url(links[target].code) if target in links else target
                for url, target in targets.items()
            }

    parts, position = [], 0
    for f in found:
        parts += [text[position : f.start], replacements[f.url]]
        position = f.end
    parts.append(text[position:])
    prepared = "".join(parts)
    if _too_long(prepared, original=text, platform=channel.platform, has_media=has_media):
        # Longer links must not turn a post that fits into one the platform refuses.
        logger.warning(
            "Post %s on channel %s: links left untracked, the text would exceed the limit.",
            post.pk,
            channel.pk,
        )
        return text
    return prepared


def _too_long(prepared: str, *, original: str, platform: str, has_media: bool) -> bool:
    """Whether `prepared` exceeds the platform's text limit while `original` does not. A caption
    (text with media) has the smaller caption limit where the platform has one (Telegram)."""
    spec = SPECS.get(platform)
    if spec is None:
        return False
    limit = spec.text_limit
    if has_media and spec.caption_limit_with_media:
        limit = min(n for n in (limit, spec.caption_limit_with_media) if n)
    if limit is None or len(prepared) <= len(original):
        return False
    return count_text(prepared, spec.counting) > limit >= count_text(original, spec.counting)


# --- clicks -------------------------------------------------------------------------------------


def _referrer_host(referrer: str) -> str:
    try:
        host = urlsplit(referrer).hostname or ""
    except ValueError:
        return ""
    return host[:255]


def _visitor_first_today(*, link_id: int, day: dt.date, visitor: str) -> bool:
    """Record the visitor on the link for `day`; whether it is new (the first click). One
    statement, decided by the unique constraint, so two clicks at once still count one unique:
    INSERT ... ON CONFLICT DO NOTHING RETURNING (PostgreSQL, SQLite >= 3.35)."""
    meta = LinkVisitor._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("link", "day", "visitor"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES (%s, %s, %s) "
            f"ON CONFLICT DO NOTHING RETURNING 1",
            [link_id, connection.ops.adapt_datefield_value(day), visitor],
        )
        return cursor.fetchone() is not None


def link_click_record(
    *,
    link: TrackedLink,
    user_agent: str,
    address: str,
    referrer: str = "",
    now: dt.datetime | None = None,
) -> bool:
    """Count a GET of a short link: a person's click as a LinkClick (time, referring host and
    whether it is unique: no IP address, no user agent) plus the link's counters, atomically; a
    bot's only in `bot_clicks`. A click is unique when it is the first of its visitor (client
    `address` and user agent, as a daily keyed hash) on this link this UTC day. Returns whether
    it counted as a person's click. Four statements for a person, one for a bot."""
    user_agent = user_agent[:USER_AGENT_MAX_LENGTH]
    if is_bot(user_agent):
        TrackedLink.objects.filter(pk=link.pk).update(bot_clicks=F("bot_clicks") + 1)
        return False
    now = now or timezone.now()
    day = now.astimezone(dt.UTC).date()
    visitor = visitor_hash(address=address, user_agent=user_agent, day=day)
    with transaction.atomic():
        first = _visitor_first_today(link_id=link.pk, day=day, visitor=visitor)
        counters = {"clicks": F("clicks") + 1}
        if first:
            counters["unique_clicks"] = F("unique_clicks") + 1
        TrackedLink.objects.filter(pk=link.pk).update(**counters)
        LinkClick.objects.create(
            link_id=link.pk,
            workspace_id=link.workspace_id,
            clicked_at=now,
            referrer_host=_referrer_host(referrer),
            is_unique=first,
        )
    return True


def link_visitors_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the visitor hashes of days before today (UTC): today's key cannot match them, so
    they only take room. Beat runs it hourly. Returns how many rows went."""
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    deleted, _per_model = LinkVisitor.objects.filter(day__lt=today).delete()
    return deleted
