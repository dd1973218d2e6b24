"""The Bluesky adapter against the AT Protocol's real servers (PLC, PDS and the Bluesky AppView
from npm, run by Node 22: tests/real_pds.py): what the PDS stores and the AppView counts, not
what we think they do."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib

import pytest
from django.test import override_settings

from calendar_app.models import Channel, ChannelState
from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
)
from publishing.adapters.bluesky import BlueskyAdapter, record_key_for
from publishing.credentials import credentials_load
from tests import real_pds
from tests.conftest import login, skip_or_fail

pytestmark = [pytest.mark.real_server, pytest.mark.xdist_group("real-pds")]
CONNECT = "/w/acme/settings/channels/connect/bluesky/"


def require_pds() -> None:
    """Skip when the machine has no PDS install (a developer's plain `make test`); fail under
    `.ci/run` (REQUIRE_BLUESKY_PDS=1), which installs it."""
    missing = real_pds.available()
    if not missing:
        return
    skip_or_fail(
        f"{missing} (see tests/real_pds.py for the npm install; .ci/run does it)",
        required_by="REQUIRE_BLUESKY_PDS",
    )


@pytest.fixture(scope="module")
def pds(tmp_path_factory):
    require_pds()
    with real_pds.RealPds(tmp_path_factory.mktemp("pds")) as network:
        yield network


@pytest.fixture(autouse=True)
def local_addresses():
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True):
        yield


@pytest.fixture
def adapter(pds):
    return BlueskyAdapter(appview_url=pds.appview_url)


@pytest.fixture
def connected(pds, adapter):
    result = adapter.connect_with_secret(
        account=Account(handle=pds.handle, config={"pds_url": pds.url}), secret=pds.app_password
    )
    return result.account, result.credentials


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x00\x80\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def image(data: bytes) -> MediaItem:
    return MediaItem(
        "image", "image/png", "buehne.png", len(data), lambda: io.BytesIO(data), alt_text="Bühne"
    )


def span(text: str, part: str) -> dict[str, int]:
    """UTF-8 byte offsets of `part` in `text`, computed independently of the adapter."""
    start = text.encode().index(part.encode())
    return {"byteStart": start, "byteEnd": start + len(part.encode())}


# --- connecting --------------------------------------------------------------------------------


def test_given_a_handle_and_an_app_password_when_connecting_through_the_form_then_connected(
    client, manager, pds
):
    login(client, manager)

    response = client.post(
        CONNECT, {"handle": pds.handle, "app_password": pds.app_password, "pds_url": pds.url}
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    channel = Channel.objects.get(workspace=manager.workspace, platform="bluesky")
    assert channel.state == ChannelState.CONNECTED
    assert channel.account_id == pds.did
    assert channel.handle == pds.handle
    assert channel.name == "Redaktion Köln"  # the profile, through the PDS from the AppView
    assert channel.config["pds_url"] == pds.url
    assert credentials_load(channel).extra["did"] == pds.did
    assert pds.app_password not in str(channel.config)


def test_given_a_wrong_app_password_when_connecting_then_told_so(adapter, pds):
    with pytest.raises(ConnectError) as caught:
        adapter.connect_with_secret(
            account=Account(handle=pds.handle, config={"pds_url": pds.url}),
            secret="aaaa-bbbb-cccc-dddd",
        )

    assert "did not accept this handle and app password" in caught.value.message
    assert "aaaa-bbbb-cccc-dddd" not in caught.value.detail


# --- publishing --------------------------------------------------------------------------------


def test_given_text_with_umlauts_a_link_a_mention_and_an_image_when_publishing_then_stored_right(
    adapter, pds, connected
):
    account, credentials = connected
    data = png()
    text = "Grüße aus Köln! Programm: https://example.org/sommer?x=1&y=ä. Mit @leserin.test #Sommerfest"
    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text=text, media=[image(data)], idempotency_key="real-bsky-1"),
    )

    rkey = record_key_for("real-bsky-1", 0)
    assert result.remote_id == f"at://{pds.did}/app.bsky.feed.post/{rkey}"
    assert result.url == f"https://bsky.app/profile/{pds.handle}/post/{rkey}"
    stored = pds.record(result.remote_id)["value"]
    assert stored["text"] == text
    features = {f["features"][0]["$type"].rsplit("#", 1)[1]: f for f in stored["facets"]}
    assert features["link"]["index"] == span(text, "https://example.org/sommer?x=1&y=ä")
    assert features["link"]["features"][0]["uri"] == "https://example.org/sommer?x=1&y=ä"
    assert features["mention"]["index"] == span(text, "@leserin.test")
    assert features["mention"]["features"][0]["did"] == pds.reader["did"]
    assert features["tag"]["index"] == span(text, "#Sommerfest")
    assert features["tag"]["features"][0]["tag"] == "Sommerfest"
    [picture] = stored["embed"]["images"]
    assert picture["alt"] == "Bühne"
    assert picture["aspectRatio"] == {"width": 3, "height": 2}
    assert picture["image"]["mimeType"] == "image/png"
    blob = pds.xrpc(
        "GET",
        "com.atproto.sync.getBlob",
        params={"did": pds.did, "cid": picture["image"]["ref"]["$link"]},
    )
    assert blob.status_code == 200 and blob.content == data

    pds.process()
    seen = pds.xrpc(
        "GET", "app.bsky.feed.getPostThread", token=credentials.access_token,
        params={"uri": result.remote_id},
    )  # fmt: skip
    assert seen.status_code == 200, seen.text  # the AppView took the record as valid
    assert seen.json()["thread"]["post"]["embed"]["images"][0]["alt"] == "Bühne"


def test_given_a_mention_of_nobody_and_a_german_hashtag_when_publishing_then_plain_and_tagged(
    adapter, pds, connected
):
    account, credentials = connected
    text = "Danke @niemand.example für #Köln!"

    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text=text, idempotency_key="real-bsky-nobody"),
    )

    facets = pds.record(result.remote_id)["value"]["facets"]
    assert facets == [
        {
            "index": span(text, "#Köln"),
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Köln"}],
        }
    ]


def test_given_300_emoji_when_validating_then_the_text_the_pds_refuses_is_flagged(
    adapter, pds, connected
):
    """300 graphemes is Bluesky's visible limit; the record's text also has a cap of 3000
    UTF-8 bytes, which a text of family emoji (18 bytes each) passes long before 300."""
    account, credentials = connected
    request = PublishRequest(text="👨‍👩‍👧" * 300, idempotency_key="real-bsky-emoji")

    with pytest.raises(PermanentError) as refused:
        adapter.publish(account=account, credentials=credentials, request=request)
    assert "string too big (maximum 3000, got 5400)" in refused.value.message
    assert (
        pds.record(f"at://{pds.did}/app.bsky.feed.post/{record_key_for('real-bsky-emoji', 0)}")
        is None
    )

    problems = adapter.validate(request)  # the engine refuses it before sending
    assert any("5400 bytes" in p and "3000" in p for p in problems), problems


def test_given_a_link_and_no_media_when_publishing_then_a_card_with_the_given_title(
    adapter, pds, connected
):
    account, credentials = connected
    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(
            text="Jetzt anmelden: https://example.org/anmeldung",
            idempotency_key="real-bsky-card",
            options={"link_title": "Anmeldung Sommerfest", "link_description": "Bis 1. Juni"},
        ),
    )

    embed = pds.record(result.remote_id)["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    assert embed["external"]["uri"] == "https://example.org/anmeldung"
    assert embed["external"]["title"] == "Anmeldung Sommerfest"


def test_given_a_thread_and_a_first_comment_when_publishing_then_replies_point_at_their_parents(
    adapter, pds, connected
):
    account, credentials = connected
    request = PublishRequest(
        text="Teil 1: Das Programm.",
        thread=["Teil 2: Die Bühne.", "Teil 3: Das Essen."],
        first_comment="Tickets: https://example.org/tickets",
        idempotency_key="real-bsky-thread",
    )

    result = adapter.publish(account=account, credentials=credentials, request=request)

    records = [pds.record(part.remote_id) for part in result.parts]
    assert [r["value"]["text"] for r in records] == [
        "Teil 1: Das Programm.",
        "Teil 2: Die Bühne.",
        "Teil 3: Das Essen.",
        "Tickets: https://example.org/tickets",
    ]
    root = {"uri": records[0]["uri"], "cid": records[0]["cid"]}
    assert "reply" not in records[0]["value"]
    assert records[1]["value"]["reply"] == {"root": root, "parent": root}
    assert records[2]["value"]["reply"] == {
        "root": root,
        "parent": {"uri": records[1]["uri"], "cid": records[1]["cid"]},
    }
    assert records[3]["value"]["reply"] == {"root": root, "parent": root}  # under the main post


def test_given_an_answer_lost_when_retrying_and_looking_up_then_the_same_posts_and_no_second(
    adapter, pds, connected
):
    account, credentials = connected
    request = PublishRequest(
        text="Nur einmal, bitte.", thread=["Wirklich."], idempotency_key="real-bsky-lost"
    )
    first = adapter.publish(account=account, credentials=credentials, request=request)
    before = len(pds.posts())
    stored = pds.record(first.remote_id)

    found = adapter.find_existing(account=account, credentials=credentials, request=request)
    again = adapter.publish(account=account, credentials=credentials, request=request)
    other = adapter.find_existing(
        account=account,
        credentials=credentials,
        request=PublishRequest(text="Nur einmal, bitte.", idempotency_key="real-bsky-other"),
    )

    ids = [p.remote_id for p in first.parts]
    assert [p.remote_id for p in found.parts] == ids
    assert [p.remote_id for p in again.parts] == ids  # the retry took the stored posts
    assert len(pds.posts()) == before
    assert pds.record(first.remote_id) == stored  # kept, not overwritten with a new createdAt
    assert other is None


def test_given_a_thread_cut_off_after_its_first_part_when_resuming_then_only_the_rest_goes_out(
    adapter, pds, connected
):
    account, credentials = connected
    head = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text="Anfang.", idempotency_key="real-bsky-resume"),
    )

    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(
            text="Anfang.",
            thread=["Fortsetzung."],
            idempotency_key="real-bsky-resume",
            done_parts=[PublishedPart(head.remote_id, head.url)],
        ),
    )

    assert result.parts[0].remote_id == head.remote_id
    reply = pds.record(result.parts[1].remote_id)["value"]["reply"]
    assert reply["root"]["uri"] == head.remote_id


# --- metrics and listing (the AppView) ---------------------------------------------------------


def test_given_likes_reposts_replies_and_a_follower_when_fetching_metrics_then_counted(
    adapter, pds, connected
):
    account, credentials = connected
    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text="Wie gefällt euch das?", idempotency_key="real-bsky-metrics"),
    )
    post = pds.record(result.remote_id)
    subject = {"uri": post["uri"], "cid": post["cid"]}
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    pds.as_reader("app.bsky.feed.like", {"subject": subject, "createdAt": now})
    pds.as_reader("app.bsky.feed.repost", {"subject": subject, "createdAt": now})
    pds.as_reader(
        "app.bsky.feed.post",
        {"text": "Super!", "createdAt": now, "reply": {"root": subject, "parent": subject}},
    )
    pds.as_reader(
        "app.bsky.feed.post",
        {
            "text": "Schaut mal:",
            "createdAt": now,
            "embed": {"$type": "app.bsky.embed.record", "record": subject},
        },
    )
    pds.as_reader("app.bsky.graph.follow", {"subject": pds.did, "createdAt": now})
    pds.process()

    [snapshot] = adapter.fetch_metrics(
        account=account, credentials=credentials, remote_ids=[result.remote_id]
    )
    numbers = adapter.fetch_account_metrics(account=account, credentials=credentials)

    assert snapshot.remote_id == result.remote_id
    assert snapshot.values == {"likes": 1, "comments": 1, "shares": 1, "quotes": 1}
    assert numbers.values["followers"] == 1
    assert numbers.values["following"] == 0
    assert numbers.values["posts"] == len(pds.posts())


def test_given_posts_and_replies_when_listing_recent_posts_then_only_own_top_level_posts(
    adapter, pds, connected
):
    account, credentials = connected
    single = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text="Oben.", idempotency_key="real-bsky-list-1"),
    )
    thread = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text="Faden.", thread=["Antwort."], idempotency_key="real-bsky-l2"),
    )
    pds.process()

    recent = adapter.list_recent_posts(
        account=account,
        credentials=credentials,
        since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )

    listed = {p.remote_id: p for p in recent}
    assert single.remote_id in listed and thread.remote_id in listed
    assert thread.parts[1].remote_id not in listed  # a reply, left out
    assert listed[single.remote_id].text == "Oben."
    assert all(uri.startswith(f"at://{pds.did}/") for uri in listed)


# --- deleting and sessions ---------------------------------------------------------------------


def test_given_a_published_post_when_deleting_twice_then_gone_and_the_second_is_fine(
    adapter, pds, connected
):
    account, credentials = connected
    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(text="Gleich weg.", idempotency_key="real-bsky-delete"),
    )

    adapter.delete(account=account, credentials=credentials, remote_id=result.remote_id)
    adapter.delete(account=account, credentials=credentials, remote_id=result.remote_id)
    pds.process()

    assert pds.record(result.remote_id) is None
    gone = adapter.fetch_metrics(
        account=account, credentials=credentials, remote_ids=[result.remote_id]
    )
    assert gone == []


def test_given_a_session_when_refreshing_then_a_new_pair_that_publishes(adapter, pds, connected):
    account, credentials = connected

    refreshed = adapter.refresh(account=account, credentials=credentials)
    again = adapter.refresh(
        account=account,
        credentials=Credentials(
            access_token="", refresh_token="no good", extra=dict(credentials.extra)
        ),
    )

    assert refreshed.refresh_token and refreshed.refresh_token != credentials.refresh_token
    assert refreshed.extra["app_password"] == pds.app_password
    assert again.access_token  # from the stored app password
    result = adapter.publish(
        account=account,
        credentials=again,
        request=PublishRequest(text="Nach dem Auffrischen.", idempotency_key="real-bsky-fresh"),
    )
    assert pds.record(result.remote_id)["value"]["text"] == "Nach dem Auffrischen."


def test_given_a_bad_access_token_when_publishing_then_the_session_is_said_to_have_expired(
    adapter, pds, connected
):
    account, _credentials = connected

    with pytest.raises(AuthExpired):
        adapter.publish(
            account=account,
            credentials=Credentials(access_token="not.a.token", extra={"did": pds.did}),
            request=PublishRequest(text="Nie.", idempotency_key="real-bsky-bad-token"),
        )


def test_given_a_revoked_app_password_when_refreshing_then_reconnect_is_asked(adapter, pds):
    session = pds.xrpc(
        "POST",
        "com.atproto.server.createSession",
        json={"identifier": pds.handle, "password": pds.author_password},
    ).json()
    created = pds.xrpc(
        "POST",
        "com.atproto.server.createAppPassword",
        token=session["accessJwt"],
        json={"name": "Widerrufen"},
    ).json()
    result = adapter.connect_with_secret(
        account=Account(handle=pds.handle, config={"pds_url": pds.url}), secret=created["password"]
    )
    revoked = pds.xrpc(
        "POST",
        "com.atproto.server.revokeAppPassword",
        token=session["accessJwt"],
        json={"name": "Widerrufen"},
    )
    assert revoked.status_code == 200, revoked.text

    with pytest.raises(AuthExpired) as caught:
        adapter.refresh(account=result.account, credentials=result.credentials)

    assert "Reconnect the channel" in caught.value.message
