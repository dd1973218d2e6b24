"""The WordPress adapter and the connect form against a real WordPress (Debian's package, run
by PHP's built-in server on MariaDB: tests/real_wordpress.py): what the REST API really
answers, not what we think it answers."""

from __future__ import annotations

import html
import io
import struct
import zlib

import pytest
from django.test import override_settings

from calendar_app.models import Channel, ChannelState
from publishing.adapters.base import (
    Account,
    ConnectError,
    Credentials,
    MediaItem,
    PermanentError,
    PublishRequest,
)
from publishing.adapters.wordpress import WordPressAdapter
from publishing.credentials import credentials_load
from tests import real_wordpress
from tests.conftest import login, skip_or_fail

pytestmark = [pytest.mark.real_server, pytest.mark.xdist_group("real-wordpress")]
CONNECT = "/w/acme/settings/channels/connect/wordpress/"


def require_wordpress() -> None:
    """Skip when the machine has no WordPress (a developer's plain `make test` without the
    packages); fail under `.ci/run` (REQUIRE_WORDPRESS=1), which installs them."""
    missing = real_wordpress.available()
    if not missing:
        return
    skip_or_fail(
        f"{missing} (apt-get install wordpress php-cli php-mysql; .ci/run does)",
        required_by="REQUIRE_WORDPRESS",
    )


@pytest.fixture(scope="module")
def wp(tmp_path_factory):
    require_wordpress()
    with real_wordpress.RealWordPress(tmp_path_factory.mktemp("wordpress")) as site:
        yield site


@pytest.fixture(autouse=True)
def local_addresses():
    with override_settings(PUBLISHING_ALLOW_PRIVATE_URLS=True):
        yield


@pytest.fixture
def adapter():
    return WordPressAdapter()


@pytest.fixture
def connected(wp, adapter):
    result = adapter.connect_with_secret(
        account=Account(config={"site_url": wp.url, "username": wp.username}),
        secret=wp.app_password,
    )
    return result.account, result.credentials


def png() -> bytes:
    """A real 2 by 2 PNG (WordPress reads the image to make its sizes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def image() -> MediaItem:
    data = png()
    return MediaItem(
        "image",
        "image/png",
        "sommerfest.png",
        len(data),
        lambda: io.BytesIO(data),
        alt_text="Bühne",
    )


# --- connecting through the form, as a newcomer does ------------------------------------------


def test_given_a_newcomer_with_an_application_password_when_connecting_then_connected_first_try(
    client, manager, wp
):
    login(client, manager)

    response = client.post(
        CONNECT,
        {"site_url": wp.url, "username": wp.username, "app_password": wp.app_password},
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    channel = Channel.objects.get(workspace=manager.workspace, platform="wordpress")
    assert channel.state == ChannelState.CONNECTED
    assert channel.name == "Acme Blog"
    assert channel.config["user_id"] == wp.author_id
    assert credentials_load(channel).access_token == wp.app_password.strip()
    assert wp.app_password not in str(channel.config)


@pytest.mark.parametrize(
    ("username", "password"), [("redaktion", "wrong pass word"), ("niemand", None)]
)
def test_given_a_wrong_password_or_user_when_connecting_then_told_so_not_about_headers(
    client, manager, wp, username, password
):
    login(client, manager)

    response = client.post(
        CONNECT,
        {"site_url": wp.url, "username": username, "app_password": password or wp.app_password},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "did not accept this username and application password" in page
    assert "CGIPassAuth" not in page
    assert not Channel.objects.filter(platform="wordpress").exists()


def test_given_a_host_that_strips_the_authorization_header_when_connecting_then_that_is_said(
    adapter, wp
):
    wp.strip_authorization()
    try:
        with pytest.raises(ConnectError) as caught:
            adapter.connect_with_secret(
                account=Account(config={"site_url": wp.url, "username": wp.username}),
                secret=wp.app_password,
            )
    finally:
        wp.strip_authorization(False)

    assert "the Authorization header does not reach it" in caught.value.message
    assert wp.app_password not in caught.value.message + caught.value.detail


def test_given_a_site_on_http_without_application_passwords_when_connecting_then_that_is_said(
    adapter, tmp_path
):
    require_wordpress()
    with (
        real_wordpress.RealWordPress(tmp_path, app_passwords=False) as plain,
        pytest.raises(ConnectError) as caught,
    ):
        adapter.connect_with_secret(
            account=Account(config={"site_url": plain.url, "username": plain.username}),
            secret=plain.app_password,
        )

    assert "does not offer application passwords" in caught.value.message


def test_given_an_address_without_scheme_when_nothing_answers_there_then_the_address_is_named(
    adapter, wp
):
    # The site runs on http; typed without a scheme, https:// is tried (and says so).
    with pytest.raises(ConnectError) as caught:
        adapter.connect_with_secret(
            account=Account(config={"site_url": wp.url.removeprefix("http://"), "username": "u"}),
            secret="x",
        )

    assert wp.url.replace("http://", "https://") in caught.value.message
    assert "without http:// or https://" in caught.value.message


# --- publishing -------------------------------------------------------------------------------


def test_given_a_german_title_an_image_and_a_link_when_publishing_then_wordpress_has_it_right(
    adapter, wp, connected
):
    account, credentials = connected
    request = PublishRequest(
        title="Grüße & mehr aus Köln <live>",
        text="Wir feiern!\n\nMehr unter https://example.org/sommer?x=1&y=2",
        media=[image()],
        idempotency_key="real-wp-1",
        options={"categories": ["Veranstaltungen"], "tags": ["Sommer"]},
    )
    wp.php("return wp_insert_term('Veranstaltungen', 'category');")  # an Author cannot make it

    result = adapter.publish(account=account, credentials=credentials, request=request)

    post_id = int(result.remote_id)
    post = wp.php(
        f"$p = get_post({post_id}); $t = get_post_thumbnail_id($p);"
        " return ['title' => $p->post_title, 'slug' => $p->post_name,"
        " 'status' => $p->post_status, 'content' => $p->post_content, 'thumb' => $t,"
        " 'thumb_parent' => get_post($t)->post_parent,"
        " 'alt' => get_post_meta($t, '_wp_attachment_image_alt', true),"
        " 'cats' => wp_get_post_categories($p->ID, ['fields' => 'names']),"
        " 'tags' => wp_get_post_tags($p->ID, ['fields' => 'names']), 'link' => get_permalink($p)];"
    )
    # What readers see is what was typed, markup included as text; WordPress' own filter
    # (kses, for an Author) writes the "&" as "&amp;" once, never twice.
    assert html.unescape(post["title"]) == "Grüße & mehr aus Köln <live>"
    assert "&amp;amp;" not in post["title"]
    assert post["slug"].startswith("gruesse-mehr-aus-koeln-live-")
    assert post["status"] == "publish"
    assert post["thumb"] and post["thumb_parent"] == post_id  # attached to its post
    assert post["alt"] == "Bühne"
    assert '<a href="https://example.org/sommer?x=1&amp;y=2">' in post["content"]
    assert post["cats"] == ["Veranstaltungen"] and post["tags"] == ["Sommer"]
    assert result.url == post["link"]


def test_given_an_administrator_when_publishing_a_title_with_an_ampersand_then_stored_as_typed(
    adapter, wp
):
    """An Administrator's title is stored as sent (no kses): an "&" we escaped ourselves
    showed as "&amp;" in WordPress' editor and feeds."""
    admin = adapter.connect_with_secret(
        account=Account(config={"site_url": wp.url, "username": wp.admin}),
        secret=wp.admin_password,
    )
    result = adapter.publish(
        account=admin.account,
        credentials=admin.credentials,
        request=PublishRequest(title="Grüße & mehr", text="Hallo.", idempotency_key="rw-9"),
    )

    assert wp.php(f"return get_post({result.remote_id})->post_title;") == "Grüße & mehr"


def test_given_an_author_and_a_new_category_when_publishing_then_told_who_may_create_it(
    adapter, wp, connected
):
    account, credentials = connected

    with pytest.raises(PermanentError) as caught:
        adapter.publish(
            account=account,
            credentials=credentials,
            request=PublishRequest(
                title="Neu", text="Neu.", idempotency_key="rw-8", options={"categories": ["Neu"]}
            ),
        )

    assert "may not create the category “Neu”" in caught.value.message
    assert "Editor role" in caught.value.message


def test_given_an_answer_lost_when_looking_up_then_the_post_is_found_by_its_slug(
    adapter, wp, connected
):
    account, credentials = connected
    request = PublishRequest(
        title="Nur einmal", text="Einmal.", idempotency_key="real-wp-2", first_comment="Erster!"
    )
    result = adapter.publish(account=account, credentials=credentials, request=request)

    found = adapter.find_existing(account=account, credentials=credentials, request=request)
    other = adapter.find_existing(
        account=account,
        credentials=credentials,
        request=PublishRequest(title="Nur einmal", text="Einmal.", idempotency_key="real-wp-3"),
    )

    assert [p.remote_id for p in found.parts] == [p.remote_id for p in result.parts]
    assert result.parts[1].remote_id.startswith("comment:")
    assert other is None


def test_given_comments_when_fetching_metrics_then_wordpress_counts_them(adapter, wp, connected):
    account, credentials = connected
    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(title="Kommentare", text="Was meint ihr?", idempotency_key="rw-4"),
    )
    for n in range(2):
        wp.php(
            f"return wp_insert_comment(['comment_post_ID' => {result.remote_id},"
            f" 'comment_content' => 'Toll {n}', 'comment_author' => 'Leserin',"
            " 'comment_approved' => 1]);"
        )
    wp.php(
        f"return wp_insert_comment(['comment_post_ID' => {result.remote_id},"
        " 'comment_content' => 'Spam', 'comment_approved' => 'spam']);"
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=credentials, remote_ids=[result.remote_id]
    )
    numbers = adapter.fetch_account_metrics(account=account, credentials=credentials)
    import datetime as dt

    recent = adapter.list_recent_posts(
        account=account,
        credentials=credentials,
        since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )

    assert [s.values for s in snapshots] == [{"comments": 2}]  # approved only
    assert numbers.values["posts"] == wp.php("return (int) wp_count_posts()->publish;")
    assert result.remote_id in [p.remote_id for p in recent]


def test_given_a_published_post_when_deleting_twice_then_trashed_and_the_second_is_fine(
    adapter, wp, connected
):
    account, credentials = connected
    result = adapter.publish(
        account=account,
        credentials=credentials,
        request=PublishRequest(title="Weg damit", text="Gleich weg.", idempotency_key="rw-5"),
    )

    adapter.delete(account=account, credentials=credentials, remote_id=result.remote_id)
    adapter.delete(account=account, credentials=credentials, remote_id=result.remote_id)

    assert wp.php(f"return get_post_status({result.remote_id});") in ("trash", False)


def test_given_a_contributor_when_publishing_then_refused_with_the_role_it_needs(adapter, wp):
    connected = adapter.connect_with_secret(
        account=Account(config={"site_url": wp.url, "username": wp.contributor}),
        secret=wp.contributor_password,
    )
    assert connected.account.config["can_publish"] is False
    # The channel warns before any post fails on it (channel health: a missing permission).
    assert connected.missing_permissions == ("publish_posts",)

    with pytest.raises(PermanentError) as caught:
        adapter.publish(
            account=connected.account,
            credentials=connected.credentials,
            request=PublishRequest(title="Darf ich?", text="Nein.", idempotency_key="rw-6"),
        )

    assert "Author role" in caught.value.message


def test_given_a_revoked_application_password_when_publishing_then_reconnect_is_asked(
    adapter, wp, connected
):
    account, _credentials = connected
    with pytest.raises(Exception) as caught:
        adapter.publish(
            account=account,
            credentials=Credentials("revoked revoked revoked"),
            request=PublishRequest(title="Nie", text="Nie.", idempotency_key="rw-7"),
        )

    assert type(caught.value).__name__ == "AuthExpired"
    assert "Reconnect the channel" in caught.value.message
