"""Mastodon (any instance): app registration per instance, OAuth 2.0 with PKCE, statuses with
media, threads and a first comment, an Idempotency-Key on every status, metrics.

Account.config holds `instance_url` (the https origin), `username`, `client_id`, and what the
instance told us at connect time: `max_characters`, `characters_reserved_per_url`,
`max_media_attachments`. The API base is the instance URL; the `base_url` option (settings
MASTODON_API_BASE_URL) overrides it for every account (staging, tests).

Our app is registered on an instance once (POST /api/v1/apps) and its client id/secret cached
encrypted in publishing.OAuthAppRegistration per (instance, redirect URL).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import re
import time
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from django.utils.translation import gettext_noop

from calendar_app.counting import Counting, count_text
from notifications.texts import Text
from publishing import credentials as secrets_store
from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AccountMetrics,
    AdapterError,
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
    TransientError,
    lookup_incomplete,
    permissions_not_granted,
)
from publishing.adapters.listing import (
    ListedItem,
    collect_recent,
    counts,
    created_since,
    excerpt,
    parse_time,
)
from publishing.urlsafety import check_server_url

# What each call needs, from the method's "OAuth" line on docs.joinmastodon.org/methods (and
# the controllers' doorkeeper_authorize! in mastodon/app/controllers/api):
#   GET  /api/v1/accounts/verify_credentials   profile (4.3+), read or read:accounts: connect,
#                                              account numbers
#   POST /api/v2/media, GET /api/v1/media/:id  write:media
#   POST /api/v1/statuses, DELETE .../:id      write:statuses
#   GET  /api/v1/accounts/:id/statuses,        read:statuses (public without a token, but a
#        /api/v1/statuses?id[]=, .../:id       token we send must hold it): look-up, metrics
#   POST /api/v1/apps, GET /api/v2/instance    no token
# read:accounts rather than profile: profile exists only from Mastodon 4.3. A registered app
# is stored with the scopes it was registered for; when this list changes, the app is
# registered again on the next connect (an instance refuses to authorize scopes its app lacks).
SCOPES = "read:accounts read:statuses write:statuses write:media"
APP_NAME = "Content Calendar"
VISIBILITIES = ("public", "unlisted", "private", "direct")


def pkce_s256(code_verifier: str) -> str:
    """RFC 7636 S256 challenge: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


_BREAK_RE = re.compile(r"(?i)<br\s*/?>|</p>\s*<p[^>]*>")
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")


def plain_text(content_html: str) -> str:
    """A status' HTML `content` as comparable plain text (links, tags and mentions keep their
    visible text; Mastodon's hidden URL spans are text too, so URLs come back whole)."""
    text = _TAG_RE.sub("", _BREAK_RE.sub(" ", content_html or ""))
    return _SPACE_RE.sub(" ", html.unescape(text)).strip()


_MENTION_RE = re.compile(r"(?<![\w@/])@(\w[\w.]*)@[\w-]+(?:\.[\w-]+)+")


def comparable_text(text: str) -> str:
    """Status source text as it reads in the rendered HTML: whitespace collapsed, and mentions
    of other servers (@bob@example.org) shortened to @bob as Mastodon displays them."""
    return _SPACE_RE.sub(" ", _MENTION_RE.sub(r"@\1", text or "")).strip()


class MastodonAdapter(PlatformAdapter):
    key = "mastodon"
    capabilities = Capabilities(
        auth="oauth2",
        threads=True,
        first_comment=True,
        idempotency_key=True,
        delete=True,
        metrics=frozenset({"likes", "shares", "comments", "quotes"}),
        metrics_batch_size=20,
        account_metrics=frozenset({"followers", "following", "posts"}),
        lists_recent_posts=True,
        needs_instance_url=True,
    )
    timeout: ClassVar[float] = 20.0
    page_size: ClassVar[int] = 40  # the most GET /api/v1/accounts/:id/statuses returns
    # Mastodon keeps an Idempotency-Key for one hour (docs.joinmastodon.org/methods/statuses,
    # "Idempotency-Key ... for 1 hour"): within it, posting again under the key is safe.
    idempotency_window: ClassVar[dt.timedelta | None] = dt.timedelta(hours=1)
    # The look-up pages back to the delivery's not_before, but never further than this many
    # pages of 40 (2,000 statuses: a busy account's days, within 300 reads per 5 minutes).
    lookup_max_pages: ClassVar[int] = 50

    def __init__(
        self,
        *,
        base_url: str = "",
        media_poll_interval: float = 1.0,
        media_poll_timeout: float = 120.0,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url, **options)
        self.media_poll_interval = float(media_poll_interval)
        self.media_poll_timeout = float(media_poll_timeout)
        # Instances are typed in by users: refuse connections that land on private addresses.
        self.http = http.session(platform=self.key, timeout=self.timeout, public_only=True)

    # -- plumbing --------------------------------------------------------------------------------
    def _instance(self, account: Account) -> str:
        instance = self.base_url or str(account.config.get("instance_url", "")).rstrip("/")
        if not instance:
            raise PermanentError(
                Text(gettext_noop("This Mastodon channel has no instance address."))
            )
        return instance

    def _call(
        self,
        method: str,
        url: str,
        *,
        token: str = "",
        ok_statuses: tuple[int, ...] = (),
        secrets: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers = http.bearer(token, **headers)
        response = self.http.request(method, url, headers=headers, **kwargs)
        if response.status_code not in ok_statuses:
            http.raise_for_platform(response, platform=self.key, secrets=(token, *secrets))
        return response

    # -- connecting ------------------------------------------------------------------------------
    def _register_app(self, instance: str, redirect_uri: str) -> tuple[str, str]:
        data = self._call(
            "POST",
            f"{instance}/api/v1/apps",
            data={
                "client_name": APP_NAME,
                "redirect_uris": redirect_uri,
                "scopes": SCOPES,
                "website": "",
            },
        ).json()
        return data["client_id"], data["client_secret"]

    def _app(self, instance: str, redirect_uri: str) -> tuple[str, str]:
        return secrets_store.oauth_app_get_or_register(
            platform=self.key,
            instance=instance,
            redirect_uri=redirect_uri,
            register=lambda: self._register_app(instance, redirect_uri),
            scopes=SCOPES,
        )

    def authorization_url(
        self, *, redirect_uri: str, state: str, code_verifier: str, account: Account
    ) -> tuple[str, Account]:
        instance = self.base_url or check_server_url(account.config.get("instance_url", ""))
        try:
            client_id, _secret = self._app(instance, redirect_uri)
        except AdapterError as exc:
            raise ConnectError(
                Text(
                    gettext_noop(
                        "Could not register with the Mastodon server %(instance)s: %(reason)s"
                    ),
                    instance=instance,
                    reason=exc.message,
                ),
                detail=exc.detail,
                status=exc.status,
            ) from None
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPES,
                "state": state,
                "code_challenge": pkce_s256(code_verifier),
                "code_challenge_method": "S256",
            }
        )
        account.config = {**account.config, "instance_url": instance, "client_id": client_id}
        return f"{instance}/oauth/authorize?{query}", account

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str, account: Account
    ) -> ConnectResult:
        instance = self._instance(account)
        try:
            client_id, client_secret = self._app(instance, redirect_uri)
            token = self._call(
                "POST",
                f"{instance}/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                    "scope": SCOPES,
                },
                secrets=(code, client_secret, code_verifier),
            ).json()
            access_token = token["access_token"]
            me = self._call(
                "GET", f"{instance}/api/v1/accounts/verify_credentials", token=access_token
            ).json()
        except AdapterError as exc:
            if exc.status == 401:
                # The instance forgot our app (admin removed it): register anew next time.
                secrets_store.oauth_app_forget(
                    platform=self.key, instance=instance, redirect_uri=redirect_uri
                )
            raise ConnectError(
                Text(
                    gettext_noop("Mastodon did not accept the sign-in: %(reason)s"),
                    reason=exc.message,
                ),
                detail=exc.detail,
                status=exc.status,
            ) from None
        except (KeyError, ValueError):
            raise ConnectError(
                Text(gettext_noop("Mastodon answered the sign-in in an unexpected way."))
            ) from None
        host = instance.split("://", 1)[-1]
        config = {
            **account.config,
            "instance_url": instance,
            "client_id": client_id,
            "username": me.get("username", ""),
            **self._instance_limits(instance),
        }
        expires_at = None
        if token.get("expires_in"):
            expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(token["expires_in"]))
        acct = me.get("acct") or me.get("username", "")
        return ConnectResult(
            account=Account(
                account_id=str(me["id"]),
                # acct is "user" for local accounts; show the full address like Mastodon does.
                handle=f"@{acct}" if "@" in acct else f"@{acct}@{host}",
                name=me.get("display_name") or me.get("username", ""),
                avatar_url=me.get("avatar", ""),
                config=config,
            ),
            credentials=Credentials(
                access_token=access_token,
                refresh_token=token.get("refresh_token", ""),
                expires_at=expires_at,
            ),
            # Mastodon's token answer names the scopes granted (Doorkeeper).
            missing_permissions=permissions_not_granted(SCOPES.split(), token.get("scope")),
        )

    def _instance_limits(self, instance: str) -> dict[str, int]:
        """The instance's own limits (GET /api/v2/instance); {} when it does not say."""
        try:
            data = self._call("GET", f"{instance}/api/v2/instance").json()
        except (AdapterError, ValueError):
            return {}
        configuration = data.get("configuration") or {}
        statuses = configuration.get("statuses") or {}
        limits = {
            "max_characters": statuses.get("max_characters"),
            "characters_reserved_per_url": statuses.get("characters_reserved_per_url"),
            "max_media_attachments": statuses.get("max_media_attachments"),
        }
        return {k: int(v) for k, v in limits.items() if isinstance(v, int) and v > 0}

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        """Mastodon access tokens do not expire; only a token issued with a refresh token
        (newer servers) is refreshed. A refresh token not re-sent is kept."""
        if not credentials.refresh_token:
            return credentials
        instance = self._instance(account)
        client_id = account.config.get("client_id", "")
        registration = secrets_store.OAuthAppRegistration.objects.filter(
            platform=self.key, instance=instance, client_id=client_id
        ).first()
        if registration is None:
            raise PermanentError(
                Text(gettext_noop("The Mastodon app registration for this server is gone."))
            )
        client_secret = secrets_store.decrypt(registration.client_secret_ciphertext)
        token = self._call(
            "POST",
            f"{instance}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": credentials.refresh_token,
                "client_id": client_id,
                "client_secret": client_secret,
            },
            secrets=(credentials.refresh_token, client_secret),
        ).json()
        expires_at = None
        if token.get("expires_in"):
            expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(token["expires_in"]))
        return Credentials(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token") or credentials.refresh_token,
            expires_at=expires_at,
            extra=credentials.extra,
        )

    # -- content ---------------------------------------------------------------------------------
    def validate(self, request: PublishRequest, account: Account | None = None) -> list[str]:
        """The editorial rules, with the instance's own character and attachment limits when
        known (from `account.config`, or `request.options["max_characters"]`)."""
        problems = super().validate(request)
        config = account.config if account is not None else {}
        limit = request.options.get("max_characters") or config.get("max_characters")
        max_media = config.get("max_media_attachments")
        default_limit = self.spec.text_limit or 500
        used = count_text(request.text, Counting.URL_23)
        if limit and limit != default_limit:
            # Replace the editorial 500-character problem with the instance's own limit.
            standard = Text(
                gettext_noop(
                    "The text is %(used)d characters long; %(platform)s allows %(limit)d (%(over)d too many)."
                ),
                used=used,
                platform=self.spec.label,
                limit=default_limit,
                over=used - default_limit,
            )
            problems = [p for p in problems if p != standard]
            if used > limit:
                problems.insert(
                    0,
                    Text(
                        gettext_noop(
                            "The text is %(used)d characters long; %(platform)s allows %(limit)d (%(over)d too many)."
                        ),
                        used=used,
                        platform=self.spec.label,
                        limit=limit,
                        over=used - limit,
                    ),
                )
        limit = limit or default_limit
        for number, part in enumerate(request.thread, start=2):
            part_used = count_text(part, Counting.URL_23)
            if not part.strip():
                problems.append(
                    Text(gettext_noop("Part %(number)d of the thread is empty."), number=number)
                )
            elif part_used > limit:
                problems.append(
                    Text(
                        gettext_noop(
                            "Part %(number)d of the thread is %(used)d characters long; Mastodon allows %(limit)d."
                        ),
                        number=number,
                        used=part_used,
                        limit=limit,
                    )
                )
        if request.first_comment and count_text(request.first_comment, Counting.URL_23) > limit:
            problems.append(
                Text(
                    gettext_noop(
                        "The first comment is longer than the %(limit)d characters Mastodon allows."
                    ),
                    limit=limit,
                )
            )
        if max_media and len(request.media) > max_media:
            problems.append(
                Text(
                    gettext_noop(
                        "This Mastodon server allows at most %(max)d attachments; this post has %(count)d."
                    ),
                    max=max_media,
                    count=len(request.media),
                )
            )
        visibility = request.options.get("visibility")
        if visibility and visibility not in VISIBILITIES:
            problems.append(
                Text(gettext_noop("Unknown Mastodon visibility %(value)s."), value=visibility)
            )
        return problems

    def _upload(self, instance: str, token: str, item: MediaItem) -> str:
        with item.open() as fh:
            response = self._call(
                "POST",
                f"{instance}/api/v2/media",
                token=token,
                files={"file": (item.filename, fh, item.mime_type)},
                data={"description": item.alt_text} if item.alt_text else {},
                ok_statuses=(200, 202),
                timeout=max(self.timeout, 120.0),
            )
        media = response.json()
        media_id = str(media["id"])
        deadline = time.monotonic() + self.media_poll_timeout
        while response.status_code in (202, 206) or media.get("url") is None:
            if time.monotonic() > deadline:
                raise TransientError(
                    Text(
                        gettext_noop("Mastodon is still processing %(name)s; we will try again."),
                        name=item.filename,
                    ),
                    detail=f"media {media_id} still processing",
                )
            time.sleep(self.media_poll_interval)
            response = self._call(
                "GET", f"{instance}/api/v1/media/{media_id}", token=token, ok_statuses=(200, 206)
            )
            media = response.json()
        return media_id

    def _status(
        self,
        instance: str,
        token: str,
        *,
        text: str,
        idempotency_key: str,
        visibility: str,
        in_reply_to_id: str = "",
        media_ids: list[str] | None = None,
        options: dict[str, Any],
    ) -> PublishedPart:
        data: dict[str, Any] = {"status": text, "visibility": visibility}
        if in_reply_to_id:
            data["in_reply_to_id"] = in_reply_to_id
        if media_ids:
            data["media_ids[]"] = media_ids
        for option in ("spoiler_text", "language"):
            if options.get(option):
                data[option] = options[option]
        if options.get("sensitive"):
            data["sensitive"] = "true"
        status = self._call(
            "POST",
            f"{instance}/api/v1/statuses",
            token=token,
            data=data,
            headers={"Idempotency-Key": idempotency_key},
        ).json()
        return PublishedPart(
            remote_id=str(status["id"]), url=status.get("url") or status.get("uri") or ""
        )

    @staticmethod
    def part_key(idempotency_key: str, index: int) -> str:
        """The Idempotency-Key of part `index` (0 = main post): stable across retries."""
        return idempotency_key if index == 0 else f"{idempotency_key}:{index}"

    def publish(
        self,
        *,
        account: Account,
        credentials: Credentials,
        request: PublishRequest,
        on_part: PartCallback | None = None,
    ) -> PublishResult:
        instance = self._instance(account)
        token = credentials.access_token
        visibility = request.options.get("visibility") or account.config.get("visibility", "public")
        if visibility not in VISIBILITIES:
            raise PermanentError(
                Text(gettext_noop("Unknown Mastodon visibility %(value)s."), value=visibility)
            )
        # Parts in order: main post, thread replies (each to the previous), first comment
        # (a reply to the main post).
        texts = [request.text, *request.thread]
        if request.first_comment.strip():
            texts.append(request.first_comment)
        parts = list(request.done_parts[: len(texts)])
        for index in range(len(parts), len(texts)):
            is_comment = request.first_comment.strip() and index == len(texts) - 1
            reply_to = ""
            if index > 0:
                reply_to = parts[0].remote_id if is_comment else parts[index - 1].remote_id
            media_ids = (
                [self._upload(instance, token, item) for item in request.media]
                if index == 0
                else None
            )
            part = self._status(
                instance,
                token,
                text=texts[index],
                idempotency_key=self.part_key(request.idempotency_key, index),
                visibility=visibility,
                in_reply_to_id=reply_to,
                media_ids=media_ids,
                options=request.options,
            )
            parts.append(part)
            if on_part is not None:
                on_part(index, part)
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    def find_existing(
        self, *, account: Account, credentials: Credentials, request: PublishRequest
    ) -> PublishResult | None:
        """Mastodon keeps an Idempotency-Key only for an hour, so look at the account's own
        statuses: the main post is the newest top-level status with the same text (and as many
        attachments); then its thread replies and first comment, as far as they went out.
        Statuses created before `request.not_before` are never ours (an older identical post).

        The statuses are read page by page (max_id, as the Link header pages) back to
        `not_before`, so a post that went out hours ago under a busy account is still found;
        without a bound, only the newest page is read. At most `lookup_max_pages` pages."""
        statuses, complete = self._statuses_back_to(account, credentials, request.not_before)

        def matches(status: dict, text: str) -> bool:
            if not created_since(status.get("created_at"), request.not_before):
                return False  # older than this delivery: the same text posted before
            return plain_text(status.get("content", "")) == comparable_text(text)

        main = next(
            (
                s
                for s in statuses
                if not s.get("in_reply_to_id")
                and matches(s, request.text)
                and len(s.get("media_attachments") or []) == len(request.media)
            ),
            None,
        )
        if main is None and not complete:
            raise lookup_incomplete(self.lookup_max_pages)  # not out, or further back: unknown
        if main is None:
            return None
        found = [PublishedPart(str(main["id"]), main.get("url") or main.get("uri") or "")]
        expected = [(text, False) for text in request.thread]
        if request.first_comment.strip():
            expected.append((request.first_comment, True))
        for text, is_comment in expected:
            parent = found[0].remote_id if is_comment else found[-1].remote_id
            reply = next(
                (
                    s
                    for s in statuses
                    if str(s.get("in_reply_to_id")) == parent and matches(s, text)
                ),
                None,
            )
            if reply is None:
                break
            found.append(
                PublishedPart(str(reply["id"]), reply.get("url") or reply.get("uri") or "")
            )
        return PublishResult(remote_id=found[0].remote_id, url=found[0].url, parts=found)

    def _statuses_back_to(
        self, account: Account, credentials: Credentials, not_before: dt.datetime | None
    ) -> tuple[list[dict], bool]:
        """The account's statuses (replies included: thread parts are replies), newest first,
        back to the first one created before `not_before`; and whether that one was reached
        (False: the page bound came first)."""
        url = f"{self._instance(account)}/api/v1/accounts/{account.account_id}/statuses"
        params: dict[str, Any] = {"limit": self.page_size, "exclude_reblogs": "true"}
        statuses: list[dict] = []
        for _page in range(self.lookup_max_pages):
            page = self._call("GET", url, token=credentials.access_token, params=params).json()
            statuses += page
            if not page or not_before is None:
                break
            oldest = page[-1]
            moment = parse_time(oldest.get("created_at"))
            if moment is None or moment < not_before or str(oldest["id"]) == params.get("max_id"):
                break
            params = {**params, "max_id": str(oldest["id"])}
        else:  # the bound, and still no status from before not_before
            return statuses, False
        return statuses, True

    _STATUS_URL_RE = re.compile(r"/(?:@[^/]+|users/[^/]+/statuses|notice)/(\d+)/?$")

    def remote_id_from_url(self, url: str) -> str | None:
        """A status' id from its address on our instance: https://host/@user/ID (the web
        page), https://host/users/user/statuses/ID (its ActivityPub URI)."""
        match = self._STATUS_URL_RE.search(url.split("?", 1)[0].split("#", 1)[0])
        return match.group(1) if match else None

    def delete(self, *, account: Account, credentials: Credentials, remote_id: str) -> None:
        """Delete a status; one that is already gone counts as deleted."""
        self._call(
            "DELETE",
            f"{self._instance(account)}/api/v1/statuses/{remote_id}",
            token=credentials.access_token,
            ok_statuses=(404,),
        )

    # -- metrics ---------------------------------------------------------------------------------
    @staticmethod
    def _snapshot(status: dict) -> MetricsSnapshot:
        """A status' counts; one the server does not report (quotes before 4.5) stays missing."""
        values = counts(
            likes=status.get("favourites_count"),
            shares=status.get("reblogs_count"),
            comments=status.get("replies_count"),
            quotes=status.get("quotes_count"),
        )
        raw = {
            k: status.get(k)
            for k in ("favourites_count", "reblogs_count", "replies_count", "quotes_count")
            if k in status
        }
        return MetricsSnapshot(remote_id=str(status["id"]), values=values, raw=raw)

    def fetch_metrics(
        self, *, account: Account, credentials: Credentials, remote_ids: list[str]
    ) -> list[MetricsSnapshot]:
        """Batch GET /api/v1/statuses?id[]= (Mastodon 4.3+), else one status at a time.
        Deleted statuses are left out."""
        instance = self._instance(account)
        token = credentials.access_token
        snapshots: list[MetricsSnapshot] = []
        size = self.capabilities.metrics_batch_size
        for start in range(0, len(remote_ids), size):
            batch = remote_ids[start : start + size]
            response = self._call(
                "GET",
                f"{instance}/api/v1/statuses",
                token=token,
                params={"id[]": batch},
                ok_statuses=(404,),
            )
            if response.status_code != 404:
                snapshots += [self._snapshot(s) for s in response.json()]
                continue
            for remote_id in batch:  # an older server without the batch endpoint
                single = self._call(
                    "GET",
                    f"{instance}/api/v1/statuses/{remote_id}",
                    token=token,
                    ok_statuses=(404,),
                )
                if single.status_code != 404:
                    snapshots.append(self._snapshot(single.json()))
        return snapshots

    def fetch_account_metrics(
        self, *, account: Account, credentials: Credentials
    ) -> AccountMetrics:
        """Followers, follows and statuses of the connected account (verify_credentials: the
        account's own view, so counts it hides from others are still real)."""
        me = self._call(
            "GET",
            f"{self._instance(account)}/api/v1/accounts/verify_credentials",
            token=credentials.access_token,
        ).json()
        raw = {
            k: me.get(k)
            for k in ("followers_count", "following_count", "statuses_count")
            if k in me
        }
        return AccountMetrics(
            values=counts(
                followers=me.get("followers_count"),
                following=me.get("following_count"),
                posts=me.get("statuses_count"),
            ),
            raw=raw,
        )

    def list_recent_posts(
        self, *, account: Account, credentials: Credentials, since: dt.datetime, limit: int = 200
    ) -> list[RemotePostInfo]:
        """The account's own top-level statuses since `since`, with their counts: boosts are
        excluded by the server, replies (also to itself: thread parts) and direct messages
        here. Pages of 40 walked back with max_id until an empty page."""
        instance = self._instance(account)
        url = f"{instance}/api/v1/accounts/{account.account_id}/statuses"

        def pages():
            params: dict[str, Any] = {
                "limit": self.page_size,
                "exclude_reblogs": "true",
                "exclude_replies": "true",
            }
            while True:
                statuses = self._call(
                    "GET", url, token=credentials.access_token, params=params
                ).json()
                if not statuses:
                    return
                yield [self._listed(status) for status in statuses]
                last = str(statuses[-1]["id"])
                if last == params.get("max_id"):
                    return
                params = {**params, "max_id": last}

        return collect_recent(pages(), since=since, limit=limit)

    def _listed(self, status: dict) -> ListedItem:
        moment = parse_time(status.get("created_at"))
        own = (
            moment is not None
            and not status.get("reblog")
            and not status.get("in_reply_to_id")
            and status.get("visibility") != "direct"
        )
        if not own:
            return moment, None
        return moment, RemotePostInfo(
            remote_id=str(status["id"]),
            url=status.get("url") or status.get("uri") or "",
            text=excerpt(status.get("content"), is_html=True),
            published_at=moment,
            metrics=self._snapshot(status),
        )
