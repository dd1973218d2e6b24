"""Connecting channels to platform accounts (the runtime side of an account, its credentials
kept fresh and a channel marked for reconnecting, is publishing.accounts).

- OAuth: `connection_start` (state, PKCE verifier and the adapter's Account, signed and
  time-limited, for the session) -> the platform -> `connection_finish` at the one callback URL
  (state compared in constant time, code exchanged, channel created or updated).
- Secret forms (app passwords, bot tokens): `connection_connect_with_secret`.

All platform talk happens before or outside the write transactions. Secrets never reach a message, a log line or the session unencrypted
(the session keeps only the state and PKCE verifier of a sign-in in progress).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from calendar_app.external_urls import external_url_problem, url_scheme
from calendar_app.models import Channel, ChannelState, Membership
from calendar_app.permissions import Action, access_workspace, require
from calendar_app.platforms import Platform
from publishing.accounts import channel_record_access_end
from publishing.adapters.base import (
    Account,
    AdapterError,
    ConnectError,
    ConnectResult,
)
from publishing.adapters.registry import AdapterNotConfigured, get_adapter
from publishing.credentials import (
    CredentialsUnreadable,
    credentials_read,
    credentials_save,
    decrypt,
    encrypt,
)
from publishing.metrics.backfill import remote_posts_backfill_on_commit
from publishing.urlsafety import check_server_url

logger = logging.getLogger(__name__)

PENDING_SALT = "publishing.connect.pending"
PENDING_MAX_AGE = 10 * 60  # seconds a sign-in at the platform may take
OAUTH_AUTH = {"oauth2", "oauth1"}
SECRET_AUTH = {"app_password", "bot_token"}
# Account.config keys that hold a user-supplied server address (checked by urlsafety).
SERVER_URL_KEYS = ("instance_url", "pds_url", "site_url")


def _label(platform: str) -> str:
    try:
        return str(Platform(platform).label)
    except ValueError:
        return platform


def _adapter(platform: str):
    try:
        return get_adapter(platform)
    except AdapterNotConfigured:
        raise ConnectError(
            _("Connecting %(platform)s accounts is not set up on this server.")
            % {"platform": _label(platform)}
        ) from None


def checked_config(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with every user-supplied server address checked and normalized."""
    config = dict(config)
    for key in SERVER_URL_KEYS:
        if config.get(key):
            config[key] = check_server_url(str(config[key]))
    return config


# --- OAuth ------------------------------------------------------------------------------------


def connection_start(
    *,
    membership: Membership,
    platform: str,
    redirect_uri: str,
    config: dict[str, Any] | None = None,
    channel_id: int | None = None,
) -> tuple[str, str]:
    """Begin an OAuth sign-in: returns (URL to send the user to, signed pending data to keep in
    the session until the callback)."""
    require(membership, Action.CHANNEL_MANAGE)
    adapter = _adapter(platform)
    if adapter.capabilities.auth not in OAUTH_AUTH:
        raise ConnectError(
            _("%(platform)s accounts are not connected by signing in.")
            % {"platform": _label(platform)}
        )
    if channel_id is not None:
        _channel_of(membership, channel_id, platform)
    state = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    try:
        url, account = adapter.authorization_url(
            redirect_uri=redirect_uri,
            state=state,
            code_verifier=code_verifier,
            account=Account(config=checked_config(config or {})),
        )
    except ConnectError:
        raise
    except AdapterError as exc:
        raise ConnectError(exc.message, detail=exc.detail, status=exc.status) from None
    pending = {
        "state": state,
        "code_verifier": code_verifier,
        "platform": platform,
        "workspace": membership.workspace.slug,
        "user": membership.user_id,
        "channel": channel_id,
        "redirect_uri": redirect_uri,
        "account": asdict(account),
    }
    return url, pending_seal(pending)


def pending_seal(pending: dict[str, Any]) -> str:
    """Signed (time-stamped) and encrypted: the PKCE verifier, and whatever an adapter keeps in
    its Account until the callback (e.g. an OAuth 1.0a request token secret), stays unreadable
    even in the session store."""
    return encrypt(signing.dumps(pending, salt=PENDING_SALT, compress=True))


def pending_open(sealed: str, *, max_age: int | None = PENDING_MAX_AGE) -> dict[str, Any]:
    """The pending sign-in; signing.SignatureExpired when too old, signing.BadSignature when
    tampered with or not ours."""
    try:
        signed = decrypt(sealed)
    except CredentialsUnreadable:
        raise signing.BadSignature("not a pending sign-in") from None
    return signing.loads(signed, salt=PENDING_SALT, max_age=max_age)


def pending_field(sealed: str | None, name: str) -> str:
    """One field of a pending sign-in, even an expired one (for messages/redirects), or ""."""
    try:
        return str(pending_open(sealed or "", max_age=None)[name])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return ""


def connection_finish(
    *,
    user,
    signed_pending: str | None,
    state: str,
    code: str = "",
    error: str = "",
) -> Channel:
    """The OAuth callback: verify `state`, exchange `code`, create or update the channel."""
    if not signed_pending:
        raise ConnectError(
            _("No connection was started from this browser. Please start again.")
        ) from None
    try:
        pending = pending_open(signed_pending)
    except signing.SignatureExpired:
        raise ConnectError(_("The sign-in took too long. Please start again.")) from None
    except signing.BadSignature:
        raise ConnectError(
            _("No connection was started from this browser. Please start again.")
        ) from None
    if not state or not constant_time_compare(str(pending["state"]), str(state)):
        raise ConnectError(
            _("The answer from the platform does not belong to this sign-in. Please start again.")
        )
    if pending["user"] != user.pk:
        raise ConnectError(_("This sign-in was started by someone else. Please start again."))
    membership = access_workspace(user, pending["workspace"])
    require(membership, Action.CHANNEL_MANAGE)
    platform = pending["platform"]
    if error or not code:
        raise ConnectError(
            _("%(platform)s did not grant access, so nothing was connected.")
            % {"platform": _label(platform)}
        )
    adapter = _adapter(platform)
    try:
        result = adapter.exchange_code(
            code=code,
            redirect_uri=pending["redirect_uri"],
            code_verifier=pending["code_verifier"],
            account=Account(**pending["account"]),
        )
    except ConnectError:
        raise
    except AdapterError as exc:
        raise ConnectError(exc.message, detail=exc.detail, status=exc.status) from None
    return channel_connect(
        membership=membership, platform=platform, result=result, channel_id=pending["channel"]
    )


# --- secrets (app passwords, bot tokens) --------------------------------------------------------


def connection_connect_with_secret(
    *,
    membership: Membership,
    platform: str,
    secret: str,
    handle: str = "",
    config: dict[str, Any] | None = None,
    channel_id: int | None = None,
) -> Channel:
    """Connect with what the user typed: checks the secret with the platform first, so a wrong
    password creates nothing."""
    require(membership, Action.CHANNEL_MANAGE)
    adapter = _adapter(platform)
    if adapter.capabilities.auth not in SECRET_AUTH:
        raise ConnectError(
            _("%(platform)s accounts are connected by signing in, not with a password.")
            % {"platform": _label(platform)}
        )
    if channel_id is not None:
        _channel_of(membership, channel_id, platform)
    if not secret.strip():
        raise ConnectError(_("Enter the password or token."))
    account = Account(handle=handle.strip(), config=checked_config(config or {}))
    try:
        result = adapter.connect_with_secret(account=account, secret=secret.strip())
    except ConnectError:
        raise
    except AdapterError as exc:
        raise ConnectError(exc.message, detail=exc.detail, status=exc.status) from None
    return channel_connect(
        membership=membership, platform=platform, result=result, channel_id=channel_id
    )


def connection_add_test_channel(*, membership: Membership, name: str, feed_url: str) -> Channel:
    """A channel on the built-in test network (publishing.adapters.testnet), connected at
    once: for trying the whole loop without a real account. Owners only, on purpose."""
    require(membership, Action.TEST_CHANNEL_ADD)
    result = _adapter("testnet").connect_test_account(name=name.strip() or _label("testnet"))
    result.account.config = {**result.account.config, "feed_url": feed_url}
    return channel_connect(membership=membership, platform="testnet", result=result)


# --- the one writer of connected channels -----------------------------------------------------


def _channel_of(membership: Membership, channel_id: int, platform: str) -> Channel:
    channel = Channel.objects.filter(workspace=membership.workspace, pk=channel_id).first()
    if channel is None:
        raise ConnectError(_("This channel does not exist (any more)."))
    if channel.platform != platform:
        raise ConnectError(
            _("%(channel)s is a %(platform)s channel.")
            % {"channel": channel.name, "platform": channel.get_platform_display()}
        )
    return channel


@transaction.atomic
def channel_connect(
    *,
    membership: Membership,
    platform: str,
    result: ConnectResult,
    channel_id: int | None = None,
) -> Channel:
    """Create or update the channel of a connected account and store its credentials.

    Reconnecting (the channel given, or the same account connected again) keeps the channel,
    its name and its posts, and keeps a refresh token the platform did not re-send.
    """
    require(membership, Action.CHANNEL_MANAGE)
    account = result.account
    if not account.account_id:
        raise ConnectError(_("The platform did not tell us which account this is."))
    workspace = membership.workspace
    channels = Channel.objects.select_for_update().filter(workspace=workspace)
    if channel_id is not None:
        channel = channels.filter(pk=channel_id).first()
        if channel is None or channel.platform != platform:
            raise ConnectError(_("This channel does not exist (any more)."))
        if channel.account_id and channel.account_id != account.account_id:
            raise ConnectError(
                _(
                    "You signed in as %(handle)s, but %(channel)s belongs to another account. Sign in with that account, or add a new channel."
                )
                % {"handle": account.handle or account.name, "channel": channel.name}
            )
        clash = channels.filter(platform=platform, account_id=account.account_id).exclude(
            pk=channel.pk
        )
        if clash.exists():
            raise ConnectError(_("This account is already connected as another channel."))
    else:
        channel = channels.filter(platform=platform, account_id=account.account_id).first()
    if channel is None:
        channel = Channel(
            workspace=workspace,
            platform=platform,
            name=(account.name or account.handle or _label(platform))[:120],
        )
    elif not channel.name:
        channel.name = (account.name or account.handle)[:120]
    channel.account_id = account.account_id
    channel.handle = (account.handle or channel.handle)[:200]
    config = {**(channel.config or {}), **account.config}
    config.pop("example", None)  # a demo channel with a real account now
    if account.avatar_url:
        if problem := external_url_problem(account.avatar_url):
            config.pop("avatar_url", None)  # stored empty, like a delivery's refused link
            logger.warning(
                "%s account %r: the platform answered an avatar address we do not store "
                "(scheme %s: %s)",
                platform,
                account.account_id,
                url_scheme(account.avatar_url),
                problem,
            )
        else:
            config["avatar_url"] = account.avatar_url
    channel.config = config
    if channel.state == ChannelState.PAUSED:
        channel.state_before_pause = ChannelState.CONNECTED  # stays paused; fine once resumed
    else:
        channel.state = ChannelState.CONNECTED
    channel.missing_permissions = list(result.missing_permissions)
    channel.quota_until = None  # a new connection starts afresh
    channel.full_clean(exclude=["avatar"], validate_unique=False, validate_constraints=False)
    channel.save()
    stored = credentials_save(channel=channel, credentials=result.credentials, merge=True)
    channel_record_access_end(channel.pk, credentials_read(stored))
    remote_posts_backfill_on_commit(channel_id=channel.pk, platform=platform)
    return channel
