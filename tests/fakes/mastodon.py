"""A small but faithful fake Mastodon server for tests: a real HTTP server in a thread on
127.0.0.1:<free port>, speaking the parts of the API our adapter uses.

    with FakeMastodon() as server:               # e.g. in a pytest fixture: yield server
        server.url                               # "http://127.0.0.1:54321"
        server.token                             # a valid access token for server.account
        ...                                      # point a channel's config["instance_url"] at it
        server.requests                          # every request: Recorded(method, path, ...)
        server.statuses                          # id -> status dict, as created

What it implements: POST /api/v1/apps; GET /oauth/authorize (consents at once: 302 to the
redirect URI with ?code=&state=); POST /oauth/token (authorization_code with PKCE S256 check,
refresh_token); GET /api/v1/accounts/verify_credentials; GET /api/v2/instance;
POST /api/v2/media (202 while "processing") and GET /api/v1/media/:id (206, then 200);
POST /api/v1/statuses (honours Idempotency-Key: a repeat returns the first status, like
Mastodon); GET /api/v1/statuses?id[]= (batch), GET/DELETE /api/v1/statuses/:id;
GET /api/v1/accounts/:id/statuses (newest first; limit, max_id, exclude_replies and
exclude_reblogs honoured; a Link header with rel="next"/"prev" as Mastodon pages). Unknown or
invalid tokens get 401; a token without the endpoint's scope gets 403 "This action is outside
the authorized scopes", with the scopes Mastodon's controllers ask for (docs.joinmastodon.org,
each method's "OAuth" line; Mastodon's app/controllers/api): verify_credentials needs
`profile`, `read` or `read:accounts`; media `write:media`; creating and deleting statuses
`write:statuses`; reading statuses `read:statuses`. `read`/`write` cover their sub-scopes, and
/oauth/authorize refuses a scope the app did not register (invalid_scope), as Doorkeeper does.
`server.token` holds "read write"; tokens issued by /oauth/token hold what was asked for.

Engagement numbers, for metrics tests:
    server.add_status("Posted elsewhere", created_at=..., favourites=5)  # not made through the API
    server.set_counts(status_id, favourites=3, reblogs=1, replies=2)     # likes, boosts, replies
    server.account["followers_count"] = 1200                             # verify_credentials

Faults, for chaos tests:
    server.fail_next("POST", "/api/v1/statuses", status=503)           # next matching call
    server.fail_next("POST", "/api/v1/statuses", status=429,
                     headers={"X-RateLimit-Reset": "2026-01-01T00:05:00Z"}, times=2)
    server.fail_next("POST", "/api/v1/statuses", status=503, after=2)  # the third one fails
    server.drop_after_create(times=1)  # create the status, then close the socket unanswered
    server.slow_down("POST", "/api/v1/statuses", seconds=1.0)  # do it, answer late (timeouts)
    server.media_processing_polls = 2  # GET /api/v1/media/:id answers 206 this many times
    server.batch_statuses = False      # behave like a server older than 4.3 (404 on the batch)
    server.max_characters = 500        # 422 for longer statuses, reported by /api/v2/instance
    server.honour_idempotency = False  # a repeated Idempotency-Key creates another status
All state is guarded by one lock; `reset()` clears statuses, requests and faults.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import itertools
import json
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

URL_RE = re.compile(r"https?://[^\s<]+")
# Mastodon's StatusLengthValidator (app/validators/status_length_validator.rb): URLs count as
# 23 characters, a mention @user@domain as @user, and what is left is counted in grapheme
# clusters (`mb_chars.grapheme_length`). Written here from the Ruby, apart from the product's
# own counter (calendar_app.platforms), so a test can catch the two disagreeing.
MENTION_RE = re.compile(r"(?<![\w/@])@([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]", re.IGNORECASE)


def mastodon_length(text: str) -> int:
    import regex

    countable = MENTION_RE.sub(r"@\1", URL_RE.sub("x" * 23, text))
    return len(regex.findall(r"\X", countable))


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name: (fn, ct, data)


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int
    after: int = 0  # let this many matching calls through first


def render_html(text: str) -> str:
    """Status text the way Mastodon renders `content`: paragraphs, <br>, links with hidden
    spans around the shortened URL."""

    def link(match: re.Match) -> str:
        url = match.group(0)
        scheme, rest = url.split("://", 1)
        shown, hidden = rest[:30], rest[30:]
        return (
            f'<a href="{html.escape(url)}" rel="nofollow noopener" target="_blank">'
            f'<span class="invisible">{scheme}://</span>'
            f'<span class="ellipsis">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>'
        )

    paragraphs = []
    for para in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(para)
        escaped = URL_RE.sub(lambda m: link(re.match(r".*", html.unescape(m.group(0)))), escaped)
        paragraphs.append("<p>" + escaped.replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)


def scope_allows(granted: str, needed: tuple[str, ...]) -> bool:
    """Whether a token granted `granted` (space-separated) may call an endpoint that asks for
    any of `needed`; `read`/`write` cover their `read:*`/`write:*` scopes (Mastodon's
    hierarchy, docs.joinmastodon.org/api/oauth-scopes)."""
    have = set(granted.split())
    return any(scope in have or scope.split(":", 1)[0] in have for scope in needed)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or a connection we dropped on purpose is not an error here.
        if isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            return
        super().handle_error(request, client_address)


class FakeMastodon:
    def __init__(self, *, username: str = "acme") -> None:
        self.lock = threading.RLock()
        self.username = username
        self.account = {
            "id": "109000000000000001",
            "username": username,
            "acct": username,
            "display_name": "Acme Corp",
            "avatar": "https://files.example/avatars/acme.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": 0,
        }
        self.token = "fake-access-" + secrets.token_hex(8)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMastodon:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeMastodon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[Recorded] = []
            self.statuses: dict[str, dict] = {}
            self.media: dict[str, dict] = {}
            self.apps: dict[str, dict] = {}  # client_id -> app
            self.codes: dict[str, dict] = {}  # code -> {client_id, redirect_uri, challenge}
            # server.token is like one made in the instance's settings ("read write"); tokens
            # issued through /oauth/token hold exactly the scopes the app asked for.
            self.tokens: dict[str, dict] = {self.token: {"scope": "read write", "refresh": ""}}
            self.idempotency: dict[str, str] = {}  # key -> status id
            self.faults: list[Fault] = []
            self.drops = 0
            self.in_flight = 0  # requests being handled now, and the most there were at once
            self.max_in_flight = 0
            self.slowdowns: list[Fault] = []
            self.media_processing_polls = 1
            self.batch_statuses = True
            self.max_characters = 500
            self.issue_refresh_tokens = False
            self.honour_idempotency = True  # False: a repeated Idempotency-Key posts again
            self._ids = itertools.count(110000000000000001)

    # -- fault injection ---------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int = 500,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer the next `times` calls matching method + path prefix with `status` (after
        letting `after` of them through)."""
        with self.lock:
            self.faults.append(
                Fault(method.upper(), path_prefix, status, headers or {}, body or {}, times, after)
            )

    def slow_down(self, method: str, path_prefix: str, *, seconds: float, times: int = 1) -> None:
        """Handle the next `times` matching calls normally but answer only after `seconds`
        (the work is done: a client that times out does not know it)."""
        with self.lock:
            self.slowdowns.append(
                Fault(method.upper(), path_prefix, 0, {}, {"delay": seconds}, times)
            )

    def drop_after_create(self, *, times: int = 1) -> None:
        with self.lock:
            self.drops += times

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def add_status(
        self,
        text: str,
        *,
        created_at: dt.datetime | None = None,
        favourites: int = 0,
        reblogs: int = 0,
        replies: int = 0,
    ) -> dict:
        """A status on the account that did not come through our API calls (e.g. posted in the
        Mastodon app), for history backfill tests."""
        with self.lock:
            status = self._new_status(text, created_at=created_at)
            status.update(favourites_count=favourites, reblogs_count=reblogs, replies_count=replies)
            self.statuses[status["id"]] = status
            return self._status_json(status)

    def set_counts(self, status_id: str, **counts: int) -> None:
        """Change a status' favourites / reblogs / replies (as other people interact)."""
        with self.lock:
            status = self.statuses[status_id]
            for name, value in counts.items():
                status[f"{name}_count"] = value

    def _new_status(self, text: str, *, created_at: dt.datetime | None = None, **fields) -> dict:
        status_id = self._next_id()
        moment = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        status = {
            "id": status_id,
            "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{moment.microsecond // 1000:03d}Z",
            "in_reply_to_id": None,
            "visibility": "public",
            "content": render_html(text),
            "url": f"{self.url}/@{self.username}/{status_id}",
            "uri": f"{self.url}/users/{self.username}/statuses/{status_id}",
            "media_attachments": [],
            "favourites_count": 0,
            "reblogs_count": 0,
            "replies_count": 0,
            "spoiler_text": "",
            "account": self.account,
            "_text": text,
            "_idempotency_key": "",
            **fields,
        }
        return status

    # -- helpers used by the handler -----------------------------------------------------------------
    def _next_id(self) -> str:
        return str(next(self._ids))

    def _take_fault(
        self, method: str, path: str, faults: list[Fault] | None = None
    ) -> Fault | None:
        with self.lock:
            faults = self.faults if faults is None else faults
            for fault in faults:
                if fault.method == method and path.startswith(fault.path_prefix):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        faults.remove(fault)
                    return fault
        return None

    def _status_json(self, status: dict) -> dict:
        return {k: v for k, v in status.items() if not k.startswith("_")}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

            # -- plumbing
            def _read(self) -> tuple[dict, dict]:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("multipart/form-data"):
                    message = BytesParser(policy=HTTP).parsebytes(
                        f"Content-Type: {ctype}\r\n\r\n".encode() + body
                    )
                    form: dict[str, list[str]] = {}
                    files: dict[str, tuple[str, str, bytes]] = {}
                    for part in message.iter_parts():
                        name = part.get_param("name", header="content-disposition")
                        filename = part.get_filename()
                        payload = part.get_payload(decode=True) or b""
                        if filename:
                            files[name] = (filename, part.get_content_type(), payload)
                        else:
                            form.setdefault(name, []).append(payload.decode())
                    return form, files
                if ctype.startswith("application/json"):
                    data = json.loads(body or b"{}")
                    return {k: v if isinstance(v, list) else [v] for k, v in data.items()}, {}
                return parse_qs(body.decode(), keep_blank_values=True), {}

            def _send(self, status: int, payload: Any = None, headers: dict | None = None) -> None:
                if getattr(self, "delay", 0):
                    time.sleep(self.delay)
                body = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if payload is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self, *scopes: str) -> bool:
                """A valid token (401 otherwise) that holds one of `scopes` (403 otherwise, in
                Mastodon's words). Scopes are hierarchical: `read` covers `read:statuses`."""
                auth = self.headers.get("Authorization", "")
                with fake.lock:
                    token = fake.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
                if token is None:
                    self._send(401, {"error": "The access token is invalid"})
                    return False
                if scopes and not scope_allows(token["scope"], scopes):
                    self._send(403, {"error": "This action is outside the authorized scopes"})
                    return False
                return True

            def _dispatch(self, method: str) -> None:
                with fake.lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._handle(method)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                query = parse_qs(parts.query, keep_blank_values=True)
                form, files = self._read() if method in {"POST", "PUT"} else ({}, {})
                with fake.lock:
                    fake.requests.append(
                        Recorded(method, path, query, dict(self.headers.items()), form, files)
                    )
                slow = fake._take_fault(method, path, fake.slowdowns)
                self.delay = slow.body["delay"] if slow is not None else 0
                fault = fake._take_fault(method, path)
                if fault is not None:
                    self._send(
                        fault.status,
                        fault.body or {"error": f"fault {fault.status}"},
                        fault.headers,
                    )
                    return
                route = self._route(method, path)
                if route is None:
                    self._send(404, {"error": "Record not found"})
                    return
                handler, args = route
                handler(*args, query=query, form=form, files=files)

            def _route(self, method: str, path: str):
                table = [
                    ("POST", r"/api/v1/apps", self.apps_create),
                    ("GET", r"/oauth/authorize", self.authorize),
                    ("POST", r"/oauth/token", self.token),
                    ("GET", r"/api/v1/accounts/verify_credentials", self.verify_credentials),
                    ("GET", r"/api/v2/instance", self.instance),
                    ("POST", r"/api/v2/media", self.media_create),
                    ("GET", r"/api/v1/media/(\w+)", self.media_show),
                    ("POST", r"/api/v1/statuses", self.status_create),
                    ("GET", r"/api/v1/statuses", self.statuses_batch),
                    ("GET", r"/api/v1/statuses/(\w+)", self.status_show),
                    ("DELETE", r"/api/v1/statuses/(\w+)", self.status_delete),
                    ("GET", r"/api/v1/accounts/(\w+)/statuses", self.account_statuses),
                ]
                for verb, pattern, handler in table:
                    match = re.fullmatch(pattern, path)
                    if verb == method and match:
                        return handler, match.groups()
                return None

            # -- OAuth
            def apps_create(self, *, form, **kw) -> None:
                client_id, client_secret = secrets.token_hex(8), secrets.token_hex(16)
                app = {
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "redirect_uris": form.get("redirect_uris", [""])[0].split(),
                    "scopes": form.get("scopes", [""])[0],
                    "name": form.get("client_name", [""])[0],
                }
                with fake.lock:
                    fake.apps[client_id] = app
                self._send(
                    200,
                    {
                        **app,
                        "id": str(len(fake.apps)),
                        "redirect_uri": form.get("redirect_uris", [""])[0],
                    },
                )

            def authorize(self, *, query, **kw) -> None:
                client_id = query.get("client_id", [""])[0]
                redirect_uri = query.get("redirect_uri", [""])[0]
                with fake.lock:
                    app = fake.apps.get(client_id)
                if app is None or redirect_uri not in app["redirect_uris"]:
                    self._send(400, {"error": "invalid_client"})
                    return
                asked = query.get("scope", [""])[0] or "read"
                if not set(asked.split()) <= set(app["scopes"].split() or ["read"]):
                    # Doorkeeper: the scope must be a subset of the app's registered scopes.
                    self._send(400, {"error": "invalid_scope"})
                    return
                code = secrets.token_hex(8)
                with fake.lock:
                    fake.codes[code] = {
                        "client_id": client_id,
                        "redirect_uri": redirect_uri,
                        "challenge": query.get("code_challenge", [""])[0],
                        "method": query.get("code_challenge_method", [""])[0],
                        "scope": query.get("scope", [""])[0],
                    }
                state = query.get("state", [""])[0]
                sep = "&" if "?" in redirect_uri else "?"
                self._send(
                    302,
                    None,
                    {"Location": f"{redirect_uri}{sep}{urlencode({'code': code, 'state': state})}"},
                )

            def token(self, *, form, **kw) -> None:
                get = lambda name: form.get(name, [""])[0]  # noqa: E731
                with fake.lock:
                    app = fake.apps.get(get("client_id"))
                if app is None or app["client_secret"] != get("client_secret"):
                    self._send(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "Client authentication failed",
                        },
                    )
                    return
                grant = get("grant_type")
                if grant == "authorization_code":
                    with fake.lock:
                        code = fake.codes.pop(get("code"), None)
                    verifier = get("code_verifier").encode()
                    challenge = (
                        base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
                        .rstrip(b"=")
                        .decode()
                    )
                    if (
                        code is None
                        or code["client_id"] != get("client_id")
                        or code["redirect_uri"] != get("redirect_uri")
                        or (
                            code["challenge"]
                            and (code["method"] != "S256" or code["challenge"] != challenge)
                        )
                    ):
                        self._send(
                            400,
                            {
                                "error": "invalid_grant",
                                "error_description": "The provided authorization grant is invalid",
                            },
                        )
                        return
                    scope = code["scope"]
                elif grant == "refresh_token":
                    with fake.lock:
                        owner = next(
                            (
                                t
                                for t, v in fake.tokens.items()
                                if v["refresh"] and v["refresh"] == get("refresh_token")
                            ),
                            None,
                        )
                        if owner is None:
                            self._send(400, {"error": "invalid_grant"})
                            return
                        scope = fake.tokens.pop(owner)["scope"]
                else:
                    self._send(400, {"error": "unsupported_grant_type"})
                    return
                access = "tok-" + secrets.token_hex(12)
                refresh = "ref-" + secrets.token_hex(12) if fake.issue_refresh_tokens else ""
                with fake.lock:
                    fake.tokens[access] = {"scope": scope, "refresh": refresh}
                payload = {
                    "access_token": access,
                    "token_type": "Bearer",
                    "scope": scope,
                    "created_at": 1700000000,
                }
                if refresh:
                    payload.update(refresh_token=refresh, expires_in=3600)
                self._send(200, payload)

            def verify_credentials(self, **kw) -> None:
                # CredentialsController: doorkeeper_authorize! :profile, :read, :'read:accounts'
                if self._authorized("profile", "read:accounts"):
                    with fake.lock:
                        me = {**fake.account, "statuses_count": len(fake.statuses)}
                    self._send(200, me)

            def instance(self, **kw) -> None:
                self._send(
                    200,
                    {
                        "domain": "fake.example",
                        "configuration": {
                            "statuses": {
                                "max_characters": fake.max_characters,
                                "max_media_attachments": 4,
                                "characters_reserved_per_url": 23,
                            }
                        },
                    },
                )

            # -- media
            def media_create(self, *, form, files, **kw) -> None:
                if not self._authorized("write:media"):
                    return
                if "file" not in files:
                    self._send(422, {"error": "Validation failed: File can't be blank"})
                    return
                filename, ctype, data = files["file"]
                with fake.lock:
                    media_id = fake._next_id()
                    pending = fake.media_processing_polls
                    fake.media[media_id] = {
                        "id": media_id,
                        "type": "image" if ctype.startswith("image/") else "video",
                        "url": None if pending else f"https://files.example/{media_id}/{filename}",
                        "description": form.get("description", [None])[0],
                        "_pending": pending,
                        "_filename": filename,
                        "_size": len(data),
                    }
                    media = fake.media[media_id]
                self._send(202 if pending else 200, fake._status_json(media))

            def media_show(self, media_id: str, **kw) -> None:
                if not self._authorized("write:media"):
                    return
                with fake.lock:
                    media = fake.media.get(media_id)
                    if media is None:
                        self._send(404, {"error": "Record not found"})
                        return
                    if media["_pending"] > 0:
                        media["_pending"] -= 1
                        status = 206
                    else:
                        media["url"] = f"https://files.example/{media_id}/{media['_filename']}"
                        status = 200
                    payload = fake._status_json(media)
                self._send(status, payload)

            # -- statuses
            def status_create(self, *, form, **kw) -> None:
                if not self._authorized("write:statuses"):
                    return
                key = self.headers.get("Idempotency-Key", "")
                with fake.lock:
                    if key and fake.honour_idempotency and key in fake.idempotency:
                        existing = fake.statuses.get(fake.idempotency[key])
                        if existing is not None:
                            self._send(200, fake._status_json(existing))
                            return
                    text = form.get("status", [""])[0]
                    media_ids = form.get("media_ids[]", [])
                    if not text and not media_ids:
                        self._send(422, {"error": "Validation failed: Text can't be blank"})
                        return
                    if mastodon_length(text) > fake.max_characters:
                        self._send(
                            422,
                            {
                                "error": f"Validation failed: Text character limit of {fake.max_characters} exceeded"
                            },
                        )
                        return
                    for media_id in media_ids:
                        if media_id not in fake.media or fake.media[media_id]["url"] is None:
                            self._send(
                                422,
                                {
                                    "error": "Cannot attach files that have not finished processing. Try again in a moment!"
                                },
                            )
                            return
                    reply_to = form.get("in_reply_to_id", [""])[0] or None
                    if reply_to and reply_to not in fake.statuses:
                        self._send(404, {"error": "Record not found"})
                        return
                    status = fake._new_status(
                        text,
                        in_reply_to_id=reply_to,
                        visibility=form.get("visibility", ["public"])[0],
                        media_attachments=[fake._status_json(fake.media[m]) for m in media_ids],
                        spoiler_text=form.get("spoiler_text", [""])[0],
                        _idempotency_key=key,
                    )
                    status_id = status["id"]
                    fake.statuses[status_id] = status
                    if reply_to:
                        fake.statuses[reply_to]["replies_count"] += 1
                    if key:
                        fake.idempotency[key] = status_id
                    drop = fake.drops > 0
                    if drop:
                        fake.drops -= 1
                    payload = fake._status_json(status)
                if drop:
                    # The status exists, but the client never hears about it.
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._send(200, payload)

            def statuses_batch(self, *, query, **kw) -> None:
                if not fake.batch_statuses:
                    self._send(404, {"error": "Record not found"})
                    return
                if not self._authorized("read:statuses"):
                    return
                ids = query.get("id[]", [])
                with fake.lock:
                    found = [fake._status_json(fake.statuses[i]) for i in ids if i in fake.statuses]
                self._send(200, found)

            def status_show(self, status_id: str, **kw) -> None:
                if not self._authorized("read:statuses"):
                    return
                with fake.lock:
                    status = fake.statuses.get(status_id)
                    payload = fake._status_json(status) if status else None
                if payload is None:
                    self._send(404, {"error": "Record not found"})
                else:
                    self._send(200, payload)

            def status_delete(self, status_id: str, **kw) -> None:
                if not self._authorized("write:statuses"):
                    return
                with fake.lock:
                    status = fake.statuses.pop(status_id, None)
                if status is None:
                    self._send(404, {"error": "Record not found"})
                else:
                    self._send(200, {**fake._status_json(status), "text": status["_text"]})

            def account_statuses(self, account_id: str, *, query, **kw) -> None:
                if not self._authorized("read:statuses"):
                    return
                limit = min(int(query.get("limit", ["20"])[0]), 40)
                max_id = query.get("max_id", [""])[0]
                no_replies = query.get("exclude_replies", [""])[0] == "true"
                with fake.lock:
                    mine = [
                        fake._status_json(s)
                        for s in sorted(
                            fake.statuses.values(), key=lambda s: int(s["id"]), reverse=True
                        )
                        if s["account"]["id"] == account_id
                        and (not max_id or int(s["id"]) < int(max_id))
                        and not (no_replies and s["in_reply_to_id"])
                    ][:limit]
                headers = {}
                if mine:  # Mastodon pages by Link headers; max_id of the oldest item shown
                    base = f"{fake.url}/api/v1/accounts/{account_id}/statuses"
                    headers["Link"] = (
                        f'<{base}?limit={limit}&max_id={mine[-1]["id"]}>; rel="next", '
                        f'<{base}?limit={limit}&min_id={mine[0]["id"]}>; rel="prev"'
                    )
                self._send(200, mine, headers)

        return Handler
