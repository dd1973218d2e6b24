"""A real WordPress for tests: Debian's `wordpress` package (core as WordPress ships it), run
by PHP's built-in web server on 127.0.0.1:<free port> against the machine's MariaDB.

    with RealWordPress(tmp_path) as wp:      # installs a fresh site in a new database
        wp.url                               # "http://127.0.0.1:54321"
        wp.username, wp.app_password         # an Author with an application password
        wp.admin, wp.admin_password          # the Administrator; wp.contributor likewise
        wp.php("return get_post(5)->post_title;")   # read the site's state with WordPress' API

Debian's package keeps WordPress in /usr/share/wordpress with a wp-config.php that reads
/etc/wordpress/config-<host>.php; to leave the machine as it was, the tree is copied into a
temporary directory with a wp-config.php of its own (a database named wp_test_<random>,
dropped afterwards). WP_ENVIRONMENT_TYPE is "local", which is what lets WordPress offer
application passwords over plain http (wp_is_application_passwords_supported: HTTPS or a local
environment); `app_passwords=False` leaves it out, like a production site on http.

Needs: the Debian packages wordpress, php-cli, php-mysql (installed by .ci/run) and MariaDB on
127.0.0.1:3306 (root, no password). `available()` says whether they are there.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

WORDPRESS = Path("/usr/share/wordpress")
DB_HOST = "127.0.0.1:3306"
MARK = "@@result@@"  # what php() prints before the JSON of its value


def available() -> str:
    """'' when a real WordPress can run here, else what is missing."""
    if not (WORDPRESS / "wp-load.php").exists():
        return "Debian's wordpress package is not installed"
    if shutil.which("php") is None:
        return "php-cli is not installed"
    probe = subprocess.run(
        ["php", "-r", "echo extension_loaded('mysqli') ? 'yes' : 'no';"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.stdout.strip() != "yes":
        return "php-mysql is not installed"
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=2).close()
    except OSError:
        return "MariaDB is not listening on 127.0.0.1:3306"
    return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONFIG = """<?php
define('DB_NAME', '{db}');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '{db_host}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
{environment}
define('WP_AUTO_UPDATE_CORE', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_DEBUG', false);
// A host that strips the Authorization header before PHP sees it (Apache with CGI/FastCGI
// and no CGIPassAuth), switched on by a file so that one running site can be both.
if (file_exists(__DIR__ . '/strip-authorization')) {{
    unset($_SERVER['PHP_AUTH_USER'], $_SERVER['PHP_AUTH_PW'], $_SERVER['HTTP_AUTHORIZATION']);
}}
{salts}
$table_prefix = 'wp_';
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
"""

INSTALL = r"""
$db = new mysqli('127.0.0.1', 'root', '', '', 3306);
$db->query('CREATE DATABASE IF NOT EXISTS `' . getenv('WP_TEST_DB') . '` CHARACTER SET utf8mb4');
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = parse_url(getenv('WP_TEST_URL'), PHP_URL_HOST);
require getenv('WP_TEST_DIR') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
wp_install('Acme Blog', 'admin', 'admin@example.org', true, '', wp_generate_password(24));
update_option('permalink_structure', '/%postname%/');
update_option('default_comment_status', 'open');
update_option('comment_moderation', 0);
update_option('comment_previously_approved', 0);
$author = wp_insert_user([
    'user_login' => 'redaktion', 'user_pass' => wp_generate_password(24),
    'user_email' => 'redaktion@example.org', 'role' => 'author',
    'display_name' => 'Redaktion',
]);
$contributor = wp_insert_user([
    'user_login' => 'praktikant', 'user_pass' => wp_generate_password(24),
    'user_email' => 'praktikant@example.org', 'role' => 'contributor',
]);
[$password] = WP_Application_Passwords::create_new_application_password($author, ['name' => 'Content Calendar']);
[$contributor_password] = WP_Application_Passwords::create_new_application_password($contributor, ['name' => 'Content Calendar']);
[$admin_password] = WP_Application_Passwords::create_new_application_password(1, ['name' => 'Content Calendar']);
echo "\n@@result@@", json_encode(['author' => $author, 'password' => $password, 'contributor_password' => $contributor_password, 'admin_password' => $admin_password]);
"""


class RealWordPress:
    def __init__(self, workdir: Path, *, app_passwords: bool = True) -> None:
        self.workdir = Path(workdir)
        self.root = self.workdir / "wordpress"
        self.db = "wp_test_" + secrets.token_hex(4)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app_passwords = app_passwords
        self.username = "redaktion"
        self.app_password = ""
        self.contributor = "praktikant"
        self.contributor_password = ""
        self.admin = "admin"  # an Administrator: unfiltered_html, so no kses on titles
        self.admin_password = ""
        self.author_id = 0
        self.process: subprocess.Popen | None = None
        self.log = self.workdir / "php-server.log"

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> RealWordPress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        shutil.copytree(
            WORDPRESS,
            self.root,
            symlinks=False,
            ignore_dangling_symlinks=True,
            ignore=shutil.ignore_patterns("wp-config.php", ".htaccess"),
        )
        (self.root / "wp-content" / "uploads").mkdir(parents=True, exist_ok=True)
        salts = "\n".join(
            f"define('{name}', '{secrets.token_hex(32)}');"
            for name in (
                "AUTH_KEY",
                "SECURE_AUTH_KEY",
                "LOGGED_IN_KEY",
                "NONCE_KEY",
                "AUTH_SALT",
                "SECURE_AUTH_SALT",
                "LOGGED_IN_SALT",
                "NONCE_SALT",
            )
        )
        environment = "define('WP_ENVIRONMENT_TYPE', 'local');" if self.app_passwords else ""
        (self.root / "wp-config.php").write_text(
            CONFIG.format(
                db=self.db, db_host=DB_HOST, url=self.url, environment=environment, salts=salts
            )
        )
        installed = self._php_script(INSTALL)
        data = json.loads(installed.rsplit(MARK, 1)[1])
        self.author_id = int(data["author"])
        self.app_password = data["password"]
        self.contributor_password = data["contributor_password"]
        self.admin_password = data["admin_password"]
        # The built-in server runs index.php for paths that are not files, as a rewrite would.
        self.process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.root)],
            cwd=self.root,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.url}/wp-json/", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"WordPress did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        subprocess.run(
            [
                "php",
                "-r",
                f"(new mysqli('127.0.0.1','root','','',3306))->query('DROP DATABASE IF EXISTS `{self.db}`');",
            ],
            check=False,
            capture_output=True,
        )

    def strip_authorization(self, on: bool = True) -> None:
        """Behave like a host that drops the Authorization header (or stop doing so)."""
        flag = self.root / "strip-authorization"
        if on:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    # -- reading the site's state ------------------------------------------------------------------
    def _php_script(self, code: str) -> str:
        result = subprocess.run(
            ["php", "-d", "display_errors=stderr", "-r", code],
            capture_output=True,
            text=True,
            env={
                "WP_TEST_DB": self.db,
                "WP_TEST_URL": self.url,
                "WP_TEST_DIR": str(self.root),
                "PATH": "/usr/bin:/bin",
            },
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"php failed ({result.returncode}): {result.stderr[-2000:]}")
        return result.stdout

    def php(self, expression: str):
        """Run `expression` (PHP statements ending in a return) inside WordPress; its value,
        JSON-decoded."""
        code = (
            "$_SERVER['HTTP_HOST'] = parse_url(getenv('WP_TEST_URL'), PHP_URL_HOST);"
            "require getenv('WP_TEST_DIR') . '/wp-load.php';"
            f'echo "\\n{MARK}", json_encode((function () {{ {expression} }})());'
        )
        return json.loads(self._php_script(code).rsplit(MARK, 1)[1])
