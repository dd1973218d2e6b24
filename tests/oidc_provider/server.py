"""Run the test provider: django-oauth-toolkit with OpenID Connect, in a subprocess on
127.0.0.1:<free port>, with an RSA signing key made for this run and its own SQLite file.

    with OIDCProvider(tmp_path, redirect_uri="http://testserver/oidc/callback/") as provider:
        provider.discovery_url          # .../o/.well-known/openid-configuration
        provider.client_id, provider.client_secret
        provider.sign_in(authorize_url, "alice")   # the provider's login form -> our callback URL

`python -m tests.oidc_provider.server setup` (run by OIDCProvider) makes its database: the
people of PEOPLE and one confidential client whose only redirect URI is ours.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "content-calendar"
PASSWORD = "provider password"
# username -> (e-mail address, whether the provider verified it)
PEOPLE = {
    "alice": ("alice@example.test", True),
    "bob": ("bob@example.test", False),
    "carol": ("carol@example.test", True),
}
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OIDCProvider:
    def __init__(self, directory: Path, *, redirect_uri: str):
        self.directory = Path(directory)
        self.redirect_uri = redirect_uri
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_urlsafe(32)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.issuer = f"{self.url}/o"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.process: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OIDC_", "DJANGO_", "DATABASE_"))
        }
        return {
            **env,
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
            "OIDC_PROVIDER_DIR": str(self.directory),
            "OIDC_PROVIDER_ISSUER": self.issuer,
            "OIDC_PROVIDER_CLIENT_SECRET": self.client_secret,
            "OIDC_PROVIDER_REDIRECT_URI": self.redirect_uri,
        }

    def __enter__(self) -> OIDCProvider:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.directory / "signing-key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        env = self._env()
        subprocess.run(
            [sys.executable, "-m", "tests.oidc_provider.server", "setup"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.log = (self.directory / "provider.log").open("wb")
        host_port = self.url.removeprefix("http://")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", host_port, "--noreload", "--skip-checks"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_answering()
        return self

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The test provider stopped: {self.log_text()}")
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)  # between tries of the discovery URL, not instead of them
        self.__exit__(None, None, None)
        raise RuntimeError(f"The test provider did not answer: {self.log_text()}")

    def log_text(self) -> str:
        return (self.directory / "provider.log").read_text(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def sign_in(self, authorize_url: str, username: str) -> str:
        """What a browser does at the provider: open the authorization URL, log in at its login
        form, and follow its redirects up to our redirect URI, which is returned (with the
        code and state) for our app's test client to open."""
        browser = requests.Session()
        form = browser.get(authorize_url, timeout=10)
        form.raise_for_status()
        assert urlsplit(form.url).path == "/accounts/login/", form.url
        response = browser.post(
            form.url,
            data={
                "username": username,
                "password": PASSWORD,
                "next": parse_qs(urlsplit(form.url).query)["next"][0],
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=10,
        )
        for _ in range(5):
            assert response.status_code == 302, (response.status_code, response.text[:500])
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.redirect_uri):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
        raise AssertionError(f"The provider never sent the browser back: {location}")


def setup() -> None:
    """The provider's database: its people (a verified address in the group email_verified)
    and our app as a confidential client that is not asked for consent."""
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    from tests.oidc_provider.claims import VERIFIED_GROUP

    call_command("migrate", verbosity=0)
    verified = Group.objects.create(name=VERIFIED_GROUP)
    for username, (email, is_verified) in PEOPLE.items():
        user = User.objects.create_user(
            username, email=email, password=PASSWORD, first_name=username.title()
        )
        if is_verified:
            user.groups.add(verified)
    Application.objects.create(
        name="Content calendar",
        client_id=CLIENT_ID,
        client_secret=os.environ["OIDC_PROVIDER_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["OIDC_PROVIDER_REDIRECT_URI"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


if __name__ == "__main__" and sys.argv[1:] == ["setup"]:
    setup()
