"""find_existing never takes an older post with the same text for the one a delivery made.

Adapters without an idempotency key recognise an earlier attempt's post by its text among the
account's recent posts. An identical post from before the delivery existed (last week's
"Guten Morgen! ☕", a monthly announcement) must not count: the reconciler would mark the
delivery published while the real post never went out. `PublishRequest.not_before` bounds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.utils import timezone

from publishing import dispatch, ratelimit, reconcile, services
from publishing.adapters.base import (
    CLOCK_SKEW,
    Account,
    Credentials,
    PlatformAdapter,
    PublishRequest,
)
from publishing.adapters.facebook import FacebookAdapter
from publishing.adapters.instagram import InstagramAdapter
from publishing.adapters.linkedin import LinkedInAdapter
from publishing.adapters.listing import created_since
from publishing.adapters.mastodon import MastodonAdapter
from publishing.adapters.pinterest import PinterestAdapter
from publishing.adapters.threads import ThreadsAdapter
from publishing.adapters.x import XAdapter
from publishing.adapters.youtube import YouTubeAdapter
from publishing.credentials import credentials_save
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from tests.fakes.mastodon import FakeMastodon
from tests.publishing_helpers import connected_channel, due_post, no_approval

D = DeliveryState
TEXT = "Guten Morgen! ☕"
TITLE = "Guten Morgen"
NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 58, tzinfo=dt.UTC)
LAST_WEEK = dt.datetime(2026, 2, 23, 9, 0, tzinfo=dt.UTC)
JUST_BEFORE = NOT_BEFORE - dt.timedelta(seconds=1)
TODAY = dt.datetime(2026, 3, 2, 9, 0, 3, tzinfo=dt.UTC)
TOKEN = "secret-token-for-listing"


# --- each platform's listing, as the platform shapes it ---------------------------------------------

# A listed post: (remote id, creation time or None when the listing leaves it out).
Listed = tuple[str, dt.datetime | None]


def _graph_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")  # Graph API: 2026-03-02T09:00:03+0000


def _iso_z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _stamp(item: dict, key: str, moment: dt.datetime | None, render) -> dict:
    return {**item, key: render(moment)} if moment is not None else item


@dataclass
class Platform:
    name: str
    adapter: Callable[[], PlatformAdapter]
    account: Account
    serve: Callable[[responses.RequestsMock, list[Listed]], None]
    listing_url: str
    time_field: str = ""  # must be asked for in `fields` (Graph APIs)


def serve_facebook(api, posts):
    api.get(
        "https://graph.facebook.test/v25.0/111/posts",
        json={
            "data": [
                _stamp({"id": pid, "message": TEXT}, "created_time", at, _graph_time)
                for pid, at in posts
            ]
        },
    )


def serve_instagram(api, posts):
    api.get(
        "https://graph.instagram.test/v25.0/1784/media",
        json={
            "data": [
                _stamp(
                    {"id": pid, "caption": TEXT, "permalink": f"https://ig.test/p/{pid}/"},
                    "timestamp",
                    at,
                    _graph_time,
                )
                for pid, at in posts
            ]
        },
    )


def serve_threads(api, posts):
    items = [_stamp({"id": pid, "text": TEXT}, "timestamp", at, _graph_time) for pid, at in posts]
    api.get("https://graph.threads.test/v1.0/77/threads", json={"data": items})
    api.get("https://graph.threads.test/v1.0/77/replies", json={"data": []})


def serve_threads_replies(api, posts):
    """The same text only among the replies (a thread part or first comment)."""
    items = [_stamp({"id": pid, "text": TEXT}, "timestamp", at, _graph_time) for pid, at in posts]
    api.get("https://graph.threads.test/v1.0/77/threads", json={"data": []})
    api.get("https://graph.threads.test/v1.0/77/replies", json={"data": items})


def serve_x(api, posts):
    api.get(
        "https://api.x.test/2/users/42/tweets",
        json={
            "data": [
                _stamp({"id": pid, "text": TEXT}, "created_at", at, _iso_z) for pid, at in posts
            ]
        },
    )


def serve_linkedin(api, posts):
    def ms(moment):
        return int(moment.timestamp() * 1000)

    elements = []
    for pid, at in posts:
        element = {"id": f"urn:li:share:{pid}", "commentary": TEXT}
        if at is not None:
            element |= {"createdAt": ms(at), "publishedAt": ms(at)}
        elements.append(element)
    api.get("https://api.linkedin.test/rest/posts", json={"elements": elements})


def serve_pinterest(api, posts):
    def naive(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%S")  # Pinterest: UTC without an offset

    api.get(
        "https://api.pinterest.test/v5/boards/B1/pins",
        json={
            "items": [
                _stamp({"id": pid, "description": TEXT}, "created_at", at, naive)
                for pid, at in posts
            ]
        },
    )


def serve_youtube(api, posts):
    api.get(
        "https://youtube.test/youtube/v3/playlistItems",
        json={
            "items": [
                {
                    "snippet": _stamp(
                        {"title": TITLE, "description": TEXT, "resourceId": {"videoId": pid}},
                        "publishedAt",
                        at,
                        lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    )
                }
                for pid, at in posts
            ]
        },
    )


PLATFORMS = [
    Platform(
        "facebook",
        lambda: FacebookAdapter(base_url="https://graph.facebook.test/v25.0"),
        Account(account_id="111", config={"page_id": "111"}),
        serve_facebook,
        "/111/posts",
        time_field="created_time",
    ),
    Platform(
        "instagram",
        lambda: InstagramAdapter(base_url="https://graph.instagram.test/v25.0"),
        Account(account_id="1784"),
        serve_instagram,
        "/1784/media",
        time_field="timestamp",
    ),
    Platform(
        "threads",
        lambda: ThreadsAdapter(base_url="https://graph.threads.test/v1.0"),
        Account(account_id="77"),
        serve_threads,
        "/77/threads",
        time_field="timestamp",
    ),
    Platform(
        "threads-replies",
        lambda: ThreadsAdapter(base_url="https://graph.threads.test/v1.0"),
        Account(account_id="77"),
        serve_threads_replies,
        "/77/replies",
        time_field="timestamp",
    ),
    Platform(
        "x",
        lambda: XAdapter(base_url="https://api.x.test"),
        Account(account_id="42", config={"username": "acme"}),
        serve_x,
        "/2/users/42/tweets",
    ),
    Platform(
        "linkedin",
        lambda: LinkedInAdapter(base_url="https://api.linkedin.test"),
        Account(account_id="urn:li:person:abc", config={"person_urn": "urn:li:person:abc"}),
        serve_linkedin,
        "/rest/posts",
    ),
    Platform(
        "pinterest",
        lambda: PinterestAdapter(base_url="https://api.pinterest.test"),
        Account(account_id="u1", config={"board_id": "B1"}),
        serve_pinterest,
        "/v5/boards/B1/pins",
    ),
    Platform(
        "youtube",
        lambda: YouTubeAdapter(base_url="https://youtube.test"),
        Account(account_id="UC1", config={"uploads_playlist": "UU1"}),
        serve_youtube,
        "/youtube/v3/playlistItems",
    ),
]


@pytest.fixture(params=PLATFORMS, ids=lambda p: p.name)
def platform(request):
    return request.param


@pytest.fixture
def api():
    # Threads asks its replies only when the posts had nothing: not every listing is read.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def find(platform: Platform, *, not_before: dt.datetime | None):
    return platform.adapter().find_existing(
        account=platform.account,
        credentials=Credentials(access_token=TOKEN),
        request=PublishRequest(
            text=TEXT, title=TITLE, idempotency_key="delivery-key", not_before=not_before
        ),
    )


def found_id(result) -> str:
    """The listed id a result points at (LinkedIn answers with the URN)."""
    return result.remote_id.rsplit(":", 1)[-1]


# --- every text-matching adapter -------------------------------------------------------------------


def test_given_only_an_older_identical_post_when_looking_for_ours_then_none(platform, api):
    platform.serve(api, [("p-old", LAST_WEEK)])

    assert find(platform, not_before=NOT_BEFORE) is None


def test_given_an_identical_post_a_second_before_not_before_then_it_is_not_ours(platform, api):
    platform.serve(api, [("p-old", JUST_BEFORE)])

    assert find(platform, not_before=NOT_BEFORE) is None


def test_given_an_older_and_a_newer_identical_post_then_the_newer_is_found(platform, api):
    # The older one listed first (a pinned post comes first on some platforms): skipped, not
    # a reason to stop looking.
    platform.serve(api, [("p-old", LAST_WEEK), ("p-new", TODAY)])

    found = find(platform, not_before=NOT_BEFORE)

    assert found is not None and found_id(found) == "p-new"
    assert found_id(found.parts[0]) == "p-new"
    listing = next(
        c for c in api.calls if urlsplit(c.request.url).path.endswith(platform.listing_url)
    )
    if platform.time_field:
        fields = parse_qs(urlsplit(listing.request.url).query)["fields"][0].split(",")
        assert platform.time_field in fields


def test_given_no_not_before_then_an_older_identical_post_matches_as_before(platform, api):
    platform.serve(api, [("p-old", LAST_WEEK)])

    found = find(platform, not_before=None)

    assert found is not None and found_id(found) == "p-old"


def test_given_a_post_without_a_time_when_not_before_is_set_then_it_is_not_taken(platform, api):
    platform.serve(api, [("p-undated", None)])

    assert find(platform, not_before=NOT_BEFORE) is None


def test_given_a_post_without_a_time_and_no_not_before_then_it_matches_as_before(platform, api):
    platform.serve(api, [("p-undated", None)])

    found = find(platform, not_before=None)

    assert found is not None and found_id(found) == "p-undated"


# --- Mastodon, against the fake server (its Idempotency-Key lasts only an hour) ---------------------


@pytest.fixture
def fake_mastodon(settings):
    # Through the `settings` fixture like every other override here: mixing it with
    # override_settings undoes them in the wrong order and leaks the setting to later tests.
    settings.PUBLISHING_ALLOW_PRIVATE_URLS = True  # the fake listens on 127.0.0.1
    with FakeMastodon() as server:
        yield server


@pytest.fixture
def mastodon_account(fake_mastodon):
    return Account(
        account_id=fake_mastodon.account["id"], config={"instance_url": fake_mastodon.url}
    )


def find_on_mastodon(fake, account, request):
    return MastodonAdapter().find_existing(
        account=account, credentials=Credentials(access_token=fake.token), request=request
    )


def test_given_last_weeks_identical_status_when_looking_on_mastodon_then_it_is_not_ours(
    fake_mastodon, mastodon_account
):
    fake_mastodon.add_status(TEXT, created_at=LAST_WEEK)
    fake_mastodon.add_status(TEXT, created_at=JUST_BEFORE)
    request = PublishRequest(text=TEXT, idempotency_key="k", not_before=NOT_BEFORE)

    assert find_on_mastodon(fake_mastodon, mastodon_account, request) is None


def test_given_an_older_and_a_newer_identical_status_on_mastodon_then_the_newer_is_found(
    fake_mastodon, mastodon_account
):
    fake_mastodon.add_status(TEXT, created_at=LAST_WEEK)
    newer = fake_mastodon.add_status(TEXT, created_at=TODAY)
    request = PublishRequest(text=TEXT, idempotency_key="k", not_before=NOT_BEFORE)

    found = find_on_mastodon(fake_mastodon, mastodon_account, request)

    assert found is not None and found.remote_id == newer["id"]


def test_given_no_not_before_on_mastodon_then_an_older_identical_status_matches_as_before(
    fake_mastodon, mastodon_account
):
    older = fake_mastodon.add_status(TEXT, created_at=LAST_WEEK)

    found = find_on_mastodon(
        fake_mastodon, mastodon_account, PublishRequest(text=TEXT, idempotency_key="k")
    )

    assert found is not None and found.remote_id == older["id"]


def test_given_a_status_without_created_at_on_mastodon_then_only_an_unbounded_request_takes_it(
    fake_mastodon, mastodon_account
):
    status = fake_mastodon.add_status(TEXT)
    with fake_mastodon.lock:
        fake_mastodon.statuses[status["id"]]["created_at"] = None

    bounded = PublishRequest(text=TEXT, idempotency_key="k", not_before=NOT_BEFORE)
    unbounded = PublishRequest(text=TEXT, idempotency_key="k")
    assert find_on_mastodon(fake_mastodon, mastodon_account, bounded) is None
    assert find_on_mastodon(fake_mastodon, mastodon_account, unbounded).remote_id == status["id"]


def test_given_a_thread_when_an_older_reply_has_the_same_text_then_only_our_parts_are_found(
    fake_mastodon, mastodon_account
):
    # Last week's thread with the same main text and reply, then today's main post only.
    adapter, creds = MastodonAdapter(), Credentials(access_token=fake_mastodon.token)
    old_main = fake_mastodon.add_status(TEXT, created_at=LAST_WEEK)
    with fake_mastodon.lock:
        old_reply = fake_mastodon._new_status(
            "Mehr dazu", created_at=LAST_WEEK, in_reply_to_id=old_main["id"]
        )
        fake_mastodon.statuses[old_reply["id"]] = old_reply
    new_main = fake_mastodon.add_status(TEXT, created_at=TODAY)
    request = PublishRequest(
        text=TEXT, thread=["Mehr dazu"], idempotency_key="k", not_before=NOT_BEFORE
    )

    found = adapter.find_existing(account=mastodon_account, credentials=creds, request=request)

    assert [p.remote_id for p in found.parts] == [new_main["id"]]


# --- the shared rule and the request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T08:58:00+0000", True),  # exactly not_before
        ("2026-03-02T08:57:59Z", False),
        ("2026-03-02T09:58:00+01:00", True),  # another offset: the instant counts
        ("2026-03-02T09:57:59+01:00", False),
        (1772441880000, True),  # ms epoch of 08:58:00 UTC
        ("2026-03-02T08:57:59", False),  # naive = UTC
        ("not a time", False),
        (None, False),
    ],
)
def test_given_a_listed_time_when_checking_it_against_not_before_then_older_is_refused(
    value, expected
):
    assert created_since(value, NOT_BEFORE) is expected
    assert created_since(value, None) is True


def test_given_a_naive_not_before_when_building_a_request_then_it_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        PublishRequest(text="a", idempotency_key="k", not_before=dt.datetime(2026, 3, 2, 9))


# --- the engine: a retry after an unknown outcome with last week's identical post on the account ----


@pytest.fixture
def mastodon_engine(settings, workspace, members, fake_mastodon):
    settings.PUBLISHING_RATE_LIMITS = {"default": (1000, 1000)}
    no_approval(workspace)
    channel = connected_channel(
        workspace,
        name="Acme Mastodon",
        account_id=fake_mastodon.account["id"],
        config={"instance_url": fake_mastodon.url, "username": fake_mastodon.username},
    )
    credentials_save(channel=channel, credentials=Credentials(access_token=fake_mastodon.token))
    ratelimit.rate_reset(channel_id=channel.pk)
    return channel


@pytest.fixture
def sent(monkeypatch):
    messages: list[tuple[int, int, dt.datetime]] = []
    monkeypatch.setattr(dispatch, "deliveries_send", lambda taken, now: messages.extend(taken))
    return messages


def _worker_dies_then_reconciler_hands_over(sent, capture, *, platform_call=None):
    """Dispatch, claim as a worker that dies (after `platform_call`, if any), release the
    delivery as the reconciler does, and hand it over again. (delivery id, job)."""
    with capture(execute=True):
        dispatch.deliveries_dispatch_due()
    pk, job, _run_at = sent.pop()
    delivery, _attempt, _look_first = services.delivery_claim(pk, job, "w-dead")
    if platform_call is not None:
        platform_call(delivery)
    later = timezone.now() + dt.timedelta(minutes=10)
    assert reconcile.deliveries_reconcile_stuck(now=later) == 1
    assert Delivery.objects.get(pk=pk).reconcile is True
    with capture(execute=True):
        dispatch.deliveries_dispatch_due(now=later)
    pk, job, _run_at = sent.pop()
    return pk, job


def test_given_last_weeks_identical_status_when_the_outcome_was_unknown_then_it_is_published_anew(
    workspace, mastodon_engine, fake_mastodon, sent, django_capture_on_commit_callbacks
):
    older = fake_mastodon.add_status(TEXT, created_at=timezone.now() - dt.timedelta(days=7))
    post = due_post(workspace, [mastodon_engine], body=TEXT)

    # The worker dies before its call reached Mastodon: nothing went out.
    pk, job = _worker_dies_then_reconciler_hands_over(sent, django_capture_on_commit_callbacks)

    assert services.delivery_publish(delivery_id=pk, job=job, worker="w1") == "published"
    delivery = Delivery.objects.get(pk=pk, post=post)
    assert delivery.state == D.PUBLISHED
    assert delivery.remote_id not in {"", older["id"]}
    texts = [s["_text"] for s in fake_mastodon.statuses.values()]
    assert texts == [TEXT, TEXT]  # last week's and today's
    outcomes = Attempt.objects.filter(delivery=delivery).order_by("started_at")
    assert list(outcomes.values_list("outcome", flat=True)) == [
        AttemptOutcome.ABANDONED,
        AttemptOutcome.PUBLISHED,
    ]


def test_given_last_weeks_identical_status_when_our_status_went_out_then_ours_is_found(
    workspace, mastodon_engine, fake_mastodon, sent, django_capture_on_commit_callbacks
):
    fake_mastodon.add_status(TEXT, created_at=timezone.now() - dt.timedelta(days=7))
    post = due_post(workspace, [mastodon_engine], body=TEXT)
    ours = {}

    def mastodon_accepts_then_worker_dies(delivery):
        # Posted without the Idempotency-Key (as if it had expired): only the text can tell.
        status = fake_mastodon.add_status(TEXT)
        ours["id"] = status["id"]
        request = services.publish_request_for(delivery, post.variants.get())
        assert request.not_before == delivery.created_at - CLOCK_SKEW

    pk, job = _worker_dies_then_reconciler_hands_over(
        sent, django_capture_on_commit_callbacks, platform_call=mastodon_accepts_then_worker_dies
    )

    assert services.delivery_publish(delivery_id=pk, job=job, worker="w1") == "found"
    assert Delivery.objects.get(pk=pk).remote_id == ours["id"]
    assert len(fake_mastodon.statuses) == 2
