"""No 500 on bad input, anywhere (issue 13): every URL of the product, walked as a signed-in
owner of the demo workspace, with every query parameter and form field it reads set to values
a person or a probe sends (dates out of range, huge, negative and non-ASCII numbers, wrong
types, broken JSON, a NUL character). Bad input gets a refusal or is ignored; never a server
error. The parameter names are read from the code (request.GET/POST keys and every form's
fields), so a new parameter is walked without touching this test."""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django import forms
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "calendar_app", "publishing", "analytics", "links", "notifications")

BAD_VALUES = (
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00",
    "2026-02-30",
    "25:61",
    "99999999999999999999",
    "-1",
    "²",  # str.isdigit() says yes, int() says no
    "١٢",  # Arabic-Indic digits: int() says yes
    "abc",
    "",
    '{"broken": ',
    "a\x00b",  # PostgreSQL refuses NUL in text
)
HUGE = "99999999999999999999"

_KEY_RE = re.compile(
    r"""request\.(?:GET|POST)(?:\.get|\.getlist)?\(?\[?["']([A-Za-z_0-9]+)["']"""
    r"""|["']([A-Za-z_0-9]+)["'] in request\.(?:GET|POST)"""
)


def keys_read_in(path: Path) -> set[str]:
    """The request keys a module reads, and the fields of the forms it names."""
    text = path.read_text()
    names = {m.group(1) or m.group(2) for m in _KEY_RE.finditer(text)}
    for form in our_forms():
        if re.search(rf"\b{form.__name__}\b", text):
            names.update(form.base_fields)
    return names


def our_forms() -> list[type[forms.BaseForm]]:
    import calendar_app.forms  # noqa: F401  (the forms modules define the classes walked)
    import publishing.forms  # noqa: F401

    found, stack = [], [forms.BaseForm]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in APPS:
            found.append(cls)
    return found


def parameter_names() -> list[str]:
    """Every request key the code reads, and every field of our forms."""
    names: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            names |= keys_read_in(path)
    return sorted(names)


def view_keys(client_url: str) -> list[str]:
    """The keys the module of the view behind `client_url` reads."""
    try:
        match = resolve(urlsplit(client_url).path)
    except Resolver404:  # a huge id matches no pattern: a 404 before any view
        return []
    func = inspect.unwrap(match.func)
    return sorted(keys_read_in(Path(inspect.getsourcefile(func))))


def url_patterns(resolver=None, prefix: str = ""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


_CONVERTER_RE = re.compile(r"<(?:(\w+):)?(\w+)>")


def paths(ids: dict[str, int], slug: str) -> list[str]:
    """Each product URL once with ids that exist, and once more with every number huge."""
    result = []
    for route in url_patterns():
        if route.startswith("admin/") or "(?P<" in route:
            continue
        for huge in (False, True):

            def fill(match, huge=huge, route=route):
                converter, name = match.group(1) or "str", match.group(2)
                if name == "ws":
                    return slug
                if converter in ("int", "id"):
                    if huge:
                        return HUGE
                    before = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
                    return str(ids.get(name, ids.get(before, 1)))
                return {"platform": "mastodon", "table": "posts"}.get(name, "x")

            filled = "/" + _CONVERTER_RE.sub(fill, route)
            if filled not in result:
                result.append(filled)
    return result


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = False
    call_command("seed_demo", stdout=io.StringIO())
    from calendar_app.models import Campaign, Channel, Label, Membership, Post, ReviewLink
    from notifications.models import Notification
    from publishing.models import Delivery, RemotePost

    owner = Membership.objects.select_related("workspace", "user").get(
        role="owner", workspace__slug="nordlicht", user__username="admin"
    )
    workspace = owner.workspace

    def first(model, **scope):
        return getattr(model.objects.filter(**scope).order_by("pk").first(), "pk", 1)

    ids = {
        "posts": first(Post, workspace=workspace),
        "published": first(RemotePost, workspace=workspace),
        "deliveries": first(Delivery, post__workspace=workspace),
        "channels": first(Channel, workspace=workspace),
        "campaigns": first(Campaign, workspace=workspace),
        "labels": first(Label, workspace=workspace),
        "review-links": first(ReviewLink, workspace=workspace),
        "notifications": first(Notification, recipient=owner.user),
        "year": 2026,
        "month": 3,
        "week": 13,
    }
    client = Client(raise_request_exception=False)
    return client, owner.user, paths(ids, workspace.slug)


# Values that only together reach date arithmetic (a custom period, a day with its time).
TOGETHER = (
    {"period": "custom", "from": "9999-12-30", "to": "9999-12-31"},
    {"period": "custom", "from": "0001-01-01", "to": "0001-01-02"},
    {"date": "0001-01-01", "time": "00:30", "day": "0001-01-01"},
    {"date": "9999-12-31", "time": "23:59", "day": "9999-12-31"},
    {"starts_on": "0001-01-01", "ends_on": "9999-12-31"},
)
# The values tried one parameter at a time as well (with every parameter bad at once, a check
# that refuses one early can hide what another does).
SINGLE = ("0001-01-01", HUGE, "²", "a\x00b")


def server_errors(client, url: str, method: str, params: dict) -> list[str]:
    response = getattr(client, method)(url, params)
    if response.status_code == 405:
        raise MethodRefused
    # /healthz answers 503 on purpose when no worker runs: a status, not an error.
    if response.status_code >= 500 and not (url == "/healthz" and response.status_code == 503):
        shown = params if len(params) < 4 else "every key"
        return [f"{method.upper()} {url} {shown}: {response.status_code}"]
    return []


class MethodRefused(Exception):
    """The URL does not take this method: nothing more to try with it."""


@pytest.mark.parametrize("method", ["get", "post"])  # two tests: xdist runs them side by side
def test_no_url_answers_bad_input_with_a_server_error(demo, method):
    client, user, urls = demo
    names = parameter_names()
    assert {"from", "campaign", "channel", "post", "member", "date"} <= set(names)
    failures = []
    for url in urls:
        own = view_keys(url)
        client.force_login(user)  # the walk passes the logout URL too
        try:
            for value in BAD_VALUES:
                failures += server_errors(client, url, method, dict.fromkeys(names, value))
            for together in TOGETHER:
                failures += server_errors(client, url, method, together)
            for name in own:
                for value in SINGLE:
                    failures += server_errors(client, url, method, {name: value})
        except MethodRefused:
            continue
    client.force_login(user)
    assert client.get(urls[-1]).status_code == 200  # still the owner's workspace: a real walk
    assert not failures, "\n".join(failures[:80]) + f"\n({len(failures)} in all)"
