"""The Bluesky adapter against responses shaped like the AT Protocol XRPC API (`responses`)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time

import pytest
import responses
from PIL import Image

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
)
from publishing.adapters.bluesky import TID_ALPHABET, BlueskyAdapter, record_key_for
from publishing.urlsafety import UnsafeURL

PDS = "https://pds.test"
APPVIEW = "https://appview.test"
DID = "did:plc:abc123"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
KEY = "delivery-17-attempt-key"


def jwt(name: str, *, expires_in: int = 7200) -> str:
    """A JWT-shaped token whose payload carries `exp` (the adapter reads it, never verifies)."""

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    payload = {"exp": int(time.time()) + expires_in, "sub": DID, "jti": name}
    return f"{b64({'alg': 'ES256K'})}.{b64(payload)}.sig-{name}"


ACCESS = jwt("access")
REFRESH = jwt("refresh", expires_in=90 * 86400)


@pytest.fixture
def adapter():
    return BlueskyAdapter(base_url=PDS, appview_url=APPVIEW)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id=DID, handle="acme.bsky.social", config={"pds_url": PDS})


@pytest.fixture
def creds():
    return Credentials(
        access_token=ACCESS,
        refresh_token=REFRESH,
        extra={"did": DID, "app_password": APP_PASSWORD},
    )


@pytest.fixture
def allow_local_urls(settings):
    settings.PUBLISHING_ALLOW_PRIVATE_URLS = True


def xrpc(nsid: str, base: str = PDS) -> str:
    return f"{base}/xrpc/{nsid}"


def png(width=40, height=20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def media(kind="image", mime="image/png", data=None, alt="", name="pic.png"):
    data = png() if data is None and kind == "image" else (data or b"video-bytes")
    return MediaItem(
        kind=kind,
        mime_type=mime,
        filename=name,
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
        alt_text=alt,
    )


def uri(index: int) -> str:
    return f"at://{DID}/app.bsky.feed.post/{record_key_for(KEY, index)}"


def cid(index: int) -> str:
    return f"bafyrei{index:04d}"


def accept_puts(api, count: int):
    """putRecord answers for `count` parts in order."""
    for index in range(count):
        api.post(
            xrpc("com.atproto.repo.putRecord"),
            json={"uri": uri(index), "cid": cid(index), "validationStatus": "valid"},
        )


def puts(api) -> list[dict]:
    return [
        json.loads(c.request.body)
        for c in api.calls
        if c.request.url == xrpc("com.atproto.repo.putRecord")
    ]


# --- record keys -----------------------------------------------------------------------------


def test_given_idempotency_key_when_deriving_record_keys_then_valid_stable_tids():
    keys = [record_key_for(KEY, 0), record_key_for(KEY, 1), record_key_for("other", 0)]

    assert record_key_for(KEY, 0) == keys[0]
    assert len(set(keys)) == 3
    for key in keys:
        assert len(key) == 13
        assert set(key) <= set(TID_ALPHABET)
        assert key[0] in "234567abcdefghij"  # top bit 0


# --- connecting ------------------------------------------------------------------------------


def test_given_handle_and_app_password_when_connecting_then_account_and_session_filled(
    adapter, api, allow_local_urls
):
    api.post(
        xrpc("com.atproto.server.createSession"),
        json={
            "did": DID,
            "handle": "acme.bsky.social",
            "accessJwt": ACCESS,
            "refreshJwt": REFRESH,
            "active": True,
        },
    )
    api.get(
        xrpc("app.bsky.actor.getProfile"),
        json={
            "did": DID,
            "handle": "acme.bsky.social",
            "displayName": "Acme GmbH",
            "avatar": "https://images.platform.test/avatar.jpg",
        },
    )

    result = adapter.connect_with_secret(
        account=Account(handle="@acme.bsky.social", config={"pds_url": PDS + "/"}),
        secret=APP_PASSWORD,
    )

    assert json.loads(api.calls[0].request.body) == {
        "identifier": "acme.bsky.social",
        "password": APP_PASSWORD,
    }
    assert api.calls[1].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert result.account == Account(
        account_id=DID,
        handle="acme.bsky.social",
        name="Acme GmbH",
        avatar_url="https://images.platform.test/avatar.jpg",
        config={"pds_url": PDS},
    )
    assert result.credentials.access_token == ACCESS
    assert result.credentials.refresh_token == REFRESH
    assert result.credentials.extra == {"did": DID, "app_password": APP_PASSWORD}
    assert result.credentials.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert APP_PASSWORD not in repr(result)


@pytest.mark.parametrize(
    ("status", "body", "message_part"),
    [
        (
            401,
            {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            "did not accept this handle and app password",
        ),
        (
            401,
            {"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent"},
            "Create an app password",
        ),
        (400, {"error": "AccountTakedown", "message": "Account has been taken down"}, "taken down"),
    ],
)
def test_given_login_refused_when_connecting_then_connect_error_for_people(
    adapter, api, allow_local_urls, status, body, message_part
):
    api.post(xrpc("com.atproto.server.createSession"), status=status, json=body)

    with pytest.raises(ConnectError) as caught:
        adapter.connect_with_secret(account=Account(handle="acme.test"), secret=APP_PASSWORD)

    assert message_part in caught.value.message
    assert APP_PASSWORD not in str(caught.value) + caught.value.detail


def test_given_private_pds_and_no_permission_when_connecting_then_refused_before_any_call(
    adapter, api, settings
):
    settings.PUBLISHING_ALLOW_PRIVATE_URLS = False

    with pytest.raises(UnsafeURL):
        adapter.connect_with_secret(
            account=Account(handle="acme.test", config={"pds_url": "https://127.0.0.1"}),
            secret=APP_PASSWORD,
        )

    assert len(api.calls) == 0


def test_given_no_handle_when_connecting_then_asked_for_it(adapter, allow_local_urls):
    with pytest.raises(ConnectError, match="handle and an app password"):
        adapter.connect_with_secret(account=Account(config={"pds_url": PDS}), secret="x")


# --- publishing ------------------------------------------------------------------------------


def test_given_text_with_link_mention_and_tag_when_publishing_then_facets_with_byte_offsets(
    adapter, api, account, creds
):
    text = "Grüße 👋 @bob.test: lies https://example.com/über. #Frühling"
    api.get(xrpc("com.atproto.identity.resolveHandle"), json={"did": "did:plc:bob"})
    accept_puts(api, 1)

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text=text,
            idempotency_key=KEY,
            options={"link_title": "Über uns", "langs": ["de"]},
        ),
    )

    body = puts(api)[0]
    assert body["repo"] == DID
    assert body["rkey"] == record_key_for(KEY, 0)
    assert body["swapRecord"] is None  # create-only guard
    record = body["record"]
    encoded = text.encode()

    def spans(feature_type):
        return [
            encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode()
            for f in record["facets"]
            if f["features"][0]["$type"] == feature_type
        ]

    assert spans("app.bsky.richtext.facet#mention") == ["@bob.test"]
    assert spans("app.bsky.richtext.facet#link") == ["https://example.com/über"]
    assert spans("app.bsky.richtext.facet#tag") == ["#Frühling"]
    assert record["facets"][0]["features"][0]["did"] == "did:plc:bob"
    assert record["langs"] == ["de"]
    assert record["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {"uri": "https://example.com/über", "title": "Über uns", "description": ""},
    }
    assert api.calls[-1].request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert result.remote_id == uri(0)
    assert result.url == f"https://bsky.app/profile/acme.bsky.social/post/{record_key_for(KEY, 0)}"


def test_given_created_at_option_when_publishing_then_utc_timestamp_in_record(
    adapter, api, account, creds
):
    accept_puts(api, 1)
    berlin = dt.timezone(dt.timedelta(hours=2))

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Hallo",
            idempotency_key=KEY,
            options={"created_at": dt.datetime(2026, 6, 1, 9, 30, tzinfo=berlin)},
        ),
    )

    assert puts(api)[0]["record"]["createdAt"] == "2026-06-01T07:30:00.000Z"


def test_given_unknown_mention_when_publishing_then_text_stays_plain(adapter, api, account, creds):
    api.get(
        xrpc("com.atproto.identity.resolveHandle"),
        status=400,
        json={"error": "InvalidRequest", "message": "Unable to resolve handle"},
    )
    accept_puts(api, 1)

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo @nobody.test", idempotency_key=KEY),
    )

    assert "facets" not in puts(api)[0]["record"]


def test_given_images_when_publishing_then_blobs_uploaded_with_alt_and_aspect_ratio(
    adapter, api, account, creds
):
    for n in (1, 2):
        api.post(
            xrpc("com.atproto.repo.uploadBlob"),
            json={"blob": {"$type": "blob", "ref": {"$link": f"bafkblob{n}"}, "size": 10}},
        )
    accept_puts(api, 1)

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Zwei Bilder https://example.com",
            idempotency_key=KEY,
            media=[media(alt="Ein Hund"), media(data=b"not an image")],
        ),
    )

    uploads = [c for c in api.calls if "uploadBlob" in c.request.url]
    assert [u.request.headers["Content-Type"] for u in uploads] == ["image/png", "image/png"]
    assert uploads[0].request.body == png()
    embed = puts(api)[0]["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"  # images win over the link card
    assert embed["images"][0] == {
        "image": {"$type": "blob", "ref": {"$link": "bafkblob1"}, "size": 10},
        "alt": "Ein Hund",
        "aspectRatio": {"width": 40, "height": 20},
    }
    assert "aspectRatio" not in embed["images"][1]  # unreadable: no ratio, still posted


def test_given_video_when_publishing_then_video_embed(adapter, api, account, creds):
    api.post(xrpc("com.atproto.repo.uploadBlob"), json={"blob": {"ref": {"$link": "bafkvid"}}})
    accept_puts(api, 1)

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Film ab",
            idempotency_key=KEY,
            media=[media("video", "video/mp4", alt="Trailer", name="t.mp4")],
        ),
    )

    assert puts(api)[0]["record"]["embed"] == {
        "$type": "app.bsky.embed.video",
        "video": {"ref": {"$link": "bafkvid"}},
        "alt": "Trailer",
    }


def test_given_thread_and_first_comment_when_publishing_then_replies_reference_root_and_parent(
    adapter, api, account, creds
):
    accept_puts(api, 4)
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="1/3 Start",
            thread=["2/3 Mitte", "3/3 Ende"],
            first_comment="Mehr im Blog",
            idempotency_key=KEY,
        ),
        on_part=lambda index, part: seen.append((index, part.remote_id)),
    )

    bodies = puts(api)
    assert [b["rkey"] for b in bodies] == [record_key_for(KEY, i) for i in range(4)]
    root = {"uri": uri(0), "cid": cid(0)}
    assert "reply" not in bodies[0]["record"]
    assert bodies[1]["record"]["reply"] == {"root": root, "parent": root}
    assert bodies[2]["record"]["reply"] == {"root": root, "parent": {"uri": uri(1), "cid": cid(1)}}
    assert bodies[3]["record"]["reply"] == {"root": root, "parent": root}  # under the main post
    assert bodies[3]["record"]["text"] == "Mehr im Blog"
    assert seen == [(i, uri(i)) for i in range(4)]
    assert [p.remote_id for p in result.parts] == [uri(i) for i in range(4)]


def test_given_done_parts_when_publishing_then_resumes_after_them_with_fetched_cids(
    adapter, api, account, creds
):
    for index in (0, 1):
        api.get(
            xrpc("com.atproto.repo.getRecord"),
            match=[
                responses.matchers.query_param_matcher(
                    {
                        "repo": DID,
                        "collection": "app.bsky.feed.post",
                        "rkey": record_key_for(KEY, index),
                    }
                )
            ],
            json={"uri": uri(index), "cid": cid(index), "value": {}},
        )
    api.post(xrpc("com.atproto.repo.putRecord"), json={"uri": uri(2), "cid": cid(2)})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="1/3",
            thread=["2/3", "3/3"],
            idempotency_key=KEY,
            media=[media()],  # belongs to the main post, which is done: not uploaded again
            done_parts=[PublishedPart(uri(0), "u0"), PublishedPart(uri(1), "u1")],
        ),
    )

    bodies = puts(api)
    assert len(bodies) == 1
    assert bodies[0]["rkey"] == record_key_for(KEY, 2)
    assert bodies[0]["record"]["reply"] == {
        "root": {"uri": uri(0), "cid": cid(0)},
        "parent": {"uri": uri(1), "cid": cid(1)},
    }
    assert not [c for c in api.calls if "uploadBlob" in c.request.url]
    assert [p.remote_id for p in result.parts] == [uri(0), uri(1), uri(2)]


def test_given_earlier_attempt_wrote_the_post_when_retrying_then_existing_post_is_taken(
    adapter, api, account, creds
):
    # The first attempt timed out after the PDS wrote the record (with another createdAt).
    api.post(
        xrpc("com.atproto.repo.putRecord"),
        status=400,
        json={"error": "InvalidSwap", "message": "Record was at bafyrei0000"},
    )
    api.get(xrpc("com.atproto.repo.getRecord"), json={"uri": uri(0), "cid": cid(0), "value": {}})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo", idempotency_key=KEY),
    )

    assert result.remote_id == uri(0)
    assert len(puts(api)) == 1


def test_given_expired_access_token_when_publishing_then_auth_expired_and_refresh_rotates(
    adapter, api, account, creds
):
    api.post(
        xrpc("com.atproto.repo.putRecord"),
        status=400,
        json={"error": "ExpiredToken", "message": "Token has expired"},
    )
    new_access, new_refresh = jwt("access-2"), jwt("refresh-2", expires_in=86400 * 90)
    api.post(
        xrpc("com.atproto.server.refreshSession"),
        json={
            "did": DID,
            "handle": "acme.bsky.social",
            "accessJwt": new_access,
            "refreshJwt": new_refresh,
        },
    )
    accept_puts(api, 1)
    request = PublishRequest(text="Hallo", idempotency_key=KEY)

    with pytest.raises(AuthExpired) as caught:
        adapter.publish(account=account, credentials=creds, request=request)
    assert ACCESS not in caught.value.detail + str(caught.value)

    refreshed = adapter.refresh(account=account, credentials=creds)

    refresh_call = next(c for c in api.calls if "refreshSession" in c.request.url)
    assert refresh_call.request.headers["Authorization"] == f"Bearer {REFRESH}"
    assert refreshed.access_token == new_access
    assert refreshed.refresh_token == new_refresh  # the rotated one is what gets stored
    assert refreshed.extra == creds.extra
    result = adapter.publish(account=account, credentials=refreshed, request=request)
    assert api.calls[-1].request.headers["Authorization"] == f"Bearer {new_access}"
    assert result.remote_id == uri(0)


def test_given_refresh_token_expired_when_refreshing_then_new_session_from_app_password(
    adapter, api, account, creds
):
    api.post(
        xrpc("com.atproto.server.refreshSession"),
        status=400,
        json={"error": "ExpiredToken", "message": "Token has expired"},
    )
    api.post(
        xrpc("com.atproto.server.createSession"),
        json={
            "did": DID,
            "handle": "acme.bsky.social",
            "accessJwt": jwt("a3"),
            "refreshJwt": jwt("r3"),
        },
    )

    refreshed = adapter.refresh(account=account, credentials=creds)

    assert json.loads(api.calls[1].request.body) == {"identifier": DID, "password": APP_PASSWORD}
    assert refreshed.access_token == jwt("a3")
    assert refreshed.extra["app_password"] == APP_PASSWORD


def test_given_refresh_token_expired_and_no_app_password_when_refreshing_then_reconnect(
    adapter, api, account
):
    api.post(
        xrpc("com.atproto.server.refreshSession"),
        status=400,
        json={"error": "InvalidToken", "message": "Token could not be verified"},
    )

    with pytest.raises(AuthExpired, match="Reconnect the channel"):
        adapter.refresh(
            account=account,
            credentials=Credentials(access_token=ACCESS, refresh_token=REFRESH, extra={"did": DID}),
        )


def test_given_app_password_revoked_when_refreshing_then_auth_expired_without_secret(
    adapter, api, account, creds
):
    api.post(xrpc("com.atproto.server.refreshSession"), status=400, json={"error": "ExpiredToken"})
    api.post(
        xrpc("com.atproto.server.createSession"),
        status=401,
        json={"error": "AuthenticationRequired", "message": f"bad password {APP_PASSWORD}"},
    )

    with pytest.raises(AuthExpired) as caught:
        adapter.refresh(account=account, credentials=creds)

    text = str(caught.value) + caught.value.detail
    assert "Reconnect" in text
    assert APP_PASSWORD not in text
    assert REFRESH not in text


def test_given_rate_limited_when_publishing_then_retry_after_from_ratelimit_reset(
    adapter, api, account, creds
):
    reset = int(time.time()) + 120
    api.post(
        xrpc("com.atproto.repo.putRecord"),
        status=429,
        json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        headers={
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
        },
    )

    with pytest.raises(RateLimited) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="Hallo", idempotency_key=KEY),
        )

    assert 100 <= caught.value.retry_after <= 120


def test_given_invalid_record_when_publishing_then_permanent_with_reason(
    adapter, api, account, creds
):
    api.post(
        xrpc("com.atproto.repo.putRecord"),
        status=400,
        json={
            "error": "InvalidRequest",
            "message": "Invalid app.bsky.feed.post record: text too long",
        },
    )

    with pytest.raises(PermanentError, match="text too long"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="Hallo", idempotency_key=KEY),
        )


# --- reconciling, deleting, metrics ----------------------------------------------------------


def test_given_post_and_first_thread_part_exist_when_finding_then_both_returned(
    adapter, api, account, creds
):
    api.get(xrpc("com.atproto.repo.getRecord"), json={"uri": uri(0), "cid": cid(0), "value": {}})
    api.get(xrpc("com.atproto.repo.getRecord"), json={"uri": uri(1), "cid": cid(1), "value": {}})
    api.get(
        xrpc("com.atproto.repo.getRecord"),
        status=400,
        json={"error": "RecordNotFound", "message": "Could not locate record"},
    )

    found = adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text="1", thread=["2", "3"], idempotency_key=KEY),
    )

    assert [p.remote_id for p in found.parts] == [uri(0), uri(1)]
    assert found.remote_id == uri(0)
    assert found.url.endswith(f"/post/{record_key_for(KEY, 0)}")
    assert [c.request.params["rkey"] for c in api.calls] == [
        record_key_for(KEY, i) for i in range(3)
    ]


def test_given_nothing_written_when_finding_then_none(adapter, api, account, creds):
    api.get(xrpc("com.atproto.repo.getRecord"), status=400, json={"error": "RecordNotFound"})

    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="1", idempotency_key=KEY),
        )
        is None
    )


def test_given_post_when_deleting_then_delete_record(adapter, api, account, creds):
    api.post(xrpc("com.atproto.repo.deleteRecord"), json={})

    adapter.delete(account=account, credentials=creds, remote_id=uri(0))

    assert json.loads(api.calls[0].request.body) == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": record_key_for(KEY, 0),
    }


def test_given_not_a_post_uri_when_deleting_then_permanent(adapter, account, creds):
    with pytest.raises(PermanentError):
        adapter.delete(account=account, credentials=creds, remote_id="12345")


def test_given_30_posts_when_fetching_metrics_then_two_appview_batches_parsed(
    adapter, api, account, creds
):
    uris = [f"at://{DID}/app.bsky.feed.post/p{n}" for n in range(30)]
    for batch in (uris[:25], uris[25:]):
        api.get(
            xrpc("app.bsky.feed.getPosts", APPVIEW),
            json={
                "posts": [
                    {"uri": u, "likeCount": 3, "replyCount": 1, "repostCount": 2, "quoteCount": 0}
                    for u in batch
                    if not u.endswith("p29")  # deleted since: simply missing
                ]
            },
        )

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=uris)

    assert [len(c.request.params["uris"]) for c in api.calls] == [25, 5]
    assert len(snapshots) == 29
    assert snapshots[0].remote_id == uris[0]
    assert snapshots[0].values == {"likes": 3, "comments": 1, "shares": 2, "quotes": 0}


# --- validation ------------------------------------------------------------------------------


def test_given_fine_post_when_validating_then_no_problems(adapter):
    assert adapter.validate(PublishRequest(text="Hallo 👋🏽", idempotency_key=KEY)) == []


@pytest.mark.parametrize(
    ("request_kwargs", "problem"),
    [
        ({"text": "x" * 301}, "301 characters long; Bluesky allows 300"),
        ({"text": "👨‍👩‍👧" * 160}, None),  # graphemes, not code points (2,880 bytes)
        # ...but the record's text has a byte cap too: a real PDS refused this (5,400 bytes)
        ({"text": "👨‍👩‍👧" * 300}, "The text takes 5400 bytes; Bluesky stores at most 3000"),
        ({"text": "ok", "thread": ["👨‍👩‍👧" * 200]}, "Part 2 of the thread takes 3600 bytes"),
        ({"text": "ok", "first_comment": "ü" * 1600}, "The first comment takes 3200 bytes"),
        ({"text": "ok", "thread": ["y" * 301]}, "Part 2 of the thread is 301 characters long"),
        ({"text": "ok", "thread": ["  "]}, "Part 2 of the thread is empty"),
        ({"text": "ok", "first_comment": "z" * 301}, "first comment is 301 characters long"),
        ({"text": "ok", "media": [media() for _ in range(5)]}, "at most 4 images"),
        (
            {"text": "ok", "media": [media("video", "video/mp4", data=b"v" * 50_000_001)]},
            "larger than the 50 MB Bluesky accepts for videos",
        ),
    ],
)
def test_given_variant_when_validating_then_problems_listed(adapter, request_kwargs, problem):
    problems = adapter.validate(PublishRequest(idempotency_key=KEY, **request_kwargs))

    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_given_refresh_answer_without_refresh_token_when_refreshing_then_old_one_kept(
    adapter, api, account, creds
):
    api.post(
        xrpc("com.atproto.server.refreshSession"),
        json={"did": DID, "handle": "acme.bsky.social", "accessJwt": jwt("a4")},
    )

    refreshed = adapter.refresh(account=account, credentials=creds)

    assert refreshed.access_token == jwt("a4")
    assert refreshed.refresh_token == REFRESH


# --- registry --------------------------------------------------------------------------------


def test_given_settings_when_getting_adapter_then_bluesky_with_overridable_base_url(settings):
    from publishing.adapters.registry import get_adapter

    settings.PUBLISHING_ADAPTERS = {
        "bluesky": {
            "BACKEND": "publishing.adapters.bluesky.BlueskyAdapter",
            "OPTIONS": {"base_url": "http://127.0.0.1:9999/", "client_id": "", "client_secret": ""},
        }
    }

    adapter = get_adapter("bluesky")

    assert isinstance(adapter, BlueskyAdapter)
    assert adapter.base_url == "http://127.0.0.1:9999"
    assert adapter.appview_url == "https://public.api.bsky.app"
    assert adapter.spec.text_limit == 300
