"""The Threads adapter against responses shaped like the Threads API."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from publishing.adapters.base import (
    Account,
    Credentials,
    LookupIncomplete,
    MediaItem,
    PublishedPart,
    PublishRequest,
)
from publishing.adapters.threads import ThreadsAdapter

ROOT = "https://graph.threads.test"
API = f"{ROOT}/v1.0"
TOKEN = "THAA-long-lived-secret"


@pytest.fixture
def adapter():
    adapter = ThreadsAdapter(base_url=API, client_id="thapp", client_secret="thsecret")
    adapter.sleep = lambda seconds: None
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="77", handle="acme")


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def item(kind="image", url="https://media.acme.test/a.jpg"):
    return MediaItem(
        kind=kind,
        mime_type="image/jpeg" if kind == "image" else "video/mp4",
        filename="a.jpg",
        size_bytes=3,
        open=lambda: io.BytesIO(b"abc"),
        public_url=url,
    )


def form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def post_flow(api, container, media_id):
    """One container created, FINISHED, published, permalink read."""
    api.post(f"{API}/77/threads", json={"id": container})
    api.get(f"{API}/{container}", json={"status": "FINISHED", "id": container})
    api.post(f"{API}/77/threads_publish", json={"id": media_id})
    api.get(
        f"{API}/{media_id}",
        json={"id": media_id, "permalink": f"https://www.threads.net/@acme/post/{media_id}"},
    )


def creates(api):
    return [form(c) for c in api.calls if c.request.url == f"{API}/77/threads"]


# -- connecting -----------------------------------------------------------------------------------


def test_given_an_app_when_building_the_authorization_url_then_threads_scopes_and_state(adapter):
    url, _account = adapter.authorization_url(
        redirect_uri="https://app.test/cb", state="st", code_verifier="v", account=Account()
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://threads.net/oauth/authorize?")
    assert query["state"] == ["st"]
    assert "threads_content_publish" in query["scope"][0].split(",")


def test_given_a_code_when_exchanging_then_the_unversioned_token_endpoint_and_long_lived_token(
    adapter, api
):
    api.post(f"{ROOT}/oauth/access_token", json={"access_token": "short", "user_id": 77})
    api.get(
        f"{ROOT}/access_token",
        json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944},
    )
    api.get(
        f"{API}/me",
        json={
            "id": "77",
            "username": "acme",
            "name": "Acme",
            "threads_profile_picture_url": "https://images.platform.test/p.jpg",
        },
    )

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    assert form(api.calls[0])["grant_type"] == "authorization_code"
    assert parse_qs(urlsplit(api.calls[1].request.url).query)["grant_type"] == ["th_exchange_token"]
    assert result.credentials.access_token == TOKEN
    assert result.account.account_id == "77"
    assert result.account.avatar_url == "https://images.platform.test/p.jpg"


def test_given_a_token_when_refreshing_then_th_refresh_token_extends_it(
    adapter, api, account, creds
):
    api.get(
        f"{ROOT}/refresh_access_token", json={"access_token": "THAA-new", "expires_in": 5183944}
    )

    fresh = adapter.refresh(account=account, credentials=creds)

    assert parse_qs(urlsplit(api.calls[0].request.url).query)["grant_type"] == ["th_refresh_token"]
    assert fresh.access_token == "THAA-new"


# -- validation -----------------------------------------------------------------------------------


def test_given_six_links_when_validating_then_the_link_limit_is_named(adapter):
    text = " ".join(f"https://e{i}.test" for i in range(6))

    problems = adapter.validate(PublishRequest(text=text, idempotency_key="k"))

    assert any("at most 5 links" in p for p in problems)


def test_given_five_links_when_validating_then_fine(adapter):
    text = " ".join(f"https://e{i}.test" for i in range(5))

    assert adapter.validate(PublishRequest(text=text, idempotency_key="k")) == []


def test_given_media_without_public_url_when_validating_then_the_setting_is_named(adapter):
    problems = adapter.validate(PublishRequest(text="a", idempotency_key="k", media=[item(url="")]))

    assert any("PUBLIC_MEDIA_BASE_URL" in p for p in problems)


# -- publishing -----------------------------------------------------------------------------------


def test_given_a_text_when_publishing_then_a_text_container_is_published(
    adapter, api, account, creds
):
    post_flow(api, "C1", "T1")

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo", idempotency_key="k"),
    )

    assert creates(api) == [{"media_type": "TEXT", "text": "Hallo", "access_token": TOKEN}]
    assert form(api.calls[2])["creation_id"] == "C1"
    assert result.remote_id == "T1"
    assert result.url == "https://www.threads.net/@acme/post/T1"


def test_given_an_image_when_publishing_then_an_image_container_is_used(
    adapter, api, account, creds
):
    post_flow(api, "C1", "T1")

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Bild", idempotency_key="k", media=[item()]),
    )

    assert creates(api)[0]["media_type"] == "IMAGE"
    assert creates(api)[0]["image_url"] == "https://media.acme.test/a.jpg"


def test_given_two_items_when_publishing_then_a_carousel_is_built(adapter, api, account, creds):
    api.post(f"{API}/77/threads", json={"id": "K1"})
    api.get(f"{API}/K1", json={"status": "FINISHED"})
    api.post(f"{API}/77/threads", json={"id": "K2"})
    api.get(f"{API}/K2", json={"status": "FINISHED"})
    post_flow(api, "C1", "T1")

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Zwei", idempotency_key="k", media=[item(), item("video", "https://m.test/v.mp4")]
        ),
    )

    made = creates(api)
    assert made[0]["is_carousel_item"] == "true" and made[1]["media_type"] == "VIDEO"
    assert made[2]["media_type"] == "CAROUSEL" and made[2]["children"] == "K1,K2"


def test_given_a_thread_and_first_comment_when_publishing_then_replies_chain_correctly(
    adapter, api, account, creds
):
    post_flow(api, "C1", "T1")
    post_flow(api, "C2", "T2")
    post_flow(api, "C3", "T3")
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Eins", thread=["Zwei"], first_comment="Kommentar", idempotency_key="k"
        ),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    made = creates(api)
    assert "reply_to_id" not in made[0]
    assert made[1]["reply_to_id"] == "T1" and made[1]["text"] == "Zwei"
    assert made[2]["reply_to_id"] == "T1" and made[2]["text"] == "Kommentar"
    assert seen == [(0, "T1"), (1, "T2"), (2, "T3")]
    assert [p.remote_id for p in result.parts] == ["T1", "T2", "T3"]


def test_given_done_parts_when_publishing_again_then_it_resumes_with_the_next_reply(
    adapter, api, account, creds
):
    post_flow(api, "C3", "T3")

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Eins",
            thread=["Zwei", "Drei"],
            idempotency_key="k",
            done_parts=[PublishedPart("T1", "u1"), PublishedPart("T2", "u2")],
        ),
    )

    assert creates(api) == [
        {"media_type": "TEXT", "reply_to_id": "T2", "text": "Drei", "access_token": TOKEN}
    ]
    assert result.remote_id == "T1"


# The mapping of errors (Graph codes included) is tests/publishing/adapters/test_adapter_contract.py's (threads-*).


# -- reconciling, metrics -------------------------------------------------------------------------


def test_given_a_reply_went_out_when_looking_for_it_then_replies_are_searched_too(
    adapter, api, account, creds
):
    api.get(f"{API}/77/threads", json={"data": [{"id": "T1", "text": "Eins"}]})
    api.get(
        f"{API}/77/replies",
        json={"data": [{"id": "T2", "text": "Zwei", "permalink": "https://threads.test/T2"}]},
    )

    found = adapter.find_existing(
        account=account, credentials=creds, request=PublishRequest(text="Zwei", idempotency_key="k")
    )

    assert found.remote_id == "T2"


# The look-up pages back to the delivery's not_before (issue 20): a post that went out before a
# busy stretch used to be missed by the one page of 25 and was posted again.
NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 0, 30, 500000, tzinfo=dt.UTC)
POSTS = f"{API}/77/threads"
REPLIES = f"{API}/77/replies"


def listed(remote_id, minutes, text=None):
    """A post or reply created `minutes` after NOT_BEFORE (negative: before)."""
    at = NOT_BEFORE + dt.timedelta(minutes=minutes)
    return {
        "id": remote_id,
        "text": text or f"busy {remote_id}",
        "permalink": f"https://www.threads.net/@acme/post/{remote_id}",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }


def edge_page(api, url, items, after=None):
    """A page as the Threads reference shows them: cursors, no `next` link."""
    paging = {"cursors": {"before": "B", "after": after}} if after else {}
    api.get(url, json={"data": items, "paging": paging})


def sent(api, url=None):
    return [
        {k: v[0] for k, v in parse_qs(urlsplit(c.request.url).query).items()}
        for c in api.calls
        if url is None or c.request.url.split("?")[0] == url
    ]


def look_up(adapter, account, creds, text, not_before=NOT_BEFORE):
    return adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text=text, idempotency_key="k", not_before=not_before),
    )


def test_given_our_post_on_the_third_page_when_looking_for_it_then_found_by_paging_back(
    adapter, api, account, creds
):
    edge_page(api, POSTS, [listed("T30", 90), listed("T29", 80)], after="A1")
    edge_page(api, POSTS, [listed("T28", 70), listed("T27", 60)], after="A2")
    edge_page(api, POSTS, [listed("T26", 50), listed("T25", 40, "Ours")], after="A3")

    found = look_up(adapter, account, creds, "Ours")

    assert found.remote_id == "T25"
    assert found.url == "https://www.threads.net/@acme/post/T25"
    queries = sent(api)
    assert len(queries) == 3  # the match ends the walk: A3 and the replies are never read
    # Threads itself filters by time: since from not_before, whole seconds rounded down.
    assert queries[0]["since"] == str(int(NOT_BEFORE.timestamp()))
    assert queries[0]["limit"] == "100"
    assert "after" not in queries[0]
    assert [q.get("after") for q in queries[1:]] == ["A1", "A2"]
    assert all(q["access_token"] == TOKEN for q in queries)


def test_given_a_post_older_than_not_before_on_a_page_when_looking_then_no_further_page(
    adapter, api, account, creds
):
    edge_page(api, POSTS, [listed("T30", 90), listed("T29", 80)], after="A1")
    edge_page(api, POSTS, [listed("T28", 5), listed("T27", -1)], after="A2")
    edge_page(api, REPLIES, [listed("R9", 3), listed("R8", -2)], after="R1")

    assert look_up(adapter, account, creds, "Never posted") is None
    # Two pages of posts, then one of replies: each walk ends at its first older item.
    assert len(sent(api, POSTS)) == 2 and len(sent(api, REPLIES)) == 1


def test_given_an_endless_account_when_looking_then_at_most_the_page_bound_per_edge(
    adapter, api, account, creds
):
    served = []

    def newer_page(request):
        n = len(served)
        served.append(n)
        body = {
            "data": [listed(f"T{1000 - n}", 600 - n)],
            "paging": {"cursors": {"after": f"A{n + 1}"}},
        }
        return 200, {}, json.dumps(body)

    api.add_callback(responses.GET, POSTS, callback=newer_page)

    # 20 pages of posts and not_before still not reached: it cannot tell, and says so (never
    # "not out"); the replies are not read on top of that.
    with pytest.raises(LookupIncomplete, match="20 pages"):
        look_up(adapter, account, creds, "Never posted")
    assert adapter.lookup_max_pages == 20
    assert len(sent(api, POSTS)) == 20 and not sent(api, REPLIES)


def test_given_no_not_before_when_looking_then_one_page_of_25_per_edge_as_before(
    adapter, api, account, creds
):
    edge_page(api, POSTS, [listed("T30", 90)], after="A1")
    edge_page(api, REPLIES, [listed("R30", 90)], after="R1")

    assert look_up(adapter, account, creds, "Ours", not_before=None) is None
    expected = {"fields": "id,text,permalink,timestamp", "limit": "25", "access_token": TOKEN}
    assert sent(api) == [expected, expected]
    assert [c.request.url.split("?")[0] for c in api.calls] == [POSTS, REPLIES]


def test_given_cursor_paging_without_next_links_then_an_empty_page_ends_an_edge(
    adapter, api, account, creds
):
    # The posts run out (an empty page after the cursor); our reply is on the second page.
    edge_page(api, POSTS, [listed("T30", 90)], after="A1")
    edge_page(api, POSTS, [], after="A2")
    edge_page(api, REPLIES, [listed("R30", 90)], after="R1")
    edge_page(api, REPLIES, [listed("R29", 80, "Ours")], after="R2")

    found = look_up(adapter, account, creds, "Ours")

    assert found.remote_id == "R29"
    assert [q.get("after") for q in sent(api, POSTS)] == [None, "A1"]
    assert [q.get("after") for q in sent(api, REPLIES)] == [None, "R1"]
    assert sent(api, REPLIES)[0]["since"] == str(int(NOT_BEFORE.timestamp()))


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("threads")

    assert isinstance(adapter, ThreadsAdapter)
    assert adapter.base_url.startswith("https://")
