"""A real Bluesky network for tests: the AT Protocol's own servers from npm, run by Node 22 as
`@atproto/dev-env` wires them up for the protocol's own tests (TestNetwork): a PLC directory
(in memory), a PDS (SQLite and blobs in a temporary directory), the Bluesky AppView that indexes
the PDS's firehose (on the machine's PostgreSQL), with bsync and Ozone beside it.

    with RealPds(tmp_path) as pds:
        pds.url, pds.appview_url     # "http://localhost:41234", "http://localhost:41235"
        pds.handle, pds.did          # "redaktion.test", "did:plc:..."
        pds.app_password             # an app password of that account ("xxxx-xxxx-xxxx-xxxx")
        pds.reader                   # a second account (handle, did, password) to like or reply
        pds.as_reader("app.bsky.feed.like", {...})   # write a record as the reader
        pds.process()                # wait until the AppView has indexed everything written

Nothing is installed here. The install lives outside the repository in BLUESKY_PDS_DIR
(default ~/.cache/cc-pds, filled by .ci/run):
    node22/  `npm install node@22`                       (a Node 22 binary from npm)
    pds/     `npm install @atproto/pds @atproto/dev-env` (run with that Node first on PATH,
             npm_config_nodedir pointing at its headers, so better-sqlite3 compiles for it)

Every start has a database of its own (pds_test_<random>, dropped afterwards) and temporary
data directories under the work directory. `available()` says what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS = ("127.0.0.1", 6379)
MARK = "@@real-pds@@"  # what the start script prints before the JSON describing the network


def install_dir() -> Path:
    return Path(os.environ.get("BLUESKY_PDS_DIR") or Path.home() / ".cache" / "cc-pds")


def node_binary() -> Path:
    return install_dir() / "node22" / "node_modules" / ".bin" / "node"


def packages_dir() -> Path:
    return install_dir() / "pds"


def available() -> str:
    """'' when a real PDS can run here, else what is missing."""
    node = node_binary()
    if not node.exists():
        return f"no Node 22 from npm at {node}"
    version = subprocess.run(
        [str(node), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not version.startswith("v") or int(version[1:].split(".")[0]) < 22:
        return f"{node} is {version or 'not runnable'}; @atproto/pds needs Node 22 or later"
    modules = packages_dir() / "node_modules"
    if not (modules / "@atproto" / "dev-env" / "package.json").exists():
        return f"@atproto/dev-env is not installed in {packages_dir()}"
    if not list((modules / "better-sqlite3" / "build" / "Release").glob("*.node")):
        return "better-sqlite3 (the PDS's SQLite) was not compiled"
    for name, address in (("PostgreSQL", (PG["host"], PG["port"])), ("Redis", REDIS)):
        try:
            socket.create_connection(address, timeout=2).close()
        except OSError:
            return f"{name} is not listening on {address[0]}:{address[1]}"
    return ""


# Runs inside Node: brings the network up, makes the two accounts, prints what the tests need,
# then serves a small control endpoint until SIGTERM closes everything.
START = r"""
import { createRequire } from 'node:module';
import http from 'node:http';

const require = createRequire(process.env.PDS_PACKAGES + '/package.json');
const { TestNetwork } = await import(require.resolve('@atproto/dev-env'));

const network = await TestNetwork.create({
  dbPostgresUrl: process.env.DB_POSTGRES_URL,
  dbPostgresSchema: 'cc',
});
const agent = network.pds.getAgent();
const author = await agent.createAccount({
  handle: 'redaktion.test', email: 'redaktion@example.org', password: process.env.AUTHOR_PASSWORD,
});
await agent.upsertProfile(() => ({ displayName: 'Redaktion Köln' }));
const appPassword = await agent.com.atproto.server.createAppPassword({ name: 'Content Calendar' });
const readerAgent = network.pds.getAgent();
const reader = await readerAgent.createAccount({
  handle: 'leserin.test', email: 'leserin@example.org', password: process.env.READER_PASSWORD,
});
await network.processAll();

const control = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/process') await network.processAll(10000);
    else throw new Error(`unknown control call ${req.method} ${req.url}`);
    res.writeHead(204).end();
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err?.stack || err));
  }
});
control.listen(0, '127.0.0.1', () => {
  console.log('@@real-pds@@' + JSON.stringify({
    pds: network.pds.url,
    appview: network.bsky.url,
    control: `http://127.0.0.1:${control.address().port}`,
    did: author.data.did,
    handle: author.data.handle,
    app_password: appPassword.data.password,
    reader_did: reader.data.did,
    reader_handle: reader.data.handle,
  }));
});

let closing = false;
process.on('SIGTERM', async () => {
  if (closing) return;
  closing = true;
  control.close();
  const timer = setTimeout(() => process.exit(1), 10000);
  try { await network.close(); } catch (err) { console.error('close failed', err); }
  clearTimeout(timer);
  process.exit(0);
});
"""


class RealPds:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.db = "pds_test_" + secrets.token_hex(4)
        self.author_password = secrets.token_urlsafe(16)
        self.reader_password = secrets.token_urlsafe(16)
        self.url = ""
        self.appview_url = ""
        self.control_url = ""
        self.did = ""
        self.handle = ""
        self.app_password = ""
        self.reader: dict[str, str] = {}
        self.process_handle: subprocess.Popen | None = None
        self.log = self.workdir / "pds.log"
        self._reader_token = ""

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> RealPds:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
            conn.execute(statement)

    def start(self, timeout: float = 90) -> None:
        self._sql(f'CREATE DATABASE "{self.db}"')
        script = self.workdir / "start.mjs"
        script.write_text(START)
        data = self.workdir / "data"  # the PDS's SQLite files and blobs land in TMPDIR
        data.mkdir(exist_ok=True)
        env = {
            "PATH": f"{node_binary().parent}:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "TMPDIR": str(data),
            "PDS_PACKAGES": str(packages_dir()),
            "DB_POSTGRES_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{self.db}",
            "REDIS_HOST": f"{REDIS[0]}:{REDIS[1]}",
            "AUTHOR_PASSWORD": self.author_password,
            "READER_PASSWORD": self.reader_password,
            "NODE_NO_WARNINGS": "1",
            "LOG_ENABLED": "false",
        }
        self.process_handle = subprocess.Popen(
            [str(node_binary()), str(script)],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() can end Node and nothing else
        )
        deadline = time.monotonic() + timeout
        while True:
            text = self.log.read_text(errors="replace")
            if MARK in text:
                line = text.split(MARK, 1)[1].splitlines()[0]
                info = json.loads(line)
                break
            if self.process_handle.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the PDS did not start:\n{text[-3000:]}")
            time.sleep(0.1)
        self.url = info["pds"]
        self.appview_url = info["appview"]
        self.control_url = info["control"]
        self.did = info["did"]
        self.handle = info["handle"]
        self.app_password = info["app_password"]
        self.reader = {
            "did": info["reader_did"],
            "handle": info["reader_handle"],
            "password": self.reader_password,
        }

    def stop(self) -> None:
        if self.process_handle is not None:
            if self.process_handle.poll() is None:
                self.process_handle.send_signal(signal.SIGTERM)
                try:
                    self.process_handle.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process_handle.pid, signal.SIGKILL)
                    self.process_handle.wait(timeout=10)
            self.process_handle = None
        # A database left behind is named pds_test_*; dropping it must never fail a run.
        with contextlib.suppress(Exception):
            self._sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    # -- driving the network -----------------------------------------------------------------------
    def process(self) -> None:
        """Wait until the PDS's background work is done and the AppView has indexed it all."""
        response = requests.post(f"{self.control_url}/process", timeout=30)
        if response.status_code != 204:
            raise RuntimeError(f"processing failed: {response.text[-2000:]}")

    def xrpc(self, method: str, nsid: str, *, token: str = "", **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(
            method, f"{self.url}/xrpc/{nsid}", headers=headers, timeout=30, **kwargs
        )

    def record(self, uri: str) -> dict | None:
        """The record at an at:// URI as the PDS stores it, None when there is none."""
        did, collection, rkey = uri.removeprefix("at://").split("/")
        response = self.xrpc(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": did, "collection": collection, "rkey": rkey},
        )
        if response.status_code == 400 and response.json().get("error") == "RecordNotFound":
            return None
        response.raise_for_status()
        return response.json()

    def posts(self) -> list[dict]:
        """Every app.bsky.feed.post in the author's repository."""
        response = self.xrpc(
            "GET",
            "com.atproto.repo.listRecords",
            params={"repo": self.did, "collection": "app.bsky.feed.post", "limit": 100},
        )
        response.raise_for_status()
        return response.json()["records"]

    def as_reader(self, collection: str, record: dict) -> dict:
        """Write `record` into the reader's repository (a like, repost, reply or follow)."""
        if not self._reader_token:
            session = self.xrpc(
                "POST",
                "com.atproto.server.createSession",
                json={"identifier": self.reader["handle"], "password": self.reader_password},
            )
            session.raise_for_status()
            self._reader_token = session.json()["accessJwt"]
        response = self.xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            token=self._reader_token,
            json={"repo": self.reader["did"], "collection": collection, "record": record},
        )
        response.raise_for_status()
        return response.json()
