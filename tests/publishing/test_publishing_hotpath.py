"""The publish hot path's plumbing: prepared statements on PostgreSQL, the asynchronous commit of
the result write (never of a caller's transaction), the dispatcher refreshing stale statistics
after a burst, and the HTTP session reading the environment once per host."""

from __future__ import annotations

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from publishing import dispatch, prepared, ratelimit, services
from publishing.adapters import http
from publishing.adapters.recording import RecordingAdapter
from publishing.models import Delivery, DeliveryState
from tests.conftest import require_postgresql
from tests.publishing_helpers import RECORDING, connected_channel, due_post, no_approval

D = DeliveryState


@pytest.fixture
def postgresql():
    # SQLite has neither prepared statements nor an asynchronous commit: nothing to check there.
    require_postgresql("prepared statements and the asynchronous result commit")


@pytest.fixture
def engine(settings, workspace):
    settings.PUBLISHING_ADAPTERS = {"mastodon": RECORDING}
    settings.PUBLISHING_RATE_LIMITS = {"default": (1000, 1000)}
    RecordingAdapter.reset()
    no_approval(workspace)
    yield
    RecordingAdapter.reset()


@pytest.fixture
def channel(workspace, engine):
    channel = connected_channel(workspace, name="Acme Mastodon")
    ratelimit.rate_reset(channel_id=channel.pk)
    return channel


@pytest.fixture
def queued(monkeypatch, workspace, channel):
    """queued(n): n due posts dispatched; their (delivery id, job), as the tasks would get them."""

    def make(count: int = 1) -> list[tuple[int, int]]:
        for _ in range(count):
            due_post(workspace, [channel])
        sent: list[tuple[int, int]] = []
        monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: sent.extend(taken))
        dispatch.deliveries_dispatch_due()
        if connection.in_atomic_block:  # the tasks are sent on commit
            for callback in connection.run_on_commit:
                callback[1]()
            connection.run_on_commit.clear()
        return [(pk, job) for pk, job, _run_at in sent]

    return make


def _prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


# --- prepared statements --------------------------------------------------------------------------


def test_given_postgresql_when_publishing_then_the_two_statements_are_prepared_once(
    postgresql, queued
):
    (first, second) = queued(2)
    services.delivery_publish(delivery_id=first[0], job=first[1], worker="w1")
    statements = _prepared_statements()

    (claim,) = [s for s in statements if "WITH claimed AS" in s]
    assert 'AS "variant_json"' in claim  # the claim reads what publishing needs as it claims
    assert any("WITH moved AS" in s for s in statements)

    services.delivery_publish(delivery_id=second[0], job=second[1], worker="w1")
    assert _prepared_statements() == statements  # the same statements, run with new parameters
    assert Delivery.objects.filter(state=D.PUBLISHED).count() == 2


def test_given_a_transaction_pooler_setting_then_nothing_is_prepared(
    postgresql, queued, monkeypatch
):
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    ((pk, job),) = queued(1)
    before = _prepared_statements()

    assert services.delivery_publish(delivery_id=pk, job=job, worker="w1") == "published"
    assert _prepared_statements() == before
    assert prepared.enabled() is False


def test_given_django_turned_preparing_off_then_its_own_queries_stay_unprepared(postgresql, queued):
    ((pk, job),) = queued(1)
    services.delivery_publish(delivery_id=pk, job=job, worker="w1")
    before = _prepared_statements()

    for _ in range(10):  # more than psycopg's usual threshold of 5
        list(Delivery.objects.filter(pk=pk).values_list("state", flat=True))

    assert _prepared_statements() == before


# --- the result's commit --------------------------------------------------------------------------


def _result_statement(queries) -> str:
    return next(q["sql"] for q in queries if "WITH moved AS" in q["sql"])


@pytest.mark.django_db(transaction=True)
def test_given_no_transaction_when_the_result_is_written_then_only_that_commit_is_asynchronous(
    postgresql, queued
):
    ((pk, job),) = queued(1)

    with CaptureQueriesContext(connection) as captured:
        assert services.delivery_publish(delivery_id=pk, job=job, worker="w1") == "published"

    claim = next(q["sql"] for q in captured.captured_queries if "WITH claimed AS" in q["sql"])
    assert "synchronous_commit" not in claim  # the claim must be durable before the call
    assert "set_config('synchronous_commit', 'off', true)" in _result_statement(
        captured.captured_queries
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # nothing leaks into the session
    delivery = Delivery.objects.get(pk=pk)
    assert (delivery.state, delivery.reconcile) == (D.PUBLISHED, False)


def test_given_a_callers_transaction_when_the_result_is_written_then_it_stays_synchronous(
    postgresql, queued
):
    ((pk, job),) = queued(1)

    with CaptureQueriesContext(connection) as captured:
        services.delivery_publish(delivery_id=pk, job=job, worker="w1")

    assert "synchronous_commit" not in _result_statement(captured.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


# --- statistics after a burst ---------------------------------------------------------------------


def _planner_rows() -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Delivery._meta.db_table]
        )
        return cursor.fetchone()[0]


def _analyzed(count: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
    assert _planner_rows() == count


@pytest.mark.django_db(transaction=True)
def test_given_a_burst_of_new_deliveries_then_the_dispatcher_refreshes_the_statistics(
    postgresql, workspace, channel
):
    _analyzed(0)
    for _ in range(dispatch.STALE_ROWS + 3):
        due_post(workspace, [channel])

    dispatch.deliveries_sync()

    assert Delivery.objects.count() == dispatch.STALE_ROWS + 3
    assert _planner_rows() == dispatch.STALE_ROWS + 3


@pytest.mark.django_db(transaction=True)
def test_given_a_few_new_deliveries_then_the_statistics_are_left_to_autovacuum(
    postgresql, workspace, channel
):
    _analyzed(0)
    for _ in range(3):
        due_post(workspace, [channel])

    dispatch.deliveries_sync()

    assert Delivery.objects.count() == 3
    assert _planner_rows() == 0


def test_given_a_callers_transaction_then_the_dispatcher_does_not_analyze(
    postgresql, workspace, channel
):
    before = _planner_rows()
    for _ in range(dispatch.STALE_ROWS + 3):
        due_post(workspace, [channel])

    dispatch.deliveries_sync()  # inside the test's transaction

    assert Delivery.objects.count() == dispatch.STALE_ROWS + 3
    assert _planner_rows() == before


def _claim_plan(pk: int, job: int) -> str:
    from django.utils import timezone

    claim = services._CompiledClaim(connection.alias)
    read = list(claim.params)
    read[claim.id_at] = pk
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN " + claim.sql, [D.PUBLISHING, now, now, pk, job, D.QUEUED, now, "w1", *read]
        )
        return "\n".join(row[0] for row in cursor.fetchall())


def test_given_statistics_that_say_nothing_is_queued_then_the_claim_finds_its_row_by_primary_key(
    postgresql, workspace, channel, monkeypatch, django_capture_on_commit_callbacks
):
    """A moment into a burst (or in a large table) the statistics say next to nothing is
    queued; the claim must not then walk the (state, run_at) index past every queued row."""
    for _ in range(300):
        due_post(workspace, [channel])
    dispatch.deliveries_sync()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Delivery._meta.db_table}")  # 300 pending, nothing queued
    sent: list = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: sent.extend(taken))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _run_at = sent[-1]

    plan = _claim_plan(pk, job)

    assert "delivery_state_run" not in plan
    assert plan.count("publishing_delivery_pkey") == 2  # the compare-and-set and the read


# --- the HTTP session and the environment ---------------------------------------------------------


@pytest.fixture
def proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        for variant in (name, name.lower()):
            monkeypatch.delenv(variant, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("NO_PROXY", "direct.example.test")


def _merged(session, url: str, proxies=None) -> dict:
    return session.merge_environment_settings(url, proxies or {}, None, None, None)


def test_given_proxy_variables_then_they_apply_as_requests_applies_them(proxy_env):
    session = http.session(platform="mastodon")

    proxied = _merged(session, "https://social.example.test/api")["proxies"]
    assert proxied["https"] == "http://proxy.example.test:3128"
    assert _merged(session, "https://direct.example.test/api")["proxies"] == {}
    explicit = _merged(session, "https://social.example.test/api", {"https": "http://p2:1"})
    assert explicit["proxies"]["https"] == "http://p2:1"


def test_given_many_calls_to_one_host_then_the_environment_is_read_once(proxy_env, monkeypatch):
    reads = []
    original = requests.sessions.get_environ_proxies

    def counting(url, no_proxy=None):
        reads.append(url)
        return original(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    session = http.session(platform="mastodon")

    for path in ("/a", "/b", "/c"):
        merged = _merged(session, "https://social.example.test" + path)
        merged["proxies"]["https"] = "changed by a caller"  # a copy: the cache is unharmed
    _merged(session, "https://other.example.test/a")

    assert reads == ["https://social.example.test/a", "https://other.example.test/a"]
    again = _merged(session, "https://social.example.test/d")["proxies"]
    assert again["https"] == "http://proxy.example.test:3128"


# --- the HTTP session's short way for plain calls ------------------------------------------------


@pytest.fixture
def recorder():
    """A local HTTP server that records every request (method, path, headers, body) and answers
    by path: /see-other -> 303 to /ok, /temporary -> 307 to /ok, /cookie sets a cookie."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict] = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": self.rfile.read(length) if length else b"",
                }
            )
            redirects = {"/see-other": 303, "/temporary": 307}
            self.send_response(redirects.get(self.path, 200))
            if self.path in redirects:
                self.send_header("Location", "/ok")
            if self.path == "/cookie":
                self.send_header("Set-Cookie", "session=abc; Path=/")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _plain_requests_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = http.USER_AGENT
    return session


@pytest.mark.parametrize("path", ["/ok", "/see-other", "/temporary"])
def test_given_a_plain_form_post_then_the_wire_is_what_requests_sends(recorder, path, monkeypatch):
    base, seen = recorder
    short_way_only = lambda *args, **kwargs: pytest.fail("took requests' long way")  # noqa: E731
    monkeypatch.setattr(http.PlatformSession, "prepare_request", short_way_only)
    data = {"status": "Grüße & more", "media_ids[]": ["1", "2"], "language": None}
    headers = {"Authorization": "Bearer t", "Idempotency-Key": "k-1", "Accept": None}

    ours = http.session(platform="mastodon").request(
        "POST", base + path, data=data, headers=headers
    )
    ours_seen = list(seen)
    seen.clear()
    theirs = _plain_requests_session().request("POST", base + path, data=data, headers=headers)

    assert (ours.status_code, ours.json(), ours.url) == (
        theirs.status_code,
        theirs.json(),
        theirs.url,
    )
    assert len(ours.history) == len(theirs.history)
    assert ours_seen == seen  # method, path, every header and the body, redirects included
    assert (
        ours_seen[0]["body"]
        == b"status=Gr%C3%BC%C3%9Fe+%26+more&media_ids%5B%5D=1&media_ids%5B%5D=2"
    )


def test_given_a_cookie_from_the_server_then_it_is_kept_and_sent_back(recorder):
    base, seen = recorder
    session = http.session(platform="mastodon")

    session.request("POST", base + "/cookie", data={"a": "1"})
    session.request("DELETE", base + "/ok")

    assert session.cookies.get("session") == "abc"
    assert seen[-1]["headers"]["cookie"] == "session=abc"


def test_given_a_header_with_a_line_break_then_refused_like_requests(recorder):
    base, _seen = recorder

    with pytest.raises(requests.exceptions.InvalidHeader):
        http.session(platform="mastodon").request(
            "POST", base + "/ok", data={"a": "1"}, headers={"Authorization": "Bearer t\r\nX: y"}
        )
