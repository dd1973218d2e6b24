"""The one rule for an address on another site (a platform's permalink, a profile, an avatar)
that we may store and render as a link: an absolute http(s) URL with a host, nothing else.

Platforms answer with whatever they like, and a `javascript:` or `data:` address in an href
runs in our pages. Pure functions, no Django: the delivery side calls them before storing
(publishing), the templates through the `external_url` filter (templatetags.external_links).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

# The longest address we keep: the public URL columns hold 1000 characters, and a cut one is
# a broken link (a real permalink is far shorter).
MAX_LENGTH = 1000

SCHEMES = frozenset({"http", "https"})

# Characters never in an address we accept, anywhere. Browsers drop tabs and line breaks inside
# a URL and blanks around it ("java\tscript:", " javascript:"), and read "\" as "/": refused
# outright rather than guessed at. Quotes and angle brackets belong percent-encoded.
_REFUSED_CHARACTERS = frozenset('\\"<>`')
# Unicode categories refused: controls (\x00, \x7f...), format characters (zero-width, bidi
# overrides), separators (spaces of every width, line/paragraph separators).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
# One label of a host name: letters (also non-ASCII: IDN hosts), digits, "-" and "_"; no "%".
_LABEL = re.compile(r"[\w-]{1,63}")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,19}")


def external_url_problem(value: object) -> str:
    """Why `value` is not an external URL we may store or render ("" when it is one).

    The reason is a short fixed English phrase for logs; it never repeats the value."""
    if not isinstance(value, str) or not value:
        return "empty"
    if len(value) > MAX_LENGTH:
        return "too long"
    if any(
        c in _REFUSED_CHARACTERS or unicodedata.category(c) in _REFUSED_CATEGORIES for c in value
    ):
        return "control characters, blanks or quotes"
    scheme, colon, rest = value.partition(":")
    if not colon or scheme.lower() not in SCHEMES:
        return "not http or https"
    if not rest.startswith("//"):
        return "no host"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        return "malformed"
    if "@" in parts.netloc:  # "https://bank.example@evil.example": the host is evil.example
        return "user name or password"
    host = parts.hostname or ""
    if not host:
        return "no host"
    if parts.netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "malformed host"
        return ""
    labels = host.removesuffix(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return "malformed host"
    return ""


def is_external_url(value: object) -> bool:
    """Whether `value` is an absolute http(s) URL with a host that we may store and link to."""
    return not external_url_problem(value)


def external_url_or_empty(value: object) -> str:
    """`value` when it is an external URL we may store or render, else ""."""
    if isinstance(value, str) and is_external_url(value):
        return value
    return ""


def url_scheme(value: object) -> str:
    """The scheme of `value` for a log line ("javascript", "https"), never more of it:
    "(none)" for an address without one, "(malformed)" when what stands before ":" is no
    scheme (such as "java\\tscript")."""
    if not isinstance(value, str):
        return "(none)"
    scheme, colon, _rest = value.partition(":")
    if not colon or value.startswith("/"):
        return "(none)"
    return scheme.lower() if _SCHEME.fullmatch(scheme.lower()) else "(malformed)"
