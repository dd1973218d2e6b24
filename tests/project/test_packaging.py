"""The package outside a checkout (issue 18): a wheel holds every file the apps read at run time
and works installed on its own; requirements.lock pins every dependency of pyproject.toml; the
production web server (gunicorn with config/gunicorn.py) serves the app and logs no secret."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from config.redaction import RedactLinkSecrets, redact_path, redact_text
from tests.conftest import skip_or_fail
from tests.project.test_deployment import PRODUCTION

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"
# Not part of the package: what a checkout has beside the apps.
NOT_IN_A_WHEEL = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "build",
    "dist",
    "test-artifacts",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".*_cache",
)
# Every top-level package of the checkout but the tests and the benchmarks belongs in the wheel
# (a new app left out of pyproject's list fails here, not in production).
PACKAGES = sorted(
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in {"tests", "bench"}
)


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def require_wheel_tools() -> None:
    """The wheel is built without build isolation (no download): setuptools from the lock."""
    try:
        setuptools_version = Version(metadata.version("setuptools"))
    except metadata.PackageNotFoundError:
        setuptools_version = None
    if setuptools_version is None or setuptools_version < Version("75"):
        skip_or_fail(
            "building the wheel needs setuptools>=75 in this venv (requirements.lock pins it): "
            "run make install",
            required_by="REQUIRE_PACKAGING",
        )
    try:
        import venv  # noqa: F401
    except ImportError:
        skip_or_fail(
            "the wheel is installed into a new venv: apt-get install python3-venv",
            required_by="REQUIRE_PACKAGING",
        )


# --- (a) the wheel, installed apart from the checkout ------------------------------------------

INSTALLED_CHECK = r"""
import json, sys
from importlib.resources import files

import django
from django.core.management import get_commands
from django.utils import translation

django.setup()
with translation.override("de"):
    german = translation.gettext("Calendar")
print(json.dumps({
    "calendar_app": str(files("calendar_app")),
    "sys_path": sys.path,
    "german": german,
    "commands": sorted(name for name, app in get_commands().items() if not app.startswith("django")),
    "resources": {
        name: files(package).joinpath(path).is_file()
        for name, (package, path) in {
            "base template": ("calendar_app", "templates/base.html"),
            "e-mail template": ("notifications", "templates/notifications/email/body.txt"),
            "links template": ("links", "templates/links/not_found.html"),
            "analytics template": ("analytics", "templates/analytics/dashboard.html"),
            "static": ("calendar_app", "static/vendor/bootstrap/bootstrap.min.css"),
            "analytics static": ("analytics", "static/analytics/analytics.css"),
            "icon font": ("calendar_app", "static/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2"),
            "German catalogue": ("config", "locale/de/LC_MESSAGES/django.mo"),
            "demo font": ("calendar_app", "management/commands/fonts/DejaVuSans-Bold-Latin1.ttf"),
        }.items()
    },
}))
"""


@pytest.mark.packaging
def test_the_wheel_installed_outside_the_checkout_holds_and_runs_everything(tmp_path):
    require_wheel_tools()
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_WHEEL)
    # Given a wheel built from the source (offline: the venv's own setuptools)...
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "wheels"),
            str(source),
        ],
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "wheels").glob("content_calendar-*.whl")
    # ...installed into a new venv that sees the locked dependencies of this one (not its
    # editable install: the .pth files of an added directory are not run) and not the project.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site_packages = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).stdout.strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "locked-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            str(wheel),
        ],
        cwd=tmp_path,
    )

    # Then every file of every package is installed, Python or not (templates, static, the
    # catalogue, migrations, management commands, fonts)...
    expected = {
        path.relative_to(source).as_posix()
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    installed = {
        path.relative_to(site_packages).as_posix()
        for package in PACKAGES
        for path in (site_packages / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected - installed == set()
    assert not (site_packages / "tests").exists()

    # ...and Django runs from it, in a directory that is not the checkout.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO", "DEBUG"))},
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'db.sqlite3'}",
    }
    report = json.loads(run([str(python), "-c", INSTALLED_CHECK], cwd=elsewhere, env=env).stdout)
    assert report["calendar_app"].startswith(str(site_packages))
    checkout = [p for p in report["sys_path"] if p.startswith(str(ROOT)) and p not in ours]
    assert checkout == []
    assert report["resources"] == dict.fromkeys(report["resources"], True)
    assert report["german"] == "Kalender"
    assert {"seed_demo", "seed_demo_metrics", "metrics_backfill", "rotate_credentials"} <= set(
        report["commands"]
    )

    django_admin = [str(python), "-m", "django"]
    check = run([*django_admin, "check", "--settings=config.settings"], cwd=elsewhere, env=env)
    assert "no issues" in check.stdout
    # Every model's migrations came along: nothing left to make.
    run([*django_admin, "makemigrations", "--check", "--dry-run"], cwd=elsewhere, env=env)
    collected = run([*django_admin, "collectstatic", "--noinput"], cwd=elsewhere, env=env)
    assert re.search(r"\b[1-9]\d+ static files copied", collected.stdout), collected.stdout
    assert (tmp_path / "var" / "static" / "calendar_app" / "app.js").is_file()
    # The production server's settings load from the package (`-c python:config.gunicorn`).
    run(
        [
            str(python),
            "-m",
            "gunicorn",
            "--check-config",
            "-c",
            "python:config.gunicorn",
            "config.wsgi",
        ],
        cwd=elsewhere,
        env=env,
    )


# --- (b) the lock file ------------------------------------------------------------------------


def locked() -> dict[str, str]:
    """requirements.lock's pins, by canonical name; every requirement line must be one."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if not line or line[0] in "# -" or line.startswith(" "):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;\\]+) \\", line)
        assert match, f"not pinned with ==: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def project_requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    return [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]


def test_the_lock_pins_every_dependency_of_pyproject_within_its_range():
    pins = locked()
    for requirement in project_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, pyproject asks {requirement}: make lock"
        )


def test_every_pin_of_the_lock_carries_hashes():
    text = LOCK.read_text()
    blocks = re.findall(
        r"^([A-Za-z0-9._-]+)==\S+((?: \\\n +--hash=sha256:[0-9a-f]{64})+)", text, re.M
    )
    assert {canonicalize_name(name) for name, _ in blocks} == set(locked())


def test_this_venv_runs_the_locked_versions():
    """`make install` installs from the lock: a version apart means an install around it."""
    apart = {}
    for name, version in locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(version):
            apart[name] = (version, installed)
    assert apart == {}, "locked vs installed (run make install): " + repr(apart)


# --- (c) gunicorn -----------------------------------------------------------------------------


def test_redact_path_drops_queries_and_link_tokens_and_keeps_ids():
    assert redact_path("/accounts/login/?token=secret") == "/accounts/login/"
    assert redact_path("/review/12.ab:cd/") == "/review/[redacted]/"
    assert redact_path("/review/42/") == "/review/42/"  # the link's page: its id, no secret
    assert redact_path("/invite/ab.cd:ef/sign-up/") == "/invite/[redacted]/sign-up/"
    assert redact_path("/accounts/reset/MQ/c2v-123abc/") == "/accounts/reset/MQ/[redacted]/"
    assert redact_path("/accounts/reset/MQ/set-password/") == "/accounts/reset/MQ/set-password/"
    assert redact_path("/l/abc123") == "/l/abc123"  # short links are public


def test_the_log_filter_redacts_what_django_request_logs():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "%s: %s",
        ("Not Found", "/invite/a.b:c/"),
        None,
    )
    assert RedactLinkSecrets().filter(record) is True
    assert record.getMessage() == "Not Found: /invite/[redacted]/"
    assert redact_text("GET https://graph.example/v1?access_token=s3 done") == (
        "GET https://graph.example/v1?[redacted] done"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG", "CRED"))}
    env.update(
        VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SECRET_KEY="k" * 20 + "-production-like-secret-key-of-sufficient-length-" + "x" * 10,
        CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        **PRODUCTION,
        **extra,
    )
    return env


def get(url: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.packaging
def test_gunicorn_serves_the_app_in_production_and_logs_no_secret(tmp_path):
    port = free_port()
    env = production_env(
        tmp_path,
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        RUNTIME_DIRECTORY=str(tmp_path),  # its control socket, apart from any other gunicorn
    )
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # Behind the TLS proxy gunicorn trusts (127.0.0.1): https, the public host name.
    behind_proxy = {"Host": "calendar.example.com", "X-Forwarded-Proto": "https"}
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                status, body = get(f"{base}/accounts/login/?token=secret", behind_proxy)
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        get(
            f"{base}/invite/tok.secret:en/?next=secret",
            {**behind_proxy, "Referer": "https://calendar.example.com/review/a.secret:b/?secret"},
        )
    finally:
        server.terminate()
        server.wait(timeout=15)

    text = log_path.read_text()
    assert status == 200, text
    assert "csrfmiddlewaretoken" in body
    assert '"GET /accounts/login/ HTTP/1.1" 200' in text
    assert '"GET /invite/[redacted]/ HTTP/1.1"' in text
    assert "secret" not in text
