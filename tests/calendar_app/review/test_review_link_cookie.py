"""Review links leave no token in logs: the shared /review/<token>/ is swapped once for a signed,
HttpOnly cookie scoped to /review/<link id>/, where the page and everything it posts live.
Private headers on every answer, friendly pages for bad links and cookies, and the per-address
throttle against guessing (30 bad attempts per 10 minutes)."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.core.signals import request_started
from django.test import override_settings

from calendar_app.models import PostComment, ReviewDecision, ReviewLink
from calendar_app.services import review
from calendar_app.services.review.external import REVIEW_LINK_ATTEMPT_WINDOW_SECONDS
from calendar_app.services.workspaces import StepInput
from calendar_app.workflow import PostStatus
from tests.calendar_app.review.test_approval_services import NOW, new_post, refresh, set_policy

S = PostStatus
RECIPIENT = {"recipient_name": "Clara Client", "recipient_email": "clara@client.example"}
OTHER_ADDRESS = "198.51.100.7"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def fresh_throttle(frozen_now):
    """The test client's address starts every test with no bad attempts counted."""
    for address in ("127.0.0.1", OTHER_ADDRESS):
        review.review_link_attempts_reset(address)
    yield
    for address in ("127.0.0.1", OTHER_ADDRESS):
        review.review_link_attempts_reset(address)


@pytest.fixture
def client_step(owner):
    """The client decides through a review link."""
    return set_policy(owner, steps=[StepInput(name="Client", roles=[], members=[], external=True)])


def share(manager, *posts) -> tuple[ReviewLink, str]:
    """A review link for `posts`; the link and the path that is shared (with the token)."""
    link, token = review.review_link_create(
        membership=manager, post_ids=[p.pk for p in posts], **RECIPIENT
    )
    return link, f"/review/{token}/"


def in_review(editor, channel):
    post = new_post(editor, channel)
    review.post_submit_for_review(membership=editor, post_id=post.pk)
    return refresh(post)


def assert_private(response) -> None:
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


# --- the swap --------------------------------------------------------------------------------


def test_given_a_shared_link_when_opened_then_it_redirects_to_a_page_without_the_token(
    client, editor, manager, channel
):
    post = new_post(editor, channel)
    link, shared = share(manager, post)
    token = shared.split("/")[2]

    with override_settings(SESSION_COOKIE_SECURE=False):  # plain http in development
        response = client.get(shared)

    assert response.status_code == 303
    assert response["Location"] == f"/review/{link.pk}/"
    assert token not in response["Location"]
    cookie = response.cookies[f"review_link_{link.pk}"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == f"/review/{link.pk}/"
    assert not cookie["secure"]
    assert 0 < int(cookie["max-age"]) <= 14 * 86400  # as long as the link, no longer
    assert cookie.value != token  # signed for the cookie, not the token as is
    assert_private(response)


@pytest.mark.parametrize(
    "secure_setting, https", [(True, False), (False, True)], ids=["setting", "https"]
)
def test_given_https_or_secure_cookies_when_opened_then_the_cookie_is_secure(
    client, editor, manager, channel, secure_setting, https
):
    link, shared = share(manager, new_post(editor, channel))
    with override_settings(SESSION_COOKIE_SECURE=secure_setting):
        response = client.get(shared, secure=https)
    assert response.cookies[f"review_link_{link.pk}"]["secure"] is True


def test_given_an_opened_link_when_visiting_again_then_the_cookie_alone_shows_the_page(
    client, editor, manager, channel
):
    post = new_post(editor, channel)
    _link, shared = share(manager, post)
    page = client.get(shared)["Location"]

    response = client.get(page)

    assert response.status_code == 200
    assert f'data-post-id="{post.pk}"' in response.content.decode()
    assert shared.split("/")[2] not in response.content.decode()
    assert_private(response)


def test_given_the_page_without_its_cookie_then_it_asks_to_open_the_sent_link_again(
    client, editor, manager, channel
):
    link, _shared = share(manager, new_post(editor, channel))
    response = client.get(f"/review/{link.pk}/")
    assert response.status_code == 403
    assert 'data-testid="link-error"' in response.content.decode()
    assert "Open the review link you were sent once more" in response.content.decode()
    assert_private(response)


def test_given_two_links_opened_in_one_browser_then_each_page_shows_its_own_posts(
    client, editor, manager, channel
):
    first_post, second_post = new_post(editor, channel), new_post(editor, channel)
    _first, first_shared = share(manager, first_post)
    _second, second_shared = share(manager, second_post)
    first_page = client.get(first_shared)["Location"]
    second_page = client.get(second_shared)["Location"]

    first = client.get(first_page).content.decode()
    second = client.get(second_page).content.decode()

    assert f'data-post-id="{first_post.pk}"' in first
    assert f'data-post-id="{second_post.pk}"' not in first
    assert f'data-post-id="{second_post.pk}"' in second


# --- no token in any later request ------------------------------------------------------------


def test_given_a_review_when_approving_and_commenting_then_no_request_after_the_swap_has_the_token(
    client, client_step, editor, manager, channel, caplog
):
    """What an access log would record: the path and query of every request, and what
    django.request logs (it names the path of every 4xx)."""
    post = in_review(editor, channel)
    _link, shared = share(manager, post)
    token = shared.split("/")[2]
    requested: list[str] = []

    def record(sender, environ, **kwargs):
        requested.append(f"{environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')}")

    request_started.connect(record)
    try:
        with caplog.at_level(logging.INFO):
            page = client.get(shared, follow=True)
            client.post(
                page.request["PATH_INFO"],
                {"post": post.pk, "comment": "Lovely", "decision": "comment"},
                follow=True,
            )
            client.post(  # refused (400, logged by django.request): a comment is required
                page.request["PATH_INFO"], {"post": post.pk, "decision": "request_changes"}
            )
            done = client.post(
                page.request["PATH_INFO"], {"post": post.pk, "decision": "approve"}, follow=True
            )
    finally:
        request_started.disconnect(record)

    assert requested[0] == f"{shared}?"
    assert len(requested) == 7
    assert not [line for line in requested[1:] if token in line]
    assert any("Bad Request" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if token in r.getMessage()]
    assert token not in done.content.decode()
    assert refresh(post).status == S.SCHEDULED
    assert PostComment.objects.get(post=post).external_name == "Clara Client"


def test_given_a_page_opened_before_the_swap_when_it_posts_to_the_token_then_nothing_is_done(
    client, client_step, editor, manager, channel
):
    post = in_review(editor, channel)
    _link, shared = share(manager, post)
    response = client.post(shared, {"post": post.pk, "decision": "approve"})
    assert response.status_code == 303
    assert refresh(post).status == S.IN_REVIEW
    assert not ReviewDecision.objects.exists()


# --- refusals -----------------------------------------------------------------------------------


def _garbage(link: ReviewLink, shared: str) -> str:
    return shared[:-4] + ("AAA" if not shared.endswith("AAA/") else "BBB") + "/"


@pytest.mark.parametrize(
    "spoil, status, says",
    [
        ("garbage", 403, "This review link is not valid."),
        ("expired", 410, "This review link has expired."),
        ("revoked", 410, "This review link was revoked."),
    ],
)
def test_given_a_bad_shared_link_then_the_friendly_page_answers_and_no_cookie_is_set(
    client, editor, manager, channel, spoil, status, says
):
    link, shared = share(manager, new_post(editor, channel))
    if spoil == "garbage":
        shared = _garbage(link, shared)
    elif spoil == "revoked":
        review.review_link_revoke(membership=manager, link_id=link.pk)
    with time_machine.travel(NOW + dt.timedelta(days=15 if spoil == "expired" else 0), tick=False):
        response = client.get(shared)
    assert response.status_code == status
    assert 'data-testid="link-error"' in response.content.decode()
    assert says in response.content.decode()
    assert not response.cookies.get(f"review_link_{link.pk}")
    assert_private(response)


@pytest.mark.parametrize("spoil, status", [("expired", 410), ("revoked", 410)])
def test_given_an_opened_link_that_ends_then_its_page_answers_the_friendly_page_and_drops_the_cookie(
    client, client_step, editor, manager, channel, spoil, status
):
    post = in_review(editor, channel)
    link, shared = share(manager, post)
    page = client.get(shared)["Location"]
    if spoil == "revoked":
        review.review_link_revoke(membership=manager, link_id=link.pk)
    name = f"review_link_{link.pk}"
    kept = client.cookies[name].value
    with time_machine.travel(NOW + dt.timedelta(days=15 if spoil == "expired" else 0), tick=False):
        shown = client.get(page)
        assert shown.cookies[name].value == ""  # deleted
        client.cookies[name] = kept  # a browser that kept it anyway
        posted = client.post(page, {"post": post.pk, "decision": "approve"})
    for response in (shown, posted):
        assert response.status_code == status
        assert 'data-testid="link-error"' in response.content.decode()
        assert_private(response)
    assert refresh(post).status == S.IN_REVIEW


@pytest.mark.parametrize(
    "tamper",
    [
        lambda value: value[:-2] + ("xx" if not value.endswith("xx") else "yy"),
        lambda value: "not-even-signed",
        lambda value: "",
    ],
    ids=["signature", "unsigned", "empty"],
)
def test_given_a_tampered_cookie_then_the_friendly_page_answers_not_an_error(
    client, client_step, editor, manager, channel, tamper
):
    post = in_review(editor, channel)
    link, shared = share(manager, post)
    page = client.get(shared)["Location"]
    name = f"review_link_{link.pk}"
    client.cookies[name] = tamper(client.cookies[name].value)

    shown = client.get(page)
    posted = client.post(page, {"post": post.pk, "decision": "approve"})

    for response in (shown, posted):
        assert response.status_code == 403
        assert "This review link is not valid." in response.content.decode()
    assert refresh(post).status == S.IN_REVIEW


def test_given_one_links_cookie_when_posting_to_another_links_page_then_it_is_refused(
    client, client_step, editor, manager, channel
):
    """A browser holding link A's cookie, relabelled as link B's, acts on nothing of B."""
    mine, theirs = in_review(editor, channel), in_review(editor, channel)
    my_link, my_shared = share(manager, mine)
    their_link, _their_shared = share(manager, theirs)
    client.get(my_shared)
    client.cookies[f"review_link_{their_link.pk}"] = client.cookies[
        f"review_link_{my_link.pk}"
    ].value

    response = client.post(
        f"/review/{their_link.pk}/",
        {"post": theirs.pk, "decision": "approve", "comment": "Fine"},
    )
    through_mine = client.post(f"/review/{my_link.pk}/", {"post": theirs.pk, "decision": "approve"})

    assert response.status_code == 403
    assert through_mine.status_code == 400  # not a post of my link (the service says so)
    assert refresh(theirs).status == S.IN_REVIEW
    assert not ReviewDecision.objects.exists()
    assert not PostComment.objects.exists()


def test_given_a_german_reader_then_the_refusal_is_in_german(client, editor, manager, channel):
    link, shared = share(manager, new_post(editor, channel))
    response = client.get(_garbage(link, shared), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 403
    assert "Dieser Freigabelink ist ungültig." in response.content.decode()


# --- guessing ---------------------------------------------------------------------------------


def _guess(client, number: int, **extra):
    return client.get(f"/review/{number}.guess{number}:1abcd:badsignature/", **extra)


def test_given_30_bad_tokens_from_one_address_then_the_next_attempt_is_told_to_wait(
    client, editor, manager, channel
):
    _link, shared = share(manager, new_post(editor, channel))
    for number in range(review.REVIEW_LINK_BAD_ATTEMPTS):
        assert _guess(client, number).status_code == 403

    refused = client.get(shared)  # even a real token: the address is guessing

    assert refused.status_code == 429
    assert 'data-testid="link-error"' in refused.content.decode()
    assert "Please wait 10 minutes and try again." in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= REVIEW_LINK_ATTEMPT_WINDOW_SECONDS
    assert not refused.cookies
    assert_private(refused)
    # Another address is not affected.
    assert client.get(shared, REMOTE_ADDR=OTHER_ADDRESS).status_code == 303


def test_given_a_throttled_address_when_the_window_ends_then_links_open_again(
    client, editor, manager, channel
):
    _link, shared = share(manager, new_post(editor, channel))
    for number in range(review.REVIEW_LINK_BAD_ATTEMPTS):
        _guess(client, number)
    assert client.get(shared).status_code == 429

    later = NOW + dt.timedelta(seconds=REVIEW_LINK_ATTEMPT_WINDOW_SECONDS)
    with time_machine.travel(later, tick=False):
        assert client.get(shared).status_code == 303


def test_given_good_links_and_bookmarked_pages_then_nothing_counts_towards_the_limit(
    client, editor, manager, channel
):
    link, shared = share(manager, new_post(editor, channel))
    for _ in range(review.REVIEW_LINK_BAD_ATTEMPTS + 1):
        assert client.get(shared).status_code == 303
    client.cookies.clear()
    for _ in range(review.REVIEW_LINK_BAD_ATTEMPTS + 1):
        assert client.get(f"/review/{link.pk}/").status_code == 403  # no cookie: no guess
    assert client.get(shared).status_code == 303


def test_given_a_throttled_german_reader_then_the_wait_is_explained_in_german(client, db):
    for number in range(review.REVIEW_LINK_BAD_ATTEMPTS):
        _guess(client, number)
    response = _guess(client, 99, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 429
    text = response.content.decode()
    assert re.search(r"Bitte warten Sie 10 Minuten", text), text
