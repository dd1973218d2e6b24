"""Who is clicking, as far as counting needs to know: a visitor hash that stands for (address,
user agent) on one UTC day without revealing either (the address itself:
accounts.throttle.client_address).

The hash is an HMAC-SHA256 whose key is derived from SECRET_KEY and the UTC date (salted_hmac
with the date in the salt): the same browser gives the same hash all day and an unrelated one
the next, so no hash stored today links to yesterday's, and without the secret key nobody can
test a guessed address against a stored hash.
"""

from __future__ import annotations

import datetime as dt

from django.utils.crypto import salted_hmac

USER_AGENT_MAX_LENGTH = 512  # as much of the header as anything here reads


def visitor_hash(*, address: str, user_agent: str, day: dt.date) -> str:
    """HMAC-SHA256 (hex) of the address and user agent, keyed by SECRET_KEY and `day` (UTC)."""
    return salted_hmac(
        f"links.visitor:{day.isoformat()}",
        f"{address}\n{user_agent[:USER_AGENT_MAX_LENGTH]}",
        algorithm="sha256",
    ).hexdigest()
