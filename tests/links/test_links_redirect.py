"""GET /l/<code>: the redirect, counting people's clicks (time and referring host only), bots and
preview fetchers apart, HEAD never, unknown codes 404, and atomic counting under concurrency.
De-duplication by visitor and the per-address limits: tests/links/test_links_unique_clicks.py."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from links.bots import is_bot
from links.models import LinkClick, TrackedLink
from links.ratelimit import redirect_rate_reset
from tests.conftest import require_postgresql
from tests.factories import CampaignFactory, ChannelFactory, PostFactory, WorkspaceFactory

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
TARGET = "https://shop.example/beans?utm_source=mastodon&utm_medium=social#buy"


def make_link(workspace, code: str = "Abc123XyZ9", target: str = TARGET) -> TrackedLink:
    return TrackedLink.objects.create(
        workspace=workspace,
        code=code,
        target_url=target,
        target_hash=code,
        post=PostFactory(workspace=workspace),
        channel=ChannelFactory(workspace=workspace),
        campaign=CampaignFactory(workspace=workspace),
    )


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    """The test client's address starts every test with no requests counted this minute."""
    redirect_rate_reset("127.0.0.1")
    yield
    redirect_rate_reset("127.0.0.1")


@pytest.fixture
def link(db):
    return make_link(WorkspaceFactory())


def short(code: str) -> str:
    return reverse("links:redirect", kwargs={"code": code})


def test_the_short_link_path_is_l_and_the_code():
    assert short("Abc123XyZ9") == "/l/Abc123XyZ9"


def test_given_a_person_when_following_then_302_to_the_stored_target_and_one_click(client, link):
    response = client.get(
        short(link.code),
        headers={"User-Agent": CHROME, "Referer": "https://mastodon.social/@acme/1234?x=y"},
    )

    assert response.status_code == 302
    assert response["Location"] == TARGET
    assert "no-store" in response["Cache-Control"]
    link.refresh_from_db()
    assert (link.clicks, link.bot_clicks) == (1, 0)
    click = LinkClick.objects.get()
    assert (click.link, click.workspace_id) == (link, link.workspace_id)
    assert click.referrer_host == "mastodon.social"  # the host only: no path, no query
    assert abs(click.clicked_at - timezone.now()) < dt.timedelta(seconds=5)


def test_a_click_stores_no_ip_address_and_no_user_agent(client, link):
    client.get(short(link.code), headers={"User-Agent": CHROME}, REMOTE_ADDR="203.0.113.7")

    stored = [str(value) for value in LinkClick.objects.values().get().values()]
    assert not any("203.0.113.7" in value or "Chrome" in value for value in stored)
    assert {f.name for f in LinkClick._meta.concrete_fields} == {
        "id",
        "link",
        "workspace",
        "clicked_at",
        "referrer_host",
        "is_unique",
    }


def test_given_no_referrer_then_the_click_has_an_empty_referrer_host(client, link):
    client.get(short(link.code), headers={"User-Agent": CHROME})
    assert LinkClick.objects.get().referrer_host == ""


def test_given_a_garbled_referrer_then_the_click_still_counts(client, link):
    client.get(short(link.code), headers={"User-Agent": CHROME, "Referer": "http://[::1"})
    assert LinkClick.objects.get().referrer_host == ""


def test_every_click_counts_and_a_visitors_repeats_are_not_unique(client, link):
    for _ in range(3):
        client.get(short(link.code), headers={"User-Agent": CHROME})
    link.refresh_from_db()
    assert link.clicks == 3 == LinkClick.objects.count()
    assert link.unique_clicks == 1 == LinkClick.objects.filter(is_unique=True).count()


BOTS = [
    "",
    "   ",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "http.rb/5.1.1 (Mastodon/4.2.8; +https://mastodon.social/) Bot",
    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Pinterestbot/1.0 (+http://www.pinterest.com/bot.html)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
    "curl/8.5.0",
    "Wget/1.21.4",
    "python-requests/2.32.3",
    "Python-urllib/3.11",
    "python-httpx/0.27.0",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Iframely/1.3.1 (+https://iframely.com/docs/about)",
    "redditbot/1.0",
]

PEOPLE = [
    CHROME,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    # in-app browsers of the networks are people
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Instagram 326.0.3.30.91 (iPhone15,2; iOS 17_4; de_DE; de; "
    "scale=3.00; 1179x2556; 591316233)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0.0.38.108;FBBV/588338006;FBDV/iPhone15,2]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 LinkedInApp/9.29.7803",
    # a phone brand with "bot" in its name
    "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.210 Mobile Safari/537.36",
]


@pytest.mark.parametrize("user_agent", BOTS)
def test_bots_are_recognised(user_agent):
    assert is_bot(user_agent)


@pytest.mark.parametrize("user_agent", PEOPLE)
def test_people_are_not_taken_for_bots(user_agent):
    assert not is_bot(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        "facebookexternalhit/1.1",
        "http.rb/5.1.1 (Mastodon/4.2.8; +https://mastodon.social/) Bot",
        "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
        "",
    ],
)
def test_given_a_bot_when_following_then_redirected_but_counted_only_as_a_bot(
    client, link, user_agent
):
    response = client.get(short(link.code), headers={"User-Agent": user_agent})

    assert response.status_code == 302
    assert response["Location"] == TARGET
    link.refresh_from_db()
    assert (link.clicks, link.bot_clicks) == (0, 1)
    assert not LinkClick.objects.exists()


def test_given_no_user_agent_header_at_all_then_a_bot(client, link):
    client.get(short(link.code))
    link.refresh_from_db()
    assert (link.clicks, link.bot_clicks) == (0, 1)


def test_given_a_head_request_then_redirected_and_nothing_counted(client, link):
    response = client.head(short(link.code), headers={"User-Agent": CHROME})

    assert response.status_code == 302
    assert response["Location"] == TARGET
    link.refresh_from_db()
    assert (link.clicks, link.bot_clicks) == (0, 0)
    assert not LinkClick.objects.exists()


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_refused_and_not_counted(client, link, method):
    response = getattr(client, method)(short(link.code), headers={"User-Agent": CHROME})
    assert response.status_code == 405
    link.refresh_from_db()
    assert (link.clicks, link.bot_clicks) == (0, 0)


@pytest.mark.parametrize("code", ["Nope000000", "abc123xyz9", "x", "A" * 40, "%2Fevil.example"])
def test_given_an_unknown_code_then_a_404_page_and_nothing_counted(client, link, code):
    response = client.get(f"/l/{code}", headers={"User-Agent": CHROME})

    assert response.status_code == 404
    assert 'data-testid="link-not-found"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    link.refresh_from_db()
    assert link.clicks == 0


def test_codes_are_case_sensitive(client, link):
    """abc123xyz9 is another code than Abc123XyZ9 (base62), on every database."""
    assert client.get(short(link.code.lower())).status_code == 404
    assert client.get(short(link.code)).status_code == 302


def test_no_login_is_needed_and_no_session_is_made(client, link):
    response = client.get(short(link.code), headers={"User-Agent": CHROME})
    assert response.status_code == 302
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies


def test_the_target_is_only_ever_what_was_stored(client, link):
    """No parameter of the request can change where the redirect goes (no open redirect)."""
    response = client.get(
        short(link.code) + "?next=https://evil.example&url=https://evil.example",
        headers={"User-Agent": CHROME, "Host": "testserver"},
    )
    assert response["Location"] == TARGET


def test_another_workspaces_link_counts_for_that_workspace_only(client, link):
    other = make_link(WorkspaceFactory(), code="Other00000", target="https://other.example/")

    response = client.get(short(other.code), headers={"User-Agent": CHROME})

    assert response["Location"] == "https://other.example/"
    link.refresh_from_db()
    other.refresh_from_db()
    assert (link.clicks, other.clicks) == (0, 1)
    assert LinkClick.objects.get().workspace_id == other.workspace_id


def test_the_redirect_costs_four_queries_for_a_person_and_two_for_a_bot(
    client, link, django_assert_num_queries
):
    # the link; then the visitor, the counters and the click (inside the test's transaction
    # the atomic block adds a savepoint and its release), the same for a repeat click
    for _first_then_repeat in range(2):
        with django_assert_num_queries(6):
            client.get(short(link.code), headers={"User-Agent": CHROME})
    with django_assert_num_queries(2):
        client.get(short(link.code), headers={"User-Agent": "Twitterbot/1.0"})
    with django_assert_num_queries(1):
        client.head(short(link.code), headers={"User-Agent": CHROME})


# --- concurrency: real commits from several connections at once ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_are_all_counted(client):
    require_postgresql("concurrent writers (SQLite serialises the whole database)")
    link = make_link(WorkspaceFactory())
    threads, per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def clicker(number: int, bot: bool) -> None:
        from django.test import Client

        try:
            browser = Client(REMOTE_ADDR=f"198.51.100.{number + 1}")  # one visitor per thread
            start.wait()
            for _ in range(per_thread):
                agent = "Twitterbot/1.0" if bot else CHROME
                response = browser.get(short(link.code), headers={"User-Agent": agent})
                assert response.status_code == 302
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    for number in range(threads):
        redirect_rate_reset(f"198.51.100.{number + 1}")
    workers = [threading.Thread(target=clicker, args=(i, i % 4 == 0)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert not errors
    link.refresh_from_db()
    bots = 2 * per_thread  # threads 0 and 4
    assert link.bot_clicks == bots
    assert link.clicks == threads * per_thread - bots
    assert LinkClick.objects.filter(link=link).count() == link.clicks
    assert link.unique_clicks == threads - 2  # one per human visitor
    assert LinkClick.objects.filter(link=link, is_unique=True).count() == threads - 2
