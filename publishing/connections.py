"""Connecting channels to platform accounts, and keeping their credentials fresh.

- OAuth: `connection_start` (state, PKCE verifier and the adapter's Account, signed and
  time-limited, for the session) -> the platform -> `connection_finish` at the one callback URL
  (state compared in constant time, code exchanged, channel created or updated).
- Secret forms (app passwords, bot tokens): `connection_connect_with_secret`.
- `credentials_refresh` refreshes under a row lock and re-reads the stored token inside it
  (X and Bluesky rotate refresh tokens: two workers refreshing at once must not lose the
  channel); `credentials_refresh_due` finds what expires soon for the beat task; a refresh the
  platform refuses marks the channel "needs reconnect" and tells the workspace managers.

All platform talk happens before or outside the write transactions, except the refresh, which
holds the lock on purpose. Secrets never reach a message, a log line or the session unencrypted
(the session keeps only the state and PKCE verifier of a sign-in in progress).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import asdict
from typing import Any

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from accounts.models import User
from calendar_app.models import Channel, ChannelState, Membership, PostVariant
from calendar_app.permissions import Action, access_workspace, managers_of, require
from calendar_app.platforms import Platform
from calendar_app.workflow import PLANNED
from publishing.adapters.base import (
    Account,
    AdapterError,
    AuthExpired,
    ConnectError,
    ConnectResult,
    Credentials,
    PermanentError,
)
from publishing.adapters.registry import AdapterNotConfigured, get_adapter
from publishing.credentials import (
    CredentialsUnreadable,
    credentials_read,
    credentials_save,
    credentials_to_json,
    decrypt,
    encrypt,
    merge_credentials,
)
from publishing.metrics import remote_posts_backfill_on_commit
from publishing.models import ChannelCredentials
from publishing.urlsafety import check_server_url

logger = logging.getLogger(__name__)

PENDING_SALT = "publishing.connect.pending"
PENDING_MAX_AGE = 10 * 60  # seconds a sign-in at the platform may take
OAUTH_AUTH = {"oauth2", "oauth1"}
SECRET_AUTH = {"app_password", "bot_token"}
# Account.config keys that hold a user-supplied server address (checked by urlsafety).
SERVER_URL_KEYS = ("instance_url", "pds_url", "site_url")
REFRESH_AHEAD = dt.timedelta(minutes=30)  # refresh tokens that expire within this


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


def channel_account(channel: Channel) -> Account:
    """The adapter's view of a channel's (non-secret) account."""
    config = dict(channel.config or {})
    return Account(
        account_id=channel.account_id,
        handle=channel.handle,
        name=channel.name,
        avatar_url=str(config.get("avatar_url", "")),
        config=config,
    )


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
        config["avatar_url"] = account.avatar_url
    channel.config = config
    if channel.state == ChannelState.PAUSED:
        channel.state_before_pause = ChannelState.CONNECTED  # stays paused; fine once resumed
    else:
        channel.state = ChannelState.CONNECTED
    channel.full_clean(exclude=["avatar"], validate_unique=False, validate_constraints=False)
    channel.save()
    credentials_save(channel=channel, credentials=result.credentials, merge=True)
    remote_posts_backfill_on_commit(channel_id=channel.pk, platform=platform)
    return channel


# --- refresh ----------------------------------------------------------------------------------


def credentials_of(channel_id: int) -> tuple[Credentials, int] | None:
    """(decrypted credentials, version) of a channel, or None when it has none."""
    row = ChannelCredentials.objects.filter(channel_id=channel_id).first()
    return (credentials_read(row), row.version) if row else None


def credentials_refresh(
    channel_id: int, *, stale_version: int | None = None, now: dt.datetime | None = None
) -> Credentials | None:
    """Refresh a channel's access token under a lock on its credentials row.

    The stored credentials are re-read inside the lock: if another worker refreshed meanwhile
    (the version moved on from `stale_version`, or, without one, the token no longer expires
    soon), its result is returned and the platform is not asked again — a rotated refresh token
    is used once only. If the platform refuses (AuthExpired / PermanentError), the channel is
    marked "needs reconnect", its managers are told, and None is returned. TransientError
    propagates (try again later); nothing is written then.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            ChannelCredentials.objects.select_for_update(of=("self",))
            .select_related("channel")
            .filter(channel_id=channel_id)
            .first()
        )
        if row is None:
            return None
        channel = row.channel
        stored = credentials_read(row)
        if stale_version is not None:
            if row.version != stale_version:
                return stored
        elif not stored.expires_within(REFRESH_AHEAD.total_seconds(), now=now):
            return stored
        try:
            fresh = get_adapter(channel.platform).refresh(
                account=channel_account(channel), credentials=stored
            )
        except (AuthExpired, PermanentError) as exc:
            failure = exc
        else:
            merged = merge_credentials(stored, fresh)
            row.ciphertext = encrypt(credentials_to_json(merged))
            row.expires_at = merged.expires_at
            row.version += 1
            row.save(update_fields=["ciphertext", "expires_at", "version", "updated_at"])
            return merged
    logger.warning(
        "Refreshing credentials of channel %s failed: %s", channel_id, failure.detail or "refused"
    )
    channel_mark_needs_reconnect(channel_id=channel_id, reason=failure.message)
    return None


def credentials_refresh_due(*, within: dt.timedelta = REFRESH_AHEAD) -> list[int]:
    """Ids of connected channels whose access token expires within `within` (for beat)."""
    horizon = timezone.now() + within
    return list(
        ChannelCredentials.objects.filter(
            expires_at__isnull=False,
            expires_at__lte=horizon,
            channel__state=ChannelState.CONNECTED,
        )
        .order_by("expires_at")
        .values_list("channel_id", flat=True)
    )


@transaction.atomic
def channel_mark_needs_reconnect(*, channel_id: int, reason: str = "") -> Channel | None:
    """Mark the channel as needing a reconnect and notify its workspace's managers (once: a
    channel already marked is left alone). Deliveries to it pause on this state."""
    from notifications.services import notify

    channel = (
        Channel.objects.select_for_update()
        .select_related("workspace")
        .filter(pk=channel_id)
        .first()
    )
    if channel is None or ChannelState.NEEDS_RECONNECT in (
        channel.state,
        channel.state_before_pause,
    ):
        return channel
    if channel.state == ChannelState.PAUSED:
        # It stays paused, and needs reconnecting once resumed.
        channel.state_before_pause = ChannelState.NEEDS_RECONNECT
        channel.save(update_fields=["state_before_pause"])
    else:
        channel.state = ChannelState.NEEDS_RECONNECT
        channel.save(update_fields=["state"])
    # The authors of what is planned on it hear it now, not at their post's minute.
    authors = User.objects.filter(
        pk__in=PostVariant.objects.filter(
            channel=channel,
            post__status__in=PLANNED,
            post__scheduled_at__gte=timezone.now(),
        ).values("post__author_id")
    )
    notify(
        kind="channel_needs_reconnect",
        recipients=[*managers_of(channel.workspace_id), *authors],
        workspace=channel.workspace,
        params={
            "channel": channel.name,
            "platform": channel.get_platform_display(),
            "detail": reason,  # the notification shows it as a second line
        },
        url=reverse("calendar:channels", kwargs={"ws": channel.workspace.slug}),
    )
    return channel
