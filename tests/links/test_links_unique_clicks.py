"""Short-link clicks that cannot be inflated: a visitor (client address + user agent, as a daily
keyed hash) counts once per link and UTC day, the raw count stops at a per-address limit, far
beyond it the redirect answers 429, and nothing stored names the address or the user agent."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
import threading

import pytest
import time_machine
from django.conf import settings as project
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, RequestFactory, override_settings

from accounts.throttle import client_address, normalized_address
from config.celery import app
from links import tasks
from links.models import LinkClick, LinkVisitor, TrackedLink
from links.ratelimit import redirect_rate_reset
from links.services import link_visitors_purge
from links.visitors import visitor_hash
from tests.conftest import require_postgresql, skip_or_fail
from tests.factories import WorkspaceFactory
from tests.links.test_links_redirect import CHROME, make_link, short

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
# 10:00:15 UTC: a minute's window has 45 seconds to go.
NOW = dt.datetime(2026, 11, 20, 10, 0, 15, tzinfo=dt.UTC)


@pytest.fixture(params=["redis", "cache"])
def limiter(request):
    """The per-address counters in Redis (as deployed) and in Django's cache (no Redis)."""
    if request.param == "redis":
        if not project.PUBLISHING_REDIS_URL:
            skip_or_fail(
                "the Redis variant of the per-address counters needs Redis: set "
                "CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (the default; the cache variant runs "
                "without it)",
                required_by="REQUIRE_REDIS",
            )
        url = project.PUBLISHING_REDIS_URL
    else:
        url = ""
    with override_settings(LINKS_REDIS_URL=url):
        yield request.param


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def new_address():
    """A fresh client address (a random IPv4 in 198.18.0.0/15, or an IPv6 in 2001:db8::/32)
    whose counter this minute is reset, whatever earlier runs left in Redis."""

    def make(v6: bool = False) -> str:
        if v6:
            address = f"2001:db8:{secrets.randbelow(65536):x}:{secrets.randbelow(65536):x}::7"
        else:
            address = f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        redirect_rate_reset(normalized_address(address))
        return address

    return make


@pytest.fixture
def link(db):
    return make_link(WorkspaceFactory())


def follow(client, link, address: str, *, agent: str = CHROME, method: str = "get", **headers):
    return getattr(client, method)(
        short(link.code), headers={"User-Agent": agent, **headers}, REMOTE_ADDR=address
    )


def counts(link) -> tuple[int, int, int]:
    link.refresh_from_db()
    return link.clicks, link.unique_clicks, link.bot_clicks


# --- de-duplication -------------------------------------------------------------------------------


def test_given_one_visitor_when_51_gets_in_a_minute_then_one_unique_click_and_raw_clicks_stop_at_the_limit(
    client, link, limiter, frozen, new_address
):
    """The issue's case: 51 GETs from one client raised a link from 14 to 65 clicks."""
    TrackedLink.objects.filter(pk=link.pk).update(clicks=14, unique_clicks=14)
    address = new_address()

    statuses = {follow(client, link, address).status_code for _ in range(51)}

    assert statuses == {302}  # every one is redirected
    limit = project.LINKS_RATE_COUNT_PER_MINUTE
    assert limit == 30
    assert counts(link) == (14 + limit, 14 + 1, 0)  # 30 raw clicks, 1 unique
    assert LinkClick.objects.filter(link=link).count() == limit
    assert LinkClick.objects.filter(link=link, is_unique=True).count() == 1
    assert LinkVisitor.objects.filter(link=link).count() == 1


def test_given_two_visitors_then_two_unique_clicks(client, link, frozen, new_address):
    first, second = new_address(), new_address()

    follow(client, link, first)
    follow(client, link, second)
    follow(client, link, first)

    assert counts(link) == (3, 2, 0)


def test_the_same_address_with_another_browser_is_another_visitor(
    client, link, frozen, new_address
):
    address = new_address()

    follow(client, link, address, agent=CHROME)
    follow(client, link, address, agent=FIREFOX)

    assert counts(link) == (2, 2, 0)


def test_a_visitor_counts_once_on_each_link(client, link, frozen, new_address):
    other = make_link(link.workspace, code="Other00000", target="https://other.example/")
    address = new_address()

    for _ in range(2):
        follow(client, link, address)
        follow(client, other, address)

    assert counts(link) == (2, 1, 0)
    assert counts(other) == (2, 1, 0)


def test_given_the_next_utc_day_then_the_same_visitor_counts_again(client, link, new_address):
    with time_machine.travel(dt.datetime(2026, 11, 20, 23, 59, 50, tzinfo=dt.UTC), tick=False):
        address = new_address()
        follow(client, link, address)
        follow(client, link, address)
    with time_machine.travel(dt.datetime(2026, 11, 21, 0, 0, 10, tzinfo=dt.UTC), tick=False):
        redirect_rate_reset(address)
        follow(client, link, address)

    assert counts(link) == (3, 2, 0)
    days = sorted(LinkVisitor.objects.values_list("day", flat=True))
    assert days == [dt.date(2026, 11, 20), dt.date(2026, 11, 21)]
    first, second = LinkVisitor.objects.order_by("day").values_list("visitor", flat=True)
    assert first != second  # yesterday's hash does not link to today's


def test_a_head_request_counts_nothing_and_records_no_visitor(client, link, frozen, new_address):
    address = new_address()

    assert follow(client, link, address, method="head").status_code == 302
    assert counts(link) == (0, 0, 0)
    assert not LinkVisitor.objects.exists()

    follow(client, link, address)
    assert counts(link) == (1, 1, 0)  # the GET after it is still the visitor's first click


@pytest.mark.parametrize("agent", ["Twitterbot/1.0", "curl/8.5.0", ""])
def test_bots_still_count_only_as_bots_and_never_as_visitors(
    client, link, frozen, new_address, agent
):
    address = new_address()

    for _ in range(3):
        follow(client, link, address, agent=agent)

    assert counts(link) == (0, 0, 3)
    assert not LinkVisitor.objects.exists()
    assert not LinkClick.objects.exists()


def test_an_ipv6_client_is_one_visitor_across_its_64(client, link, frozen, new_address):
    address = new_address(v6=True)
    neighbour = address.removesuffix("::7") + ":1:2:3:4"  # same /64, another interface id

    follow(client, link, address)
    follow(client, link, neighbour)

    assert counts(link) == (2, 1, 0)


def test_the_visitor_hash_is_an_hmac_keyed_by_the_secret_key_and_the_day():
    day = dt.date(2026, 11, 20)
    plain = hashlib.sha256(f"203.0.113.7\n{CHROME}".encode()).hexdigest()

    today = visitor_hash(address="203.0.113.7", user_agent=CHROME, day=day)
    with override_settings(SECRET_KEY="another-installation-" + "x" * 40):
        elsewhere = visitor_hash(address="203.0.113.7", user_agent=CHROME, day=day)

    assert len(today) == 64 and int(today, 16) >= 0  # HMAC-SHA256, hex
    assert today == visitor_hash(address="203.0.113.7", user_agent=CHROME, day=day)
    assert today != visitor_hash(address="203.0.113.7", user_agent=CHROME, day=day.replace(day=21))
    assert today != visitor_hash(address="203.0.113.8", user_agent=CHROME, day=day)
    assert today not in {elsewhere, plain}  # nobody without the key can test a guess


def test_no_address_and_no_user_agent_is_stored_anywhere_in_the_database(
    client, link, frozen, new_address
):
    v4, v6 = new_address(), new_address(v6=True)
    agent = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/125.0 Zwieback/9.9"
    for address in (v4, v6):
        follow(client, link, address, agent=agent, Referer="https://mastodon.social/@a/1")
    assert counts(link) == (2, 2, 0)

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)  # every table of every app
    text = dump.getvalue()

    assert "mastodon.social" in text  # the referring host is stored, and found by the search
    for secret in (v4, v6, normalized_address(v6), v6.split("::")[0], agent, "Zwieback"):
        assert secret not in text
    assert all(len(v) == 64 for v in LinkVisitor.objects.values_list("visitor", flat=True))


# --- the per-address limits -------------------------------------------------------------------------


@override_settings(LINKS_RATE_COUNT_PER_MINUTE=3, LINKS_RATE_REFUSE_PER_MINUTE=5)
def test_beyond_the_refuse_limit_then_429_with_retry_after_until_the_minute_ends(
    client, link, limiter, frozen, new_address, django_assert_num_queries
):
    address = new_address()

    statuses = [follow(client, link, address).status_code for _ in range(5)]
    with django_assert_num_queries(0):
        refused = follow(client, link, address)

    assert statuses == [302] * 5
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"  # 10:00:15 -> the window ends at 10:01:00
    assert "no-store" in refused["Cache-Control"]
    assert 'data-testid="link-too-many"' in refused.content.decode()
    assert "Location" not in refused
    assert counts(link) == (3, 1, 0)

    frozen.shift(dt.timedelta(seconds=45))  # 10:01:00: a new minute
    assert follow(client, link, address).status_code == 302
    assert counts(link) == (4, 1, 0)


@override_settings(LINKS_RATE_COUNT_PER_MINUTE=2, LINKS_RATE_REFUSE_PER_MINUTE=100)
def test_over_the_counting_limit_nothing_counts_not_even_a_bot_and_it_costs_one_query(
    client, link, frozen, new_address, django_assert_num_queries
):
    address = new_address()
    follow(client, link, address)
    follow(client, link, address, agent="Twitterbot/1.0")

    with django_assert_num_queries(1):  # the link, to redirect
        assert follow(client, link, address).status_code == 302
    follow(client, link, address, agent="Twitterbot/1.0")

    assert counts(link) == (1, 1, 1)


@override_settings(LINKS_RATE_COUNT_PER_MINUTE=1, LINKS_RATE_REFUSE_PER_MINUTE=2)
def test_the_limits_are_per_address(client, link, limiter, frozen, new_address):
    busy, calm = new_address(), new_address()
    for _ in range(3):
        follow(client, link, busy)

    assert follow(client, link, busy).status_code == 429
    assert follow(client, link, calm).status_code == 302
    assert counts(link) == (2, 2, 0)


@override_settings(LINKS_RATE_COUNT_PER_MINUTE=1, LINKS_RATE_REFUSE_PER_MINUTE=2)
def test_unknown_codes_use_up_the_limit_too(client, link, frozen, new_address):
    """Guessing codes costs the guesser its minute."""
    address = new_address()
    for code in ("Guess00001", "Guess00002"):
        assert client.get(f"/l/{code}", REMOTE_ADDR=address).status_code == 404

    assert follow(client, link, address).status_code == 429


def test_given_redis_not_answering_then_the_redirect_still_counts(client, link, new_address):
    address = new_address()  # its counter is reset while Redis still answers
    with override_settings(LINKS_REDIS_URL="redis://127.0.0.1:1/0"):  # nothing listens there
        response = follow(client, link, address)

    assert response.status_code == 302
    assert counts(link) == (1, 1, 0)


# --- the client's address ---------------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/l/x", **extra)


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("203.0.113.7", None, 0, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", 0, "203.0.113.7"),  # off by default: header ignored
        ("10.0.0.2", "198.51.100.1", 1, "198.51.100.1"),  # behind one proxy
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", 1, "198.51.100.1"),  # spoofed entry ignored
        ("10.0.0.3", "6.6.6.6, 198.51.100.1, 10.0.0.2", 2, "198.51.100.1"),  # two proxies
        ("10.0.0.2", "198.51.100.1", 2, "10.0.0.2"),  # too few entries: not via the proxies
        ("10.0.0.2", "not-an-address", 1, "10.0.0.2"),
        ("10.0.0.2", "", 1, "10.0.0.2"),
        ("2001:db8:1:2:aaaa::1", None, 0, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", None, 0, "203.0.113.7"),
        ("garbage", None, 0, ""),
    ],
)
def test_the_client_address(remote, forwarded, proxies, expected):
    with override_settings(LINKS_TRUSTED_PROXY_COUNT=proxies):
        assert client_address(request_from(remote, forwarded)) == expected


def test_by_default_x_forwarded_for_cannot_make_one_client_many_visitors(
    client, link, frozen, new_address
):
    address = new_address()

    for n in range(3):
        follow(client, link, address, **{"X-Forwarded-For": f"198.51.100.{n + 1}"})

    assert counts(link) == (3, 1, 0)


# --- purging the visitor hashes ---------------------------------------------------------------------


def test_the_purge_deletes_the_visitor_hashes_of_past_days_only(link):
    for day in (dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)):
        LinkVisitor.objects.create(link=link, day=day, visitor=f"{day:%d}" * 32)

    # 00:30 UTC on the 20th (01:30 in Berlin): only the UTC day counts
    deleted = link_visitors_purge(now=dt.datetime(2026, 11, 20, 0, 30, tzinfo=dt.UTC))

    assert deleted == 2
    assert list(LinkVisitor.objects.values_list("day", flat=True)) == [dt.date(2026, 11, 20)]


def test_the_purge_runs_hourly_from_beat_with_an_expiry(link):
    entries = [
        e for e in app.conf.beat_schedule.values() if e["task"] == "links.tasks.link_visitors_purge"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"] == 3600
    assert 0 < entries[0]["options"]["expires"] < entries[0]["schedule"]
    LinkVisitor.objects.create(link=link, day=dt.date(2020, 1, 1), visitor="a" * 64)

    assert tasks.link_visitors_purge.apply().get() == 1
    assert not LinkVisitor.objects.exists()


# --- existing clicks --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_older_click_as_a_unique_click():
    workspace = WorkspaceFactory()
    executor = MigrationExecutor(connection)
    executor.migrate([("links", "0001_initial")])
    old = executor.loader.project_state([("links", "0001_initial")]).apps
    old_link = old.get_model("links", "TrackedLink").objects.create(
        workspace_id=workspace.pk, code="Old0000001", target_url="https://x.test/", clicks=3
    )
    old.get_model("links", "LinkClick").objects.bulk_create(
        old.get_model("links", "LinkClick")(
            link_id=old_link.pk, workspace_id=workspace.pk, clicked_at=NOW
        )
        for _ in range(3)
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("links"))

    link = TrackedLink.objects.get(pk=old_link.pk)
    assert (link.clicks, link.unique_clicks) == (3, 3)
    assert LinkClick.objects.filter(link=link, is_unique=True).count() == 3


# --- concurrency: real commits from several connections at once -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_one_visitor_clicking_from_many_connections_at_once_counts_one_unique_click():
    require_postgresql("concurrent writers (SQLite serialises the whole database)")
    link = make_link(WorkspaceFactory())
    address = "198.51.100.99"
    redirect_rate_reset(address)
    threads, per_thread = 8, 3  # 24 clicks, within the per-minute counting limit
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def clicker() -> None:
        try:
            browser = Client(REMOTE_ADDR=address)
            start.wait()
            for _ in range(per_thread):
                response = browser.get(short(link.code), headers={"User-Agent": CHROME})
                assert response.status_code == 302
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=clicker) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    redirect_rate_reset(address)

    assert not errors
    assert counts(link) == (threads * per_thread, 1, 0)
    assert LinkClick.objects.filter(link=link, is_unique=True).count() == 1
