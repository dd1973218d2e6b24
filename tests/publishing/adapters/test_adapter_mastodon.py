"""MastodonAdapter against the local fake Mastodon server (tests/fakes/mastodon.py)."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.test import override_settings

from publishing.adapters.base import (
    Account,
    AuthExpired,
    Credentials,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
    RateLimited,
    TransientError,
)
from publishing.adapters.mastodon import MastodonAdapter, comparable_text, plain_text
from tests.fakes.mastodon import FakeMastodon, render_html


@pytest.fixture
def fake_mastodon():
    # The fake listens on 127.0.0.1, which the adapter refuses unless private URLs are allowed.
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True), FakeMastodon() as server:
        yield server


@pytest.fixture
def adapter():
    return MastodonAdapter(media_poll_interval=0.01, media_poll_timeout=2)


@pytest.fixture
def account(fake_mastodon):
    return Account(
        account_id=fake_mastodon.account["id"],
        handle="@acme@fake",
        config={"instance_url": fake_mastodon.url},
    )


@pytest.fixture
def creds(fake_mastodon):
    return Credentials(access_token=fake_mastodon.token)


def image(name: str = "a.png", alt: str = "") -> MediaItem:
    data = b"\x89PNG" + b"0" * 100
    return MediaItem("image", "image/png", name, len(data), lambda: io.BytesIO(data), alt_text=alt)


def publish(adapter, account, creds, request, parts=None):
    return adapter.publish(
        account=account,
        credentials=creds,
        request=request,
        on_part=(lambda i, p: parts.append((i, p))) if parts is not None else None,
    )


def test_given_text_when_publishing_then_status_created_with_idempotency_key(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    result = publish(
        adapter, account, creds, PublishRequest(text="Hello Fediverse", idempotency_key="d-1")
    )

    status = fake_mastodon.statuses[result.remote_id]
    assert status["_text"] == "Hello Fediverse"
    assert status["visibility"] == "public"
    assert status["_idempotency_key"] == "d-1"
    assert result.url == status["url"]
    assert [p.remote_id for p in result.parts] == [result.remote_id]
    sent = fake_mastodon.requests_to("POST", "/api/v1/statuses")[0]
    assert sent.headers["Authorization"] == f"Bearer {fake_mastodon.token}"


def test_given_same_key_when_publishing_twice_then_one_status_and_same_result(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    request = PublishRequest(text="Once only", idempotency_key="d-2", thread=["and a reply"])

    first = publish(adapter, account, creds, request)
    second = publish(adapter, account, creds, request)

    assert len(fake_mastodon.statuses) == 2
    assert [p.remote_id for p in first.parts] == [p.remote_id for p in second.parts]
    keys = [
        r.headers["Idempotency-Key"] for r in fake_mastodon.requests_to("POST", "/api/v1/statuses")
    ]
    assert keys == ["d-2", "d-2:1", "d-2", "d-2:1"]


def test_given_media_when_publishing_then_uploaded_polled_and_attached(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    fake_mastodon.media_processing_polls = 2

    result = publish(
        adapter,
        account,
        creds,
        PublishRequest(
            text="With pictures",
            idempotency_key="d-3",
            media=[image("a.png", "A cat"), image("b.png")],
        ),
    )

    uploads = fake_mastodon.requests_to("POST", "/api/v2/media")
    assert [u.files["file"][0] for u in uploads] == ["a.png", "b.png"]
    assert uploads[0].form["description"] == ["A cat"]
    assert "description" not in uploads[1].form
    assert len([r for r in fake_mastodon.requests if r.path.startswith("/api/v1/media/")]) == 2 * 3
    attached = fake_mastodon.statuses[result.remote_id]["media_attachments"]
    assert [m["description"] for m in attached] == ["A cat", None]


def test_given_media_never_ready_when_publishing_then_transient_and_no_status(
    account,
    creds,
    fake_mastodon,
):
    fake_mastodon.media_processing_polls = 1000
    adapter = MastodonAdapter(media_poll_interval=0.01, media_poll_timeout=0.05)

    with pytest.raises(TransientError, match="still processing"):
        publish(
            adapter,
            account,
            creds,
            PublishRequest(text="x", idempotency_key="d-4", media=[image()]),
        )

    assert fake_mastodon.statuses == {}


def test_given_thread_and_first_comment_when_publishing_then_replies_chained_and_reported(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    parts: list = []
    request = PublishRequest(
        text="1/3 main",
        thread=["2/3 second", "3/3 third"],
        first_comment="Link: https://example.com/a-very-long-path/that-mastodon-shortens/in-html",
        idempotency_key="d-5",
        options={"visibility": "unlisted"},
    )

    result = publish(adapter, account, creds, request, parts)

    s = fake_mastodon.statuses
    main, second, third, comment = (p.remote_id for p in result.parts)
    assert s[main]["in_reply_to_id"] is None
    assert s[second]["in_reply_to_id"] == main
    assert s[third]["in_reply_to_id"] == second
    assert s[comment]["in_reply_to_id"] == main
    assert s[comment]["_text"] == request.first_comment
    assert {s[p.remote_id]["visibility"] for p in result.parts} == {"unlisted"}
    assert [i for i, _p in parts] == [0, 1, 2, 3]
    assert [p for _i, p in parts] == result.parts


def test_given_failure_mid_thread_when_retrying_with_done_parts_then_resumes_after_them(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    request = PublishRequest(text="main", thread=["second", "third"], idempotency_key="d-6")
    fake_mastodon.fail_next("POST", "/api/v1/statuses", status=503, after=2)
    reported: list = []
    with pytest.raises(TransientError):
        publish(adapter, account, creds, request, reported)
    assert [i for i, _p in reported] == [0, 1]

    request.done_parts = [p for _i, p in reported]
    resumed: list = []
    result = publish(adapter, account, creds, request, resumed)

    texts = [fake_mastodon.statuses[p.remote_id]["_text"] for p in result.parts]
    assert texts == ["main", "second", "third"]
    assert len(fake_mastodon.statuses) == 3  # nothing re-posted
    assert [i for i, _p in resumed] == [2]
    assert result.parts[:2] == request.done_parts


def test_given_connection_dropped_after_create_when_retrying_then_same_status(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    fake_mastodon.drop_after_create()
    request = PublishRequest(text="Ambiguous", idempotency_key="d-7")

    with pytest.raises(TransientError):
        publish(adapter, account, creds, request)
    result = publish(adapter, account, creds, request)

    assert list(fake_mastodon.statuses) == [result.remote_id]


def test_given_answer_slower_than_timeout_when_retrying_then_same_status(
    adapter, account, creds, fake_mastodon
):
    adapter.http.default_timeout = 0.2
    fake_mastodon.slow_down("POST", "/api/v1/statuses", seconds=0.6)
    request = PublishRequest(text="Slow server", idempotency_key="d-slow")

    with pytest.raises(TransientError, match="did not answer in time"):
        publish(adapter, account, creds, request)
    result = publish(adapter, account, creds, request)

    assert list(fake_mastodon.statuses) == [result.remote_id]


def test_given_rate_limited_when_publishing_then_retry_after_from_reset(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    fake_mastodon.fail_next(
        "POST",
        "/api/v1/statuses",
        status=429,
        headers={"X-RateLimit-Reset": "2026-05-04T10:05:00.000Z", "X-RateLimit-Remaining": "0"},
        body={"error": "Too many requests"},
    )

    with (
        time_machine.travel("2026-05-04T10:00:00Z", tick=False),
        pytest.raises(RateLimited) as caught,
    ):
        publish(adapter, account, creds, PublishRequest(text="x", idempotency_key="k"))

    assert caught.value.retry_after == 300


def test_given_text_over_instance_limit_when_publishing_then_permanent_with_message(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    with pytest.raises(PermanentError, match="character limit of 500 exceeded"):
        publish(adapter, account, creds, PublishRequest(text="x" * 501, idempotency_key="k"))


@pytest.mark.parametrize(
    ("config", "text", "expected"),
    [
        ({}, "x" * 500, []),
        ({}, "x" * 501, ["The text is 501 characters long; Mastodon allows 500 (1 too many)."]),
        ({"max_characters": 5000}, "x" * 501, []),
        (
            {"max_characters": 5000},
            "x" * 5001,
            ["The text is 5001 characters long; Mastodon allows 5000 (1 too many)."],
        ),
        (
            {"max_characters": 100},
            "x" * 101,
            ["The text is 101 characters long; Mastodon allows 100 (1 too many)."],
        ),
        ({}, "see https://example.com/" + "p" * 600, []),  # a URL counts 23
    ],
)
def test_given_instance_limit_when_validating_then_honoured(adapter, config, text, expected):
    problems = adapter.validate(
        PublishRequest(text=text, idempotency_key="k"), Account(config=config)
    )

    assert problems == expected


def test_given_thread_part_too_long_and_too_many_media_when_validating_then_each_named(adapter):
    request = PublishRequest(
        text="ok",
        thread=["fine", "y" * 501, " "],
        media=[image(f"{i}.png") for i in range(3)],
        idempotency_key="k",
        options={"visibility": "everyone"},
    )

    problems = adapter.validate(request, Account(config={"max_media_attachments": 2}))

    assert problems == [
        "Part 3 of the thread is 501 characters long; Mastodon allows 500.",
        "Part 4 of the thread is empty.",
        "This Mastodon server allows at most 2 attachments; this post has 3.",
        "Unknown Mastodon visibility everyone.",
    ]


def test_given_published_thread_when_finding_existing_then_main_and_replies_found(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    request = PublishRequest(
        text="Launch day!\n\nRead https://example.com/blog/2026/launch-of-the-new-thing-today",
        thread=["More <details> & more"],
        first_comment="Comments welcome",
        idempotency_key="d-8",
    )
    publish(adapter, account, creds, PublishRequest(text="Something else", idempotency_key="o"))
    published = publish(adapter, account, creds, request)

    found = adapter.find_existing(account=account, credentials=creds, request=request)

    assert found is not None
    assert [p.remote_id for p in found.parts] == [p.remote_id for p in published.parts]
    assert found.url == published.url


def test_given_nothing_published_when_finding_existing_then_none(
    adapter, account, creds, fake_mastodon
):
    publish(adapter, account, creds, PublishRequest(text="Other", idempotency_key="o"))

    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="Mine", idempotency_key="m"),
        )
        is None
    )


def test_given_partial_thread_when_finding_existing_then_only_done_parts(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    request = PublishRequest(text="main", thread=["two", "three"], idempotency_key="d-9")
    done = publish(
        adapter, account, creds, PublishRequest(text="main", thread=["two"], idempotency_key="d-9")
    )

    found = adapter.find_existing(account=account, credentials=creds, request=request)

    assert [p.remote_id for p in found.parts] == [p.remote_id for p in done.parts]


def test_given_status_when_deleting_twice_then_gone_and_second_is_fine(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    result = publish(adapter, account, creds, PublishRequest(text="bye", idempotency_key="k"))

    adapter.delete(account=account, credentials=creds, remote_id=result.remote_id)
    adapter.delete(account=account, credentials=creds, remote_id=result.remote_id)

    assert fake_mastodon.statuses == {}


@pytest.mark.parametrize("batch", [True, False])
def test_given_statuses_when_fetching_metrics_then_counts_mapped(
    adapter,
    account,
    creds,
    fake_mastodon,
    batch,
):
    ids = [
        publish(
            adapter, account, creds, PublishRequest(text=f"p{i}", idempotency_key=f"k{i}")
        ).remote_id
        for i in range(3)
    ]
    fake_mastodon.statuses[ids[0]].update(favourites_count=7, reblogs_count=2, replies_count=1)
    fake_mastodon.statuses[ids[1]].update(quotes_count=4)
    del fake_mastodon.statuses[ids[2]]  # deleted on the platform
    fake_mastodon.batch_statuses = batch

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=ids)

    assert [(s.remote_id, s.values) for s in snapshots] == [
        (ids[0], {"likes": 7, "shares": 2, "comments": 1}),
        (ids[1], {"likes": 0, "shares": 0, "comments": 0, "quotes": 4}),
    ]
    singles = [
        r
        for r in fake_mastodon.requests
        if r.method == "GET" and r.path.startswith("/api/v1/statuses/")
    ]
    assert len(singles) == (0 if batch else 3)


def test_given_more_ids_than_a_batch_when_fetching_metrics_then_split(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    ids = [str(n) for n in range(45)]

    adapter.fetch_metrics(account=account, credentials=creds, remote_ids=ids)

    batches = fake_mastodon.requests_to("GET", "/api/v1/statuses")
    assert [len(b.query["id[]"]) for b in batches] == [20, 20, 5]


@pytest.mark.parametrize(
    ("text",),
    [
        ("Plain",),
        ("Two\nlines",),
        ("Para one\n\nPara two",),
        ("Tags #news & <b>",),
        ("https://example.com/" + "x" * 80,),
    ],
)
def test_given_rendered_status_when_made_plain_then_matches_source(text):
    assert plain_text(render_html(text)) == " ".join(text.split())


def test_given_publish_on_part_marker_when_options_sensitive_then_spoiler_sent(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    publish(
        adapter,
        account,
        creds,
        PublishRequest(
            text="cw",
            idempotency_key="k",
            options={"spoiler_text": "Spoiler", "sensitive": True, "language": "de"},
        ),
    )

    form = fake_mastodon.requests_to("POST", "/api/v1/statuses")[0].form
    assert form["spoiler_text"] == ["Spoiler"]
    assert form["sensitive"] == ["true"]
    assert form["language"] == ["de"]


def test_given_done_part_object_reused_when_publishing_then_result_keeps_it(
    adapter,
    account,
    creds,
    fake_mastodon,
):
    main = publish(adapter, account, creds, PublishRequest(text="m", idempotency_key="k")).parts[0]
    request = PublishRequest(
        text="m",
        thread=["r"],
        idempotency_key="k",
        done_parts=[PublishedPart(main.remote_id, main.url)],
    )

    result = publish(adapter, account, creds, request)

    assert result.remote_id == main.remote_id
    assert fake_mastodon.statuses[result.parts[1].remote_id]["in_reply_to_id"] == main.remote_id


@override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=False)
def test_given_instance_resolving_to_private_address_when_publishing_then_refused():
    with FakeMastodon() as server:
        account = Account(account_id="1", config={"instance_url": server.url})

        with pytest.raises(PermanentError, match="not on the public internet"):
            MastodonAdapter().publish(
                account=account,
                credentials=Credentials(access_token=server.token),
                request=PublishRequest(text="x", idempotency_key="k"),
            )

        assert server.statuses == {}


def connect_directly(adapter, fake_mastodon) -> tuple[Account, Credentials]:
    """authorization_url -> consent on the fake -> exchange_code, without our views."""
    from urllib.parse import parse_qs, urlsplit

    import requests as http_client

    redirect_uri = "https://calendar.example/connect/callback/"
    url, pending = adapter.authorization_url(
        redirect_uri=redirect_uri,
        state="s1",
        code_verifier="v" * 50,
        account=Account(config={"instance_url": fake_mastodon.url}),
    )
    consent = http_client.get(url, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    result = adapter.exchange_code(
        code=code, redirect_uri=redirect_uri, code_verifier="v" * 50, account=pending
    )
    return result.account, result.credentials


def test_given_token_with_refresh_when_expired_then_refreshed_and_publishing_works_again(
    db, adapter, fake_mastodon
):
    fake_mastodon.issue_refresh_tokens = True
    account, first = connect_directly(adapter, fake_mastodon)
    assert first.refresh_token and first.expires_at is not None

    fresh = adapter.refresh(account=account, credentials=first)

    assert fresh.access_token != first.access_token
    assert fresh.refresh_token not in ("", first.refresh_token)  # rotated
    with pytest.raises(AuthExpired):  # the old access token is gone
        publish(adapter, account, first, PublishRequest(text="old", idempotency_key="k1"))
    result = publish(adapter, account, fresh, PublishRequest(text="new", idempotency_key="k2"))
    assert fake_mastodon.statuses[result.remote_id]["_text"] == "new"


def test_given_token_without_refresh_token_when_refreshing_then_unchanged_and_no_call(
    adapter, account, creds, fake_mastodon
):
    assert adapter.refresh(account=account, credentials=creds) is creds
    assert fake_mastodon.requests == []


def test_given_used_refresh_token_when_refreshing_again_then_permanent_error(
    db, adapter, fake_mastodon
):
    fake_mastodon.issue_refresh_tokens = True
    account, first = connect_directly(adapter, fake_mastodon)
    adapter.refresh(account=account, credentials=first)

    with pytest.raises(PermanentError, match="invalid_grant") as caught:
        adapter.refresh(account=account, credentials=first)

    assert first.refresh_token not in caught.value.detail


@pytest.mark.parametrize(
    ("content", "source"),
    [
        (
            '<p>Hi <span class="h-card" translate="no"><a href="https://x.social/@bob" '
            'class="u-url mention">@<span>bob</span></a></span> and '
            '<span class="h-card"><a href="https://here/@amy" class="u-url mention">'
            "@<span>amy</span></a></span></p>",
            "Hi @bob@x.social and @amy",
        ),
        (
            '<p>New <a href="https://here/tags/coffee" class="mention hashtag" rel="tag">'
            "#<span>coffee</span></a> &amp; more</p><p>mail me: a@b.example</p>",
            "New #coffee & more\n\nmail me: a@b.example",
        ),
    ],
)
def test_given_real_mastodon_html_when_compared_then_matches_source(content, source):
    assert plain_text(content) == comparable_text(source)
