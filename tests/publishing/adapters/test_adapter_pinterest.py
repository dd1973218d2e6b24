"""The Pinterest adapter against responses shaped like API v5."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from publishing.adapters.base import (
    Account,
    ConnectError,
    Credentials,
    LookupIncomplete,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
)
from publishing.adapters.pinterest import LOOKUP_PAGE, PinterestAdapter

API = "https://api.pinterest.test"
TOKEN = "pina_secret-access"
REFRESH = "pinr_secret-refresh"


@pytest.fixture
def adapter():
    adapter = PinterestAdapter(base_url=API, client_id="pinapp", client_secret="pinsecret")
    adapter.sleep = lambda seconds: None
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="u1", handle="acme", config={"board_id": "B1"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN, refresh_token=REFRESH)


def image(url="https://media.acme.test/a.jpg", data=b"jpgdata", alt=""):
    return MediaItem(
        kind="image",
        mime_type="image/jpeg",
        filename="a.jpg",
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
        public_url=url,
        alt_text=alt,
    )


def pin_body(api):
    return next(json.loads(c.request.body) for c in api.calls if c.request.url == f"{API}/v5/pins")


# -- connecting -----------------------------------------------------------------------------------


def test_given_an_app_when_building_the_authorization_url_then_scopes_are_comma_separated(
    adapter,
):
    url, _account = adapter.authorization_url(
        redirect_uri="https://app.test/cb", state="st", code_verifier="v", account=Account()
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://www.pinterest.com/oauth/?")
    assert query["state"] == ["st"]
    assert query["scope"] == ["boards:read,boards:write,pins:read,pins:write,user_accounts:read"]


def test_given_a_code_when_exchanging_then_basic_auth_is_used_and_boards_are_listed(adapter, api):
    api.post(
        f"{API}/v5/oauth/token",
        json={
            "access_token": TOKEN,
            "refresh_token": REFRESH,
            "response_type": "authorization_code",
            "token_type": "bearer",
            "expires_in": 2592000,
            "refresh_token_expires_in": 31536000,
            "scope": "boards:read pins:write",
        },
    )
    api.get(
        f"{API}/v5/user_account",
        json={
            "id": "u1",
            "username": "acme",
            "business_name": "Acme GmbH",
            "profile_image": "https://i.pinimg.test/a.jpg",
        },
    )
    api.get(
        f"{API}/v5/boards",
        json={"items": [{"id": "B1", "name": "Ideen"}, {"id": "B2", "name": "Shop"}]},
    )

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    token_request = api.calls[0].request
    assert (
        token_request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"pinapp:pinsecret").decode()
    )
    assert "pinsecret" not in token_request.body
    assert result.account.account_id == "u1"
    assert result.account.name == "Acme GmbH"
    assert result.account.config["boards"] == [
        {"id": "B1", "name": "Ideen"},
        {"id": "B2", "name": "Shop"},
    ]
    assert result.account.config["board_id"] == "B1"
    assert result.credentials.refresh_token == REFRESH


def test_given_no_board_when_exchanging_then_connect_error(adapter, api):
    api.post(f"{API}/v5/oauth/token", json={"access_token": TOKEN, "token_type": "bearer"})
    api.get(f"{API}/v5/user_account", json={"username": "acme"})
    api.get(f"{API}/v5/boards", json={"items": []})

    with pytest.raises(ConnectError, match="no board"):
        adapter.exchange_code(
            code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
        )


@pytest.mark.parametrize(
    ("sent", "kept"), [("pinr_new", "pinr_new"), (None, REFRESH)], ids=["rotated", "kept"]
)
def test_given_a_refresh_token_when_refreshing_then_an_unsent_one_is_kept(
    adapter, api, account, creds, sent, kept
):
    token = {"access_token": "pina_new", "token_type": "bearer", "expires_in": 2592000}
    if sent:
        token["refresh_token"] = sent
    api.post(f"{API}/v5/oauth/token", json=token)

    fresh = adapter.refresh(account=account, credentials=creds)

    assert parse_qs(api.calls[0].request.body)["grant_type"] == ["refresh_token"]
    assert api.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert fresh.access_token == "pina_new"
    assert fresh.refresh_token == kept


# -- publishing -----------------------------------------------------------------------------------


def test_given_a_public_image_when_publishing_then_a_pin_is_made_on_the_board(
    adapter, api, account, creds
):
    api.post(f"{API}/v5/pins", json={"id": "P1"})
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Rezept",
            title="Apfelkuchen",
            link="https://acme.test/kuchen",
            idempotency_key="k",
            media=[image(alt="Ein Kuchen")],
        ),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    assert pin_body(api) == {
        "board_id": "B1",
        "media_source": {"source_type": "image_url", "url": "https://media.acme.test/a.jpg"},
        "title": "Apfelkuchen",
        "description": "Rezept",
        "link": "https://acme.test/kuchen",
        "alt_text": "Ein Kuchen",
    }
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.url == "https://www.pinterest.com/pin/P1/"
    assert seen == [(0, "P1")]


def test_given_no_public_url_when_publishing_then_the_image_goes_inline_as_base64(
    adapter, api, account, creds
):
    api.post(f"{API}/v5/pins", json={"id": "P2"})

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="a",
            idempotency_key="k",
            media=[image(url="")],
            options={"board_id": "B2"},
        ),
    )

    body = pin_body(api)
    assert body["board_id"] == "B2"
    assert body["media_source"] == {
        "source_type": "image_base64",
        "content_type": "image/jpeg",
        "data": base64.b64encode(b"jpgdata").decode(),
    }


def test_given_a_video_when_publishing_then_it_is_uploaded_processed_and_pinned(
    adapter, api, account, creds
):
    api.post(
        f"{API}/v5/media",
        json={
            "media_id": "M1",
            "media_type": "video",
            "upload_url": "https://pinterest-media-upload.s3.test/",
            "upload_parameters": {"key": "uploads/x", "policy": "p"},
        },
    )
    api.post("https://pinterest-media-upload.s3.test/", status=204)
    api.get(f"{API}/v5/media/M1", json={"media_id": "M1", "status": "processing"})
    api.get(f"{API}/v5/media/M1", json={"media_id": "M1", "status": "succeeded"})
    api.post(f"{API}/v5/pins", json={"id": "P3"})
    clip = MediaItem(
        kind="video",
        mime_type="video/mp4",
        filename="c.mp4",
        size_bytes=3,
        open=lambda: io.BytesIO(b"mp4"),
    )

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Film", idempotency_key="k", media=[clip]),
    )

    upload = api.calls[1].request
    assert "Authorization" not in upload.headers
    assert b'name="key"' in upload.body and b"mp4" in upload.body
    assert pin_body(api)["media_source"] == {
        "source_type": "video_id",
        "media_id": "M1",
        "cover_image_key_frame_time": 0,
    }


def test_given_the_pin_is_done_when_publishing_again_then_nothing_is_sent(
    adapter, api, account, creds
):
    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="a",
            idempotency_key="k",
            media=[image()],
            done_parts=[PublishedPart("P1", "https://www.pinterest.com/pin/P1/")],
        ),
    )

    assert len(api.calls) == 0
    assert result.remote_id == "P1"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"first_comment": "Hallo"}, "no first comment"),
        ({"media": []}, "needs media"),
        ({"title": "x" * 101}, "allows 100"),
        ({"link": "https://a.test/" + "x" * 2048}, "2,048"),
    ],
)
def test_given_a_bad_variant_when_validating_then_the_problem_is_named(adapter, kwargs, fragment):
    defaults = {"text": "a", "idempotency_key": "k", "media": [image()]}

    problems = adapter.validate(PublishRequest(**{**defaults, **kwargs}))

    assert any(fragment in p for p in problems), problems


def test_given_no_board_when_publishing_then_permanent_error(adapter, api, creds):
    with pytest.raises(PermanentError, match="board"):
        adapter.publish(
            account=Account(account_id="u1"),
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k", media=[image()]),
        )


# The mapping of errors is tests/publishing/adapters/test_adapter_contract.py's (pinterest-*).


# -- reconciling, metrics -------------------------------------------------------------------------


def test_given_the_pin_went_out_when_looking_for_it_then_the_board_has_it(
    adapter, api, account, creds
):
    api.get(
        f"{API}/v5/boards/B1/pins",
        json={
            "items": [{"id": "P0", "description": "Other"}, {"id": "P7", "description": "Rezept"}]
        },
    )

    found = adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Rezept", idempotency_key="k"),
    )

    assert found.remote_id == "P7"
    assert found.url == "https://www.pinterest.com/pin/P7/"


# -- the look-up pages back to not_before ------------------------------------------------------

NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 58, tzinfo=dt.UTC)
OURS = "Rezept: Apfelkuchen vom Blech"


def pinned(index: int, at: dt.datetime, text: str = "") -> dict:
    """One pin of a board: created at `at`, in UTC without an offset as Pinterest sends it."""
    return {
        "id": f"P{index}",
        "created_at": at.replace(tzinfo=None).isoformat(timespec="seconds"),
        "board_id": "B1",
        "title": "",
        "description": text or f"Pin {index}",
        "is_owner": True,
    }


def busy_board(pins: int, *, ours_at: int | None = None, older_from: int | None = None):
    """`pins` pins, newest first, ten seconds apart back from noon; the one at `ours_at` is
    ours, and from `older_from` on they were created before NOT_BEFORE."""
    noon = NOT_BEFORE.replace(hour=12)
    items = []
    for index in range(pins):
        at = noon - dt.timedelta(seconds=10 * index)
        if older_from is not None and index >= older_from:
            at = NOT_BEFORE - dt.timedelta(minutes=1 + index - older_from)
        items.append(pinned(index, at, OURS if index == ours_at else ""))
    return items


def serve_board(api, items: list[dict], *, size: int = LOOKUP_PAGE, more: bool = False):
    """The board's pins in pages of `size`, each asked for with exactly its bookmark; the last
    page carries a bookmark only when `more`."""
    pages = [items[start : start + size] for start in range(0, len(items), size)]
    for number, page in enumerate(pages):
        query = {"page_size": size}
        if number:
            query["bookmark"] = f"bm{number}"
        last = number + 1 == len(pages)
        bookmark = f"bm{number + 1}" if not last or more else None
        api.get(
            f"{API}/v5/boards/B1/pins",
            match=[matchers.query_param_matcher(query)],
            json={"items": page, "bookmark": bookmark},
        )


def bookmarks(api) -> list[str | None]:
    return [parse_qs(urlsplit(c.request.url).query).get("bookmark", [None])[0] for c in api.calls]


def look_up(adapter, account, creds, *, not_before=NOT_BEFORE):
    return adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text=OURS, idempotency_key="k", not_before=not_before),
    )


def test_given_our_pin_behind_two_pages_of_newer_ones_when_looking_up_then_paging_finds_it(
    adapter, api, account, creds
):
    """The look-up used to read only the newest 25 pins of the board: a pin that went out
    before a busy stretch was not found and was pinned a second time."""
    serve_board(api, busy_board(3 * LOOKUP_PAGE, ours_at=2 * LOOKUP_PAGE + 3))

    found = look_up(adapter, account, creds)

    assert found is not None and found.remote_id == f"P{2 * LOOKUP_PAGE + 3}"
    assert bookmarks(api) == [None, "bm1", "bm2"]


def test_given_a_page_ending_before_not_before_then_no_further_page_is_read(
    adapter, api, account, creds
):
    # The second page ends with last week's identical pin: not ours, and every pin behind it
    # is older still.
    items = busy_board(2 * LOOKUP_PAGE, older_from=2 * LOOKUP_PAGE - 1)
    items[-1]["description"] = OURS
    serve_board(api, items, more=True)  # a third page would be refused by the mock

    assert look_up(adapter, account, creds) is None
    assert bookmarks(api) == [None, "bm1"]


def test_given_an_endless_busy_board_then_the_look_up_reads_at_most_its_bound(
    adapter, api, account, creds
):
    def page(request):
        bookmark = parse_qs(urlsplit(request.url).query).get("bookmark", ["bm0"])[0]
        number = int(bookmark.removeprefix("bm"))
        items = [
            pinned(number * LOOKUP_PAGE + i, NOT_BEFORE.replace(hour=12))
            for i in range(LOOKUP_PAGE)
        ]
        return 200, {}, json.dumps({"items": items, "bookmark": f"bm{number + 1}"})

    api.add_callback(responses.GET, f"{API}/v5/boards/B1/pins", callback=page)

    # It read as far as it may without reaching not_before: it cannot tell, and says so.
    with pytest.raises(LookupIncomplete, match="10 pages"):
        look_up(adapter, account, creds)
    assert len(api.calls) == PinterestAdapter.lookup_max_pages == 10


def test_given_no_not_before_then_only_the_newest_page_is_read_as_before(
    adapter, api, account, creds
):
    newest = PinterestAdapter.recent_posts
    # Only the first page of 25 is served (with a bookmark): a second request fails the test.
    serve_board(api, busy_board(newest), size=newest, more=True)
    serve_board(api, busy_board(LOOKUP_PAGE, ours_at=newest + 10))

    # Unbounded: the newest 25 only, as before, so ours (the 36th) is not seen.
    assert look_up(adapter, account, creds, not_before=None) is None
    assert len(api.calls) == 1
    # Bounded by not_before, the same board is read further back and ours is found.
    assert look_up(adapter, account, creds).remote_id == f"P{newest + 10}"


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("pinterest")

    assert isinstance(adapter, PinterestAdapter)
    assert adapter.base_url.startswith("https://")


def test_given_no_public_media_url_when_validating_then_pinterest_does_not_object(adapter):
    problems = adapter.validate(
        PublishRequest(text="a", idempotency_key="k", media=[image(url="")])
    )

    assert problems == []
    assert adapter.capabilities.fetches_media_by_url is False
