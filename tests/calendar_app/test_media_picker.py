"""The editor picker's JSON pages and the paginated, searchable media library page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calendar_app.models import MediaAsset, Role
from calendar_app.selectors import MEDIA_PICKER_PAGE_SIZE
from calendar_app.views.media import LIBRARY_PAGE_SIZE
from tests.conftest import login


def make_assets(workspace, names: list[str], alt: str = "") -> list[MediaAsset]:
    """Assets in upload order: the last name is the newest."""
    return MediaAsset.objects.bulk_create(
        MediaAsset(
            workspace=workspace,
            file=f"media/{workspace.pk}/{name}",
            thumbnail=f"thumbs/{workspace.pk}/{name}.webp",
            kind="image",
            mime_type="image/jpeg",
            size_bytes=1000,
            original_name=name,
            alt_text=alt,
        )
        for name in names
    )


def numbered(count: int, stem: str = "photo") -> list[str]:
    return [f"{stem}-{i:03d}.jpg" for i in range(count)]


def picker_url(ws: str = "acme") -> str:
    return reverse("calendar:media_picker", args=[ws])


def library_url(ws: str = "acme") -> str:
    return reverse("calendar:media_library", args=[ws])


def names(payload: dict) -> list[str]:
    return [asset["name"] for asset in payload["assets"]]


# --- the picker endpoint ----------------------------------------------------------------------


def test_given_no_parameters_then_the_newest_page_comes_first_with_the_editor_json(
    client, editor, workspace
):
    assets = make_assets(workspace, numbered(MEDIA_PICKER_PAGE_SIZE + 2))
    login(client, editor)

    payload = client.get(picker_url()).json()

    assert len(payload["assets"]) == MEDIA_PICKER_PAGE_SIZE
    assert payload["assets"][0] == {
        "id": assets[-1].pk,
        "thumb_url": f"/media/thumbs/{workspace.pk}/photo-049.jpg.webp",
        "url": f"/media/media/{workspace.pk}/photo-049.jpg",
        "name": "photo-049.jpg",
        "kind": "image",
        "size": 1000,
        "alt": "",
    }
    assert names(payload) == [f"photo-{i:03d}.jpg" for i in range(49, 1, -1)]
    assert payload["has_more"] is True
    assert payload["next_before"] == assets[2].pk


def test_given_next_before_when_following_it_then_the_pages_cover_the_library_exactly_once(
    client, editor, workspace
):
    make_assets(workspace, numbered(2 * MEDIA_PICKER_PAGE_SIZE + 5))
    login(client, editor)

    seen: list[str] = []
    pages = 0
    params: dict = {}
    while True:
        payload = client.get(picker_url(), params).json()
        pages += 1
        seen += names(payload)
        if not payload["has_more"]:
            assert payload["next_before"] is None
            break
        params = {"before": payload["next_before"]}

    assert pages == 3
    assert seen == [f"photo-{i:03d}.jpg" for i in range(2 * MEDIA_PICKER_PAGE_SIZE + 4, -1, -1)]


def test_given_an_upload_between_two_pages_then_the_next_page_neither_repeats_nor_skips(
    client, editor, workspace
):
    make_assets(workspace, numbered(MEDIA_PICKER_PAGE_SIZE + 3))
    login(client, editor)
    first = client.get(picker_url()).json()

    make_assets(workspace, ["brand-new.jpg"])
    second = client.get(picker_url(), {"before": first["next_before"]}).json()

    assert names(second) == ["photo-002.jpg", "photo-001.jpg", "photo-000.jpg"]
    assert second["has_more"] is False


@pytest.mark.parametrize("query", ["HARBOUR", "harb", "  harbour  "])
def test_given_a_search_then_file_names_match_case_insensitively(client, editor, workspace, query):
    make_assets(workspace, ["Harbour at dawn.jpg", "office.jpg", "the-harbour.png"])
    login(client, editor)

    payload = client.get(picker_url(), {"q": query}).json()

    assert names(payload) == ["the-harbour.png", "Harbour at dawn.jpg"]
    assert payload["has_more"] is False


def test_given_a_search_then_alt_texts_match_too(client, editor, workspace):
    make_assets(workspace, ["IMG_0001.jpg"], alt="Our café at night")
    make_assets(workspace, ["IMG_0002.jpg"], alt="A cat")
    login(client, editor)

    payload = client.get(picker_url(), {"q": "café"}).json()

    assert names(payload) == ["IMG_0001.jpg"]


def test_given_several_words_then_each_must_appear_in_the_name_or_the_alt_text(
    client, editor, workspace
):
    make_assets(workspace, ["harbour.jpg"], alt="Boats at night, 2024")
    make_assets(workspace, ["harbour-2024-05.jpg", "harbour-2023.jpg", "office-2024.jpg"])
    login(client, editor)

    payload = client.get(picker_url(), {"q": "Harbour  2024"}).json()

    assert names(payload) == ["harbour-2024-05.jpg", "harbour.jpg"]


def test_given_a_search_with_like_wildcards_then_they_match_literally(client, editor, workspace):
    make_assets(workspace, ["100%_real.jpg", "1000 real.jpg"])
    login(client, editor)

    payload = client.get(picker_url(), {"q": "0%_"}).json()

    assert names(payload) == ["100%_real.jpg"]


def test_given_a_search_with_many_matches_then_it_pages_with_before_like_the_library(
    client, editor, workspace
):
    make_assets(workspace, numbered(MEDIA_PICKER_PAGE_SIZE + 1, stem="harbour"))
    make_assets(workspace, numbered(10, stem="office"))
    login(client, editor)

    first = client.get(picker_url(), {"q": "harbour"}).json()
    second = client.get(picker_url(), {"q": "harbour", "before": first["next_before"]}).json()

    assert len(first["assets"]) == MEDIA_PICKER_PAGE_SIZE
    assert all(name.startswith("harbour") for name in names(first))
    assert first["has_more"] is True
    assert names(second) == ["harbour-000.jpg"]
    assert second["has_more"] is False


def test_given_nothing_matches_then_an_empty_page(client, editor, workspace):
    make_assets(workspace, ["office.jpg"])
    login(client, editor)

    payload = client.get(picker_url(), {"q": "harbour"}).json()

    assert payload == {"assets": [], "has_more": False, "next_before": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"before": "abc"}, "“before” must be the id of a media file, a whole number from 1."),
        ({"before": "0"}, "“before” must be the id of a media file, a whole number from 1."),
        ({"before": "-5"}, "“before” must be the id of a media file, a whole number from 1."),
        ({"before": "1.5"}, "“before” must be the id of a media file, a whole number from 1."),
        (
            {"before": "99999999999999999999"},
            "“before” must be the id of a media file, a whole number from 1.",
        ),
        ({"q": "x" * 201}, "The search may be at most 200 characters long."),
    ],
)
def test_given_bad_parameters_then_400_with_a_clear_message(
    client, editor, workspace, params, message
):
    make_assets(workspace, ["office.jpg"])
    login(client, editor)

    response = client.get(picker_url(), params)

    assert response.status_code == 400
    assert response.json() == {"error": message}


@pytest.mark.parametrize("role", list(Role))
def test_given_any_member_then_the_picker_answers(client, members, workspace, role):
    make_assets(workspace, ["office.jpg"])
    login(client, members[role])

    response = client.get(picker_url())

    assert response.status_code == 200
    assert names(response.json()) == ["office.jpg"]


def test_given_another_workspace_then_404_and_its_media_never_shows(
    client, editor, workspace, other_workspace
):
    make_assets(other_workspace, ["secret.jpg"])
    make_assets(workspace, ["ours.jpg"])
    login(client, editor)

    theirs = client.get(picker_url("other"))
    ours = client.get(picker_url(), {"q": "secret"})

    assert theirs.status_code == 404
    assert ours.json()["assets"] == []


def test_given_before_an_asset_of_another_workspace_then_only_own_older_assets(
    client, editor, workspace, other_workspace
):
    ours = make_assets(workspace, ["ours.jpg"])
    make_assets(other_workspace, ["secret.jpg"])
    login(client, editor)

    payload = client.get(picker_url(), {"before": ours[0].pk + 1}).json()

    assert names(payload) == ["ours.jpg"]


def test_given_a_visitor_who_is_not_signed_in_then_the_picker_sends_them_to_log_in(client):
    response = client.get(picker_url())

    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_given_a_post_request_then_405(client, editor):
    login(client, editor)

    assert client.post(picker_url()).status_code == 405


@pytest.mark.parametrize("count", [3, 300])
def test_picker_query_count_does_not_grow_with_the_library(
    client, editor, workspace, django_assert_num_queries, count
):
    assets = make_assets(workspace, numbered(count))
    login(client, editor)
    client.get(picker_url())  # warm the session

    # session, user, membership, one page of media
    with django_assert_num_queries(4):
        response = client.get(picker_url(), {"q": "photo", "before": assets[-1].pk})
    assert len(response.json()["assets"]) == min(count - 1, MEDIA_PICKER_PAGE_SIZE)


# --- the library page -------------------------------------------------------------------------


def shown_names(response) -> list[str]:
    return [asset.original_name for asset in response.context["page"]]


def test_given_more_files_than_a_page_then_the_newest_come_first_with_page_links(
    client, editor, workspace
):
    make_assets(workspace, numbered(2 * LIBRARY_PAGE_SIZE + 1))
    login(client, editor)

    response = client.get(library_url())

    html = response.content.decode()
    assert shown_names(response) == [
        f"photo-{i:03d}.jpg" for i in range(2 * LIBRARY_PAGE_SIZE, LIBRARY_PAGE_SIZE, -1)
    ]
    assert f"{2 * LIBRARY_PAGE_SIZE + 1} files" in html
    assert 'href="?page=2"' in html
    assert 'href="?page=3"' in html


def test_given_page_two_then_the_next_older_files(client, editor, workspace):
    make_assets(workspace, numbered(LIBRARY_PAGE_SIZE + 2))
    login(client, editor)

    response = client.get(library_url(), {"page": 2})

    assert shown_names(response) == ["photo-001.jpg", "photo-000.jpg"]
    assert 'href="?page=1"' in response.content.decode()


@pytest.mark.parametrize(("page", "first"), [("abc", "photo-061.jpg"), ("", "photo-061.jpg")])
def test_given_a_page_that_is_not_a_number_then_the_first_page(
    client, editor, workspace, page, first
):
    make_assets(workspace, numbered(LIBRARY_PAGE_SIZE + 2))
    login(client, editor)

    response = client.get(library_url(), {"page": page})

    assert response.status_code == 200
    assert shown_names(response)[0] == first


@pytest.mark.parametrize("page", ["99", "0", "-1"])
def test_given_a_page_past_the_end_then_the_last_page(client, editor, workspace, page):
    make_assets(workspace, numbered(LIBRARY_PAGE_SIZE + 2))
    login(client, editor)

    response = client.get(library_url(), {"page": page})

    assert response.status_code == 200
    assert shown_names(response) == ["photo-001.jpg", "photo-000.jpg"]


def test_given_a_search_then_only_matches_are_listed_and_page_links_keep_it(
    client, editor, workspace
):
    make_assets(workspace, numbered(LIBRARY_PAGE_SIZE + 1, stem="harbour"))
    make_assets(workspace, ["office.jpg"], alt="Harbour office")
    make_assets(workspace, ["desk.jpg"])
    login(client, editor)

    response = client.get(library_url(), {"q": "harbour"})

    html = response.content.decode()
    assert shown_names(response)[0] == "office.jpg"
    assert "desk.jpg" not in shown_names(response)
    assert f"{LIBRARY_PAGE_SIZE + 2} files match “harbour”" in html
    assert 'href="?q=harbour&amp;page=2"' in html
    assert 'value="harbour"' in html


def test_given_a_search_without_matches_then_the_page_says_so(client, editor, workspace):
    make_assets(workspace, ["desk.jpg"])
    login(client, editor)

    response = client.get(library_url(), {"q": "harbour"})

    assert shown_names(response) == []
    assert "No media file matches this search." in response.content.decode()


def test_given_a_too_long_search_then_400_with_the_reason_and_the_whole_library(
    client, editor, workspace
):
    make_assets(workspace, ["desk.jpg"])
    login(client, editor)

    response = client.get(library_url(), {"q": "x" * 201})

    assert response.status_code == 400
    assert "The search may be at most 200 characters long." in response.content.decode()
    assert shown_names(response) == ["desk.jpg"]


def test_given_a_search_then_another_workspace_never_shows(
    client, editor, workspace, other_workspace
):
    make_assets(other_workspace, ["harbour-secret.jpg"])
    login(client, editor)

    response = client.get(library_url(), {"q": "harbour"})

    assert shown_names(response) == []
    assert b"harbour-secret.jpg" not in response.content


@pytest.mark.parametrize("count", [3, 3 * LIBRARY_PAGE_SIZE])
def test_library_page_query_count_and_page_size_do_not_grow_with_the_library(
    client, editor, workspace, django_assert_num_queries, count
):
    make_assets(workspace, numbered(count))
    login(client, editor)
    client.get(library_url())  # warm the session

    # session, user, membership, my workspaces, unread notifications; media count, media page
    with django_assert_num_queries(7):
        response = client.get(library_url(), {"q": "photo", "page": 2})
    assert len(response.context["page"]) == (3 if count == 3 else LIBRARY_PAGE_SIZE)
