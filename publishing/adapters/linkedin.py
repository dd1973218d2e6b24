"""LinkedIn (versioned REST API): member or organisation posts via /rest/posts, images and videos
via initializeUpload, first comment via socialActions, "little" text escaping, duplicate and
daily-quota mapping, social metadata (+ organisation share statistics) as metrics."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

import requests
from django.utils.translation import gettext_noop

from notifications.texts import Text
from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    AdapterError,
    Capabilities,
    ConnectResult,
    Credentials,
    MediaItem,
    MetricsSnapshot,
    PartCallback,
    PermanentError,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RateLimited,
    RemotePostInfo,
    TransientError,
    lookup_incomplete,
)
from publishing.adapters.listing import (
    ListedItem,
    as_count,
    collect_recent,
    counts,
    created_since,
    excerpt,
    parse_time,
)
from publishing.adapters.oauth2 import OAuth2Adapter

# What each call needs (any one permission of a row; "member / org" is the one for the author
# kind), from the "Permissions" table of each API's page on learn.microsoft.com/linkedin:
#   GET  /v2/userinfo (connect)                 openid + profile ("Sign In with LinkedIn
#                                               using OpenID Connect"; email is not read)
#   GET  /rest/organizationAcls?q=roleAssignee  rw_organization_admin or r_organization_admin
#        (connect, organisations)               ("Organization Access Control by Role")
#   GET  /rest/organizations/{id} (connect)     rw_organization_admin ("Organization Lookup")
#   POST /rest/posts, DELETE /rest/posts/{urn}  w_member_social / w_organization_social
#                                               ("Posts API")
#   POST /rest/images?action=initializeUpload,  w_member_social / w_organization_social
#        /rest/videos initialize/finalizeUpload,  ("Images API", "Videos API"; the upload
#        GET /rest/videos/{urn}                 URLs themselves are pre-signed)
#   POST /rest/socialActions/{urn}/comments     w_member_social / w_organization_social
#                                               ("Comments API")
#   GET  /rest/posts?q=author (look-up,         r_member_social / r_organization_social
#        organisation listing)                  ("Posts API"). r_member_social is closed to
#                                               most apps and not asked for: a member's
#                                               look-up is refused (403, handled: no match)
#   GET  /rest/socialMetadata?ids= (metrics)    w_/r_member_social, w_/r_organization_social
#                                               ("Social Metadata API" lists all four for the
#                                               API as a whole, not per method)
#   GET  /rest/organizationalEntityShare        rw_organization_admin ("Organization Share
#        Statistics (organisation metrics)      Statistics"; refused: 403, handled)
#   GET  /rest/networkSizes/{org} (followers)   no permission of its own on "Organization
#                                               Network Size"; counted as an organisation
#                                               admin read: rw_organization_admin
#   refresh                                     no scope; refresh tokens go to approved
#                                               partners only ("Programmatic Refresh Tokens")
MEMBER_SCOPES = ("openid", "profile", "w_member_social")
# Community Management API (approved apps only): post, read and measure as a company page.
ORGANIZATION_SCOPES = ("w_organization_social", "r_organization_social", "rw_organization_admin")

URL_RE = re.compile(r"https?://\S+")
# "little" format: these are syntax unless escaped, and LinkedIn silently truncates the text at
# the first unescaped one. A "#" that starts a hashtag stays as is so hashtags remain clickable.
LITTLE_RESERVED_RE = re.compile(r"[\\|{}@\[\]()<>*_~]|#(?!\w)")
POST_URN_RE = re.compile(r"urn:li:(?:share|ugcPost):\d+")
METRICS_BATCH = 50  # URNs per socialMetadata / share statistics request
LISTING_PAGE = 100  # posts per page of the author finder


def little_escape(text: str) -> str:
    """Escape the reserved characters of LinkedIn's "little" text format, leaving URLs intact."""
    out, pos = [], 0
    for match in URL_RE.finditer(text):
        out.append(LITTLE_RESERVED_RE.sub(lambda m: "\\" + m.group(), text[pos : match.start()]))
        out.append(match.group())
        pos = match.end()
    out.append(LITTLE_RESERVED_RE.sub(lambda m: "\\" + m.group(), text[pos:]))
    return "".join(out)


def little_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text or "")


def encoded(urn: str) -> str:
    return quote(urn, safe="")


class LinkedInAdapter(OAuth2Adapter):
    key = "linkedin"
    capabilities = Capabilities(
        auth="oauth2",
        first_comment=True,
        metrics=frozenset({"likes", "comments", "shares", "impressions", "clicks"}),
        metrics_batch_size=METRICS_BATCH,
        # Organisation pages only (Community Management API); see the methods for members.
        account_metrics=frozenset({"followers"}),
        lists_recent_posts=True,
    )
    default_base_url = "https://api.linkedin.com"
    authorize_endpoint = "https://www.linkedin.com/oauth/v2/authorization"
    token_endpoint = "https://www.linkedin.com/oauth/v2/accessToken"
    scopes = MEMBER_SCOPES
    api_version: ClassVar[str] = "202605"  # LinkedIn-Version (YYYYMM); versions live ~1 year
    recent_posts: ClassVar[int] = 20  # the one page a look-up without not_before reads
    # A look-up with not_before pages back to it in pages of LISTING_PAGE, at most this many
    # (2,000 posts: nearly two weeks even at the ~150 posts a member may make a day). The
    # quotas are daily and unpublished, and a look-up runs only after a lost answer.
    lookup_max_pages: ClassVar[int] = 20

    def __init__(self, *, linkedin_version: str = "", organizations: bool = False, **options):
        super().__init__(**options)
        self.version = linkedin_version or self.api_version
        self.organizations = organizations  # request the organisation scopes by default

    # -- connecting -------------------------------------------------------------------------------

    def wants_organization(self, account: Account) -> bool:
        return self.organizations or account.config.get("author_type") == "organization"

    def scopes_for(self, account: Account) -> tuple[str, ...]:
        # Organisation scopes only when asked for: LinkedIn refuses the whole consent screen
        # for scopes the app was not approved for.
        if self.wants_organization(account):
            return MEMBER_SCOPES + ORGANIZATION_SCOPES
        return MEMBER_SCOPES

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        return http.bearer(
            credentials.access_token,
            **{"LinkedIn-Version": self.version, "X-Restli-Protocol-Version": "2.0.0"},
        )

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        # OpenID Connect userinfo: `sub` is the member id of urn:li:person:{sub}.
        me = self.call("GET", "/v2/userinfo", credentials=credentials).json()
        person = f"urn:li:person:{me['sub']}"
        config = {**account.config, "person_urn": person}
        result = Account(
            account_id=person,
            handle=me.get("email", "") or me.get("name", ""),
            name=me.get("name", ""),
            avatar_url=me.get("picture", ""),
            config=config,
        )
        if self.wants_organization(account):
            organizations = self.administered_organizations(credentials)
            config["organizations"] = organizations
            chosen = account.config.get("organization_urn") or (
                organizations[0] if organizations else ""
            )
            if chosen:
                org = self.call(
                    "GET",
                    f"/rest/organizations/{chosen.rsplit(':', 1)[-1]}",
                    credentials=credentials,
                ).json()
                config["organization_urn"] = chosen
                result.account_id = chosen
                result.name = org.get("localizedName", "") or result.name
                result.handle = org.get("vanityName", "") or result.handle
                result.avatar_url = ""
        return ConnectResult(account=result, credentials=credentials)

    def administered_organizations(self, credentials: Credentials) -> list[str]:
        """Organisations the member may post for (ADMINISTRATOR or content roles)."""
        data = self.call(
            "GET",
            "/rest/organizationAcls",
            credentials=credentials,
            params={"q": "roleAssignee", "state": "APPROVED"},
        ).json()
        allowed = {"ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER"}
        return [
            e["organization"]
            for e in data.get("elements", [])
            if e.get("role") in allowed and e.get("organization")
        ]

    @staticmethod
    def author(account: Account) -> str:
        return (
            account.config.get("organization_urn")
            or account.config.get("person_urn")
            or (account.account_id)
        )

    # -- errors -----------------------------------------------------------------------------------

    def error_for(self, response: requests.Response, *, secrets=()) -> AdapterError:
        error = super().error_for(response, secrets=secrets)
        text = http.platform_error_text(response) + " " + response.text[:2000]
        if response.status_code == 422 and ("DUPLICATE_POST" in text or "duplicate" in text):
            match = POST_URN_RE.search(text)
            urn = match.group() if match else ""
            return PermanentError(
                Text(
                    gettext_noop("LinkedIn refused the post as a duplicate of %(urn)s."),
                    urn=urn or Text(gettext_noop("an earlier post")),
                ),
                detail=f"{error.detail} duplicate_of={urn}",
                status=422,
            )
        if isinstance(error, RateLimited) and error.retry_after is None:
            # Daily quotas, no headers; they reset at midnight UTC.
            now = dt.datetime.now(dt.UTC)
            midnight = (now + dt.timedelta(days=1)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            error.retry_after = (midnight - now).total_seconds()
        return error

    # -- content ----------------------------------------------------------------------------------

    @staticmethod
    def post_url(urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        author = self.author(account)

        def main(parts: list[PublishedPart]) -> PublishedPart:
            body: dict[str, Any] = {
                "author": author,
                "commentary": little_escape(request.text),
                "visibility": request.options.get("visibility", "PUBLIC"),
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            }
            media = [(self.upload(credentials, author, m), m) for m in request.media]
            if len(media) == 1:
                urn, item = media[0]
                body["content"] = {"media": {"id": urn, "altText": item.alt_text}}
                if item.kind == "video":
                    body["content"]["media"] = {"id": urn, "title": request.title}
            elif media:
                body["content"] = {
                    "multiImage": {"images": [{"id": u, "altText": m.alt_text} for u, m in media]}
                }
            elif request.link:
                body["content"] = {
                    "article": {"source": request.link, "title": request.title or request.link}
                }
            response = self.call("POST", "/rest/posts", credentials=credentials, json=body)
            urn = response.headers.get("x-restli-id") or http.json_or_empty(response).get("id")
            if not urn:
                raise TransientError(
                    Text(gettext_noop("LinkedIn accepted the post but did not say its id.")),
                    detail=f"HTTP {response.status_code} without x-restli-id",
                )
            return PublishedPart(remote_id=urn, url=self.post_url(urn))

        def comment(parts: list[PublishedPart]) -> PublishedPart:
            post = parts[0].remote_id
            response = self.call(
                "POST",
                f"/rest/socialActions/{encoded(post)}/comments",
                credentials=credentials,
                json={
                    "actor": author,
                    "object": post,
                    "message": {"text": little_escape(request.first_comment)},
                },
            )
            comment_id = response.headers.get("x-restli-id") or str(
                http.json_or_empty(response).get("id", "")
            )
            return PublishedPart(remote_id=comment_id, url=parts[0].url)

        steps = [main]
        if request.first_comment.strip():
            steps.append(comment)
        return self.publish_parts(request, steps, on_part)

    def upload(self, credentials: Credentials, owner: str, item: MediaItem) -> str:
        if item.kind == "video":
            return self.upload_video(credentials, owner, item)
        value = self.call(
            "POST",
            "/rest/images",
            credentials=credentials,
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": owner}},
        ).json()["value"]
        with item.open() as fh:
            self.call(
                "PUT",
                value["uploadUrl"],
                credentials=credentials,
                data=fh.read(),
                headers={"Content-Type": "application/octet-stream"},
            )
        return value["image"]

    def upload_video(self, credentials: Credentials, owner: str, item: MediaItem) -> str:
        value = self.call(
            "POST",
            "/rest/videos",
            credentials=credentials,
            params={"action": "initializeUpload"},
            json={
                "initializeUploadRequest": {
                    "owner": owner,
                    "fileSizeBytes": item.size_bytes,
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
        ).json()["value"]
        etags = []
        with item.open() as fh:
            for instruction in value["uploadInstructions"]:
                first, last = instruction["firstByte"], instruction["lastByte"]
                fh.seek(first)
                response = self.call(
                    "PUT",
                    instruction["uploadUrl"],
                    credentials=credentials,
                    data=fh.read(last - first + 1),
                    headers={"Content-Type": "application/octet-stream"},
                )
                etags.append(response.headers.get("ETag", ""))
        self.call(
            "POST",
            "/rest/videos",
            credentials=credentials,
            params={"action": "finalizeUpload"},
            json={
                "finalizeUploadRequest": {
                    "video": value["video"],
                    "uploadToken": value.get("uploadToken", ""),
                    "uploadedPartIds": etags,
                }
            },
        )
        for _attempt in range(self.poll_attempts):
            status = self.call(
                "GET", f"/rest/videos/{encoded(value['video'])}", credentials=credentials
            ).json()
            if status.get("status") == "AVAILABLE":
                return value["video"]
            if status.get("status") == "PROCESSING_FAILED":
                raise PermanentError(
                    Text(gettext_noop("LinkedIn could not process %(name)s."), name=item.filename),
                    detail=f"video processing failed: {status.get('processingFailureReason', '')}",
                )
            self.sleep(self.poll_interval)
        raise TransientError(
            Text(
                gettext_noop("LinkedIn is still processing %(name)s; try again later."),
                name=item.filename,
            )
        )

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """LinkedIn has no idempotency key: scan the author's posts for the text (needs
        r_member_social / r_organization_social; without it LinkedIn answers 403 and we cannot
        tell, so None). A 422 DUPLICATE_POST on publish also names the existing URN. Posts
        created (`createdAt`, else `publishedAt`, ms epoch) before `request.not_before` are
        not ours.

        With `not_before` the posts are read page by page (start/count, newest created first)
        until a page ends with a post created before it, so a post that went out before a busy
        stretch is still found; at most `lookup_max_pages` pages of LISTING_PAGE. Without it,
        only the newest `recent_posts`."""
        not_before = request.not_before
        pages = self._author_pages(
            credentials,
            self.author(account),
            count=self.recent_posts if not_before is None else LISTING_PAGE,
            refused_ok=True,
        )
        # The range comes first: once the bound is reached, no further page is asked for.
        pages_read = 0
        for _number, posts in zip(range(self.lookup_max_pages), pages, strict=False):
            pages_read += 1
            for post in posts:
                if not created_since(self._created(post), not_before):
                    continue  # older than this delivery: the same text posted before
                if self.same_text(little_unescape(post.get("commentary", "")), request.text):
                    urn = post["id"]
                    part = PublishedPart(remote_id=urn, url=self.post_url(urn))
                    return PublishResult(remote_id=urn, url=part.url, parts=[part])
            if not_before is None:
                break  # one page, as without a bound before
            oldest = parse_time(self._created(posts[-1]))  # the finder never yields an empty page
            if oldest is None or oldest < not_before:
                break  # every later page is older still
        else:  # no page reached not_before: read on, or say that it cannot be told
            if not_before is not None and pages_read >= self.lookup_max_pages:
                raise lookup_incomplete(self.lookup_max_pages)
        return None

    @staticmethod
    def _created(post: dict[str, Any]) -> Any:
        return post.get("createdAt") or post.get("publishedAt")

    def _author_pages(
        self, credentials: Credentials, author: str, *, count: int, refused_ok: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """The author's posts page by page, newest created first: the posts finder (q=author)
        with sortBy=CREATED, as its default order is by last modification (an old post edited
        today would come first), and Rest.li offset paging (start, count). It ends at an empty
        page, or once start reaches `paging.total` where LinkedIn sends it (it often does not).
        With `refused_ok`, a 403 (no read permission) ends it without a page."""
        start = 0
        while True:
            response = self.call(
                "GET",
                "/rest/posts",
                credentials=credentials,
                params={
                    "q": "author",
                    "author": author,
                    "count": count,
                    "start": start,
                    "sortBy": "CREATED",
                },
                headers={"X-RestLi-Method": "FINDER"},
                ok=(403,) if refused_ok else (),
            )
            if response.status_code == 403:
                return
            body = response.json()
            elements = body.get("elements") or []
            if not elements:
                return
            yield elements
            start += len(elements)
            total = (body.get("paging") or {}).get("total")
            if isinstance(total, int) and start >= total:
                return

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        self.call(
            "DELETE",
            f"/rest/posts/{encoded(remote_id)}",
            credentials=credentials,
            headers={"X-RestLi-Method": "DELETE"},
            ok=(404,),
        )

    # -- metrics --------------------------------------------------------------------------------

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Reactions (likes) and comments from socialMetadata for every post; for organisation
        posts also impressions, clicks and shares from the organic share statistics
        (rw_organization_admin; without it those stay missing). 50 posts per request; a post
        neither knows is gone and left out."""
        snapshots: list[MetricsSnapshot] = []
        organization = account.config.get("organization_urn", "")
        for start in range(0, len(remote_ids), METRICS_BATCH):
            batch = remote_ids[start : start + METRICS_BATCH]
            # Rest.li 2.0 lists: List(urn1,urn2) with each URN encoded, so build the query here.
            ids = ",".join(encoded(urn) for urn in batch)
            social = self.call(
                "GET", f"/rest/socialMetadata?ids=List({ids})", credentials=credentials
            ).json()
            stats = self.share_statistics(credentials, organization, batch) if organization else {}
            for urn in batch:
                meta = (social.get("results") or {}).get(urn)
                if meta is None and urn not in stats:
                    continue
                snapshots.append(self.snapshot(urn, meta or {}, stats.get(urn) or {}))
        return snapshots

    @staticmethod
    def snapshot(urn: str, meta: dict[str, Any], total: dict[str, Any]) -> MetricsSnapshot:
        values: dict[str, int] = {}
        reactions = meta.get("reactionSummaries")
        if isinstance(reactions, dict):  # every reaction type (like, praise, empathy...)
            values["likes"] = sum(
                as_count(r.get("count")) or 0 for r in reactions.values() if isinstance(r, dict)
            )
        values |= counts(
            comments=(meta.get("commentSummary") or {}).get("count"),
            impressions=total.get("impressionCount"),
            clicks=total.get("clickCount"),
            shares=total.get("shareCount"),
        )
        return MetricsSnapshot(
            remote_id=urn, values=values, raw={"social": meta, "statistics": total}
        )

    def share_statistics(
        self, credentials: Credentials, organization: str, urns: list[str]
    ) -> dict[str, dict[str, Any]]:
        """Organic lifetime statistics of an organisation's posts (rw_organization_admin)."""
        shares = [encoded(u) for u in urns if u.startswith("urn:li:share:")]
        ugc = [encoded(u) for u in urns if u.startswith("urn:li:ugcPost:")]
        query = f"q=organizationalEntity&organizationalEntity={encoded(organization)}"
        if shares:
            query += f"&shares=List({','.join(shares)})"
        if ugc:
            query += f"&ugcPosts=List({','.join(ugc)})"
        response = self.call(
            "GET",
            f"/rest/organizationalEntityShareStatistics?{query}",
            credentials=credentials,
            ok=(403,),  # without rw_organization_admin we still have the social counts
        )
        if response.status_code == 403:
            return {}
        return {
            element.get("share") or element.get("ugcPost"): element.get("totalShareStatistics", {})
            for element in response.json().get("elements", [])
        }

    @staticmethod
    def _organization(account: Account, refusal: str) -> str:
        """The company page's URN; for a member's profile, PermanentError(refusal)."""
        organization = account.config.get("organization_urn", "")
        if not organization:
            raise PermanentError(refusal, detail="member account: needs an organisation URN")
        return organization

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """A company page's followers (networkSizes, COMPANY_FOLLOWED_BY_MEMBER). A member's
        profile has no follower count within our scopes: reported as missing (never 0), with
        the reason in raw, and LinkedIn is not asked."""
        organization = account.config.get("organization_urn", "")
        if not organization:
            return AccountMetrics(values={}, raw={"unavailable": "member profile"})
        data = self.call(
            "GET",
            f"/rest/networkSizes/{encoded(organization)}",
            credentials=credentials,
            params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
        ).json()
        return AccountMetrics(
            values=counts(followers=data.get("firstDegreeSize")),
            raw={k: data[k] for k in ("firstDegreeSize",) if k in data},
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """A company page's published posts since `since` (the posts author finder, newest
        created first, r_organization_social), reshares left out. Members' posts can only be
        read by approved partner apps: PermanentError."""
        organization = self._organization(
            account,
            Text(
                gettext_noop(
                    "LinkedIn lets only approved partner apps read a member's posts; company pages work."
                )
            ),
        )

        pages = (
            [self._listed(post) for post in posts]
            for posts in self._author_pages(credentials, organization, count=LISTING_PAGE)
        )
        return collect_recent(pages, since=since, limit=limit)

    def _listed(self, post: dict[str, Any]) -> ListedItem:
        moment = parse_time(post.get("createdAt"))  # the finder's order (sortBy=CREATED)
        published = parse_time(post.get("publishedAt")) or moment
        own = (
            moment is not None
            and published is not None
            and post.get("id")
            and post.get("lifecycleState", "PUBLISHED") == "PUBLISHED"
            and not post.get("reshareContext")
        )
        if not own:
            return moment, None
        urn = str(post["id"])
        return moment, RemotePostInfo(
            remote_id=urn,
            url=self.post_url(urn),
            text=excerpt(little_unescape(post.get("commentary", ""))),
            published_at=published,
        )
