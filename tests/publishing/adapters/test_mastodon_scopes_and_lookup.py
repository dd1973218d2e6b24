"""Mastodon as a real instance behaves: every call the adapter makes works with a token that
holds exactly the scopes the adapter asks for (the fake enforces each endpoint's scope), and
the look-up pages back far enough to find a status posted hours ago under a busy account."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import override_settings

from publishing.adapters.base import (
    Account,
    Credentials,
    LookupIncomplete,
    MediaItem,
    PermanentError,
    PublishRequest,
)
from publishing.adapters.mastodon import SCOPES, MastodonAdapter
from tests.fakes.mastodon import FakeMastodon

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def fake_mastodon():
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True), FakeMastodon() as server:
        yield server


@pytest.fixture
def adapter():
    return MastodonAdapter(media_poll_interval=0.01, media_poll_timeout=2)


@pytest.fixture
def account(fake_mastodon):
    return Account(
        account_id=fake_mastodon.account["id"], config={"instance_url": fake_mastodon.url}
    )


def token_with(fake: FakeMastodon, scope: str) -> Credentials:
    fake.tokens["scoped-token"] = {"scope": scope, "refresh": ""}
    return Credentials(access_token="scoped-token")


def image() -> MediaItem:
    data = b"\x89PNG" + b"0" * 64
    return MediaItem("image", "image/png", "a.png", len(data), lambda: io.BytesIO(data))


def test_given_a_token_with_exactly_our_scopes_then_every_call_the_adapter_makes_works(
    adapter, account, fake_mastodon
):
    creds = token_with(fake_mastodon, SCOPES)
    request = PublishRequest(
        text="Scopes that real servers grant",
        thread=["and a second part"],
        first_comment="a first comment",
        media=[image()],
        idempotency_key="scopes-1",
        not_before=NOW - dt.timedelta(minutes=5),
    )

    result = adapter.publish(account=account, credentials=creds, request=request)
    found = adapter.find_existing(account=account, credentials=creds, request=request)
    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=[result.remote_id]
    )
    numbers = adapter.fetch_account_metrics(account=account, credentials=creds)
    recent = adapter.list_recent_posts(
        account=account, credentials=creds, since=NOW - dt.timedelta(days=1)
    )
    adapter.delete(account=account, credentials=creds, remote_id=result.remote_id)

    assert [p.remote_id for p in found.parts] == [p.remote_id for p in result.parts]
    assert [s.remote_id for s in snapshots] == [result.remote_id]
    assert numbers.values["posts"] == 3
    assert [p.remote_id for p in recent] == [result.remote_id]
    assert result.remote_id not in fake_mastodon.statuses
    calls = fake_mastodon.requests
    assert calls  # the calls went to the server, each under the scoped token or none
    assert all(r.headers.get("Authorization") in (None, "Bearer scoped-token") for r in calls)


@pytest.mark.parametrize(
    ("missing", "call"),
    [
        ("read:accounts", "account_metrics"),
        ("read:statuses", "look_up"),
        ("write:media", "publish_media"),
    ],
)
def test_given_a_token_missing_a_scope_then_the_instance_refuses_and_the_adapter_says_so(
    adapter, account, fake_mastodon, missing, call
):
    """The fake answers as Mastodon does (403, 'outside the authorized scopes'): the tests
    above would fail if the adapter's list lost a scope it needs."""
    creds = token_with(fake_mastodon, " ".join(s for s in SCOPES.split() if s != missing))
    request = PublishRequest(text="x", media=[image()], idempotency_key="k")

    with pytest.raises(PermanentError) as refused:
        if call == "account_metrics":
            adapter.fetch_account_metrics(account=account, credentials=creds)
        elif call == "look_up":
            adapter.find_existing(account=account, credentials=creds, request=request)
        else:
            adapter.publish(account=account, credentials=creds, request=request)

    assert refused.value.status == 403
    assert "outside the authorized scopes" in (refused.value.detail or refused.value.message)


def test_given_our_status_under_a_hundred_newer_ones_when_looking_up_then_found_by_paging(
    adapter, account, fake_mastodon
):
    """The look-up used to read only the newest 40 statuses: a post that went out before a
    busy hour was not found and was posted again."""
    not_before = NOW - dt.timedelta(hours=3)
    fake_mastodon.add_status(
        "older, before the delivery", created_at=not_before - dt.timedelta(hours=1)
    )
    ours = fake_mastodon.add_status("Our post", created_at=not_before + dt.timedelta(minutes=1))
    for n in range(100):
        fake_mastodon.add_status(f"busy {n}", created_at=not_before + dt.timedelta(minutes=2 + n))
    request = PublishRequest(text="Our post", idempotency_key="k", not_before=not_before)

    found = adapter.find_existing(
        account=account, credentials=Credentials(fake_mastodon.token), request=request
    )

    assert found is not None and found.remote_id == ours["id"]
    pages = fake_mastodon.requests_to("GET", f"/api/v1/accounts/{account.account_id}/statuses")
    assert len(pages) == 3  # 40 + 40 + 22: it stops at the first status before not_before
    assert "max_id" not in pages[0].query  # then each page starts below the last one seen
    assert pages[1].query["max_id"] > pages[2].query["max_id"]


def test_given_a_status_older_than_not_before_is_reached_then_the_look_up_stops_paging(
    adapter, account, fake_mastodon
):
    not_before = NOW - dt.timedelta(minutes=30)
    for n in range(120):
        fake_mastodon.add_status(
            f"old {n}", created_at=not_before - dt.timedelta(hours=5, minutes=-n)
        )
    request = PublishRequest(text="never posted", idempotency_key="k", not_before=not_before)

    found = adapter.find_existing(
        account=account, credentials=Credentials(fake_mastodon.token), request=request
    )

    assert found is None
    assert (
        len(fake_mastodon.requests_to("GET", f"/api/v1/accounts/{account.account_id}/statuses"))
        == 1
    )


def test_given_an_endless_account_then_the_look_up_reads_at_most_its_bound(
    adapter, account, fake_mastodon, monkeypatch
):
    monkeypatch.setattr(MastodonAdapter, "lookup_max_pages", 3)
    not_before = NOW - dt.timedelta(days=1)
    for n in range(200):
        fake_mastodon.add_status(f"busy {n}", created_at=not_before + dt.timedelta(minutes=n))
    request = PublishRequest(text="not there", idempotency_key="k", not_before=not_before)

    # Three pages and not_before still not reached: it cannot tell, and says so (never "not
    # out", which would post again).
    with pytest.raises(LookupIncomplete, match="3 pages"):
        adapter.find_existing(
            account=account, credentials=Credentials(fake_mastodon.token), request=request
        )
    assert (
        len(fake_mastodon.requests_to("GET", f"/api/v1/accounts/{account.account_id}/statuses"))
        == 3
    )


@pytest.mark.parametrize(
    ("url", "remote_id"),
    [
        ("https://mastodon.social/@acme/113456789012345678", "113456789012345678"),
        ("https://mastodon.social/@acme/113456789012345678/", "113456789012345678"),
        ("https://m.example/@acme@m.example/42?utm=x#top", "42"),
        ("https://m.example/users/acme/statuses/113456789012345678", "113456789012345678"),
        ("https://m.example/@acme", None),
        ("https://m.example/@acme/media", None),
        ("not a url", None),
    ],
)
def test_given_a_status_address_then_its_id_is_read_from_it(url, remote_id):
    assert MastodonAdapter().remote_id_from_url(url) == remote_id


def test_mastodon_keeps_its_idempotency_key_an_hour():
    assert MastodonAdapter.idempotency_window == dt.timedelta(hours=1)


@pytest.mark.parametrize(
    "text",
    [
        "👨‍👩‍👧‍👦" * 500,  # a family emoji is one grapheme
        "@lea@mastodon.social " * 22 + "x" * (500 - 22 * 5),  # a mention counts as @lea
        "https://example.com/" + "a" * 300 + " " + "ü" * (500 - 24),  # a URL counts as 23
    ],
)
def test_a_text_the_editor_counts_as_500_is_accepted_and_one_more_refused(
    adapter, account, fake_mastodon, text
):
    """The editor's counter and Mastodon's validator (the fake follows its Ruby) agree at the
    limit, to the character."""
    from calendar_app.counting import Counting, count_text

    creds = Credentials(access_token=fake_mastodon.token)
    assert count_text(text, Counting.URL_23) == 500
    adapter.publish(
        account=account, credentials=creds, request=PublishRequest(text=text, idempotency_key="a")
    )
    with pytest.raises(PermanentError, match="character limit"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text=text + "!", idempotency_key="b"),
        )
