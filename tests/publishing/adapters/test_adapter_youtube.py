"""The YouTube adapter against responses shaped like the Data API v3 and its resumable upload."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    LookupIncomplete,
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
    UPLOADS_PAGE,
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


# -- the look-up pages back to not_before ------------------------------------------------------

NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 58, tzinfo=dt.UTC)


def uploaded(index: int, at: dt.datetime, *, ours: bool = False) -> dict:
    """One item of the uploads playlist (part=snippet): added at `at`."""
    return {
        "kind": "youtube#playlistItem",
        "id": f"item{index}",
        "snippet": {
            "publishedAt": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "title": "Unser Video" if ours else f"Video {index}",
            "description": "Beschreibung" if ours else "",
            "playlistId": "UU1",
            "position": index,
            "resourceId": {"kind": "youtube#video", "videoId": f"v{index}"},
        },
    }


def busy_channel(videos: int, *, ours_at: int | None = None, older_from: int | None = None):
    """`videos` uploads, newest first, a minute apart back from noon; the one at `ours_at` is
    ours, and from `older_from` on they were uploaded before NOT_BEFORE."""
    noon = NOT_BEFORE.replace(hour=12)
    items = []
    for index in range(videos):
        at = noon - dt.timedelta(minutes=index)
        if older_from is not None and index >= older_from:
            at = NOT_BEFORE - dt.timedelta(minutes=1 + index - older_from)
        items.append(uploaded(index, at, ours=index == ours_at))
    return items


def serve_playlist(api, items: list[dict], *, size: int = UPLOADS_PAGE, more: bool = False):
    """The uploads playlist in pages of `size`, each asked for with exactly its pageToken; the
    last one says there is more only when `more`."""
    pages = [items[start : start + size] for start in range(0, len(items), size)]
    for number, page in enumerate(pages):
        query = {"part": "snippet", "playlistId": "UU1", "maxResults": size}
        if number:
            query["pageToken"] = f"page{number}"
        body = {"items": page, "pageInfo": {"totalResults": 9999, "resultsPerPage": size}}
        if number + 1 < len(pages) or more:
            body["nextPageToken"] = f"page{number + 1}"
        api.get(
            f"{API}/youtube/v3/playlistItems",
            match=[matchers.query_param_matcher(query)],
            json=body,
        )


def tokens(api) -> list[str | None]:
    return [parse_qs(urlsplit(c.request.url).query).get("pageToken", [None])[0] for c in api.calls]


def test_given_our_video_behind_two_pages_of_newer_uploads_then_paging_finds_it(
    adapter, api, account, creds
):
    """The look-up used to read only the newest 25 uploads: a video that went out before a
    busy stretch was not found and was uploaded a second time."""
    serve_playlist(api, busy_channel(3 * UPLOADS_PAGE, ours_at=2 * UPLOADS_PAGE + 4))

    found = adapter.find_existing(
        account=account, credentials=creds, request=request(not_before=NOT_BEFORE)
    )

    assert found is not None and found.remote_id == f"v{2 * UPLOADS_PAGE + 4}"
    assert tokens(api) == [None, "page1", "page2"]  # 3 pages, 3 quota units


def test_given_a_page_ending_before_not_before_then_no_further_page_is_read(
    adapter, api, account, creds
):
    # The second page ends with last week's identically named video: not ours, and every
    # upload behind it is older still.
    items = busy_channel(2 * UPLOADS_PAGE, older_from=2 * UPLOADS_PAGE - 1)
    items[-1] = uploaded(2 * UPLOADS_PAGE - 1, NOT_BEFORE - dt.timedelta(days=7), ours=True)
    serve_playlist(api, items, more=True)  # a third page would be refused by the mock

    found = adapter.find_existing(
        account=account, credentials=creds, request=request(not_before=NOT_BEFORE)
    )

    assert found is None
    assert tokens(api) == [None, "page1"]


def test_given_an_endless_channel_then_the_look_up_spends_at_most_its_bound_in_quota(
    adapter, api, account, creds
):
    def page(req):
        token = parse_qs(urlsplit(req.url).query).get("pageToken", ["page0"])[0]
        number = int(token.removeprefix("page"))
        items = [
            uploaded(number * UPLOADS_PAGE + i, NOT_BEFORE.replace(hour=12))
            for i in range(UPLOADS_PAGE)
        ]
        return 200, {}, json.dumps({"items": items, "nextPageToken": f"page{number + 1}"})

    api.add_callback(responses.GET, f"{API}/youtube/v3/playlistItems", callback=page)

    # It read as far as it may without reaching not_before: it cannot tell, and says so.
    with pytest.raises(LookupIncomplete, match="10 pages"):
        adapter.find_existing(
            account=account, credentials=creds, request=request(not_before=NOT_BEFORE)
        )

    assert len(api.calls) == YouTubeAdapter.lookup_max_pages == 10  # 10 of 10,000 units a day


def test_given_no_not_before_then_only_the_newest_page_is_read_as_before(
    adapter, api, account, creds
):
    newest = YouTubeAdapter.recent_posts
    # Only the first page of 25 is served (it says there is more): a second request fails.
    serve_playlist(api, busy_channel(newest), size=newest, more=True)
    serve_playlist(api, busy_channel(UPLOADS_PAGE, ours_at=newest + 10))

    # Unbounded: the newest 25 only, as before, so ours (the 36th) is not seen.
    assert adapter.find_existing(account=account, credentials=creds, request=request()) is None
    assert len(api.calls) == 1
    # Bounded by not_before, the same channel is read further back and ours is found.
    found = adapter.find_existing(
        account=account, credentials=creds, request=request(not_before=NOT_BEFORE)
    )
    assert found.remote_id == f"v{newest + 10}"


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
