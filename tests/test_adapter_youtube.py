"""The YouTube adapter against responses shaped like the Data API v3 and its resumable upload."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
    RateLimited,
    TransientError,
)
from publishing.adapters.oauth2 import pkce_challenge
from publishing.adapters.youtube import (
    UPLOAD_QUANTUM,
    YouTubeAdapter,
    seconds_until_pacific_midnight,
)

API = "https://youtube.test"
TOKEN_URL = "https://oauth2.googleapis.com/token"
SESSION = "https://upload.youtube.test/session?upload_id=xyz"
TOKEN = "ya29.secret-access"
REFRESH = "1//secret-refresh"
VIDEO = bytes(range(256)) * 2400  # 600 KiB: chunks of 256 KiB, 256 KiB, 88 KiB


@pytest.fixture
def adapter():
    adapter = YouTubeAdapter(base_url=API, client_id="gid", client_secret="gsecret")
    adapter.chunk_size = UPLOAD_QUANTUM
    adapter.sleep = lambda seconds: None
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="UC1", config={"uploads_playlist": "UU1"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN, refresh_token=REFRESH)


def video(data=VIDEO):
    return MediaItem(
        kind="video",
        mime_type="video/mp4",
        filename="clip.mp4",
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
    )


def request(**kwargs):
    defaults = {
        "text": "Beschreibung",
        "title": "Unser Video",
        "idempotency_key": "k",
        "media": [video()],
    }
    return PublishRequest(**{**defaults, **kwargs})


def initiate(api):
    api.post(f"{API}/upload/youtube/v3/videos", headers={"Location": SESSION})


def puts(api):
    return [c.request for c in api.calls if c.request.method == "PUT"]


def quota_error(reason, code=403):
    return {
        "status": code,
        "json": {
            "error": {
                "code": code,
                "message": "The request cannot be completed because you have exceeded your quota.",
                "errors": [{"message": "quota", "domain": "youtube.quota", "reason": reason}],
            }
        },
    }


# -- connecting -----------------------------------------------------------------------------------


def test_given_an_app_when_building_the_authorization_url_then_offline_consent_and_pkce(adapter):
    url, _account = adapter.authorization_url(
        redirect_uri="https://app.test/cb", state="st", code_verifier="w" * 64, account=Account()
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["state"] == ["st"]
    assert query["code_challenge"] == [pkce_challenge("w" * 64)]
    assert "https://www.googleapis.com/auth/youtube.upload" in query["scope"][0].split()


def test_given_a_code_when_exchanging_then_the_channel_is_identified(adapter, api):
    api.post(
        TOKEN_URL,
        json={
            "access_token": TOKEN,
            "refresh_token": REFRESH,
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/youtube.upload",
        },
    )
    api.get(
        f"{API}/youtube/v3/channels",
        json={
            "items": [
                {
                    "id": "UC1",
                    "snippet": {
                        "title": "Acme TV",
                        "customUrl": "@acmetv",
                        "thumbnails": {"default": {"url": "https://yt.test/a.jpg"}},
                    },
                    "contentDetails": {"relatedPlaylists": {"uploads": "UU1"}},
                }
            ]
        },
    )

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="w" * 64, account=Account()
    )

    assert parse_qs(api.calls[0].request.body)["code_verifier"] == ["w" * 64]
    assert result.account.account_id == "UC1"
    assert result.account.handle == "@acmetv"
    assert result.account.config["uploads_playlist"] == "UU1"
    assert result.credentials.refresh_token == REFRESH


def test_given_an_account_without_channel_when_exchanging_then_connect_error(adapter, api):
    api.post(TOKEN_URL, json={"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
    api.get(f"{API}/youtube/v3/channels", json={"items": []})

    with pytest.raises(ConnectError, match="no YouTube channel"):
        adapter.exchange_code(
            code="c", redirect_uri="https://app.test/cb", code_verifier="w" * 64, account=Account()
        )


def test_given_google_does_not_resend_the_refresh_token_when_refreshing_then_it_is_kept(
    adapter, api, account, creds
):
    api.post(
        TOKEN_URL, json={"access_token": "ya29.new", "expires_in": 3599, "token_type": "Bearer"}
    )

    fresh = adapter.refresh(account=account, credentials=creds)

    body = parse_qs(api.calls[0].request.body)
    assert body["client_secret"] == ["gsecret"] and body["refresh_token"] == [REFRESH]
    assert fresh.access_token == "ya29.new"
    assert fresh.refresh_token == REFRESH


def test_given_a_revoked_refresh_token_when_refreshing_then_auth_expired(
    adapter, api, account, creds
):
    api.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )

    with pytest.raises(AuthExpired, match="expired or revoked") as caught:
        adapter.refresh(account=account, credentials=creds)
    assert REFRESH not in str(caught.value) + caught.value.detail


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"title": ""}, "needs a title"),
        ({"media": []}, "needs media"),
        ({"options": {"privacy": "friends"}}, "public, unlisted or private"),
        ({"title": "<b>Hi</b>"}, "< or >"),
    ],
)
def test_given_a_bad_variant_when_validating_then_the_problem_is_named(adapter, kwargs, fragment):
    defaults = {
        "text": "Beschreibung",
        "title": "Titel",
        "idempotency_key": "k",
        "media": [video()],
    }

    problems = adapter.validate(PublishRequest(**{**defaults, **kwargs}))

    assert any(fragment in p for p in problems), problems


# -- publishing -----------------------------------------------------------------------------------


def test_given_a_video_when_publishing_then_a_resumable_upload_sends_quantum_chunks(
    adapter, api, account, creds
):
    initiate(api)
    api.put(SESSION, status=308, headers={"Range": "bytes=0-262143"})
    api.put(SESSION, status=308, headers={"Range": "bytes=0-524287"})
    api.put(SESSION, status=201, json={"id": "vid1", "snippet": {"title": "Unser Video"}})
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=request(options={"privacy": "unlisted"}),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    init = api.calls[0].request
    assert init.headers["X-Upload-Content-Length"] == str(len(VIDEO))
    assert init.headers["X-Upload-Content-Type"] == "video/mp4"
    assert parse_qs(urlsplit(init.url).query) == {
        "uploadType": ["resumable"],
        "part": ["snippet,status"],
    }
    resource = json.loads(init.body)
    assert resource["snippet"]["title"] == "Unser Video"
    assert resource["snippet"]["description"] == "Beschreibung"
    assert resource["status"]["privacyStatus"] == "unlisted"
    assert [p.headers["Content-Range"] for p in puts(api)] == [
        "bytes 0-262143/614400",
        "bytes 262144-524287/614400",
        "bytes 524288-614399/614400",
    ]
    assert b"".join(p.body for p in puts(api)) == VIDEO
    assert result.remote_id == "vid1"
    assert result.url == "https://www.youtube.com/watch?v=vid1"
    assert seen == [(0, "vid1")]


def test_given_a_dropped_connection_when_uploading_then_it_asks_the_session_and_resumes(
    adapter, api, account, creds
):
    initiate(api)
    api.put(SESSION, status=308, headers={"Range": "bytes=0-262143"})
    api.put(SESSION, body=requests.ConnectionError("reset by peer"))
    api.put(SESSION, status=308, headers={"Range": "bytes=0-399999"})  # the status query
    api.put(SESSION, status=200, json={"id": "vid2"})

    result = adapter.publish(account=account, credentials=creds, request=request())

    sent = puts(api)
    assert sent[2].headers["Content-Range"] == "bytes */614400"
    assert sent[3].headers["Content-Range"] == "bytes 400000-614399/614400"
    assert sent[3].body == VIDEO[400000:]
    assert result.remote_id == "vid2"


def test_given_upload_failures_beyond_the_budget_when_uploading_then_transient(
    adapter, api, account, creds
):
    adapter.upload_retries = 2
    initiate(api)
    for _ in range(3):
        api.put(SESSION, status=503, body="backend error")

    with pytest.raises(TransientError):
        adapter.publish(account=account, credentials=creds, request=request())
    assert len(puts(api)) == 3


def test_given_a_first_comment_when_publishing_then_a_comment_thread_is_created(
    adapter, api, account, creds
):
    initiate(api)
    api.put(SESSION, status=200, json={"id": "vid3"})
    api.post(f"{API}/youtube/v3/commentThreads", json={"id": "Ugz1"})
    adapter.chunk_size = 4 * UPLOAD_QUANTUM

    result = adapter.publish(
        account=account, credentials=creds, request=request(first_comment="Danke fürs Zuschauen")
    )

    comment = json.loads(api.calls[-1].request.body)
    assert comment == {
        "snippet": {
            "videoId": "vid3",
            "topLevelComment": {"snippet": {"textOriginal": "Danke fürs Zuschauen"}},
        }
    }
    assert [p.remote_id for p in result.parts] == ["vid3", "Ugz1"]


def test_given_the_video_is_done_when_publishing_again_then_nothing_is_uploaded_again(
    adapter, api, account, creds
):
    api.post(f"{API}/youtube/v3/commentThreads", json={"id": "Ugz1"})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=request(
            first_comment="Hallo",
            done_parts=[PublishedPart("vid3", "https://www.youtube.com/watch?v=vid3")],
        ),
    )

    assert len(api.calls) == 1
    assert result.remote_id == "vid3"


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["quotaExceeded", "uploadLimitExceeded"])
def test_given_the_daily_quota_is_used_when_publishing_then_rate_limited_until_pacific_midnight(
    adapter, api, account, creds, reason
):
    api.post(f"{API}/upload/youtube/v3/videos", **quota_error(reason))

    with pytest.raises(RateLimited) as caught:
        adapter.publish(account=account, credentials=creds, request=request())
    assert abs(caught.value.retry_after - seconds_until_pacific_midnight()) < 5
    assert reason in caught.value.detail


def test_given_a_short_rate_limit_when_publishing_then_rate_limited_briefly(
    adapter, api, account, creds
):
    api.post(f"{API}/upload/youtube/v3/videos", **quota_error("rateLimitExceeded"))

    with pytest.raises(RateLimited) as caught:
        adapter.publish(account=account, credentials=creds, request=request())
    assert caught.value.retry_after == 60


@pytest.mark.parametrize(
    ("now", "expected_hours"),
    [
        (dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), 24),  # 00:00 PST
        (dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC), 1),  # 23:00 PDT
        (dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC), 23),  # spring forward: a 23-hour day
        (dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC), 25),  # fall back: a 25-hour day
    ],
)
def test_given_a_time_when_computing_the_quota_reset_then_it_is_the_next_pacific_midnight(
    now, expected_hours
):
    assert seconds_until_pacific_midnight(now) == expected_hours * 3600


def test_given_an_expired_token_when_publishing_then_auth_expired(adapter, api, account, creds):
    api.post(
        f"{API}/upload/youtube/v3/videos",
        status=401,
        json={
            "error": {
                "code": 401,
                "message": "Invalid Credentials",
                "errors": [{"reason": "authError"}],
            }
        },
    )

    with pytest.raises(AuthExpired) as caught:
        adapter.publish(account=account, credentials=creds, request=request())
    assert TOKEN not in str(caught.value) + caught.value.detail


def test_given_no_video_when_publishing_then_permanent_error(adapter, api, account, creds):
    with pytest.raises(PermanentError, match="needs a video"):
        adapter.publish(account=account, credentials=creds, request=request(media=[]))


# -- reconciling, metrics -------------------------------------------------------------------------


def test_given_the_upload_finished_unseen_when_looking_for_it_then_the_uploads_playlist_has_it(
    adapter, api, account, creds
):
    api.get(
        f"{API}/youtube/v3/playlistItems",
        json={
            "items": [
                {"snippet": {"title": "Other", "resourceId": {"videoId": "v0"}}},
                {
                    "snippet": {
                        "title": "Unser Video",
                        "description": "Beschreibung",
                        "resourceId": {"videoId": "vid9"},
                    }
                },
            ]
        },
    )

    found = adapter.find_existing(account=account, credentials=creds, request=request())

    assert parse_qs(urlsplit(api.calls[0].request.url).query)["playlistId"] == ["UU1"]
    assert found.remote_id == "vid9"
    assert found.url == "https://www.youtube.com/watch?v=vid9"


def test_given_120_videos_when_fetching_metrics_then_batches_of_50_are_parsed(
    adapter, api, account, creds
):
    def reply(req):
        ids = parse_qs(urlsplit(req.url).query)["id"][0].split(",")
        items = [
            {"id": i, "statistics": {"viewCount": "100", "likeCount": "5", "commentCount": "2"}}
            for i in ids
        ]
        items[0]["statistics"].pop("likeCount")  # hidden likes
        return 200, {}, json.dumps({"items": items})

    api.add_callback(responses.GET, f"{API}/youtube/v3/videos", callback=reply)

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=[f"v{i}" for i in range(120)]
    )

    assert len(api.calls) == 3
    assert len(snapshots) == 120
    assert snapshots[0].values == {"video_views": 100, "comments": 2}
    assert snapshots[1].values == {"video_views": 100, "likes": 5, "comments": 2}


def test_given_a_video_when_deleting_then_its_id_is_passed(adapter, api, account, creds):
    api.delete(f"{API}/youtube/v3/videos", status=204)

    adapter.delete(account=account, credentials=creds, remote_id="vid1")

    assert parse_qs(urlsplit(api.calls[0].request.url).query)["id"] == ["vid1"]


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("youtube")

    assert isinstance(adapter, YouTubeAdapter)
    assert adapter.base_url.startswith("https://")
