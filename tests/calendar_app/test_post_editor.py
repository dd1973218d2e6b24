"""The post editor views: local time in, UTC stored; refusals re-render and write nothing; roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connections
from django.urls import reverse

from calendar_app.models import MediaAsset, Post, PostVariant
from calendar_app.selectors import MEDIA_PICKER_PAGE_SIZE
from calendar_app.services.content import PostInput, VariantInput
from calendar_app.services.posts import post_create, post_update
from tests.conftest import login
from tests.factories import ChannelFactory, LabelFactory, PostFactory

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def x_channel(workspace):
    return ChannelFactory(workspace=workspace, platform="x", name="Acme X", handle="@acme")


def make_media(workspace, name="photo.jpg") -> MediaAsset:
    return MediaAsset.objects.create(
        workspace=workspace,
        file=f"media/{workspace.pk}/{name}",
        kind="image",
        mime_type="image/jpeg",
        size_bytes=1000,
        original_name=name,
    )


def create_url(ws="acme"):
    return reverse("calendar:post_create", args=[ws])


def edit_url(post, ws="acme"):
    return reverse("calendar:post_edit", args=[ws, post.pk])


def form_data(**overrides) -> dict:
    data = {"title": "", "body": "Hello", "note": "", "date": "", "time": "", "campaign": ""}
    data.update(overrides)
    return data


def error_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- create -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "time", "expected_utc"),
    [
        ("2026-07-10", "09:30", dt.datetime(2026, 7, 10, 7, 30, tzinfo=UTC)),  # CEST, UTC+2
        ("2026-12-10", "09:30", dt.datetime(2026, 12, 10, 8, 30, tzinfo=UTC)),  # CET, UTC+1
        ("2027-03-28", "02:30", dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),  # gap: 03:30 CEST
    ],
)
def test_given_a_local_date_and_time_when_creating_then_utc_is_stored_and_month_shown(
    client, editor, channel, date, time, expected_utc
):
    login(client, editor)

    response = client.post(
        create_url(), form_data(date=date, time=time, channels=[channel.pk]), follow=True
    )

    post = Post.objects.get()
    assert post.scheduled_at == expected_utc
    year, month = int(date[:4]), int(date[5:7])
    assert response.redirect_chain == [(reverse("calendar:month", args=["acme", year, month]), 302)]
    [message] = [str(m) for m in response.context["messages"]]
    assert "was saved for" in message


def test_given_no_date_and_time_when_creating_then_an_idea_is_saved_and_list_shown(client, editor):
    login(client, editor)

    response = client.post(create_url(), form_data(body="Someday"))

    post = Post.objects.get()
    assert post.is_idea
    assert post.author == editor.user
    assert response.url == reverse("calendar:list", args=["acme"])


@pytest.mark.parametrize(("date", "time"), [("2026-07-10", ""), ("", "09:30")])
def test_given_only_a_date_or_only_a_time_then_a_clear_error_and_nothing_saved(
    client, editor, channel, date, time
):
    login(client, editor)

    response = client.post(create_url(), form_data(date=date, time=time, channels=[channel.pk]))

    assert response.status_code == 400
    assert "Enter both a date and a time" in response.content.decode()
    assert Post.objects.count() == 0


def test_given_channel_overrides_when_creating_then_each_variant_keeps_its_own_content(
    client, editor, channel, x_channel, workspace
):
    first, second = make_media(workspace, "1.jpg"), make_media(workspace, "2.jpg")
    login(client, editor)

    client.post(
        create_url(),
        form_data(
            body="Master text",
            date="2026-07-10",
            time="09:30",
            channels=[channel.pk, x_channel.pk],
            media=[second.pk, first.pk],
            **{
                f"v{x_channel.pk}-body_override": "Short for X",
                f"v{x_channel.pk}-first_comment": "Thread below",
                f"v{x_channel.pk}-media_override": [first.pk],
            },
        ),
    )

    post = Post.objects.get()
    assert [pm.media for pm in post.post_media.all()] == [second, first]
    x_variant = post.variants.get(channel=x_channel)
    assert (x_variant.body_override, x_variant.first_comment) == ("Short for X", "Thread below")
    assert list(x_variant.media_override.all()) == [first]
    mastodon = post.variants.get(channel=channel)
    assert (mastodon.body_override, mastodon.effective_body) == ("", "Master text")


def test_given_an_unpublishable_variant_when_scheduling_then_reason_shown_and_nothing_saved(
    client, editor, x_channel
):
    login(client, editor)

    response = client.post(
        create_url(),
        form_data(body="a" * 281, date="2026-07-10", time="09:30", channels=[x_channel.pk]),
    )

    assert response.status_code == 400
    assert "Acme X: The text is 281 characters long; X allows 280 (1 too many)." in (
        error_text(response)
    )
    # The user's input is still there to fix.
    assert "a" * 281 in response.content.decode()
    assert (Post.objects.count(), PostVariant.objects.count()) == (0, 0)


def test_given_the_same_content_as_an_idea_then_it_is_saved(client, editor, x_channel):
    login(client, editor)

    client.post(create_url(), form_data(body="a" * 281, channels=[x_channel.pk]))

    assert Post.objects.get().is_idea


def test_given_a_time_in_the_past_then_refused(client, editor, channel):
    login(client, editor)

    response = client.post(
        create_url(), form_data(date="2026-05-01", time="09:00", channels=[channel.pk])
    )

    assert "A post cannot be scheduled in the past." in response.content.decode()
    assert Post.objects.count() == 0


@pytest.mark.parametrize("field", ["channels", "labels", "campaign", "media", "media_override"])
def test_given_an_id_of_another_workspace_then_a_validation_error_and_nothing_saved(
    client, editor, channel, other_workspace, field
):
    foreign = {
        "channels": lambda: ChannelFactory(workspace=other_workspace).pk,
        "labels": lambda: LabelFactory(workspace=other_workspace).pk,
        "campaign": lambda: other_workspace.campaigns.get().pk,
        "media": lambda: make_media(other_workspace).pk,
        "media_override": lambda: make_media(other_workspace).pk,
    }[field]()
    key = f"v{channel.pk}-media_override" if field == "media_override" else field
    data = form_data(channels=[channel.pk])
    data[key] = (
        foreign
        if field == "campaign"
        else [foreign] + ([channel.pk] if field == "channels" else [])
    )
    login(client, editor)

    response = client.post(create_url(), data)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Post.objects.count() == 0


def test_given_save_and_continue_then_the_editor_stays_open(client, editor):
    login(client, editor)

    response = client.post(create_url(), {**form_data(), "save_continue": "1"})

    assert response.url == edit_url(Post.objects.get())


def test_given_calendar_prefill_then_the_form_shows_that_date_and_time(client, editor):
    login(client, editor)

    response = client.get(create_url() + "?date=2026-07-10&time=14:15")

    html = response.content.decode()
    assert 'value="2026-07-10"' in html
    assert 'value="14:15"' in html


def test_given_an_idea_prefill_then_date_and_time_are_empty(client, editor):
    login(client, editor)

    response = client.get(create_url() + "?idea=1&date=2026-07-10")

    assert response.context["form"]["date"].value() is None


def test_given_a_german_user_then_date_inputs_stay_iso_and_the_post_is_saved(
    client, editor, channel
):
    editor.user.language = "de"
    editor.user.save()
    login(client, editor)

    page = client.get(create_url() + "?date=2026-07-10&time=14:15")
    client.post(create_url(), form_data(date="2026-07-10", time="14:15", channels=[channel.pk]))

    html = page.content.decode()
    assert '<html lang="de">' in html
    assert 'value="2026-07-10"' in html  # an <input type=date> only takes ISO dates
    assert Post.objects.get().scheduled_at == dt.datetime(2026, 7, 10, 12, 15, tzinfo=UTC)


# --- edit -------------------------------------------------------------------------------------


@pytest.fixture
def scheduled_post(editor, channel):
    return post_create(
        membership=editor,
        data=PostInput(
            title="Launch",
            body="Original",
            scheduled_at=dt.datetime(2026, 7, 10, 7, 30, tzinfo=UTC),
            variants={channel: VariantInput()},
        ),
    )


def test_given_a_saved_post_when_editing_then_local_time_and_content_are_prefilled(
    client, editor, scheduled_post
):
    login(client, editor)

    response = client.get(edit_url(scheduled_post))

    form = response.context["form"]
    assert form["date"].value() == dt.date(2026, 7, 10)
    assert form["time"].value() == dt.time(9, 30)
    assert form["version"].value() == 1
    assert 'id="post-form"' in response.content.decode()


def test_given_an_edit_when_saved_then_version_increments_and_month_shown(
    client, editor, channel, scheduled_post
):
    login(client, editor)

    response = client.post(
        edit_url(scheduled_post),
        form_data(
            body="Changed", date="2026-07-11", time="10:00", channels=[channel.pk], version=1
        ),
    )

    scheduled_post.refresh_from_db()
    assert (scheduled_post.body, scheduled_post.version) == ("Changed", 2)
    assert scheduled_post.scheduled_at == dt.datetime(2026, 7, 11, 8, 0, tzinfo=UTC)
    assert response.url == reverse("calendar:month", args=["acme", 2026, 7])


def test_given_someone_saved_meanwhile_then_stale_message_with_reload_link_and_nothing_saved(
    client, editor, manager, channel, scheduled_post
):
    post_update(
        membership=manager,
        post_id=scheduled_post.pk,
        data=PostInput(
            body="Manager's text",
            scheduled_at=scheduled_post.scheduled_at,
            variants={channel: VariantInput()},
        ),
        expected_version=1,
    )
    login(client, editor)

    response = client.post(
        edit_url(scheduled_post),
        form_data(body="Mine", date="2026-07-10", time="09:30", channels=[channel.pk], version=1),
    )

    assert response.status_code == 409
    html = error_text(response)
    assert "Someone else changed this post in the meantime." in html
    assert 'data-testid="reload-link"' in html
    scheduled_post.refresh_from_db()
    assert (scheduled_post.body, scheduled_post.version) == ("Manager's text", 2)


def test_given_a_viewer_then_the_post_is_read_only(client, viewer, scheduled_post):
    login(client, viewer)

    response = client.get(edit_url(scheduled_post))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="read-only"' in html
    assert "Original" in html
    assert '<form method="post" id="post-form"' not in html
    assert "<textarea" not in html


def test_given_a_viewer_when_posting_an_edit_then_403_and_nothing_saved(
    client, viewer, channel, scheduled_post
):
    login(client, viewer)

    response = client.post(
        edit_url(scheduled_post), form_data(body="Hacked", channels=[channel.pk], version=1)
    )

    assert response.status_code == 403
    scheduled_post.refresh_from_db()
    assert scheduled_post.body == "Original"


@pytest.mark.parametrize("method", ["get", "post"])
def test_given_a_viewer_then_creating_is_forbidden(client, viewer, method):
    login(client, viewer)

    response = getattr(client, method)(create_url(), form_data())

    assert response.status_code == 403
    assert Post.objects.count() == 0


def test_given_a_post_of_another_workspace_then_404_under_my_workspace(
    client, editor, other_workspace
):
    foreign = PostFactory(workspace=other_workspace)
    login(client, editor)

    assert client.get(edit_url(foreign)).status_code == 404
    assert client.post(edit_url(foreign), form_data(version=1)).status_code == 404
    assert (
        client.post(reverse("calendar:post_delete", args=["acme", foreign.pk])).status_code == 404
    )
    assert Post.objects.filter(pk=foreign.pk).exists()


def test_given_another_workspace_then_its_editor_is_404(client, editor, other_workspace):
    login(client, editor)

    assert client.get(create_url("other")).status_code == 404


@pytest.mark.parametrize("extra", [0, 6])
def test_edit_page_query_count_does_not_grow_with_channels_and_labels(
    client, editor, workspace, channel, label, django_assert_num_queries, extra
):
    channels = [channel] + [ChannelFactory(workspace=workspace) for _ in range(extra)]
    labels = [label] + [LabelFactory(workspace=workspace) for _ in range(extra)]
    media = [make_media(workspace, f"{i}.jpg") for i in range(1 + extra)]
    post = post_create(
        membership=editor,
        data=PostInput(
            body="Hi",
            labels=labels,
            media=media,
            variants={c: VariantInput(media_override=media[:1]) for c in channels},
        ),
    )
    login(client, editor)
    client.get(edit_url(post))  # warm the session

    # session, user, membership; post, labels, post media, variants, their media; channels,
    # my workspaces, media (the picker's first page and the post's own, one query), campaigns
    # (select), labels (checkboxes); what went out (the rulebook; the policy comes with the post)
    with django_assert_num_queries(15):  # incl. the navbar's unread notification count
        response = client.get(edit_url(post))
    assert response.status_code == 200


# --- the media the editor embeds --------------------------------------------------------------


def make_library(workspace, count: int, stem: str = "photo") -> list[MediaAsset]:
    """`count` assets in upload order (the last is the newest), in one insert."""
    return MediaAsset.objects.bulk_create(
        MediaAsset(
            workspace=workspace,
            file=f"media/{workspace.pk}/{stem}-{i:03d}.jpg",
            kind="image",
            mime_type="image/jpeg",
            size_bytes=1000,
            original_name=f"{stem}-{i:03d}.jpg",
        )
        for i in range(count)
    )


def embedded_ids(response) -> set[int]:
    return {asset["id"] for asset in response.context["library_json"]}


def picker_ids(response) -> list[int]:
    html = response.content.decode()
    return [int(i) for i in re.findall(r'class="media-pick" data-pick-id="(\d+)"', html)]


@pytest.mark.parametrize("count", [10, 500])
def test_edit_page_query_count_and_embedded_media_stay_the_same_however_big_the_library(
    client, editor, workspace, channel, django_assert_num_queries, count
):
    oldest, second, *rest = make_library(workspace, count)
    post = post_create(
        membership=editor,
        data=PostInput(
            body="Hi", media=[oldest], variants={channel: VariantInput(media_override=[second])}
        ),
    )
    login(client, editor)
    client.get(edit_url(post))  # warm the session

    with django_assert_num_queries(15):  # the same as for the test above
        response = client.get(edit_url(post))

    page_size = response.context["library"].assets
    newest_first = [a.pk for a in reversed([oldest, second, *rest])]
    assert picker_ids(response) == newest_first[:MEDIA_PICKER_PAGE_SIZE]
    assert len(page_size) == min(count, MEDIA_PICKER_PAGE_SIZE)
    assert embedded_ids(response) == set(newest_first[:MEDIA_PICKER_PAGE_SIZE]) | {
        oldest.pk,
        second.pk,
    }
    assert response.context["library"].has_more is (count > MEDIA_PICKER_PAGE_SIZE)


def test_given_a_post_with_old_media_then_the_editor_shows_it_although_not_in_the_picker_page(
    client, editor, workspace, channel
):
    old_main, old_override = make_library(workspace, 2, stem="old")
    make_library(workspace, MEDIA_PICKER_PAGE_SIZE + 20, stem="new")
    post = post_create(
        membership=editor,
        data=PostInput(
            body="Hi",
            media=[old_main],
            variants={channel: VariantInput(media_override=[old_override])},
        ),
    )
    login(client, editor)

    response = client.get(edit_url(post))

    [panel] = response.context["panels"]
    assert response.context["post_media"] == [old_main]
    assert panel.media_assets == [old_override]
    assert {old_main.pk, old_override.pk} <= embedded_ids(response)
    assert old_main.pk not in picker_ids(response)
    html = response.content.decode()
    assert f'<input type="hidden" name="media" value="{old_main.pk}">' in html
    assert f'name="v{channel.pk}-media_override" value="{old_override.pk}"' in html
    assert 'class="btn btn-outline-secondary" id="media-picker-more"' in html  # shown


def test_given_an_invalid_form_with_old_media_then_the_re_rendered_editor_keeps_it(
    client, editor, workspace, channel, other_workspace
):
    old_main, old_override = make_library(workspace, 2, stem="old")
    make_library(workspace, MEDIA_PICKER_PAGE_SIZE + 5, stem="new")
    login(client, editor)

    response = client.post(
        create_url(),
        form_data(
            date="2026-07-10",  # no time: invalid
            channels=[channel.pk],
            media=[old_main.pk],
            **{f"v{channel.pk}-media_override": [old_override.pk]},
        ),
    )

    [panel] = response.context["panels"]
    assert response.status_code == 400
    assert response.context["post_media"] == [old_main]
    assert panel.media_assets == [old_override]
    assert {old_main.pk, old_override.pk} <= embedded_ids(response)
    assert len(embedded_ids(response)) == MEDIA_PICKER_PAGE_SIZE + 2


@pytest.mark.parametrize("bad", ["abc", "-1", "1e3", "٣"])
def test_given_a_malformed_media_id_in_an_invalid_form_then_it_is_refused_not_embedded(
    client, editor, workspace, bad
):
    [asset] = make_library(workspace, 1)
    login(client, editor)

    response = client.post(create_url(), form_data(media=[bad, asset.pk]))

    assert response.status_code == 400
    assert embedded_ids(response) == {asset.pk}


def test_given_media_of_another_workspace_in_an_invalid_form_then_it_is_not_embedded(
    client, editor, workspace, other_workspace
):
    [ours] = make_library(workspace, 1)
    [theirs] = make_library(other_workspace, 1, stem="secret")
    login(client, editor)

    response = client.post(create_url(), form_data(media=[theirs.pk, ours.pk]))

    assert response.status_code == 400
    assert embedded_ids(response) == {ours.pk}
    assert "secret-000.jpg" not in response.content.decode()


def test_given_a_new_post_then_the_picker_embeds_only_its_first_page(client, editor, workspace):
    assets = make_library(workspace, MEDIA_PICKER_PAGE_SIZE + 1)
    login(client, editor)

    response = client.get(create_url())

    assert embedded_ids(response) == {a.pk for a in assets[1:]}
    assert response.context["library"].next_before == assets[1].pk
    assert f'data-before="{assets[1].pk}"' in response.content.decode()


# --- live check -------------------------------------------------------------------------------


def test_given_a_too_long_text_then_the_check_lists_the_channel_and_reason(
    client, editor, x_channel
):
    login(client, editor)

    response = client.post(
        reverse("calendar:post_check", args=["acme"]),
        form_data(body="a" * 290, date="2026-07-10", time="09:30", channels=[x_channel.pk]),
        headers={"hx-request": "true"},
    )

    html = error_text(response)
    assert response.status_code == 200
    assert "Acme X" in html
    assert "The text is 290 characters long; X allows 280 (10 too many)." in html
    assert "<html" not in html  # a partial


def test_given_an_idea_with_problems_then_the_check_warns_that_it_can_be_saved_anyway(
    client, editor, x_channel
):
    login(client, editor)

    response = client.post(
        reverse("calendar:post_check", args=["acme"]),
        form_data(body="a" * 290, channels=[x_channel.pk]),
    )

    assert "As an idea the post can be saved anyway" in error_text(response)


def test_given_a_scheduled_post_without_channels_then_the_check_says_so(client, editor):
    login(client, editor)

    response = client.post(
        reverse("calendar:post_check", args=["acme"]),
        form_data(date="2026-07-10", time="09:30"),
    )

    assert "Choose at least one channel before scheduling the post." in error_text(response)


def test_given_publishable_content_then_the_check_says_ready(client, editor, channel):
    login(client, editor)

    response = client.post(
        reverse("calendar:post_check", args=["acme"]),
        form_data(date="2026-07-10", time="09:30", channels=[channel.pk]),
    )

    assert 'data-testid="check-ok"' in response.content.decode()


def test_given_an_edit_that_keeps_a_past_time_then_the_check_does_not_call_it_past(
    client, editor, channel, workspace
):
    past = PostFactory(
        workspace=workspace,
        channels=[channel],
        scheduled_at=dt.datetime(2026, 5, 30, 7, 30, tzinfo=UTC),  # 09:30 Berlin, before NOW
    )
    login(client, editor)
    data = form_data(date="2026-05-30", time="09:30", channels=[channel.pk])
    url = reverse("calendar:post_check", args=["acme"])

    as_edit = client.post(f"{url}?post={past.pk}", data)
    as_new = client.post(url, data)

    assert "in the past" not in error_text(as_edit)
    assert "A post cannot be scheduled in the past." in error_text(as_new)


def test_given_a_viewer_then_the_check_is_forbidden(client, viewer):
    login(client, viewer)

    response = client.post(reverse("calendar:post_check", args=["acme"]), form_data())

    assert response.status_code == 403


# --- delete -----------------------------------------------------------------------------------


def test_given_a_scheduled_post_when_deleted_then_gone_and_back_to_its_month(
    client, editor, scheduled_post
):
    login(client, editor)

    response = client.post(
        reverse("calendar:post_delete", args=["acme", scheduled_post.pk]), follow=True
    )

    assert not Post.objects.filter(pk=scheduled_post.pk).exists()
    assert response.redirect_chain == [(reverse("calendar:month", args=["acme", 2026, 7]), 302)]
    assert [str(m) for m in response.context["messages"]] == ["“Launch” was deleted."]


def test_given_an_idea_when_deleted_then_back_to_the_list(client, editor, workspace):
    idea = PostFactory(workspace=workspace, scheduled_at=None)
    login(client, editor)

    response = client.post(reverse("calendar:post_delete", args=["acme", idea.pk]))

    assert response.url == reverse("calendar:list", args=["acme"])


def test_given_a_delete_link_then_get_asks_for_confirmation_and_deletes_nothing(
    client, editor, scheduled_post
):
    login(client, editor)

    response = client.get(reverse("calendar:post_delete", args=["acme", scheduled_post.pk]))

    assert "Delete this post?" in response.content.decode()
    assert Post.objects.filter(pk=scheduled_post.pk).exists()


def test_given_a_viewer_when_deleting_then_403_and_the_post_stays(client, viewer, scheduled_post):
    login(client, viewer)

    response = client.post(reverse("calendar:post_delete", args=["acme", scheduled_post.pk]))

    assert response.status_code == 403
    assert Post.objects.filter(pk=scheduled_post.pk).exists()


# --- in a real browser ------------------------------------------------------------------------

COUNT_SAMPLES = [
    "hello",
    "Read https://example.com/a/very/long/path?x=1 now",
    "日本語 ハロー https://t.co",
    "👍 👩‍👩‍👧‍👦 🇩🇪 1️⃣ ❤️",
    "Grüße e\u0301 “quotes” — dash…",
    "www.example.org and http://x.y\nnext line",
]


@pytest.fixture
def browser_page(live_server, editor, settings, monkeypatch):
    """A headless Chromium signed in as the editor (Debian's chromium, never a download)."""
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from tests.calendar_app.test_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

    require_chromium()
    # Playwright runs an event loop in this thread; the ORM calls of the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    client = Client()
    client.force_login(editor.user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        # The ORM calls made while Playwright runs use a connection of Playwright's context:
        # close it, or the test database cannot be dropped at the end of the run.
        connections.close_all()
        browser.close()
        assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_the_live_counter_shows_the_servers_count(
    browser_page, live_server, workspace, channel, x_channel
):
    """The rule lives once, in calendar_app/platforms.py (twitter-text's links, TLDs and emoji,
    Mastodon's mentions and graphemes): the counter's quick estimate while typing gives way to
    the server's count of the same text as soon as the check answers."""
    from playwright.sync_api import expect

    from calendar_app.counting import count_text
    from calendar_app.platforms import SPECS

    page = browser_page
    page.goto(live_server.url + create_url() + "?date=2026-07-10&time=09:30")
    for toggle in (channel, x_channel):
        page.click(f"label[for=channel-{toggle.pk}]")
    for sample in COUNT_SAMPLES:
        page.fill("#id_body", sample)
        for shown in (channel, x_channel):
            used = count_text(sample, SPECS[shown.platform].counting)
            limit = SPECS[shown.platform].text_limit
            counter = page.locator(f"#pane-{shown.pk} [data-counter=body]")
            expect(counter).to_have_text(f"{used} / {limit}", timeout=10_000)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_tabs_follow_channels_and_counters_and_check_go_live(
    browser_page, live_server, workspace, channel, x_channel
):
    page = browser_page
    page.goto(live_server.url + create_url() + "?date=2026-07-10&time=09:30")
    x_tab = f"[data-variant-tab='{x_channel.pk}']"
    assert page.is_hidden(x_tab)

    page.click(f"label[for=channel-{x_channel.pk}]")
    page.fill("#id_body", "a" * 290)

    assert page.is_visible(x_tab)
    counter = page.locator(f"#pane-{x_channel.pk} [data-counter=body]")
    assert counter.inner_text() == "290 / 280"
    assert "text-danger" in counter.get_attribute("class")
    assert "Acme X" in page.locator(f"#pane-{x_channel.pk} [data-preview]").inner_text()
    page.wait_for_selector("#server-check >> text=X allows 280 (10 too many)")

    page.click(f"label[for=channel-{x_channel.pk}]")
    assert page.is_hidden(x_tab)


def make_thumbed_library(workspace, names: list[str]) -> list[MediaAsset]:
    """Assets in upload order (the last is the newest) with thumbnails, as the picker shows."""
    return MediaAsset.objects.bulk_create(
        MediaAsset(
            workspace=workspace,
            file=f"media/{workspace.pk}/{name}",
            thumbnail=f"thumbs/{workspace.pk}/{name}.webp",
            kind="image",
            mime_type="image/jpeg",
            size_bytes=1000,
            original_name=name,
        )
        for name in names
    )


PICK_ITEM_SHAPE = """(node) => {
    const shape = (n) => n.nodeType === Node.TEXT_NODE ? n.textContent.trim() : {
        tag: n.tagName,
        attrs: Object.fromEntries(Array.from(n.attributes, (a) => [a.name, a.value])),
        children: Array.from(n.childNodes).map(shape).filter((c) => c !== ""),
    };
    return shape(node);
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_the_picker_searches_loads_older_media_and_picks_it_into_the_preview(
    browser_page, live_server, workspace, channel
):
    page = browser_page
    harbour = make_thumbed_library(
        workspace, [f"harbour-{i:03d}.jpg" for i in range(MEDIA_PICKER_PAGE_SIZE + 5)]
    )
    make_thumbed_library(workspace, [f"office-{i:03d}.jpg" for i in range(60)])
    oldest = harbour[0]
    grid = page.locator("#media-picker-grid [data-pick-id]")
    page.goto(live_server.url + create_url())
    page.click(f"label[for=channel-{channel.pk}]")

    page.click("#media-main [data-media-add]")
    page.wait_for_selector("#media-picker.show")
    assert grid.count() == MEDIA_PICKER_PAGE_SIZE
    assert grid.first.get_attribute("title") == "office-059.jpg"

    with page.expect_response(lambda r: "/media/picker/?q=harbour" in r.url):
        page.fill("#media-picker-search", "harbour")
    page.wait_for_function(
        "() => document.querySelector('#media-picker-grid [data-pick-id]').title === 'harbour-052.jpg'"
    )
    assert grid.count() == MEDIA_PICKER_PAGE_SIZE
    assert page.locator(f"[data-pick-id='{oldest.pk}']").count() == 0

    with page.expect_response(lambda r: "before=" in r.url):
        page.click("[data-testid=media-picker-more]")
    page.wait_for_selector(f"[data-pick-id='{oldest.pk}']")
    assert grid.count() == MEDIA_PICKER_PAGE_SIZE + 5
    assert page.is_hidden("[data-testid=media-picker-more]")  # nothing older left
    titles = [grid.nth(i).get_attribute("title") for i in range(grid.count())]
    assert titles == [f"harbour-{i:03d}.jpg" for i in range(MEDIA_PICKER_PAGE_SIZE + 4, -1, -1)]

    page.click(f"[data-pick-id='{oldest.pk}']")
    assert "chosen" in page.get_attribute(f"[data-pick-id='{oldest.pk}']", "class")
    page.click("#media-picker .modal-footer [data-bs-dismiss=modal]")
    page.wait_for_selector("#media-picker", state="hidden")

    thumb = f"/media/thumbs/{workspace.pk}/harbour-000.jpg.webp"
    assert page.get_attribute("#media-main .media-item input", "value") == str(oldest.pk)
    assert page.get_attribute(f"#pane-{channel.pk} [data-preview] .preview-thumb", "src") == thumb

    page.click("[data-testid=save-continue]")
    page.wait_for_url(f"**/posts/{Post.objects.get().pk}/")
    assert [pm.media for pm in Post.objects.get().post_media.all()] == [oldest]
    assert page.get_attribute(f"#pane-{channel.pk} [data-preview] .preview-thumb", "src") == thumb


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_fetched_picker_items_have_the_server_items_markup(
    browser_page, live_server, workspace
):
    page = browser_page
    [asset] = make_thumbed_library(workspace, ['Café "night" <1>.jpg'])
    page.goto(live_server.url + create_url())
    item = f"#media-picker-grid [data-pick-id='{asset.pk}']"
    server_rendered = page.eval_on_selector(item, PICK_ITEM_SHAPE)

    page.eval_on_selector(item, "(node) => { node.fromServer = true; }")  # not an attribute

    page.click("#media-main [data-media-add]")
    page.fill("#media-picker-search", "night")
    page.wait_for_function(
        "(selector) => { const s = document.querySelector(selector); return s && !s.fromServer; }",
        arg=item,
    )
    fetched = page.eval_on_selector(item, PICK_ITEM_SHAPE)

    assert fetched == server_rendered
    assert fetched["attrs"]["title"] == 'Café "night" <1>.jpg'


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_an_upload_during_a_search_is_added_to_the_grid_list_and_preview(
    browser_page, live_server, workspace, channel, tmp_path
):
    from PIL import Image

    page = browser_page
    make_thumbed_library(
        workspace, [f"office-{i:03d}.jpg" for i in range(MEDIA_PICKER_PAGE_SIZE + 1)]
    )
    image = tmp_path / "new-harbour.png"
    Image.new("RGB", (64, 48), "#3366cc").save(image)
    page.goto(live_server.url + create_url())
    page.click(f"label[for=channel-{channel.pk}]")
    page.click("#media-main [data-media-add]")
    page.fill("#media-picker-search", "nothing-like-this")
    page.wait_for_selector("#media-picker-no-match:not(.d-none)")

    with page.expect_response(lambda r: "/media/upload/" in r.url) as uploaded:
        page.set_input_files("#inline-upload", str(image))
    asset = MediaAsset.objects.get(original_name="new-harbour.png")

    assert uploaded.value.status == 201
    page.wait_for_selector(f"#media-picker-grid [data-pick-id='{asset.pk}'].chosen")
    assert page.is_hidden("#media-picker-no-match")
    assert page.get_attribute("#media-main .media-item input", "value") == str(asset.pk)
    assert (
        page.get_attribute(f"#pane-{channel.pk} [data-preview] .preview-thumb", "src")
        == asset.thumbnail.url
    )


@pytest.mark.parametrize("state", ["needs_reconnect", "paused"])
def test_given_a_channel_that_cannot_publish_then_the_check_names_it_and_the_fix_not_ready(
    client, editor, x_channel, state
):
    """Issue 12: the check said "Ready" while the chosen channels needed reconnecting."""
    type(x_channel).objects.filter(pk=x_channel.pk).update(state=state)
    login(client, editor)

    response = client.post(
        reverse("calendar:post_check", args=["acme"]),
        form_data(body="Hallo", date="2099-07-10", time="09:30", channels=[x_channel.pk]),
    )

    html = response.content.decode()
    assert 'data-testid="check-health"' in html
    assert "Acme X is " in html
    assert reverse("calendar:channel_edit", args=["acme", x_channel.pk]) in html
    assert "Ready: the post can be published" not in html


def test_given_connected_channels_then_the_check_says_ready(client, editor, x_channel):
    login(client, editor)
    response = client.post(
        reverse("calendar:post_check", args=["acme"]),
        form_data(body="Hallo", date="2099-07-10", time="09:30", channels=[x_channel.pk]),
    )
    html = response.content.decode()
    assert "Ready: the post can be published on all its channels." in html
    assert 'data-testid="check-health"' not in html
