"""Reads for the calendar views: posts in a time window, ideas, list pages and the filter options.

Query budget: one query per filter option list (channels, campaigns, labels, authors), one for the
posts, and one each for the variants and the labels of all shown posts together; nothing per post.
Channels and labels of a post are mapped in Python from the option lists, so no join per post.
At the end: the media library's pages and the editor's picker (one query per page).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from calendar_app.channel_health import (
    HEALTH_FIELDS,
    channel_problem,
    planned_on_unhealthy_channels,
)
from calendar_app.models import (
    Campaign,
    Channel,
    DecisionKind,
    Invitation,
    Label,
    MediaAsset,
    Membership,
    Post,
    PostMedia,
    PostRevision,
    PostVariant,
    ReviewDecision,
    ReviewRound,
    RoundState,
    Workspace,
)
from calendar_app.params import parse_id
from calendar_app.platforms import SPECS
from calendar_app.policy import policy_for
from calendar_app.publication import NOTHING_PUBLISHED, publications_for
from calendar_app.workflow import (
    SHOWN_LABELS,
    STATUS_BADGE,
    PostAction,
    PostFacts,
    PostStatus,
    ShownState,
    action_refusal,
    available_actions,
    shown_reason,
    shown_state,
)

# Columns a calendar entry needs; everything else of a post stays in the database.
_POST_COLUMNS = (
    "id",
    "version",
    "title",
    "body",
    "scheduled_at",
    "status",
    "created_at",
    "content_edited_by",
    "campaign__id",
    "campaign__name",
    "campaign__color",
    "author__id",
    "author__username",
    "author__first_name",
    "author__last_name",
    "author__deleted_at",
)


# --- filters ----------------------------------------------------------------------------------


SHOWN_VALUES = frozenset(state.value for state in ShownState)


@dataclass(frozen=True)
class CalendarFilters:
    """The filters of the month, week and list views, parsed from and written back to GET params.

    Unknown or malformed values are ignored rather than refused: a filter link from an old
    bookmark should still show a calendar. `status` is a shown state (workflow.ShownState):
    what people read on the chips, so "Failed" or "Held" find exactly the posts shown so.
    """

    channels: tuple[int, ...] = ()
    campaign: int | None = None
    label: int | None = None
    status: str = ""
    author: int | None = None

    PARAM_NAMES = ("channel", "campaign", "label", "status", "author")

    @classmethod
    def from_params(cls, params: Mapping) -> CalendarFilters:
        getlist = params.getlist if hasattr(params, "getlist") else lambda k: [params.get(k)]
        channels = tuple(
            sorted({c for c in (parse_id(v) for v in getlist("channel")) if c is not None})
        )
        status = params.get("status") or ""
        return cls(
            channels=channels,
            campaign=parse_id(params.get("campaign")),
            label=parse_id(params.get("label")),
            status=status if status in SHOWN_VALUES else "",
            author=parse_id(params.get("author")),
        )

    @property
    def active(self) -> bool:
        return bool(self.channels or self.campaign or self.label or self.status or self.author)

    def as_params(self) -> list[tuple[str, str]]:
        params = [("channel", str(c)) for c in self.channels]
        for name in ("campaign", "label", "status", "author"):
            value = getattr(self, name)
            if value not in (None, ""):
                params.append((name, str(value)))
        return params

    def querystring(self) -> str:
        """`a=1&b=2` (no leading `?`), empty when no filter is set."""
        return urlencode(self.as_params())

    def apply(self, posts: QuerySet[Post]) -> QuerySet[Post]:
        if self.channels:
            # EXISTS instead of a join: a post on two chosen channels must appear once.
            posts = posts.filter(
                Exists(
                    PostVariant.objects.filter(post_id=OuterRef("pk"), channel_id__in=self.channels)
                )
            )
        if self.campaign is not None:
            posts = posts.filter(campaign_id=self.campaign)
        if self.label is not None:
            posts = posts.filter(labels__id=self.label)
        if self.status in PostStatus.values:  # narrows; keep_shown() decides
            posts = posts.filter(status=self.status)
        if self.author is not None:
            posts = posts.filter(author_id=self.author)
        return posts


# --- read models --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    id: int
    name: str
    platform: str
    platform_label: str
    icon: str  # bootstrap-icons class, e.g. "bi-mastodon"
    problem: str = ""  # why it cannot publish now (channel_health), "" when it can


@dataclass(frozen=True, slots=True)
class ColorOption:
    id: int
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class AuthorInfo:
    id: int
    name: str


@dataclass(frozen=True)
class FilterOptions:
    channels: list[ChannelInfo]
    campaigns: list[ColorOption]
    labels: list[ColorOption]
    authors: list[AuthorInfo]
    statuses: list[tuple[str, str]]
    channel_by_id: dict[int, ChannelInfo] = field(repr=False)
    label_by_id: dict[int, ColorOption] = field(repr=False)


@dataclass(slots=True)
class CalendarEntry:
    """One post as the calendar shows it: plain values, already in the workspace's time."""

    id: int
    version: int
    title: str
    local: dt.datetime | None  # in the workspace time zone; None for an idea
    day_iso: str  # YYYY-MM-DD, "" for an idea
    time: str  # HH:MM, "" for an idea
    minute: int
    status: str
    status_label: str
    status_badge: str
    campaign: ColorOption | None
    author: str
    channels: list[ChannelInfo]
    labels: list[ColorOption]
    # What happened to it (workflow.shown_state): its deliveries once it is on its way out.
    shown: str = ""
    shown_label: str = ""
    reason: str = ""  # which channels failed and why
    movable: bool = False  # the member may drag it to another time (the rulebook says)

    @property
    def day(self) -> dt.date | None:
        return self.local.date() if self.local else None


def _author_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name


def filter_options(workspace: Workspace) -> FilterOptions:
    """The choices of the filter bar, one query per list; also the lookup tables for entries."""
    channels = [
        ChannelInfo(
            id=c.id,
            name=c.name,
            platform=c.platform,
            platform_label=SPECS[c.platform].label if c.platform in SPECS else c.platform,
            icon="bi-" + (SPECS[c.platform].icon if c.platform in SPECS else "broadcast"),
            problem=problem.message
            if (problem := channel_problem(c, workspace_slug=workspace.slug))
            else "",
        )
        for c in Channel.objects.filter(workspace=workspace).only("id", "name", *HEALTH_FIELDS)
    ]
    campaigns = [
        ColorOption(id=c.id, name=c.name, color=c.color)
        for c in Campaign.objects.filter(workspace=workspace).only("id", "name", "color")
    ]
    labels = [
        ColorOption(id=lb.id, name=lb.name, color=lb.color)
        for lb in Label.objects.filter(workspace=workspace).only("id", "name", "color")
    ]
    authors = [
        AuthorInfo(id=u.id, name=_author_name(u))
        for u in User.objects.filter(memberships__workspace=workspace)
        .only("id", "username", "first_name", "last_name", "deleted_at")
        .order_by("username")
    ]
    return FilterOptions(
        channels=channels,
        campaigns=campaigns,
        labels=labels,
        authors=authors,
        statuses=[(state.value, str(SHOWN_LABELS[state])) for state in ShownState],
        channel_by_id={c.id: c for c in channels},
        label_by_id={lb.id: lb for lb in labels},
    )


def _posts(workspace: Workspace, filters: CalendarFilters) -> QuerySet[Post]:
    posts = Post.objects.filter(workspace=workspace).select_related("campaign", "author")
    return filters.apply(posts).only(*_POST_COLUMNS)


# At most this many posts are read to find those shown in a state (filters by a shown state
# that the deliveries decide, e.g. "Failed"): a month holds a few hundred.
SHOWN_SCAN = 2000


def keep_shown(posts: QuerySet[Post], shown: str, *, limit: int = SHOWN_SCAN) -> QuerySet[Post]:
    """`posts` narrowed to those shown as `shown` (workflow.shown_state, from the post's status
    and its deliveries: the rule is not restated in SQL; "Held" also finds the posts a channel
    holds ahead, channel_health's rule). Two queries (three for "Held"), of the first `limit`."""
    candidates = list(posts.order_by().values_list("id", "status")[:limit])
    publications = publications_for(Q(post_id__in=[pk for pk, _status in candidates]))
    keep = [
        pk
        for pk, status in candidates
        if shown_state(status, publications.get(pk, NOTHING_PUBLISHED)) == shown
    ]
    if shown == ShownState.HELD:
        # Held ahead too: a planned post whose channel cannot publish at its time (the posts
        # the channel list and the publishing log count as held; their chips carry the mark).
        keep += (
            planned_on_unhealthy_channels()
            .filter(
                post_id__in=[pk for pk, _status in candidates],
                post__scheduled_at__gt=timezone.now(),
            )
            .values_list("post_id", flat=True)
        )
    return posts.filter(pk__in=keep)


def scheduled_posts(
    workspace: Workspace,
    filters: CalendarFilters,
    *,
    start: dt.datetime,
    end: dt.datetime | None = None,
) -> QuerySet[Post]:
    """Posts with a time in [start, end) (UTC bounds), in time order."""
    posts = _posts(workspace, filters).filter(scheduled_at__gte=start)
    if end is not None:
        posts = posts.filter(scheduled_at__lt=end)
    if filters.status:
        posts = keep_shown(posts, filters.status)
    return posts.order_by("scheduled_at", "id")


def idea_posts(workspace: Workspace, filters: CalendarFilters) -> QuerySet[Post]:
    """Posts without a time, newest first."""
    posts = _posts(workspace, filters).filter(scheduled_at__isnull=True)
    if filters.status:
        posts = keep_shown(posts, filters.status)
    return posts.order_by("-created_at", "-id")


def calendar_entries(
    posts: Iterable[Post],
    *,
    tz: ZoneInfo,
    options: FilterOptions,
    same_posts: Q | None = None,
    membership: Membership | None = None,
) -> list[CalendarEntry]:
    """Entries for `posts` (evaluated here), with their channels, labels and what publishing
    did with them (calendar_app.publication): one query each. With `membership`, each entry
    says whether that member may move it (the rulebook's RESCHEDULE, which needs only the
    post, its publication and the role).

    `same_posts`, a condition on `post_id` selecting the same posts (e.g. a subquery), replaces
    the list of ids: a month's ~800 ids as parameters cost more to send than the subquery.
    """
    posts = list(posts)
    if not posts:
        return []
    where = same_posts if same_posts is not None else Q(post_id__in=[p.id for p in posts])
    channel_ids: dict[int, list[int]] = defaultdict(list)
    for post_id, channel_id in (
        PostVariant.objects.filter(where).order_by().values_list("post_id", "channel_id")
    ):
        channel_ids[post_id].append(channel_id)
    label_ids: dict[int, list[int]] = defaultdict(list)
    for post_id, label_id in (
        Post.labels.through.objects.filter(where).order_by().values_list("post_id", "label_id")
    ):
        label_ids[post_id].append(label_id)
    publications = publications_for(where)
    now = timezone.now()

    channel_by_id, label_by_id = options.channel_by_id, options.label_by_id
    channel_rank = {c.id: i for i, c in enumerate(options.channels)}
    label_rank = {lb.id: i for i, lb in enumerate(options.labels)}
    status_labels = {value: str(label) for value, label in PostStatus.choices}
    campaigns: dict[int, ColorOption] = {}
    entries = []
    for post in posts:
        campaign = None
        if post.campaign is not None:
            campaign = campaigns.get(post.campaign_id)
            if campaign is None:
                campaign = campaigns[post.campaign_id] = ColorOption(
                    id=post.campaign.id, name=post.campaign.name, color=post.campaign.color
                )
        local = post.scheduled_at.astimezone(tz) if post.scheduled_at else None
        publication = publications.get(post.id, NOTHING_PUBLISHED)
        shown = shown_state(post.status, publication)
        movable = membership is not None and (
            action_refusal(
                membership, post, PostFacts(publication=publication, now=now), PostAction.RESCHEDULE
            )
            is None
        )
        entries.append(
            CalendarEntry(
                id=post.id,
                version=post.version,
                title=post.display_title,
                local=local,
                day_iso=local.date().isoformat() if local else "",
                time=f"{local.hour:02d}:{local.minute:02d}" if local else "",
                minute=local.minute if local else 0,
                status=post.status,
                status_label=status_labels.get(post.status, post.status),
                status_badge=STATUS_BADGE.get(shown, "secondary"),
                campaign=campaign,
                author=_author_name(post.author),
                channels=[
                    channel_by_id[c]
                    for c in sorted(
                        channel_ids.get(post.id, ()), key=lambda c: channel_rank.get(c, 0)
                    )
                    if c in channel_by_id
                ],
                labels=[
                    label_by_id[lb]
                    for lb in sorted(
                        label_ids.get(post.id, ()), key=lambda lb: label_rank.get(lb, 0)
                    )
                    if lb in label_by_id
                ],
                shown=shown,
                shown_label=str(SHOWN_LABELS[shown]),
                reason=shown_reason(publication),
                movable=movable,
            )
        )
    return entries


# --- the review queue ("Waiting for me") --------------------------------------------------------


@dataclass(slots=True)
class QueueVariant:
    channel_id: int
    channel_name: str
    platform: str
    icon: str
    title: str
    body: str
    body_override: str
    first_comment: str
    # What keeps this channel from publishing the post at its time, or needs attention
    # (channel_health): an approver learns before approving that it would be held.
    problem: object = None


@dataclass(slots=True)
class QueueItem:
    post: Post
    round_id: int
    step_index: int
    step_count: int
    step_name: str
    revision: int | None
    due_local: dt.datetime | None
    missed: bool
    due_soon: bool
    variants: list[QueueVariant]
    media: list = field(default_factory=list)  # the post's MediaAssets, in order
    actions: frozenset = frozenset()  # what this member may do to it (workflow.available_actions)


DUE_SOON = dt.timedelta(hours=24)
# What puts a post on a member's "Waiting for me": a decision they may take on it now.
DECISIONS = frozenset(
    {PostAction.APPROVE, PostAction.REQUEST_CHANGES, PostAction.APPROVE_WITH_NEW_TIME}
)


def _waiting_for(membership, *, now: dt.datetime, posts_only: bool) -> list[tuple]:
    """(round, post, latest revision number, actions) of the rounds this member may decide
    now, soonest first, asked of the rulebook with facts read for all rounds at once: the
    policy, the rounds with their posts, the latest revision numbers, the approvals given so far
    for them and the posts' publications (five queries)."""
    workspace = membership.workspace
    policy = policy_for(workspace)
    rounds = ReviewRound.objects.filter(
        post__workspace=workspace,
        state=RoundState.ACTIVE,
        post__status__in=[PostStatus.IN_REVIEW, PostStatus.MISSED_APPROVAL],
    ).order_by(models_nulls_last("post__scheduled_at"), "post_id")
    if posts_only:
        rounds = rounds.select_related("post").only(
            "id", "steps", "current_step", "post_id",
            *(f"post__{f}" for f in ("id", "status", "scheduled_at", "author_id",
                                     "content_edited_by_id", "workspace_id")),
        )  # fmt: skip
    else:
        rounds = rounds.select_related("post__author", "post__campaign")
    rounds = [r for r in rounds if r.step is not None]
    if not rounds:
        return []
    post_ids = [r.post_id for r in rounds]
    latest = dict(
        PostRevision.objects.filter(post_id__in=post_ids)
        .values("post_id")
        .annotate(latest=Max("number"))
        .values_list("post_id", "latest")
    )
    # (round, step, revision number) -> (users, link recipients' e-mails) who approved it
    approved: dict[tuple, tuple[set[int], set[str]]] = defaultdict(lambda: (set(), set()))
    for round_id, step, number, user_id, email in ReviewDecision.objects.filter(
        round_id__in=[r.pk for r in rounds], kind=DecisionKind.APPROVE
    ).values_list(
        "round_id", "step", "revision__number", "user_id", "review_link__recipient_email"
    ):
        users, emails = approved[(round_id, step, number)]
        if user_id is not None:
            users.add(user_id)
        elif email:
            emails.add(email.lower())
    publications = publications_for(Q(post_id__in=post_ids))
    found = []
    for r in rounds:
        users, emails = approved.get((r.pk, r.current_step, latest.get(r.post_id)), ((), ()))
        facts = PostFacts(
            mode=policy.mode,
            allow_self_approval=policy.allow_self_approval,
            skip_roles=frozenset(policy.skip_roles),
            step=r.step,
            approved_by_users=frozenset(users),
            approved_by_emails=frozenset(emails),
            publication=publications.get(r.post_id, NOTHING_PUBLISHED),
            now=now,
        )
        r.post.workspace = workspace
        actions = available_actions(membership, r.post, facts)
        if actions & DECISIONS:
            found.append((r, r.post, latest.get(r.post_id), actions))
    return found


def review_queue_count(membership) -> int:
    """How many posts wait for this member's decision."""
    return len(_waiting_for(membership, now=timezone.now(), posts_only=True))


def review_queue(membership, *, now: dt.datetime | None = None) -> list[QueueItem]:
    """Posts waiting for this member's decision, soonest first, with their channel previews and
    the actions the rulebook offers on each.

    Queries: the five of `_waiting_for`, the variants with channels and the media: seven,
    whatever the number of posts.
    """
    workspace = membership.workspace
    now = now or timezone.now()
    waiting = _waiting_for(membership, now=now, posts_only=False)
    post_ids = [post.pk for _r, post, _n, _a in waiting]
    variants: dict[int, list[QueueVariant]] = defaultdict(list)
    media: dict[int, list] = defaultdict(list)
    if post_ids:
        scheduled_at = {post.pk: post.scheduled_at for _r, post, _n, _a in waiting}
        for v in PostVariant.objects.filter(post_id__in=post_ids).select_related("channel"):
            spec = SPECS.get(v.channel.platform)
            variants[v.post_id].append(
                QueueVariant(
                    channel_id=v.channel_id,
                    channel_name=v.channel.name,
                    platform=v.channel.platform,
                    icon="bi-" + (spec.icon if spec else "broadcast"),
                    title=v.title_override,
                    body="",
                    body_override=v.body_override,
                    first_comment=v.first_comment,
                    problem=channel_problem(
                        v.channel, workspace_slug=workspace.slug, at=scheduled_at[v.post_id]
                    ),
                )
            )
        for pm in PostMedia.objects.filter(post_id__in=post_ids).select_related("media"):
            media[pm.post_id].append(pm.media)
    tz = workspace.tz
    items = []
    for r, post, revision, actions in waiting:
        for qv in variants[post.pk]:
            qv.body = qv.body_override or post.body
            qv.title = qv.title or post.title
        items.append(
            QueueItem(
                post=post,
                round_id=r.pk,
                step_index=r.current_step,
                step_count=len(r.steps),
                step_name=r.steps[r.current_step]["name"],
                revision=revision,
                due_local=post.scheduled_at.astimezone(tz) if post.scheduled_at else None,
                missed=post.status == PostStatus.MISSED_APPROVAL,
                due_soon=post.scheduled_at is not None
                and now <= post.scheduled_at <= now + DUE_SOON,
                variants=variants[post.pk],
                media=media[post.pk],
                actions=actions,
            )
        )
    return items


def models_nulls_last(field_name: str):
    from django.db.models import F

    return F(field_name).asc(nulls_last=True)


@dataclass(frozen=True)
class UpcomingPosts:
    count: int
    next_at: dt.datetime | None


def upcoming_scheduled_posts(
    *, workspace: Workspace, now: dt.datetime | None = None
) -> UpcomingPosts:
    """How many of the workspace's posts have a time still ahead (any status), and the next
    one's time. One query."""
    found = Post.objects.filter(
        workspace=workspace, scheduled_at__gte=now or timezone.now()
    ).aggregate(count=Count("id"), next_at=Min("scheduled_at"))
    return UpcomingPosts(count=found["count"], next_at=found["next_at"])


# --- media library ----------------------------------------------------------------------------

# How many assets the editor's picker shows at first and adds with each "Load more".
MEDIA_PICKER_PAGE_SIZE = 48


def media_assets(workspace: Workspace, *, query: str = "") -> QuerySet[MediaAsset]:
    """The workspace's media, newest first; with a `query`, only those where each of its words
    appears in the file name or the alt text ("harbour 2024" finds "harbour-2024-05.jpg" and a
    "harbour.jpg" described as "… in 2024"). Ordered by id (ids grow with uploads), so a
    keyset on it never skips."""
    assets = workspace.media.order_by("-pk")
    for word in query.split():
        assets = assets.filter(Q(original_name__icontains=word) | Q(alt_text__icontains=word))
    return assets


@dataclass(frozen=True)
class MediaPage:
    """One page of the picker: its assets, newest first, and whether older ones follow."""

    assets: list[MediaAsset]
    has_more: bool

    @property
    def next_before(self) -> int | None:
        """The `before` that asks for the next page, if there is one."""
        return self.assets[-1].pk if self.has_more and self.assets else None


def media_picker_page(
    workspace: Workspace,
    *,
    query: str = "",
    before: int | None = None,
    size: int = MEDIA_PICKER_PAGE_SIZE,
) -> MediaPage:
    """The `size` newest assets (matching `query`) older than the asset `before`. One query."""
    assets = media_assets(workspace, query=query)
    if before is not None:
        assets = assets.filter(pk__lt=before)
    rows = list(assets[: size + 1])  # one more tells whether there is a next page
    return MediaPage(assets=rows[:size], has_more=len(rows) > size)


@dataclass(frozen=True)
class EditorMedia:
    """What the editor embeds: the picker's first page and every asset the post refers to."""

    recent: MediaPage
    by_id: dict[str, MediaAsset]  # the recent ones and the used ones, keyed by str(pk)


def _as_media_ids(raw_ids: Iterable[str]) -> set[int]:
    """The well-formed ids among the values of a form (a re-rendered invalid form may carry
    anything)."""
    ids = set()
    for raw in raw_ids:
        text = str(raw).strip()
        if (media_id := parse_id(text)) is not None:
            ids.add(media_id)
    return ids


def media_for_editor(
    workspace: Workspace, *, used_ids: Iterable[str], size: int = MEDIA_PICKER_PAGE_SIZE
) -> EditorMedia:
    """The picker's first page and the assets of `used_ids` (the post's, however old), in one
    query whatever the size of the library or the number of used assets.

    The query asks for "used OR among the size+1 newest", newest first: its first size+1 rows
    are therefore exactly the newest ones, and anything after them is an older used asset.
    """
    wanted = _as_media_ids(used_ids)
    newest = workspace.media.order_by("-pk").values("pk")[: size + 1]
    rows = list(workspace.media.filter(Q(pk__in=wanted) | Q(pk__in=newest)).order_by("-pk"))
    # More than `size` rows means size+1 newest ones exist, so older assets follow the page.
    recent = MediaPage(assets=rows[:size], has_more=len(rows) > size)
    known = recent.assets + [asset for asset in rows[size:] if asset.pk in wanted]
    return EditorMedia(recent=recent, by_id={str(asset.pk): asset for asset in known})


# --- members -------------------------------------------------------------------------------------

# Answered, withdrawn and expired invitations stay on the member page this long (so the inviter
# sees who accepted with which account); open ones until they expire.
INVITATIONS_SHOWN_DAYS = 30


def workspace_invitations(
    workspace: Workspace, *, now: dt.datetime | None = None
) -> list[Invitation]:
    """The workspace's open invitations and those of the last INVITATIONS_SHOWN_DAYS days,
    newest first, with the people involved joined: one query."""
    now = now or timezone.now()
    open_ = Q(accepted_at__isnull=True, declined_at__isnull=True, revoked_at__isnull=True)
    return list(
        Invitation.objects.filter(workspace=workspace)
        .filter(
            (open_ & Q(expires_at__gt=now))
            | Q(created_at__gte=now - dt.timedelta(days=INVITATIONS_SHOWN_DAYS))
        )
        .select_related("invited_by", "accepted_by", "declined_by", "revoked_by")
        .order_by("-created_at", "-id")
    )
