"""The WordPress adapter against responses shaped like the core REST API (`responses`)."""

from __future__ import annotations

import base64
import io
import json

import pytest
import responses
from responses import matchers

from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
    TransientError,
)
from publishing.adapters.wordpress import WordPressAdapter, slug_for, text_to_blocks
from publishing.urlsafety import UnsafeURL

SITE = "https://blog.test"
ROOT = SITE + "/wp-json/"
PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
KEY = "delivery-5-key"


@pytest.fixture
def adapter():
    return WordPressAdapter(base_url="")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(
        account_id=SITE,
        handle="redaktion",
        name="Acme Blog",
        config={"site_url": SITE, "api_root": ROOT, "username": "redaktion", "user_id": 7},
    )


@pytest.fixture
def creds():
    return Credentials(access_token=PASSWORD)


@pytest.fixture
def allow_local_urls(settings):
    settings.PUBLISHING_ALLOW_PRIVATE_URLS = True


def basic(user="redaktion", password=PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def image(data=b"jpeg-bytes", alt="", name="Sommer Fest.jpg"):
    return MediaItem(
        kind="image",
        mime_type="image/jpeg",
        filename=name,
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
        alt_text=alt,
    )


def request(**kwargs) -> PublishRequest:
    return PublishRequest(
        **{"title": "Sommerfest 2026", "text": "Hallo", "idempotency_key": KEY, **kwargs}
    )


def created_post(api) -> dict:
    return json.loads(
        next(
            c.request.body
            for c in api.calls
            if c.request.method == "POST" and c.request.url == ROOT + "wp/v2/posts"
        )
    )


INDEX = {
    "name": "Acme &amp; Co Blog",
    "url": SITE,
    "home": SITE,
    "namespaces": ["oembed/1.0", "wp/v2"],
    "site_icon_url": "https://blog.test/icon.png",
}


# --- helpers ---------------------------------------------------------------------------------


def test_given_request_when_deriving_slug_then_title_plus_stable_key_hash():
    slug = slug_for(request())

    assert slug.startswith("sommerfest-2026-")
    assert slug == slug_for(request())
    assert slug != slug_for(request(idempotency_key="other"))
    assert slug_for(request(title="")).startswith("post-")


def test_given_plain_text_when_converting_then_escaped_paragraph_blocks_with_links():
    content = text_to_blocks("Erste <Zeile>\nzweite & https://acme.test\n\n\nNeuer Absatz")

    assert content == (
        "<!-- wp:paragraph -->\n<p>Erste &lt;Zeile&gt;<br>zweite &amp; "
        '<a href="https://acme.test">https://acme.test</a></p>\n<!-- /wp:paragraph -->'
        "\n\n<!-- wp:paragraph -->\n<p>Neuer Absatz</p>\n<!-- /wp:paragraph -->"
    )


# --- connecting ------------------------------------------------------------------------------


def test_given_site_user_and_app_password_when_connecting_then_discovered_and_verified(
    adapter, api, allow_local_urls
):
    api.get(ROOT, json=INDEX)
    api.get(
        ROOT + "wp/v2/users/me",
        match=[matchers.query_param_matcher({"context": "edit"})],
        json={
            "id": 7,
            "name": "Redaktion",
            "avatar_urls": {"24": "https://gravatar.test/24", "96": "https://gravatar.test/96"},
            "capabilities": {"edit_posts": True, "publish_posts": True},
        },
    )

    result = adapter.connect_with_secret(
        account=Account(config={"site_url": "blog.test/", "username": "redaktion"}),
        secret=PASSWORD,
    )

    assert api.calls[1].request.headers["Authorization"] == basic()
    assert result.account == Account(
        account_id=SITE,
        handle="redaktion",
        name="Acme & Co Blog",
        avatar_url="https://blog.test/icon.png",
        config={
            "site_url": SITE,
            "api_root": ROOT,
            "home": SITE,
            "username": "redaktion",
            "user_id": 7,
            "can_publish": True,
        },
    )
    assert result.credentials.access_token == PASSWORD
    assert result.missing_permissions == ()


def test_given_site_without_pretty_permalinks_when_connecting_then_rest_route_root(
    adapter, api, allow_local_urls
):
    api.get(ROOT, status=404, body="<html>Not found</html>")
    api.get(SITE + "/", match=[matchers.query_param_matcher({"rest_route": "/"})], json=INDEX)
    api.get(
        SITE + "/",
        match=[matchers.query_param_matcher({"rest_route": "/wp/v2/users/me", "context": "edit"})],
        json={"id": 7, "capabilities": {}},
    )

    result = adapter.connect_with_secret(
        account=Account(handle="redaktion", config={"site_url": SITE}), secret=PASSWORD
    )

    assert result.account.config["api_root"] == SITE + "/?rest_route=/"
    assert api.calls[2].request.url == SITE + "/?rest_route=/wp/v2/users/me&context=edit"


def test_given_redirect_to_www_when_connecting_then_followed_after_check(
    adapter, api, allow_local_urls
):
    api.get(ROOT, status=301, headers={"Location": "https://www.blog.test/wp-json/"})
    api.get("https://www.blog.test/wp-json/", json=INDEX)
    api.get("https://www.blog.test/wp-json/wp/v2/users/me", json={"id": 7})

    result = adapter.connect_with_secret(
        account=Account(config={"site_url": SITE, "username": "redaktion"}), secret=PASSWORD
    )

    assert result.account.config["api_root"] == "https://www.blog.test/wp-json/"


def test_given_redirect_to_private_address_when_connecting_then_refused(adapter, api, settings):
    settings.PUBLISHING_ALLOW_PRIVATE_URLS = False
    api.get("https://93.184.215.14/wp-json/", status=302, headers={"Location": "https://10.0.0.5/"})

    with pytest.raises(UnsafeURL):
        adapter.connect_with_secret(
            account=Account(config={"site_url": "https://93.184.215.14", "username": "u"}),
            secret=PASSWORD,
        )

    assert len(api.calls) == 1


def test_given_http_site_and_no_permission_when_connecting_then_refused(adapter, api, settings):
    settings.PUBLISHING_ALLOW_PRIVATE_URLS = False

    with pytest.raises(UnsafeURL, match="https://"):
        adapter.connect_with_secret(
            account=Account(config={"site_url": "http://blog.example.com", "username": "u"}),
            secret=PASSWORD,
        )


XMLRPC_OK = (
    "<?xml version='1.0'?><methodResponse><params><param><value><struct>"
    "<member><name>user_id</name><value><string>7</string></value></member>"
    "</struct></value></param></params></methodResponse>"
)
XMLRPC_REFUSED = (
    "<?xml version='1.0'?><methodResponse><fault><value><struct>"
    "<member><name>faultCode</name><value><int>403</int></value></member>"
    "<member><name>faultString</name><value><string>Incorrect username or password."
    "</string></value></member></struct></value></fault></methodResponse>"
)
APP_PASSWORDS = {
    "authentication": {
        "application-passwords": {
            "endpoints": {"authorization": SITE + "/wp-admin/authorize-application.php"}
        }
    }
}


@pytest.mark.parametrize(
    ("index", "xmlrpc", "message_part"),
    [
        pytest.param(INDEX, None, "does not offer application passwords", id="no-app-passwords"),
        pytest.param(
            {**INDEX, **APP_PASSWORDS},
            (200, XMLRPC_REFUSED),
            "did not accept this username and application password",
            id="wrong-login",
        ),
        pytest.param(
            {**INDEX, **APP_PASSWORDS},
            (200, XMLRPC_OK),
            "the Authorization header does not reach it",
            id="header-stripped",
        ),
        pytest.param(
            {**INDEX, **APP_PASSWORDS},
            (405, "XML-RPC server accepts POST requests only."),
            "either the username or the application password is wrong, or",
            id="xmlrpc-off",
        ),
    ],
)
def test_given_login_refused_when_connecting_then_the_reason_is_told_apart(
    adapter, api, allow_local_urls, index, xmlrpc, message_part
):
    """WordPress answers a wrong password, an unknown user and a stripped Authorization header
    with the same 401 rest_not_logged_in; the REST index and XML-RPC (credentials in the body)
    tell them apart."""
    api.get(ROOT, json=index)
    api.get(
        ROOT + "wp/v2/users/me",
        status=401,
        json={"code": "rest_not_logged_in", "message": f"Nope {PASSWORD}", "data": {"status": 401}},
    )
    if xmlrpc is not None:
        api.post(SITE + "/xmlrpc.php", status=xmlrpc[0], body=xmlrpc[1])

    with pytest.raises(ConnectError) as caught:
        adapter.connect_with_secret(
            account=Account(config={"site_url": SITE, "username": "redaktion"}), secret=PASSWORD
        )

    assert message_part in caught.value.message
    assert PASSWORD not in str(caught.value) + caught.value.detail


def test_given_an_address_without_scheme_that_does_not_answer_then_the_address_tried_is_named(
    adapter, allow_local_urls
):
    with pytest.raises(ConnectError) as caught:
        adapter.connect_with_secret(
            account=Account(config={"site_url": "127.0.0.1:9", "username": "u"}), secret=PASSWORD
        )

    assert "https://127.0.0.1:9" in caught.value.message
    assert "without http:// or https://" in caught.value.message


def test_given_subscriber_when_connecting_then_refused(adapter, api, allow_local_urls):
    api.get(ROOT, json=INDEX)
    api.get(ROOT + "wp/v2/users/me", json={"id": 9, "capabilities": {"read": True}})

    with pytest.raises(ConnectError, match="may not write posts"):
        adapter.connect_with_secret(
            account=Account(config={"site_url": SITE, "username": "leser"}), secret=PASSWORD
        )


def test_given_no_rest_api_when_connecting_then_connect_error(adapter, api, allow_local_urls):
    api.get(ROOT, status=403, body="blocked by firewall")
    api.get(SITE + "/", status=403, body="blocked by firewall")

    with pytest.raises(ConnectError, match="No WordPress REST API found"):
        adapter.connect_with_secret(
            account=Account(config={"site_url": SITE, "username": "u"}), secret=PASSWORD
        )


# --- publishing ------------------------------------------------------------------------------


def test_given_text_when_publishing_then_published_post_with_slug_and_link(
    adapter, api, account, creds
):
    api.post(ROOT + "wp/v2/posts", status=201, json={"id": 101, "link": SITE + "/sommerfest/"})
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=request(
            title="Sommerfest <2026> & mehr", text="Hallo <Team>", options={"excerpt": "Kurz & gut"}
        ),
        on_part=lambda index, part: seen.append((index, part.remote_id)),
    )

    assert created_post(api) == {
        "title": "Sommerfest &lt;2026&gt; & mehr",  # "&" as typed: WordPress stores it
        "content": text_to_blocks("Hallo <Team>"),
        "status": "publish",
        "slug": slug_for(request(title="Sommerfest <2026> & mehr")),
        "excerpt": "Kurz & gut",
    }
    assert api.calls[0].request.headers["Authorization"] == basic()
    assert (result.remote_id, result.url) == ("101", SITE + "/sommerfest/")
    assert seen == [(0, "101")]


def test_given_featured_image_and_terms_when_publishing_then_uploaded_looked_up_and_created(
    adapter, api, account, creds
):
    image_slug = slug_for(request()) + "-image"
    api.get(
        ROOT + "wp/v2/media",
        match=[matchers.query_param_matcher({"slug": image_slug, "_fields": "id"})],
        json=[],
    )
    api.post(
        ROOT + "wp/v2/media",
        match=[matchers.query_param_matcher({"slug": image_slug, "alt_text": "Grillen im Hof"})],
        status=201,
        json={"id": 55, "source_url": SITE + "/img.jpg"},
    )
    api.get(
        ROOT + "wp/v2/categories",
        match=[
            matchers.query_param_matcher(
                {"search": "News & Events", "per_page": "100", "_fields": "id,name"}
            )
        ],
        json=[
            {"id": 3, "name": "News &amp; Events Archiv"},
            {"id": 4, "name": "news &amp; events"},
        ],
    )
    api.get(ROOT + "wp/v2/tags", json=[])
    api.post(ROOT + "wp/v2/tags", status=201, json={"id": 12, "name": "Sommer"})
    api.get(ROOT + "wp/v2/tags", json=[])
    api.post(
        ROOT + "wp/v2/tags",
        status=400,
        json={"code": "term_exists", "message": "exists", "data": {"status": 400, "term_id": 13}},
    )
    api.post(ROOT + "wp/v2/posts", status=201, json={"id": 102, "link": SITE + "/?p=102"})

    adapter.publish(
        account=account,
        credentials=creds,
        request=request(
            media=[image(alt="Grillen im Hof")],
            options={"status": "draft", "categories": ["News & Events"], "tags": ["Sommer", "Hof"]},
        ),
    )

    upload = next(
        c.request
        for c in api.calls
        if c.request.method == "POST" and "/wp/v2/media" in c.request.url
    )
    assert upload.body == b"jpeg-bytes"
    assert upload.headers["Content-Type"] == "image/jpeg"
    assert upload.headers["Content-Disposition"] == 'attachment; filename="Sommer Fest.jpg"'
    tag_posts = [
        c.request for c in api.calls if c.request.method == "POST" and "tags" in c.request.url
    ]
    assert [json.loads(r.body) for r in tag_posts] == [{"name": "Sommer"}, {"name": "Hof"}]
    body = created_post(api)
    assert body["featured_media"] == 55
    assert body["categories"] == [4]
    assert body["tags"] == [12, 13]
    assert body["status"] == "draft"


def test_given_non_ascii_file_name_when_uploading_then_ascii_content_disposition(
    adapter, api, account, creds
):
    api.get(ROOT + "wp/v2/media", json=[])
    api.post(ROOT + "wp/v2/media", status=201, json={"id": 56})
    api.post(ROOT + "wp/v2/posts", status=201, json={"id": 106, "link": ""})

    adapter.publish(
        account=account, credentials=creds, request=request(media=[image(name="Grüße 😀.jpg")])
    )

    assert api.calls[1].request.headers["Content-Disposition"] == (
        'attachment; filename="Gr__e _.jpg"'
    )
    assert created_post(api)["featured_media"] == 56


def test_given_an_earlier_attempt_uploaded_the_image_when_retrying_then_it_is_not_uploaded_again(
    adapter, api, account, creds
):
    image_slug = slug_for(request()) + "-image"
    api.get(ROOT + "wp/v2/media", json=[])
    api.post(ROOT + "wp/v2/media", status=201, json={"id": 57})
    api.post(ROOT + "wp/v2/posts", status=503, json={"message": "Service unavailable"})
    with pytest.raises(TransientError):
        adapter.publish(account=account, credentials=creds, request=request(media=[image()]))

    # The retry: WordPress now has the image under this delivery's slug.
    api.get(
        ROOT + "wp/v2/media",
        match=[matchers.query_param_matcher({"slug": image_slug, "_fields": "id"})],
        json=[{"id": 57}],
    )
    api.post(ROOT + "wp/v2/posts", status=201, json={"id": 107, "link": SITE + "/?p=107"})
    api.post(ROOT + "wp/v2/media/57", json={"id": 57, "post": 107})
    result = adapter.publish(account=account, credentials=creds, request=request(media=[image()]))

    uploads = [
        c
        for c in api.calls
        if c.request.method == "POST" and c.request.path_url.startswith("/wp-json/wp/v2/media?")
    ]
    assert len(uploads) == 1
    assert json.loads(api.calls[-2].request.body)["featured_media"] == 57
    # The image is attached to its post (WordPress leaves an image uploaded first unattached).
    assert api.calls[-1].request.url == ROOT + "wp/v2/media/57"
    assert json.loads(api.calls[-1].request.body) == {"post": 107}
    assert result.remote_id == "107"


def test_given_unknown_category_and_creating_off_when_publishing_then_permanent(
    adapter, api, account, creds
):
    api.get(ROOT + "wp/v2/categories", json=[])

    with pytest.raises(PermanentError, match="no category called “Intern”"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=request(options={"categories": ["Intern"], "create_terms": False}),
        )


def test_given_first_comment_when_publishing_then_comment_under_the_post(
    adapter, api, account, creds
):
    api.post(ROOT + "wp/v2/posts", status=201, json={"id": 103, "link": SITE + "/p/"})
    api.post(
        ROOT + "wp/v2/comments",
        status=201,
        json={"id": 900, "link": SITE + "/p/#comment-900"},
    )
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=request(first_comment="Fragen? <Schreibt uns>"),
        on_part=lambda index, part: seen.append(index),
    )

    assert json.loads(api.calls[1].request.body) == {
        "post": 103,
        "content": "Fragen? &lt;Schreibt uns&gt;",
    }
    assert [p.remote_id for p in result.parts] == ["103", "comment:900"]
    assert seen == [0, 1]


def test_given_post_done_when_resuming_then_only_the_comment_is_posted(
    adapter, api, account, creds
):
    api.post(ROOT + "wp/v2/comments", status=201, json={"id": 901, "link": ""})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=request(first_comment="Hallo", done_parts=[PublishedPart("103", SITE + "/p/")]),
    )

    assert len(api.calls) == 1
    assert json.loads(api.calls[0].request.body)["post"] == 103
    assert result.remote_id == "103"


@pytest.mark.parametrize(
    ("status", "body", "error_type", "message_part"),
    [
        (
            401,
            {"code": "rest_not_logged_in", "message": "You are not currently logged in."},
            AuthExpired,
            "strips the Authorization header",
        ),
        (
            403,
            {"code": "rest_cannot_publish", "message": "Sorry"},
            PermanentError,
            "Author role",
        ),
        (
            400,
            {"code": "rest_invalid_param", "message": "Invalid parameter(s): status"},
            PermanentError,
            "Invalid parameter(s): status",
        ),
        (503, "<html>Service Unavailable</html>", TransientError, "temporary problem (HTTP 503)"),
        (200, "<html>Please log in</html>", PermanentError, "did not answer like a WordPress"),
        (301, "", PermanentError, "redirected us to https://new.test/"),
    ],
)
def test_given_api_error_when_publishing_then_mapped_without_password(
    adapter, api, account, creds, status, body, error_type, message_part
):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    api.post(
        ROOT + "wp/v2/posts",
        status=status,
        headers={"Location": "https://new.test/"} if status == 301 else {},
        **kwargs,
    )

    with pytest.raises(error_type) as caught:
        adapter.publish(account=account, credentials=creds, request=request())

    assert type(caught.value) is error_type
    assert message_part in caught.value.message
    assert PASSWORD not in str(caught.value) + caught.value.detail


def test_given_auth_expired_when_refreshing_then_credentials_unchanged(adapter, account, creds):
    assert adapter.refresh(account=account, credentials=creds) is creds


# --- reconciling, deleting, metrics ----------------------------------------------------------


def test_given_post_with_our_slug_exists_when_finding_then_post_and_comment(
    adapter, api, account, creds
):
    api.get(
        ROOT + "wp/v2/posts",
        match=[
            matchers.query_param_matcher(
                {"slug": slug_for(request()), "status": "any", "context": "edit"}
            )
        ],
        json=[{"id": 104, "link": SITE + "/?p=104", "status": "draft"}],
    )
    api.get(
        ROOT + "wp/v2/comments",
        match=[
            matchers.query_param_matcher(
                {"post": "104", "author": "7", "per_page": "1", "order": "asc"}
            )
        ],
        json=[{"id": 950, "link": SITE + "/?p=104#comment-950"}],
    )

    found = adapter.find_existing(
        account=account, credentials=creds, request=request(first_comment="Hallo")
    )

    assert [p.remote_id for p in found.parts] == ["104", "comment:950"]
    assert found.url == SITE + "/?p=104"


def test_given_no_post_with_our_slug_when_finding_then_none(adapter, api, account, creds):
    api.get(ROOT + "wp/v2/posts", json=[])

    assert adapter.find_existing(account=account, credentials=creds, request=request()) is None


@pytest.mark.parametrize(
    ("remote_id", "url", "status"),
    [
        ("104", ROOT + "wp/v2/posts/104", 200),
        ("comment:950", ROOT + "wp/v2/comments/950", 200),
        ("104", ROOT + "wp/v2/posts/104", 410),  # already in the trash
        ("105", ROOT + "wp/v2/posts/105", 404),  # gone
    ],
)
def test_given_remote_id_when_deleting_then_trashed_or_already_gone(
    adapter, api, account, creds, remote_id, url, status
):
    api.delete(url, status=status, json={"deleted": True} if status == 200 else {"code": "x"})

    adapter.delete(account=account, credentials=creds, remote_id=remote_id)

    assert api.calls[0].request.url == url


@pytest.mark.parametrize(
    ("request_kwargs", "problem"),
    [
        ({}, None),
        ({"title": ""}, "WordPress needs a title"),
        ({"title": "t" * 201}, "The title is 201 characters long"),
        ({"media": [image(), image()]}, "at most 1 images"),
        ({"thread": ["zwei"]}, "have no threads"),
        (
            {"first_comment": "x", "options": {"status": "draft"}},
            "does not take comments on drafts",
        ),
        ({"options": {"status": "future"}}, "not future"),
    ],
)
def test_given_variant_when_validating_then_problems_listed(adapter, request_kwargs, problem):
    problems = adapter.validate(request(**request_kwargs))

    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_given_default_settings_when_getting_adapter_then_wordpress_adapter():
    from publishing.adapters.registry import get_adapter

    assert isinstance(get_adapter("wordpress"), WordPressAdapter)


@pytest.mark.parametrize(
    ("title", "slug_start"),
    [
        ("Grüße aus Köln", "gruesse-aus-koeln-"),
        ("Straße & Öl: ÄRGER", "strasse-oel-aerger-"),
        ("Café crème", "cafe-creme-"),
    ],
)
def test_given_a_german_title_when_deriving_the_slug_then_umlauts_are_spelled_out(
    title, slug_start
):
    """As WordPress does for a German site: "Grüße" is "gruesse", not "grue"."""
    assert slug_for(PublishRequest(title=title, text="x", idempotency_key="k")).startswith(
        slug_start
    )
