"""A hardened deployment (issue 13): `check --deploy` clean in a production-like configuration
set from the environment alone, a system check error when production would keep platform
tokens under a generated key, a Content-Security-Policy without inline script, and no page of
the product needing one (checked in the templates and in a real Chromium)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connections
from django.urls import reverse

from calendar_app.models import Role
from tests.calendar_app.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    log_in,
    member,
    require_chromium,
)
from tests.conftest import login
from tests.factories import ChannelFactory, PostFactory, WorkspaceFactory

ROOT = Path(__file__).resolve().parents[2]


def manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG", "CRED"))
    }
    environment.update(
        VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SECRET_KEY="k" * 20 + "-production-like-secret-key-of-sufficient-length-" + "x" * 10,
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "calendar.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
}


def test_check_deploy_is_clean_in_a_production_like_configuration(tmp_path):
    result = manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        **PRODUCTION,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_given_no_credentials_keys_in_production_then_the_checks_refuse_to_start(tmp_path):
    result = manage(tmp_path, "check", **PRODUCTION)

    assert result.returncode != 0
    assert "publishing.E001" in result.stderr
    assert not (tmp_path / "credentials_key").exists()  # nothing generated on the way


def test_given_development_then_no_keys_are_needed(tmp_path):
    assert manage(tmp_path, "check", DEBUG="1").returncode == 0


# --- Content-Security-Policy ---------------------------------------------------------------------


def test_pages_send_a_policy_without_inline_script(client, manager):
    response = login(client, manager).get(reverse("calendar:home"), follow=True)

    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in directives["style-src"]


TEMPLATE_DIRS = [p for p in ROOT.glob("*/templates") if ".venv" not in p.parts]
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)


@pytest.mark.parametrize(
    ("pattern", "sample"),
    [
        (INLINE_HANDLER, '<button onclick="x()">'),
        (INLINE_SCRIPT, "<script>alert(1)</script>"),
        (STYLE_ELEMENT, "<style>.a{}</style>"),
    ],
)
def test_the_template_scan_finds_what_it_looks_for(pattern, sample):
    assert pattern.search(sample)
    assert not INLINE_SCRIPT.search('<script src="/static/a.js"></script>')


def test_no_template_needs_inline_script_or_a_style_element():
    found = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            # Template comments may name what they avoid.
            text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
            for pattern in (INLINE_HANDLER, INLINE_SCRIPT, STYLE_ELEMENT):
                found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert found == []


@pytest.mark.browser
def test_no_page_breaks_the_policy_in_chromium(live_server, transactional_db, monkeypatch):
    """Every main page, as an owner, in a real Chromium that enforces the policy: no violation
    reported (a blocked script, style or form target would be one)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    workspace = WorkspaceFactory(name="Acme", slug="acme", timezone="Europe/Berlin")
    channel = ChannelFactory(workspace=workspace, platform="mastodon", name="Acme Mastodon")
    owner = member(workspace, Role.OWNER)
    post = PostFactory(workspace=workspace, author=owner.user, channels=[channel])
    paths = [
        "/w/acme/",
        "/w/acme/list/",
        f"/w/acme/posts/{post.pk}/",
        "/w/acme/posts/new/",
        "/w/acme/review/",
        "/w/acme/publishing/",
        "/w/acme/settings/channels/",
        "/w/acme/settings/members/",
        "/w/acme/analytics/",
        "/w/acme/media/",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda m: (
                violations.append(f"{page.url}: {m.text}")
                if "Content Security Policy" in m.text
                else None
            ),
        )
        log_in(page, live_server, owner.user.username)
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status < 400, path
            page.wait_for_load_state("networkidle")
        connections.close_all()
        browser.close()
    assert violations == []
