"""What a log may say of a URL: no query string and no link token. A review, invitation or
password-reset link is a secret in its path; a query can hold a token or a code too. Used by the
access log (config/gunicorn.py) and by every log line of the app (LOGGING's filter).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# The path segment after these is a secret: /review/<token>/ (the link's page under /review/ is
# its numeric id and stays), /invite/<token>/..., /accounts/reset/<uidb64>/<token>/ (which
# Django swaps for "set-password" at once).
_TOKEN_PREFIX = r"(?P<prefix>/review/|/invite/|/accounts/reset/[^/\s?#]+/)"
_TOKEN = r"(?!\d+(?:[/\s?#\"']|$))(?!set-password(?:[/\s?#\"']|$))[^/\s?#\"']+"
TOKEN_IN_PATH = re.compile(_TOKEN_PREFIX + _TOKEN)
# A query string after a path or URL ("/l/abc?x=1", "https://host/p?access_token=...").
QUERY_AFTER_PATH = re.compile(r"(?P<path>/[^\s?#\"']*)\?[^\s#\"']*")


def redact_path(path: str) -> str:
    """A request path as it may be logged: without its query, fragment and link token."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return TOKEN_IN_PATH.sub(lambda m: m["prefix"] + REDACTED, path)


def redact_text(text: str) -> str:
    """Any log text with each path's link token and each query string replaced."""
    text = TOKEN_IN_PATH.sub(lambda m: m["prefix"] + REDACTED, text)
    return QUERY_AFTER_PATH.sub(lambda m: m["path"] + "?" + REDACTED, text)


class RedactLinkSecrets(logging.Filter):
    """On a handler: the record's message with tokens and queries redacted (Django's
    "Not Found: /invite/<token>/" included). Records are changed in place, never dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
