"""Who is clicking, as far as counting needs to know: the client's address, and a visitor hash
that stands for (address, user agent) on one UTC day without revealing either.

The hash is an HMAC-SHA256 whose key is derived from SECRET_KEY and the UTC date (salted_hmac
with the date in the salt): the same browser gives the same hash all day and an unrelated one
the next, so no hash stored today links to yesterday's, and without the secret key nobody can
test a guessed address against a stored hash.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

USER_AGENT_MAX_LENGTH = 512  # as much of the header as anything here reads
# An IPv6 subscriber (a home line, a phone) gets a whole /64 and its devices pick new addresses
# inside it every few hours: the /64 is what stands for one client.
IPV6_CLIENT_PREFIX = 64


def normalized_address(value: str) -> str:
    """An address as the key of its client: IPv4 as is, IPv6 as its /64 network (an
    IPv4-mapped one as the IPv4 address); "" if it is not an address."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def client_address(request: HttpRequest) -> str:
    """The client's address (an IPv6 client's /64): REMOTE_ADDR, unless the site runs behind
    LINKS_TRUSTED_PROXY_COUNT = n reverse proxies that each append the address they saw to
    X-Forwarded-For; then the n-th entry from the right. Entries further left are whatever the
    client sent and never trusted; a header with fewer than n entries did not come through the
    proxies, and REMOTE_ADDR stands. "" when there is no valid address."""
    proxies = settings.LINKS_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            entry
            for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if entry.strip()
        ]
        if len(forwarded) >= proxies and (address := normalized_address(forwarded[-proxies])):
            return address
    return normalized_address(request.META.get("REMOTE_ADDR", ""))


def visitor_hash(*, address: str, user_agent: str, day: dt.date) -> str:
    """HMAC-SHA256 (hex) of the address and user agent, keyed by SECRET_KEY and `day` (UTC)."""
    return salted_hmac(
        f"links.visitor:{day.isoformat()}",
        f"{address}\n{user_agent[:USER_AGENT_MAX_LENGTH]}",
        algorithm="sha256",
    ).hexdigest()


def address_hash(address: str) -> str:
    """A keyed hash of the address alone, for the rate limiter's keys (so not even Redis holds
    an address in clear)."""
    return salted_hmac("links.rate", address, algorithm="sha256").hexdigest()[:32]
