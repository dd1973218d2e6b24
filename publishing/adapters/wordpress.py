"""WordPress (self-hosted company blogs) through the core REST API with an application password
(HTTP Basic). Posts go out published or as drafts, with a featured image, categories and tags;
the slug is derived from the idempotency key so the reconciler finds a post by it; the comment
count is the only post metric core WordPress has, the number of published posts the only
account-level one, and the site's posts list is the history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
import re
import xmlrpc.client
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.utils.html import escape, urlize
from django.utils.text import slugify
from django.utils.translation import gettext_noop
from requests.auth import HTTPBasicAuth

from notifications.texts import Text
from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    AdapterError,
    AuthExpired,
    Capabilities,
    ConnectError,
    ConnectResult,
    Credentials,
    MediaItem,
    MetricsSnapshot,
    PartCallback,
    PermanentError,
    PlatformAdapter,
    PublishedPart,
    PublishRequest,
    PublishResult,
    RemotePostInfo,
)
from publishing.adapters.listing import (
    ListedItem,
    as_count,
    collect_recent,
    counts,
    excerpt,
    parse_time,
    require_aware,
)
from publishing.urlsafety import check_server_url

STATUSES = ("publish", "draft")
COMMENT_PREFIX = "comment:"
MAX_REDIRECTS = 3
METRICS_BATCH = 20  # posts per fetch_metrics call: one existence check, then one count each
PER_PAGE = 100  # the most the REST API returns per page

logger = logging.getLogger(__name__)


# German letters as German readers spell them without the marks (what WordPress does for a
# site in German, remove_accents() with the de_DE locale): "Grüße" is "gruesse", not "grue".
GERMAN_LETTERS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
)


def slug_for(request: PublishRequest) -> str:
    """A readable slug that is unique to this delivery: the title's slug plus a short hash of
    the idempotency key (the reconciler looks the post up by it)."""
    suffix = hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:10]
    base = slugify(request.title.translate(GERMAN_LETTERS))[:60].strip("-")
    return f"{base}-{suffix}" if base else f"post-{suffix}"


def plain_title(text: str) -> str:
    """A title or excerpt for WordPress, which stores them as HTML: angle brackets escaped so
    nothing typed becomes markup, everything else sent as typed (an "&" escaped here would be
    stored as "&amp;" and shown so; WordPress normalizes entities itself where it must)."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def media_slug_for(request: PublishRequest) -> str:
    """The featured image's slug: the post's own plus "-image", so that a retry finds the image
    an earlier attempt uploaded instead of adding it to the media library a second time."""
    return f"{slug_for(request)}-image"


def text_to_blocks(text: str) -> str:
    """Plain text as block-editor paragraphs: blank lines separate paragraphs, single line
    breaks stay, HTML is escaped and links become clickable."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return "\n\n".join(
        "<!-- wp:paragraph -->\n<p>"
        + urlize(p, nofollow=False, autoescape=True).replace("\n", "<br>")
        + "</p>\n<!-- /wp:paragraph -->"
        for p in paragraphs
        if p
    )


class WordPressAdapter(PlatformAdapter):
    """Every account has its own site (config["site_url"]); `base_url` is not used."""

    key = "wordpress"
    capabilities = Capabilities(
        auth="app_password",
        threads=False,
        first_comment=True,
        idempotency_key=True,  # slug derived from the key, looked up by find_existing
        metrics=frozenset({"comments"}),
        metrics_batch_size=METRICS_BATCH,
        account_metrics=frozenset({"posts"}),
        lists_recent_posts=True,
        needs_instance_url=True,
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # the PDS / site is typed in by users: refuse connections that land on private addresses
        self.http = http.session(platform=self.key, timeout=self.timeout, public_only=True)

    # -- plumbing --------------------------------------------------------------------------------
    @staticmethod
    def _route(account: Account, route: str) -> str:
        # api_root is ".../wp-json/" or ".../?rest_route=/" (sites without pretty permalinks).
        return account.config["api_root"] + route

    @staticmethod
    def _auth(account: Account, credentials: Credentials) -> HTTPBasicAuth:
        return HTTPBasicAuth(account.config.get("username", ""), credentials.access_token)

    def _call(
        self,
        method: str,
        account: Account,
        credentials: Credentials,
        route: str,
        *,
        tolerate: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> requests.Response:
        response = self.http.request(
            method,
            self._route(account, route),
            auth=self._auth(account, credentials),
            allow_redirects=False,
            **kwargs,
        )
        if response.status_code not in tolerate:
            self._raise_for(response, secrets=(credentials.access_token,))
        return response

    def _raise_for(self, response: requests.Response, *, secrets: tuple[str, ...]) -> None:
        body = http.json_or_empty(response)
        code = body.get("code", "") if isinstance(body, dict) else ""
        detail = http.error_detail(response, secrets)
        if code:
            detail = f"{detail} [{http.scrub(str(code))[:60]}]"
        status = response.status_code
        if status == 401 or code == "rest_not_logged_in":
            # WordPress answers a wrong password, an unknown user and a request whose
            # Authorization header the host stripped alike (401 rest_not_logged_in); at
            # connect time _why_not_logged_in() tells them apart.
            raise AuthExpired(
                Text(
                    gettext_noop(
                        "WordPress no longer accepts the login: the application password may have "
                        "been revoked, or the host strips the Authorization header. Reconnect the "
                        "channel."
                    )
                ),
                detail=detail,
                status=status,
            )
        if status == 403 and code in ("rest_cannot_create", "rest_cannot_publish"):
            raise PermanentError(
                Text(
                    gettext_noop(
                        "This WordPress user may not publish posts. Give the user the Author role."
                    )
                )
                if code == "rest_cannot_publish"
                else Text(gettext_noop("This WordPress user may not create posts.")),
                detail=detail,
                status=status,
            )
        http.raise_for_platform(response, platform=self.key, secrets=secrets)
        if status >= 300:
            raise PermanentError(
                Text(
                    gettext_noop(
                        "The WordPress site redirected us to %(location)s. Reconnect the channel "
                        "with the site's current address."
                    ),
                    location=http.scrub(response.headers.get("Location", "?"), secrets)[:200],
                ),
                detail=detail,
                status=status,
            )
        if not response.content:
            return
        try:
            response.json()
        except ValueError:
            raise PermanentError(
                Text(gettext_noop("The site did not answer like a WordPress REST API.")),
                detail=detail,
                status=status,
            ) from None

    # -- connecting ------------------------------------------------------------------------------
    def _discover(self, site: str) -> tuple[str, dict[str, Any]]:
        """(api_root, index) from GET /wp-json/, else /?rest_route=/. Redirects are followed
        only to public addresses (checked like the site URL itself)."""
        for root in (site + "/wp-json/", site + "/?rest_route=/"):
            url = root
            for _hop in range(MAX_REDIRECTS + 1):
                response = self.http.get(url, allow_redirects=False)
                location = response.headers.get("Location")
                if not (response.is_redirect and location):
                    break
                url = urljoin(url, location)
                parts = urlsplit(url)
                check_server_url(f"{parts.scheme}://{parts.netloc}")
            index = http.json_or_empty(response)
            if response.status_code == 200 and isinstance(index, dict) and "namespaces" in index:
                if "wp/v2" not in index["namespaces"]:
                    raise ConnectError(
                        Text(
                            gettext_noop(
                                "The REST API of this WordPress site has no posts endpoint (wp/v2)."
                            )
                        )
                    )
                return url, index
        raise ConnectError(
            Text(
                gettext_noop(
                    "No WordPress REST API found at %(site)s. Check the address; a security plugin "
                    "may also block /wp-json/."
                ),
                site=site,
            )
        )

    def connect_with_secret(self, *, account: Account, secret: str) -> ConnectResult:
        """config["site_url"] and config["username"] (or `account.handle`) come from the
        form; `secret` is an application password (Users → Profile → Application Passwords)."""
        site = check_server_url(account.config.get("site_url", ""))
        username = (account.config.get("username") or account.handle).strip()
        password = secret.strip()
        if not username or not password:
            raise ConnectError(
                Text(gettext_noop("Enter the WordPress username and an application password."))
            )
        try:
            api_root, index = self._discover(site)
        except ConnectError:
            raise
        except AdapterError as exc:
            typed = str(account.config.get("site_url", "")).strip()
            message = Text(
                gettext_noop("No WordPress answered at %(address)s: %(reason)s"),
                address=site,
                reason=exc.message,
            )
            if "://" not in typed:
                message += " " + Text(
                    gettext_noop(
                        "The address was typed without http:// or https://, so https:// was tried."
                    )
                )
            raise ConnectError(message, detail=exc.detail, status=exc.status) from None
        probe = Account(config={"api_root": api_root, "username": username})
        credentials = Credentials(access_token=password)
        try:
            me = self._call(
                "GET", probe, credentials, "wp/v2/users/me", params={"context": "edit"}
            ).json()
        except AuthExpired as exc:
            raise ConnectError(
                self._why_not_logged_in(site, index, username, password),
                detail=exc.detail,
                status=exc.status,
            ) from None
        except AdapterError as exc:
            raise ConnectError(exc.message, detail=exc.detail, status=exc.status) from None
        capabilities = me.get("capabilities") or {}
        if capabilities and not capabilities.get("edit_posts"):
            raise ConnectError(
                Text(
                    gettext_noop("The WordPress user %(user)s may not write posts."), user=username
                )
            )
        home = (index.get("home") or index.get("url") or site).rstrip("/")
        avatars = me.get("avatar_urls") or {}
        # users/me lists every capability the user has: one it lacks is absent (a Contributor
        # has edit_posts but no publish_posts or upload_files).
        can_publish = bool(capabilities.get("publish_posts")) if capabilities else True
        return ConnectResult(
            account=Account(
                account_id=home,
                handle=username,
                name=html.unescape(index.get("name") or me.get("name") or home),
                avatar_url=index.get("site_icon_url")
                or avatars.get("96")
                or next(iter(avatars.values()), ""),
                config={
                    **account.config,
                    "site_url": site,
                    "api_root": api_root,
                    "home": home,
                    "username": username,
                    "user_id": me.get("id"),
                    "can_publish": can_publish,
                },
            ),
            credentials=credentials,
            # A Contributor connects (drafts work) but cannot publish: the channel's health
            # says so in the editor and the channel list before a post fails on it.
            missing_permissions=() if can_publish else ("publish_posts",),
        )

    def _why_not_logged_in(
        self, site: str, index: dict[str, Any], username: str, password: str
    ) -> str:
        """Why WordPress answered 401 to a login it should know, for the person connecting.

        The REST API answers a wrong password, an unknown user and a request whose
        Authorization header the host stripped with the same 401 rest_not_logged_in (seen on
        WordPress 6.1). So: the REST index says whether the site offers application passwords
        at all (`authentication` lists them only when wp_is_application_passwords_available()),
        and XML-RPC, which takes the same application password in the request body, says
        whether the name and password are right; if they are, the header is what went missing.
        """
        if "application-passwords" not in (index.get("authentication") or {}):
            return Text(
                gettext_noop(
                    "This WordPress site does not offer application passwords. WordPress offers "
                    "them only over HTTPS (or a plugin has switched them off): connect with the "
                    "site's https:// address."
                )
            )
        verdict = self._xmlrpc_login(site, username, password)
        if verdict == "accepted":
            return Text(
                gettext_noop(
                    "WordPress accepts this username and application password, but the "
                    "Authorization header does not reach it: the web server strips it. Ask your "
                    "host to pass it on (for Apache, e.g. CGIPassAuth On), then connect again."
                )
            )
        if verdict == "refused":
            return Text(
                gettext_noop(
                    "WordPress did not accept this username and application password. Check the "
                    "username (the login name, not the name shown on posts) and create a new "
                    "application password under Users → Profile → Application Passwords; the "
                    "login password does not work here."
                )
            )
        return Text(
            gettext_noop(
                "WordPress did not see a valid login: either the username or the application "
                "password is wrong, or the web server strips the Authorization header (ask your "
                "host to pass it on, e.g. CGIPassAuth On)."
            )
        )

    def _xmlrpc_login(self, site: str, username: str, password: str) -> str:
        """'accepted', 'refused' or '' (XML-RPC is off, blocked or answered otherwise): the
        name and password sent in an XML-RPC call's body (wp.getProfile), untouched by
        whatever strips headers on the way."""
        body = xmlrpc.client.dumps((1, username, password), "wp.getProfile")
        try:
            response = self.http.post(
                site + "/xmlrpc.php",
                data=body.encode("utf-8"),
                headers={"Content-Type": "text/xml"},
                allow_redirects=False,
            )
        except (AdapterError, requests.RequestException):
            return ""
        text = response.text[:20000] if response.status_code == 200 else ""
        if "<methodResponse>" not in text:
            return ""
        fault = re.search(r"<name>faultCode</name>\s*<value>\s*<int>(\d+)</int>", text)
        if fault is None:
            return "accepted" if "<name>user_id</name>" in text else ""
        return "refused" if fault.group(1) == "403" else ""

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        return credentials  # application passwords do not expire; revoked ones need reconnecting

    # -- content ---------------------------------------------------------------------------------
    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        status = request.options.get("status", "publish")
        if status not in STATUSES:
            problems.append(
                Text(
                    gettext_noop(
                        "WordPress posts can be published or saved as drafts, not %(status)s."
                    ),
                    status=status,
                )
            )
        if request.thread:
            problems.append(
                Text(gettext_noop("WordPress posts have no threads; put everything in the text."))
            )
        if request.first_comment.strip() and status == "draft":
            problems.append(Text(gettext_noop("WordPress does not take comments on drafts.")))
        return problems

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        parts = list(request.done_parts)
        if not parts:
            post = self._create_post(account, credentials, request)
            parts.append(PublishedPart(str(post["id"]), post.get("link") or ""))
            if on_part:
                on_part(0, parts[0])
        if request.first_comment.strip() and len(parts) < 2:
            comment = self._call(
                "POST",
                account,
                credentials,
                "wp/v2/comments",
                json={"post": int(parts[0].remote_id), "content": escape(request.first_comment)},
            ).json()
            parts.append(PublishedPart(f"{COMMENT_PREFIX}{comment['id']}", comment.get("link", "")))
            if on_part:
                on_part(1, parts[1])
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def _create_post(
        self, account: Account, credentials: Credentials, request: PublishRequest
    ) -> dict[str, Any]:
        options = request.options
        body: dict[str, Any] = {
            # Titles and excerpts are HTML in WordPress: what the editor typed shows as typed.
            "title": plain_title(request.title),
            "content": text_to_blocks(request.text),
            "status": options.get("status", "publish"),
            "slug": slug_for(request),
        }
        if options.get("excerpt"):
            body["excerpt"] = plain_title(str(options["excerpt"]))
        create = options.get("create_terms", True)
        for taxonomy in ("categories", "tags"):
            if names := options.get(taxonomy):
                body[taxonomy] = [
                    self._term_id(account, credentials, taxonomy, name, create=create)
                    for name in names
                ]
        images = [m for m in request.media if m.kind == "image"]
        if images:
            body["featured_media"] = self._featured_image(account, credentials, request, images[0])
        post = self._call("POST", account, credentials, "wp/v2/posts", json=body).json()
        if body.get("featured_media"):
            self._attach(account, credentials, body["featured_media"], post)
        return post

    def _attach(
        self, account: Account, credentials: Credentials, media_id: int, post: dict[str, Any]
    ) -> None:
        """Attach the featured image to its post (the media library's "Uploaded to"; WordPress
        does not do it for an image uploaded through the REST API before the post existed).
        The post is out either way, so a failure here is logged, not raised."""
        try:
            self._call(
                "POST", account, credentials, f"wp/v2/media/{media_id}", json={"post": post["id"]}
            )
        except (AdapterError, KeyError) as exc:
            logger.warning(
                "wordpress: the featured image %s could not be attached to post %s: %s",
                media_id,
                post.get("id"),
                getattr(exc, "message", exc),
            )

    def _featured_image(
        self, account: Account, credentials: Credentials, request: PublishRequest, item: MediaItem
    ) -> int:
        """The id of the post's featured image: the one an earlier attempt of this delivery
        uploaded (found by its slug), else uploaded now."""
        slug = media_slug_for(request)
        found = self._call(
            "GET", account, credentials, "wp/v2/media", params={"slug": slug, "_fields": "id"}
        ).json()
        if found:
            return int(found[0]["id"])
        return self._upload(account, credentials, item, slug=slug)

    def _upload(
        self, account: Account, credentials: Credentials, item: MediaItem, *, slug: str
    ) -> int:
        with item.open() as fh:
            data = fh.read()
        # Header values must be plain ASCII; WordPress only needs the name for the file on disk.
        filename = re.sub(r"[^A-Za-z0-9._ -]", "_", item.filename) or "image"
        params = {"slug": slug, **({"alt_text": item.alt_text} if item.alt_text else {})}
        media = self._call(
            "POST",
            account,
            credentials,
            "wp/v2/media",
            data=data,
            params=params,
            headers={
                "Content-Type": item.mime_type,
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        ).json()
        return int(media["id"])

    def _term_id(
        self, account: Account, credentials: Credentials, taxonomy: str, name: str, *, create: bool
    ) -> int:
        """The id of the category/tag called `name` (case-insensitive), created if allowed."""
        found = self._call(
            "GET",
            account,
            credentials,
            f"wp/v2/{taxonomy}",
            params={"search": name, "per_page": 100, "_fields": "id,name"},
        ).json()
        for term in found:
            if html.unescape(term.get("name", "")).casefold() == name.casefold():
                return int(term["id"])
        if not create:
            raise PermanentError(
                Text(
                    gettext_noop("The blog has no %(taxonomy)s called “%(name)s”."),
                    taxonomy=Text(gettext_noop("category"))
                    if taxonomy == "categories"
                    else Text(gettext_noop("tag")),
                    name=name,
                )
            )
        response = self._call(
            "POST",
            account,
            credentials,
            f"wp/v2/{taxonomy}",
            json={"name": name},
            tolerate=(400, 401, 403),
        )
        body = http.json_or_empty(response)
        if response.status_code in (401, 403) and body.get("code") == "rest_cannot_create":
            # Authors may use categories but not make them (manage_categories is an Editor's).
            raise PermanentError(
                Text(
                    gettext_noop(
                        "This WordPress user may not create the %(taxonomy)s “%(name)s”. Create it "
                        "in WordPress, or give the user the Editor role."
                    ),
                    taxonomy=Text(gettext_noop("category"))
                    if taxonomy == "categories"
                    else Text(gettext_noop("tag")),
                    name=name,
                ),
                detail=http.error_detail(response, (credentials.access_token,)),
                status=response.status_code,
            )
        if response.status_code in (401, 403):
            self._raise_for(response, secrets=(credentials.access_token,))
        if response.status_code == 400:
            if body.get("code") == "term_exists":  # created meanwhile, or differently escaped
                return int(body["data"]["term_id"])
            self._raise_for(response, secrets=(credentials.access_token,))
        return int(body["id"])

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """The post with this delivery's slug (any status), and our first comment under it."""
        posts = self._call(
            "GET",
            account,
            credentials,
            "wp/v2/posts",
            params={"slug": slug_for(request), "status": "any", "context": "edit"},
        ).json()
        if not posts:
            return None
        post = posts[0]
        parts = [PublishedPart(str(post["id"]), post.get("link") or "")]
        if request.first_comment.strip() and account.config.get("user_id"):
            comments = self._call(
                "GET",
                account,
                credentials,
                "wp/v2/comments",
                params={
                    "post": post["id"],
                    "author": account.config["user_id"],
                    "per_page": 1,
                    "order": "asc",
                },
            ).json()
            if comments:
                parts.append(
                    PublishedPart(
                        f"{COMMENT_PREFIX}{comments[0]['id']}", comments[0].get("link", "")
                    )
                )
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        """Moves a post to the trash (recoverable in WordPress); deletes a comment. Something
        already gone counts as deleted."""
        if remote_id.startswith(COMMENT_PREFIX):
            route = f"wp/v2/comments/{int(remote_id.removeprefix(COMMENT_PREFIX))}"
        else:
            route = f"wp/v2/posts/{int(remote_id)}"
        self._call("DELETE", account, credentials, route, tolerate=(404, 410))

    # -- metrics --------------------------------------------------------------------------------

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Approved comments per post (the X-WP-Total of a one-item comments page). Which posts
        still exist is asked first, in one request per 100 (trashed and deleted posts are not
        listed, so they are missing from the result)."""
        post_ids = [int(r) for r in remote_ids if not r.startswith(COMMENT_PREFIX) and r.isdigit()]
        existing: set[int] = set()
        for start in range(0, len(post_ids), PER_PAGE):
            batch = post_ids[start : start + PER_PAGE]
            posts = self._call(
                "GET",
                account,
                credentials,
                "wp/v2/posts",
                params={
                    "include": ",".join(map(str, batch)),
                    "status": "any",
                    "per_page": PER_PAGE,
                    "_fields": "id",
                },
            ).json()
            existing |= {int(p["id"]) for p in posts if isinstance(p, dict) and "id" in p}
        snapshots = []
        for post_id in post_ids:
            if post_id not in existing:
                continue
            total = self._comment_count(account, credentials, post_id)
            snapshots.append(
                MetricsSnapshot(
                    remote_id=str(post_id),
                    values=counts(comments=total),
                    raw={"comments_total": total},
                )
            )
        return snapshots

    def _comment_count(
        self, account: Account, credentials: Credentials, post_id: int
    ) -> int | None:
        """None when the site has no comments endpoint (a plugin switched comments off)."""
        response = self._call(
            "GET",
            account,
            credentials,
            "wp/v2/comments",
            params={"post": post_id, "per_page": 1, "_fields": "id"},
            tolerate=(404,),
        )
        if response.status_code == 404:
            return None
        return as_count(response.headers.get("X-WP-Total"))

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """The number of published posts on the site (X-WP-Total); WordPress has no followers."""
        response = self._call(
            "GET", account, credentials, "wp/v2/posts", params={"per_page": 1, "_fields": "id"}
        )
        total = response.headers.get("X-WP-Total")
        return AccountMetrics(values=counts(posts=total), raw={"posts_total": total})

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The site's published posts since `since`, newest first (100 per page). `after` is
        compared with the site's local time by WordPress, so a day earlier is asked for and
        date_gmt decides. Comment counts come with the first pull."""
        since = require_aware(since)
        after = (since - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")

        def pages():
            page = 1
            while True:
                response = self._call(
                    "GET",
                    account,
                    credentials,
                    "wp/v2/posts",
                    params={
                        "after": after,
                        "orderby": "date",
                        "order": "desc",
                        "per_page": PER_PAGE,
                        "page": page,
                        "_fields": "id,link,title,date_gmt",
                    },
                )
                posts = response.json()
                if not isinstance(posts, list) or not posts:
                    return
                yield [self._listed(post) for post in posts]
                total_pages = as_count(response.headers.get("X-WP-TotalPages")) or page
                if page >= total_pages:
                    return
                page += 1

        return collect_recent(pages(), since=since, limit=limit)

    @staticmethod
    def _listed(post: dict[str, Any]) -> ListedItem:
        moment = parse_time(post.get("date_gmt"))  # naive, in UTC
        if moment is None or not post.get("id"):
            return moment, None
        title = post.get("title")
        title = title.get("rendered", "") if isinstance(title, dict) else str(title or "")
        return moment, RemotePostInfo(
            remote_id=str(post["id"]),
            url=post.get("link") or "",
            text=excerpt(title, is_html=True),
            published_at=moment,
        )
