"""Shared base of the OAuth 2.0 adapters (X, LinkedIn, Facebook, Instagram, Threads, YouTube,
Pinterest): authorization code (+ PKCE S256 where the platform has it) through requests-oauthlib,
token refresh that never drops a refresh token, one `call()` that maps HTTP failures to the base
exceptions without echoing a secret, and `publish_parts()` that resumes after done parts."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import requests
from django.utils import timezone
from django.utils.translation import gettext_noop
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from notifications.texts import Text
from publishing.adapters import http
from publishing.adapters.base import (
    Account,
    AdapterError,
    AuthExpired,
    ConnectError,
    ConnectResult,
    Credentials,
    PartCallback,
    PermanentError,
    PlatformAdapter,
    PublishedPart,
    PublishRequest,
    PublishResult,
    TransientError,
    permissions_not_granted,
)

# requests-oauthlib and oauthlib log whole token responses at DEBUG: never let those through.
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)


def pkce_challenge(code_verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuth2Adapter(PlatformAdapter):
    """Authorization code flow with requests-oauthlib plus a small HTTP helper.

    Subclasses set the endpoints and scopes, implement `identify()` (who connected) and the
    content methods. OPTIONS: base_url, client_id, client_secret, and optionally authorize_url /
    token_url to point the OAuth endpoints at a stub server.
    """

    authorize_endpoint: ClassVar[str] = ""
    token_endpoint: ClassVar[str] = ""  # absolute, or a path under base_url
    scopes: ClassVar[tuple[str, ...]] = ()
    scope_separator: ClassVar[str] = " "
    uses_pkce: ClassVar[bool] = False
    token_auth_basic: ClassVar[bool] = False  # client id/secret as HTTP Basic, else in the body
    authorize_params: ClassVar[dict[str, str]] = {}
    # Seconds between polls of media processing; tests set it to 0.
    poll_interval: float = 2.0
    poll_attempts: int = 60

    def __init__(
        self,
        *,
        base_url: str = "",
        client_id: str = "",
        client_secret: str = "",
        authorize_url: str = "",
        token_url: str = "",
        session: requests.Session | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url=base_url, **options)
        self.client_id = client_id
        self.client_secret = client_secret
        self.authorize_url = authorize_url or self.authorize_endpoint
        self.token_url = token_url or self.url(self.token_endpoint)
        # Network errors and timeouts from this session are already TransientError.
        self.session = session or http.session(platform=self.key, timeout=self.timeout)

    @property
    def label(self) -> str:
        return self.spec.label

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    # -- OAuth ------------------------------------------------------------------------------------

    def scopes_for(self, account: Account) -> tuple[str, ...]:
        """The scopes to ask for; an adapter may ask for more for some accounts."""
        return self.scopes

    def _require_app(self) -> None:
        if not (self.client_id and self.client_secret):
            raise ConnectError(
                Text(
                    gettext_noop(
                        "%(platform)s is not set up on this server yet: an administrator needs to "
                        "fill in its client ID and secret."
                    ),
                    platform=self.label,
                )
            )

    def _oauth(
        self, redirect_uri: str = "", scopes: tuple[str, ...] = (), secrets: tuple[str, ...] = ()
    ) -> OAuth2Session:
        """`secrets`: what the token request carries (a refresh token), blanked in its errors."""
        oauth = OAuth2Session(
            self.client_id,
            redirect_uri=redirect_uri or None,
            scope=self.scope_separator.join(scopes or self.scopes),
        )
        hook = functools.partial(self._token_response, secrets=secrets)
        oauth.register_compliance_hook("access_token_response", hook)
        oauth.register_compliance_hook("refresh_token_response", hook)
        return oauth

    def _client_auth(self) -> dict[str, Any]:
        if self.token_auth_basic:
            return {"auth": HTTPBasicAuth(self.client_id, self.client_secret)}
        return {"include_client_id": True, "client_secret": self.client_secret}

    def _token_response(
        self, response: requests.Response, *, secrets: tuple[str, ...] = ()
    ) -> requests.Response:
        """Compliance hook: refuse failed token responses with our errors (before oauthlib
        parses them) and let subclasses reshape odd token bodies."""
        if response.status_code >= 400:
            raise self.token_error(response, secrets=secrets)
        data = http.json_or_empty(response)
        if isinstance(data, dict):
            data = self.normalize_token(data)
            response._content = json.dumps(data).encode()
        return response

    def normalize_token(self, data: dict[str, Any]) -> dict[str, Any]:
        """Reshape a platform's token response into plain OAuth 2.0 fields."""
        return data

    def token_error(
        self, response: requests.Response, *, secrets: Iterable[str] = ()
    ) -> AdapterError:
        """A refused token request: throttling and server trouble as usual, anything else means
        the grant (code or refresh token) is no good (AuthExpired; ConnectError at connect).
        `secrets`: the grant the request carried, never echoed, like the client secret."""
        secrets = (*secrets, self.client_secret)
        error = http.error_for(response, platform=self.key, secrets=secrets)
        if isinstance(error, TransientError):
            return error
        reason = http.platform_error_text(response) or str(response.status_code)
        return AuthExpired(
            Text(
                gettext_noop("%(platform)s refused the authorization (%(reason)s)."),
                platform=self.label,
                reason=http.scrub(reason, secrets),
            ),
            detail=error.detail if error else "",
            status=response.status_code,
        )

    def _fetch_token(self, action: Callable[..., dict], *args: Any, **kwargs: Any) -> dict:
        try:
            return dict(action(*args, timeout=self.timeout, **kwargs))
        except AdapterError:
            raise
        except Warning as warning:  # oauthlib: the granted scope differs from the requested one
            token = getattr(warning, "token", None)
            if token is None:
                raise
            return dict(token)
        except OAuth2Error as exc:
            raise AuthExpired(
                Text(
                    gettext_noop("%(platform)s refused the authorization (%(reason)s)."),
                    platform=self.label,
                    reason=exc.error,
                ),
                detail=http.scrub(exc.description or exc.error, (self.client_secret,)),
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s could not be reached; try again later."),
                    platform=self.label,
                ),
                detail=type(exc).__name__,
            ) from None

    def credentials_from_token(
        self, token: dict[str, Any], *, previous: Credentials | None = None
    ) -> Credentials:
        expires_in = token.get("expires_in")
        expires_at = None
        if expires_in not in (None, ""):
            expires_at = timezone.now() + dt.timedelta(seconds=int(float(expires_in)))
        extra = dict(previous.extra) if previous else {}
        # LinkedIn and Pinterest say when the refresh token itself ends (then a person must
        # reconnect): channel_health warns ahead of it.
        refresh_expires_in = token.get("refresh_token_expires_in")
        if refresh_expires_in not in (None, ""):
            extra["refresh_expires_at"] = (
                timezone.now() + dt.timedelta(seconds=int(float(refresh_expires_in)))
            ).isoformat()
        return Credentials(
            access_token=token["access_token"],
            # Keep a refresh token the platform did not re-send; take a rotated one.
            refresh_token=token.get("refresh_token")
            or (previous.refresh_token if previous else ""),
            expires_at=expires_at,
            extra=extra,
        )

    def authorization_url(
        self, *, redirect_uri: str, state: str, code_verifier: str, account: Account
    ) -> tuple[str, Account]:
        self._require_app()
        params = dict(self.authorize_params)
        if self.uses_pkce:
            params.update(
                code_challenge=pkce_challenge(code_verifier), code_challenge_method="S256"
            )
        url, _state = self._oauth(redirect_uri, self.scopes_for(account)).authorization_url(
            self.authorize_url, state=state, **params
        )
        return url, account

    def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str, account: Account
    ) -> ConnectResult:
        self._require_app()
        kwargs: dict[str, Any] = self._client_auth()
        if self.uses_pkce:
            kwargs["code_verifier"] = code_verifier
        try:
            token = self._fetch_token(
                self._oauth(redirect_uri, self.scopes_for(account)).fetch_token,
                self.token_url,
                code=code,
                **kwargs,
            )
            credentials = self.credentials_from_token(token)
            result = self.identify(account=account, credentials=credentials, token=token)
        except (AuthExpired, PermanentError) as exc:  # at connect time: a refused connection
            raise ConnectError(exc.message, detail=exc.detail, status=exc.status) from None
        # What the token response says was granted, and what identify() learnt (Facebook asks
        # /me/permissions): both name scopes the account did not allow.
        lacking = permissions_not_granted(self.scopes_for(account), token.get("scope"))
        return dataclasses.replace(
            result,
            missing_permissions=tuple(dict.fromkeys((*result.missing_permissions, *lacking))),
        )

    def identify(
        self, *, account: Account, credentials: Credentials, token: dict[str, Any]
    ) -> ConnectResult:
        """After the code exchange: who connected (id, handle, name, avatar), maybe a better token."""
        raise NotImplementedError

    def refresh(self, *, account: Account, credentials: Credentials) -> Credentials:
        if not credentials.refresh_token:
            raise AuthExpired(
                Text(
                    gettext_noop(
                        "The %(platform)s connection cannot be renewed automatically; please "
                        "reconnect the channel."
                    ),
                    platform=self.label,
                )
            )
        kwargs = self._client_auth()
        if not self.token_auth_basic:
            kwargs = {"client_id": self.client_id, "client_secret": self.client_secret}
        token = self._fetch_token(
            self._oauth(
                secrets=(credentials.refresh_token, credentials.access_token)
            ).refresh_token,
            self.token_url,
            refresh_token=credentials.refresh_token,
            **kwargs,
        )
        return self.credentials_from_token(token, previous=credentials)

    # -- HTTP -------------------------------------------------------------------------------------

    def auth_headers(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None = None,
        ok: Iterable[int] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """One request to the platform; any status >= 400 not in `ok` raises a mapped error."""
        headers = dict(kwargs.pop("headers", None) or {})
        if credentials is not None:
            headers = {**self.auth_headers(credentials), **headers}
        try:
            response = self.session.request(method, self.url(path), headers=headers, **kwargs)
        except requests.RequestException as exc:  # e.g. an invalid URL; never echo the request
            raise TransientError(
                Text(
                    gettext_noop("%(platform)s could not be reached; try again later."),
                    platform=self.label,
                ),
                detail=type(exc).__name__,
            ) from None
        if response.status_code >= 400 and response.status_code not in set(ok):
            secrets = (credentials.access_token, credentials.refresh_token) if credentials else ()
            raise self.error_for(response, secrets=(*secrets, self.client_secret))
        return response

    def error_for(
        self, response: requests.Response, *, secrets: Iterable[str] = ()
    ) -> AdapterError:
        """Map a failed response (http.py's shared mapping); subclasses check their own error
        codes first and fall back to this."""
        error = http.error_for(response, platform=self.key, secrets=secrets)
        assert error is not None  # only called for status >= 400
        return error

    # -- publishing helpers -----------------------------------------------------------------------

    def validate(self, request: PublishRequest) -> list[str]:
        problems = super().validate(request)
        if request.thread and not self.capabilities.threads:
            problems.append(
                Text(
                    gettext_noop("%(platform)s has no threads; post the further parts separately."),
                    platform=self.label,
                )
            )
        return problems

    @staticmethod
    def publish_parts(
        request: PublishRequest,
        steps: list[Callable[[list[PublishedPart]], PublishedPart]],
        on_part: PartCallback | None,
    ) -> PublishResult:
        """Run the steps (main post, then thread parts / first comment) after the done parts;
        each step gets the parts so far and returns its own, reported at once via on_part."""
        parts = list(request.done_parts)
        for index, step in enumerate(steps):
            if index < len(parts):
                continue
            part = step(parts)
            parts.append(part)
            if on_part is not None:
                on_part(index, part)
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    @staticmethod
    def same_text(a: str, b: str) -> bool:
        """Loose match for find_existing: platforms shorten links and trim whitespace."""

        def norm(text: str) -> str:
            text = re.sub(r"https?://\S+", "", text or "")
            return " ".join(text.split()).casefold()

        return bool(norm(a)) and norm(a) == norm(b)

    def missing_public_urls(self, request: PublishRequest) -> list[str]:
        if any(not m.public_url for m in request.media):
            return [
                Text(
                    gettext_noop(
                        "%(platform)s needs a public media URL: set PUBLIC_MEDIA_BASE_URL so "
                        "%(platform)s can fetch the files."
                    ),
                    platform=self.label,
                )
            ]
        return []
