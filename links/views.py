"""The short link redirect: public, counts people's clicks, never redirects anywhere we did not
store ourselves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.throttle import client_address
from links.models import TrackedLink
from links.ratelimit import RateVerdict, redirect_rate_take
from links.services import link_click_record

CODE_MAX_LENGTH = TrackedLink._meta.get_field("code").max_length


def _no_store(response: HttpResponse) -> HttpResponse:
    # Every click must reach us to be counted, and the page is nobody's to index.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
def link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """302 to the link's stored target; a GET counts a click (a person's or a bot's), a HEAD
    (link checkers, preview fetchers) counts nothing. Unknown codes answer 404. Per client
    address and minute (links.ratelimit): beyond a limit nothing is counted, far beyond it the
    answer is 429 with Retry-After, before any query."""
    address = client_address(request)
    rate = redirect_rate_take(address)
    if rate.verdict is RateVerdict.REFUSE:
        response = render(
            request, "links/too_many.html", {"retry_after": rate.retry_after}, status=429
        )
        response["Retry-After"] = str(rate.retry_after)
        return _no_store(response)
    link = (
        TrackedLink.objects.only("pk", "workspace_id", "target_url").filter(code=code).first()
        if code.isascii() and code.isalnum() and len(code) <= CODE_MAX_LENGTH
        else None
    )
    if link is None:
        return _no_store(render(request, "links/not_found.html", status=404))
    if request.method == "GET" and rate.verdict is RateVerdict.COUNT:
        link_click_record(
            link=link,
            user_agent=request.headers.get("User-Agent", ""),
            address=address,
            referrer=request.headers.get("Referer", ""),
        )
    return _no_store(HttpResponseRedirect(link.target_url))
