"""The shared HTTP helper: session timeouts and network errors, status mapping, retry-after
parsing and secret scrubbing."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
import requests
import responses
import time_machine
from django.test import override_settings

from publishing.adapters import http
from publishing.adapters.base import (
    AuthExpired,
    PermanentError,
    PermissionMissing,
    RateLimited,
    TransientError,
)

URL = "https://api.example.test/v1/things"
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def session():
    return http.session(platform="mastodon", timeout=3)


@responses.activate
def test_given_timeout_when_requesting_then_transient_error_without_secrets(session):
    responses.add(responses.GET, URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(TransientError) as caught:
        session.get(URL + "?access_token=SECRET123", headers=http.bearer("SECRET123"))

    assert "did not answer in time" in caught.value.message
    assert "SECRET123" not in caught.value.detail
    assert caught.value.__cause__ is None


@responses.activate
def test_given_connection_dropped_when_requesting_then_transient_error(session):
    responses.add(responses.POST, URL, body=requests.ConnectionError("reset by peer"))

    with pytest.raises(TransientError) as caught:
        session.post(URL, headers=http.bearer("SECRET123"))

    assert "could not be reached" in caught.value.message


@responses.activate
def test_given_no_timeout_passed_when_requesting_then_session_default_applies(session):
    responses.add(responses.GET, URL, json={})

    session.get(URL)

    assert responses.calls[0].request.req_kwargs["timeout"] == 3


@pytest.mark.parametrize(
    ("status", "body", "error_type", "message_part"),
    [
        (401, {"error": "The access token is invalid"}, AuthExpired, "has expired"),
        (500, "oops", TransientError, "temporary problem (HTTP 500)"),
        (503, {}, TransientError, "temporary problem (HTTP 503)"),
        (422, {"error": "Validation failed: Text too long"}, PermanentError, "Text too long"),
        (403, {"error": {"message": "Permissions error", "code": 200}}, PermanentError, "Perm"),
        (400, {"errors": [{"message": "Bad media"}]}, PermanentError, "Bad media"),
        (404, "", PermanentError, "refused the request (HTTP 404)"),
        (429, {}, RateLimited, "slow down"),
    ],
)
@responses.activate
def test_given_error_status_when_raising_then_mapped(status, body, error_type, message_part):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.add(responses.POST, URL, status=status, **kwargs)
    response = requests.post(URL)

    with pytest.raises(error_type) as caught:
        http.raise_for_platform(response, platform="mastodon")

    assert type(caught.value) is error_type
    assert message_part in caught.value.message
    assert caught.value.status == status
    assert caught.value.detail.startswith(f"HTTP {status} POST api.example.test/v1/things")


@pytest.mark.parametrize(
    ("body", "headers", "named"),
    [
        # Mastodon's API controllers
        ({"error": "This action is outside the authorized scopes"}, {}, ()),
        # Google APIs (YouTube)
        (
            {
                "error": {
                    "code": 403,
                    "message": "Insufficient Permission",
                    "errors": [{"reason": "insufficientPermissions"}],
                }
            },
            {},
            (),
        ),
        # LinkedIn
        ({"message": "Not enough permissions to access: POST /rest/posts", "status": 403}, {}, ()),
        # X: an app without the access the endpoint needs
        ({"title": "Client Forbidden", "reason": "client-not-enrolled"}, {}, ()),
        # RFC 6750: the challenge names the scope
        (
            {},
            {
                "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write:media write:statuses"'
            },
            ("write:media", "write:statuses"),
        ),
    ],
)
@responses.activate
def test_given_a_403_for_a_missing_scope_when_raising_then_permission_missing(body, headers, named):
    responses.add(responses.POST, URL, status=403, json=body, headers=headers)

    with pytest.raises(PermissionMissing) as caught:
        http.raise_for_platform(requests.post(URL), platform="mastodon")

    assert caught.value.permissions == named
    assert "lacks a permission" in caught.value.message


@responses.activate
def test_given_a_403_about_content_when_raising_then_a_plain_refusal():
    responses.add(responses.POST, URL, status=403, json={"error": "This status is a duplicate"})

    with pytest.raises(PermanentError) as caught:
        http.raise_for_platform(requests.post(URL), platform="mastodon")

    assert type(caught.value) is PermanentError


@responses.activate
def test_given_success_when_raising_then_nothing():
    responses.add(responses.GET, URL, json={"ok": True}, status=200)

    assert http.raise_for_platform(requests.get(URL), platform="x") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": email.utils.format_datetime(NOW + dt.timedelta(seconds=90))}, 90.0),
        ({"x-rate-limit-reset": str(int((NOW + dt.timedelta(minutes=15)).timestamp()))}, 900.0),
        ({"X-RateLimit-Reset": "2026-03-01T12:05:00.000Z"}, 300.0),
        ({"X-RateLimit-Reset": "2026-03-01T11:55:00+00:00"}, 0.0),  # already past
        ({"RateLimit-Reset": "30"}, 30.0),
        ({"Retry-After": "garbage"}, None),
        ({}, None),
    ],
)
@responses.activate
def test_given_429_headers_when_raising_then_retry_after_parsed(headers, expected):
    responses.add(responses.GET, URL, status=429, headers=headers)
    response = requests.get(URL)

    with time_machine.travel(NOW, tick=False), pytest.raises(RateLimited) as caught:
        http.raise_for_platform(response, platform="x")

    assert caught.value.retry_after == expected


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.DEF-123", "abc.DEF-123"),
        ("Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('{"access_token": "tok-123", "scope": "read"}', "tok-123"),
        ('{"refreshJwt":"r-456"}', "r-456"),
        ("grant_type=refresh_token&refresh_token=r-789&client_secret=cs-1", "r-789"),
        ("grant_type=refresh_token&refresh_token=r-789&client_secret=cs-1", "cs-1"),
        ("POST /bot123456:AAHsecret_x-y/sendMessage", "AAHsecret_x-y"),
        ("jwt eyJhbGciOiJI.eyJzdWIiOiIx.sig-nature here", "eyJzdWIiOiIx"),
        ("password=hunter2&user=a", "hunter2"),
    ],
)
def test_given_text_with_secret_when_scrubbing_then_secret_gone(text, secret):
    assert secret not in http.scrub(text)


def test_given_known_secret_when_scrubbing_then_replaced_anywhere():
    assert http.scrub("echo: xyzzy-app-pw was wrong", secrets=["xyzzy-app-pw"]) == (
        "echo: *** was wrong"
    )


@responses.activate
def test_given_error_echoing_token_when_raising_then_detail_and_message_scrubbed():
    responses.add(
        responses.POST,
        URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "refresh_token=r-999 is revoked"},
    )
    response = requests.post(URL + "?access_token=q-111", data={"refresh_token": "r-999"})

    with pytest.raises(PermanentError) as caught:
        http.raise_for_platform(response, platform="x", secrets=["r-999"])

    for kept in (caught.value.message, caught.value.detail, str(caught.value)):
        assert "r-999" not in kept
        assert "q-111" not in kept
    assert "invalid_grant" in caught.value.message


@pytest.fixture
def local_server():
    """A plain HTTP server on 127.0.0.1 answering 200 {} to everything."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=False)
def test_given_public_only_session_when_peer_is_loopback_then_refused(local_server):
    guarded = http.session(platform="mastodon", public_only=True)

    with pytest.raises(http.UnsafeAddress, match="not on the public internet"):
        guarded.get(local_server)


@override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=False)
def test_given_public_only_session_when_peer_judged_public_then_request_goes_through(
    local_server, monkeypatch
):
    from publishing import urlsafety

    monkeypatch.setattr(urlsafety, "address_is_public", lambda address: True)
    guarded = http.session(platform="mastodon", public_only=True)

    assert guarded.get(local_server).status_code == 200


@pytest.mark.parametrize(("public_only", "allow_private"), [(False, False), (True, True)])
def test_given_unguarded_or_private_allowed_when_peer_is_loopback_then_request_goes_through(
    local_server, public_only, allow_private
):
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=allow_private):
        response = http.session(platform="x", public_only=public_only).get(local_server)

    assert response.status_code == 200
