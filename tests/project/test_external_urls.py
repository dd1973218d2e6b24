"""Platform addresses (issue 13): only an absolute http(s) URL with a host is ever stored or
rendered as a link. The rule's table, the workers storing a platform's answer, the pages
rendering rows stored before the rule, and a scan of every template's href attributes."""

from __future__ import annotations

import datetime as dt
import logging
import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.template.utils import get_app_template_dirs
from django.urls import reverse
from django.utils import timezone

from calendar_app.external_urls import (
    MAX_LENGTH,
    external_url_or_empty,
    is_external_url,
    url_scheme,
)
from publishing import connections, dispatch, services
from publishing.adapters.base import (
    Account,
    ConnectResult,
    Credentials,
    PublishedPart,
    PublishResult,
    RemotePostInfo,
)
from publishing.adapters.recording import RecordingAdapter
from publishing.metrics.backfill import remote_posts_backfill
from publishing.metrics.reads import metrics_rate_reset
from publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState, RemotePost
from tests.analytics_helpers import publish
from tests.conftest import login
from tests.factories import ChannelFactory, PostFactory
from tests.publishing.test_publishing_engine import mastodon, sent, work
from tests.publishing_helpers import RECORDING, connected_channel, due_post, no_approval

FIXTURES = (mastodon, sent, work)  # used by name below

D = DeliveryState
EVIL = "javascript:alert(document.domain)//"

# --- the rule -------------------------------------------------------------------------------

GOOD = [
    "https://mastodon.social/@acme/112233",
    "http://example.com",
    "https://example.com/",
    "HTTPS://Example.COM/Path?q=1&r=2#frag",
    "https://www.linkedin.com/feed/update/urn:li:share:7000000000000000000/",
    "https://bsky.app/profile/acme.bsky.social/post/3kabc",
    "https://example.com:8443/a",
    "https://[2001:db8::1]/post/1",
    "https://192.0.2.1/p",
    "https://bücher.example/ß",
    "https://xn--bcher-kva.example/",
    "https://example.com/a%20b?x=%3Cscript%3E",
    "https://sub_domain.example.com/x",
    "http://testserver/w/acme/sandbox/#post-tp-1",
    "https://example.com/" + "a" * (MAX_LENGTH - len("https://example.com/")),
]

BAD = [
    "",
    "javascript:alert(document.domain)//",
    "JAVASCRIPT:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "\x00javascript:alert(1)",
    "javascript\x00:alert(1)",
    "https://example.com/\x00",
    "https://example.com/\x7f",
    "\x01https://example.com/",
    " https://example.com/",
    "https://example.com/ ",
    "https://exa mple.com/",
    "https://example.com/\u200bzero-width",
    "https://example.com/\u202eoverride",
    "https://example.com/\u00a0nbsp",
    "https://example.com/\u2028",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "ftp://example.com/file",
    "mailto:someone@example.com",
    "//evil.example/x",
    "///evil.example/x",
    "/w/acme/posts/1/",
    "relative/path",
    "?page=2",
    "#top",
    "https:evil.example",
    "https:/evil.example",
    "https:///evil.example",
    "https://",
    "https://:443/x",
    "https:\\\\evil.example",
    "https://good.example\\@evil.example/",
    "https://good.example@evil.example/",
    "https://user:password@example.com/",
    'https://example.com/"onmouseover="alert(1)',
    "https://example.com/<script>",
    "https://example.com/`x`",
    "https://example.com:99999/",
    "https://example.com:port/",
    "https://[not-ipv6]/",
    "https://%65vil.example/",
    "https://exa..mple.com/",
    "https://example.com/" + "a" * (MAX_LENGTH + 1 - len("https://example.com/")),
    None,
    42,
]


@pytest.mark.parametrize("url", GOOD)
def test_given_an_absolute_http_url_with_a_host_then_it_may_be_stored_and_linked(url):
    assert is_external_url(url)
    assert external_url_or_empty(url) == url


@pytest.mark.parametrize("url", BAD)
def test_given_anything_else_then_it_is_refused(url):
    assert not is_external_url(url)
    assert external_url_or_empty(url) == ""


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        (EVIL, "javascript"),
        ("JAVASCRIPT:alert(1)", "javascript"),
        ("https://example.com/", "https"),
        ("java\tscript:alert(1)", "(malformed)"),
        (" javascript:alert(1)", "(malformed)"),
        ("//evil.example/a:b", "(none)"),
        ("no scheme here", "(none)"),
        ("a" * 50 + ":x", "(malformed)"),
    ],
)
def test_given_an_address_then_the_log_gets_its_scheme_and_nothing_more(url, scheme):
    assert url_scheme(url) == scheme


@pytest.mark.parametrize(
    ("url", "html"),
    [
        ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&amp;c=2"),
        (EVIL, ""),
        ("//evil.example/x", ""),
        (None, ""),
    ],
)
def test_given_the_filter_then_it_renders_allowed_addresses_escaped_and_nothing_else(url, html):
    template = Template("{% load external_links %}{{ url|external_url }}")

    assert template.render(Context({"url": url})) == html


# --- what the workers store -------------------------------------------------------------------


@pytest.fixture
def recording(settings, workspace):
    """Every channel publishes through the recording adapter, without approval or rate limits."""
    settings.PUBLISHING_ADAPTERS = {"mastodon": RECORDING}
    settings.PUBLISHING_RATE_LIMITS = {"default": (1000, 1000)}
    settings.METRICS_RATE_LIMITS = {"default": (1000, 1000)}
    RecordingAdapter.reset()
    no_approval(workspace)
    yield RecordingAdapter
    RecordingAdapter.reset()


def test_given_a_platform_answering_a_javascript_url_when_published_then_no_url_is_stored(
    recording, workspace, mastodon, work, caplog
):
    RecordingAdapter.post_url = EVIL
    post = due_post(workspace, [mastodon], body="Guten Morgen!")

    with caplog.at_level(logging.WARNING, logger="publishing.services"):
        assert work() == ["published"]

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == D.PUBLISHED
    assert delivery.remote_id.startswith("rec-")  # the post went out: only its link is dropped
    assert delivery.url == ""
    assert [p["url"] for p in delivery.parts] == [""]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"delivery {delivery.pk} " in warnings[0]
    assert "scheme javascript" in warnings[0]
    assert "alert" not in warnings[0] and "document" not in warnings[0]


def test_given_a_thread_whose_parts_answer_bad_urls_then_each_part_is_stored_without_it(
    recording, workspace, mastodon, work, monkeypatch
):
    answers = iter(["data:text/html,<b>1</b>", "https://m.example/@acme/2"])

    def publish_thread(self, *, account, credentials, request, on_part=None):
        parts = []
        for index in range(1 + (1 if request.first_comment else 0)):
            part = PublishedPart(f"t-{index}", next(answers))
            parts.append(part)
            if on_part:
                on_part(index, part)
        return PublishResult(remote_id=parts[0].remote_id, url=parts[0].url, parts=parts)

    monkeypatch.setattr(RecordingAdapter, "publish", publish_thread)
    post = due_post(workspace, [mastodon])
    post.variants.update(first_comment="More below")

    assert work() == ["published"]

    delivery = Delivery.objects.get(post=post)
    assert delivery.url == ""
    assert delivery.parts == [
        {"remote_id": "t-0", "url": ""},
        {"remote_id": "t-1", "url": "https://m.example/@acme/2"},
    ]


def test_given_a_look_up_finding_the_post_with_a_bad_url_then_it_is_found_and_no_url_stored(
    recording, workspace, mastodon, work, caplog
):
    post = due_post(workspace, [mastodon])
    dispatch.deliveries_sync()
    Delivery.objects.filter(post=post).update(reconcile=True)  # an earlier answer was lost
    delivery = Delivery.objects.get(post=post)
    RecordingAdapter.published[delivery.idempotency_key] = PublishResult(
        remote_id="rec-found",
        url=" JAVASCRIPT:alert(1)",
        parts=[PublishedPart("rec-found", " JAVASCRIPT:alert(1)")],
    )

    with caplog.at_level(logging.WARNING, logger="publishing.services"):
        assert work() == ["found"]

    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id, delivery.url) == (D.PUBLISHED, "rec-found", "")
    assert delivery.parts == [{"remote_id": "rec-found", "url": ""}]
    assert RecordingAdapter.outbox == []  # found, not posted again
    assert any(f"delivery {delivery.pk} " in r.getMessage() for r in caplog.records)


def test_given_a_history_listing_with_bad_addresses_when_backfilled_then_followed_without_them(
    recording, workspace, caplog
):
    channel = connected_channel(workspace, name="Acme Mastodon")
    metrics_rate_reset(channel_id=channel.pk)
    now = timezone.now()
    recording.recent = [
        RemotePostInfo("bad", EVIL, "Older post", now - dt.timedelta(days=3)),
        RemotePostInfo("good", "https://social.example/good", "Newer", now - dt.timedelta(days=1)),
    ]

    with caplog.at_level(logging.WARNING):
        assert remote_posts_backfill(channel_id=channel.pk, now=now) == 2

    assert dict(RemotePost.objects.values_list("remote_id", "url")) == {
        "bad": "",
        "good": "https://social.example/good",
    }
    assert "scheme javascript" in caplog.text and "alert" not in caplog.text


def test_given_an_account_answering_a_bad_avatar_address_when_connected_then_it_is_not_stored(
    workspace, manager, caplog
):
    channel = ChannelFactory(
        workspace=workspace,
        platform="telegram",
        account_id="-100123",
        config={"avatar_url": "https://old.example/a.png"},
    )

    with caplog.at_level(logging.WARNING, logger="publishing.connections"):
        connections.channel_connect(
            membership=manager,
            platform="telegram",
            result=ConnectResult(
                Account(account_id="-100123", avatar_url="data:image/svg+xml,<svg onload=x>"),
                Credentials("token"),
            ),
        )

    channel.refresh_from_db()
    assert "avatar_url" not in channel.config
    assert "scheme data" in caplog.text and "onload" not in caplog.text


@pytest.mark.parametrize("url", [EVIL, "https://example.com/" + "a" * MAX_LENGTH])
def test_given_a_manual_post_marked_done_with_a_bad_address_then_refused_and_unchanged(
    workspace, editor, url
):
    channel = ChannelFactory(workspace=workspace, platform="manual")
    post = PostFactory(workspace=workspace, channels=[channel], scheduled_at=timezone.now())
    delivery = Delivery.objects.create(
        post=post,
        channel=channel,
        workspace=workspace,
        state=D.PENDING,
        due_at=post.scheduled_at,
        run_at=post.scheduled_at,
        idempotency_key="manual-1",
        assignee=editor.user,
    )

    with pytest.raises(ValidationError, match="public address"):
        services.delivery_mark_done(membership=editor, delivery_id=delivery.pk, url=url)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.url) == (D.PENDING, "")


# --- rows stored before the rule ----------------------------------------------------------------

OLD_BAD = [
    EVIL,
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example",
]


def hrefs(html: str) -> list[str]:
    return [unescape(h).strip() for h in re.findall(r'href\s*=\s*"([^"]*)"', html)]


def assert_no_bad_href(html: str, bad: str) -> None:
    for href in hrefs(html):
        assert not href.lower().lstrip().startswith(("javascript", "data:", "vbscript", "//")), href
    assert bad.strip() not in unescape(html)


@pytest.fixture
def old_rows(workspace, channel):
    """A good publication and one whose links (delivery and followed post) are bad: written
    straight to the database, as older versions or a platform's answer could have left them."""
    at = timezone.now() - dt.timedelta(days=2)
    good = publish(
        PostFactory(workspace=workspace, title="Good one", scheduled_at=at), channel, likes=5
    )
    post = PostFactory(workspace=workspace, title="Older one", scheduled_at=at)
    bad = publish(post, ChannelFactory(workspace=workspace, platform="bluesky"), likes=9)
    for remote_post in (good, bad):
        now = timezone.now()
        Attempt.objects.create(
            delivery=remote_post.delivery,
            workspace=workspace,
            started_at=now,
            finished_at=now,
            worker="celery@box",
            outcome=AttemptOutcome.PUBLISHED,
            idempotency_key=remote_post.delivery.idempotency_key,
        )
    return {"good": good, "bad": bad, "post": post}


def set_bad(rows, url: str) -> None:
    Delivery.objects.filter(pk=rows["bad"].delivery_id).update(url=url)
    type(rows["bad"]).objects.filter(pk=rows["bad"].pk).update(url=url)


@pytest.mark.parametrize("bad", OLD_BAD)
@pytest.mark.parametrize(
    "page",
    [
        lambda rows: reverse("publishing:log", args=["acme"]),
        lambda rows: reverse("publishing:post_deliveries", args=["acme", rows["post"].pk]),
        lambda rows: reverse("analytics:posts", args=["acme"]),
        lambda rows: reverse("analytics:dashboard", args=["acme"]),
        lambda rows: reverse("analytics:post", args=["acme", rows["post"].pk]),
        lambda rows: reverse("analytics:remote_post", args=["acme", rows["bad"].pk]),
    ],
    ids=["log", "delivery-panel", "analytics-posts", "analytics-dashboard", "post", "published"],
)
def test_given_stored_bad_links_when_a_viewer_opens_the_page_then_no_such_href(
    client, viewer, old_rows, bad, page
):
    set_bad(old_rows, bad)
    login(client, viewer)

    response = client.get(page(old_rows))

    assert response.status_code == 200
    assert_no_bad_href(response.content.decode(), bad)


def test_given_good_and_bad_stored_links_then_the_log_still_links_the_good_one(
    client, viewer, old_rows
):
    set_bad(old_rows, EVIL)
    login(client, viewer)

    html = client.get(reverse("publishing:log", args=["acme"])).content.decode()

    assert old_rows["good"].url in hrefs(html)
    assert html.count('title="Open on the platform"') == 1


# --- every template goes through the filter ---------------------------------------------------

# Variables that hold addresses we build ourselves (reverse(), the request's own path, our media
# storage), so they cannot carry a platform's answer. Anything else in an href goes through
# |external_url. Adding a name here says: "this is ours, never from outside".
INTERNAL = {
    "request.path": "the page's own path",
    "back_url": "reverse()d month view (calendar_app.views.posts)",
    "h.problem.fix_url": "reverse()d settings page (calendar_app.channel_health)",
    "d.held.fix_url": "reverse()d settings page (calendar_app.channel_health)",
    "p.fix_url": "reverse()d settings page (calendar_app.channel_health)",
    "v.problem.fix_url": "reverse()d settings page (calendar_app.channel_health)",
    "channel.problem.fix_url": "reverse()d settings page (calendar_app.channel_health)",
    "d.warning.fix_url": "reverse()d settings page (calendar_app.channel_health)",
    "asset.file.url": "our media storage",
    "scheduled_url": "reverse() + query (calendar_app.views.calendar)",
    "ideas_url": "reverse() + query (calendar_app.views.calendar)",
    "post_prefix": "reverse()d post URL prefix (calendar_app.views.calendar)",
    "page_url": "reverse() + query (calendar_app.views.calendar)",
    "create_url": "reverse() (calendar_app.views.calendar)",
    "prev_url": "reverse() + query (calendar_app.views.calendar)",
    "today_url": "reverse() + query (calendar_app.views.calendar)",
    "next_url": "reverse() + query (calendar_app.views.calendar)",
    "month_view_url": "reverse() + query (calendar_app.views.calendar)",
    "week_view_url": "reverse() + query (calendar_app.views.calendar)",
    "list_view_url": "reverse() + query (calendar_app.views.calendar)",
    "clear_url": "request.path + query (calendar_app.views.calendar)",
    "csv_url": "reverse() (analytics.views)",
    "login_url": "reverse() + ?next= of our own path (calendar_app.views.invitations)",
    "sign_up_url": "reverse() (calendar_app.views.invitations)",
    "done_url": "a `next` on this site, else reverse() (accounts.two_factor_views)",
}
# Tags that make an internal address where an href starts.
INTERNAL_TAGS = ("url", "static")


def _attribute_values(source: str) -> list[str]:
    """Every href attribute's value, reading template tags and variables as a whole (a quote
    inside `{% url 'x' %}` or `{{ v|default:"x" }}` does not end the attribute)."""
    values = []
    for match in re.finditer(r"\bhref\s*=\s*([\"'])", source):
        quote, i, value = match.group(1), match.end(), []
        while i < len(source) and source[i] != quote:
            if source.startswith(("{{", "{%", "{#"), i):
                end = source.find({"{{": "}}", "{%": "%}", "{#": "#}"}[source[i : i + 2]], i)
                end = len(source) if end < 0 else end + 2
                value.append(source[i:end])
                i = end
            else:
                value.append(source[i])
                i += 1
        values.append("".join(value))
    return values


def href_problems(source: str) -> list[str]:
    """The hrefs of a template whose start could come from outside without |external_url."""
    bound = set(re.findall(r"{%\s*(?:url|static)\s[^%]*\sas\s+(\w+)\s*%}", source))
    problems = []
    for value in _attribute_values(source):
        start = value.strip()
        if start.startswith("/") and not start.startswith("/{{"):
            continue  # a path of ours: what follows cannot change the scheme or the host
        if start.startswith("/"):
            start = start[1:]  # "/{{ x }}" is "//evil" for x = "/evil"
        if not start or not start.startswith("{"):
            continue  # literal: "?page=2", "#top", "https://getbootstrap.com"
        if start.startswith("{%"):
            tag = start[2:].split(maxsplit=1)[0] if start[2:].split() else ""
            if tag not in INTERNAL_TAGS:
                problems.append(value)
            continue
        if start.startswith("{#"):
            problems.append(value)
            continue
        expression = start[2 : start.index("}}")].strip()
        name, *filters = [part.strip() for part in expression.split("|")]
        if filters and filters[-1] == "external_url":
            continue
        if name in INTERNAL or name in bound:
            continue
        problems.append(value)
    return problems


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ('<a href="{{ d.url }}">', True),
        ("<a href=\"{{ rp.permalink|default:'' }}\">", True),
        ('<a href="{{ d.url|external_url|safe }}">', True),
        ("<a href='{{ d.url }}'>", True),
        ('<a href="/{{ d.url }}">', True),
        ('<a href="{% if x %}{{ d.url }}{% endif %}">', True),
        ('<a href="{{ d.url|external_url }}">', False),
        ("<a href=\"{% url 'calendar:post_edit' workspace.slug post.pk %}\">", False),
        ('{% url "a:b" as there %}<a href="{{ there }}">', False),
        ('<a href="?page={{ page.number }}">', False),
        ('<a href="/w/{{ slug }}/">', False),
        ('<a href="{{ request.path }}">', False),
    ],
)
def test_given_a_template_then_the_scan_flags_hrefs_that_bypass_the_filter(source, flagged):
    assert bool(href_problems(source)) is flagged


def project_templates() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    dirs = [Path(d) for d in get_app_template_dirs("templates")]
    for engine_settings in django_settings.TEMPLATES:
        dirs += [Path(d) for d in engine_settings.get("DIRS", [])]
    ours = [d for d in dirs if d.is_relative_to(root) and ".venv" not in d.parts]
    return sorted({p for d in ours for p in d.rglob("*.html")})


def test_every_template_renders_outside_addresses_through_the_filter():
    templates = project_templates()
    assert len(templates) > 30  # the scan found our templates

    problems = {
        str(path): found for path in templates if (found := href_problems(path.read_text()))
    }

    assert not problems, (
        "An href built from a variable must go through |external_url ({% load external_links %}),"
        " or be one of INTERNAL in this test if it is ours:\n"
        + "\n".join(f"{path}: {found}" for path, found in problems.items())
    )
