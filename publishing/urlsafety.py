"""Checks a user-supplied server URL (Mastodon instance, Bluesky PDS, WordPress site) before we
talk to it: https only, and no address we must not reach from our servers (private, loopback,
link-local, multicast, reserved...), checking every address the name resolves to, IPv4 and IPv6.

settings.PUBLISHING_ALLOW_PRIVATE_URLS turns the address and scheme checks off for development
and tests (local fake servers on http://127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from publishing.adapters.base import ConnectError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ConnectError):
    """The URL is malformed, not https, or points somewhere private."""


def address_is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 64:ff9b::10.0.0.1 (NAT64) reach IPv4 hosts: judge the IPv4 one.
        mapped = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            if address in ipaddress.IPv6Network("64:ff9b::/96")
            else None
        )
        if mapped is not None:
            return address_is_public(mapped)
        if address.sixtofour is not None and not address_is_public(address.sixtofour):
            return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(
            _("The server %(host)s could not be found. Check the address.") % {"host": host}
        ) from None
    # Strip an IPv6 zone ("fe80::1%eth0") before parsing.
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def normalize_server_url(url: str) -> str:
    """'mastodon.social', 'https://Mastodon.Social/' -> 'https://mastodon.social' (origin only).
    Raises UnsafeURL when it is not a plain server address."""
    url = (url or "").strip()
    if not url:
        raise UnsafeURL(_("Enter the address of the server."))
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL(_("This is not a valid server address.")) from None
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username or parts.password:
        raise UnsafeURL(_("This is not a valid server address."))
    if parts.scheme not in {"https", "http"}:
        raise UnsafeURL(_("The server address must start with https://."))
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


def check_server_url(url: str) -> str:
    """The normalized URL if it is safe to call, else UnsafeURL with a message for people.
    A WordPress site may live under a path (https://example.com/blog); that path is kept."""
    normalized = normalize_server_url(url)
    if getattr(settings, "PUBLISHING_ALLOW_PRIVATE_URLS", False):
        return normalized
    parts = urlsplit(normalized)
    if parts.scheme != "https":
        raise UnsafeURL(_("The server address must start with https://."))
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [literal] if literal is not None else _resolve(host, parts.port or 443)
    if not addresses or not all(address_is_public(a) for a in addresses):
        raise UnsafeURL(
            _("The server %(host)s is not on the public internet, so we cannot connect to it.")
            % {"host": host}
        )
    return normalized
