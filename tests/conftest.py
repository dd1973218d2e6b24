"""Shared fixtures: a populated workspace with one member per role, and a second workspace."""

from __future__ import annotations

import pytest
from django.utils import translation

from calendar_app.models import Role
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LabelFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)


def pytest_configure(config):
    # Real hashing (PBKDF2, ~1 s per user here) is not what these tests are about.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests run like a deployment whose media platforms can fetch; tests of the refusal clear it.
    settings.PUBLIC_MEDIA_BASE_URL = "https://media.example.test/media/"
    # Pages render without a collectstatic run (production uses the manifest storage).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def english():
    """Tests assert English msgids; a German request must not leak its language into the next."""
    with translation.override("en"):
        yield


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme", slug="acme", timezone="Europe/Berlin")


@pytest.fixture
def members(workspace):
    """One membership per role in `workspace`, keyed by role."""
    return {
        role: MembershipFactory(
            workspace=workspace, user=UserFactory(username=role.value), role=role
        )
        for role in Role
    }


@pytest.fixture
def editor(members):
    return members[Role.EDITOR]


@pytest.fixture
def manager(members):
    return members[Role.MANAGER]


@pytest.fixture
def viewer(members):
    return members[Role.VIEWER]


@pytest.fixture
def owner(members):
    return members[Role.OWNER]


@pytest.fixture
def channel(workspace):
    return ChannelFactory(workspace=workspace, platform="mastodon", name="Acme Mastodon")


@pytest.fixture
def campaign(workspace):
    return CampaignFactory(workspace=workspace, name="Spring launch")


@pytest.fixture
def label(workspace):
    return LabelFactory(workspace=workspace, name="evergreen")


@pytest.fixture
def other_workspace(db):
    """A second workspace with its own member, channel and campaign: never visible to `members`."""
    ws = WorkspaceFactory(name="Other brand", slug="other")
    MembershipFactory(workspace=ws, user=UserFactory(username="stranger"), role=Role.OWNER)
    ChannelFactory(workspace=ws, name="Other channel")
    CampaignFactory(workspace=ws, name="Other campaign")
    return ws


def skip_or_fail(reason: str, *, required_by: str) -> None:
    """A test that needs something this machine lacks (a browser, a real server, data from
    shared/): skipped in a developer's plain `make test`, saying what to install; failed where
    `required_by` is "1" (`.ci/run` sets each), where the lack is a broken setup."""
    import os

    if os.environ.get(required_by) == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def require_postgresql(reason: str) -> None:
    """Skip a test that only means something on PostgreSQL when the suite runs on SQLite (a
    developer's plain `make test`); fail it under `.ci/run` (REQUIRE_POSTGRESQL=1), where
    SQLite would be a broken setup, not a reason to skip."""

    from django.db import connection

    if connection.vendor == "postgresql":
        return
    reason = f"{reason} (needs PostgreSQL: set DATABASE_URL=postgres://…; CI runs it there)"
    skip_or_fail(reason, required_by="REQUIRE_POSTGRESQL")


def login(client, membership):
    client.force_login(membership.user)
    return client


# --- A real Celery worker (owned by the ops/Celery side) -------------------------------------
# Started once per xdist worker, consuming a queue of its own so that parallel test processes
# (and a developer's `make run`) never take each other's tasks. It talks to the TEST database.

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote  # noqa: E402

WORKER_START_TIMEOUT = 40.0


def database_url_for_tests() -> str:
    """The URL of the database the tests use right now (the test database, not the real one)."""
    from django.db import connection

    sd = connection.settings_dict
    if sd["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(sd['NAME']).resolve()}"
    if sd["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError(f"The worker fixture does not know {sd['ENGINE']}.")
    auth = quote(sd["USER"] or "", safe="")
    if sd.get("PASSWORD"):
        auth += ":" + quote(sd["PASSWORD"], safe="")
    host = sd.get("HOST") or "localhost"
    port = f":{sd['PORT']}" if sd.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(sd['NAME'], safe='')}"


@pytest.fixture(scope="session")
def celery_worker_queue(worker_id) -> str:
    """A queue name unique to this test process (xdist worker)."""
    return f"test-{worker_id}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def real_celery_worker(django_db_setup, django_db_blocker, celery_worker_queue, tmp_path_factory):
    """A `celery worker` subprocess on the test database; yields its node name."""
    from config.celery import app

    with django_db_blocker.unblock():
        database_url = database_url_for_tests()
    nodename = f"{celery_worker_queue}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": app.conf.broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": celery_worker_queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    root = Path(__file__).resolve().parent.parent
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "-Q",
        celery_worker_queue,
        "-n",
        nodename,
        "-l",
        "warning",
        "--without-gossip",
        "--without-mingle",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"The Celery worker exited early:\n{log_path.read_text()}")
            if app.control.ping(destination=[nodename], timeout=1.0):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not answer a ping:\n{log_path.read_text()}")
        yield nodename
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
