"""A local no-op platform for bench/publish_burst: answers Mastodon's POST /api/v1/statuses at
once (HTTP/1.1 keep-alive, honouring Idempotency-Key) and counts creates per key, so the bench
can tell duplicates. GET /stats returns the counts; POST /reset clears them.

It stands for a platform that runs on somebody else's machines, so it should cost this machine
as little as possible: one asyncio event loop speaking just enough HTTP/1.1 (request line,
headers, a Content-Length body). With http.server's threads and its e-mail header parser it
took ~0.2 ms of CPU per post, a twentieth of the whole burst's budget.

Run as `python -m bench.noop_platform PORT_FILE [DELAY]`: it binds a free port and writes it
there; with DELAY (seconds) each status is answered that long after it arrived, as a real
platform would (bench/publish_latency), without holding up other connections.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys

ids = itertools.count(1)
creates: dict[str, int] = {}  # idempotency key -> POSTs seen
statuses: dict[str, str] = {}  # idempotency key -> status id

MAX_HEAD = 64 * 1024


def _response(status: str, payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def answer(method: str, path: str, headers: dict[str, str]) -> bytes:
    """The response to one request (its body is not needed)."""
    if method == "GET":
        return _response(
            "200 OK",
            {
                "creates": sum(creates.values()),
                "keys": len(creates),
                "duplicates": sum(n - 1 for n in creates.values()),
            },
        )
    if method != "POST":
        return _response("405 Method Not Allowed", {"error": "method not allowed"})
    if path == "/reset":
        creates.clear()
        statuses.clear()
        return _response("200 OK", {})
    key = headers.get("idempotency-key", "")
    creates[key] = creates.get(key, 0) + 1
    status_id = statuses.get(key) or str(next(ids))
    statuses[key] = status_id
    host = headers.get("host", "localhost")
    return _response("200 OK", {"id": status_id, "url": f"http://{host}/@bench/{status_id}"})


class Protocol(asyncio.Protocol):
    """One keep-alive connection: requests are answered in order as they complete, each after
    `delay` seconds (a real platform's latency; 0: at once)."""

    delay = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            method, path, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return  # the body is still on its way
            self.buffer = self.buffer[end + 4 + length :]
            response = answer(method, path, headers)
            if self.delay and method == "POST" and path != "/reset":
                asyncio.get_running_loop().call_later(self.delay, self._write, response)
            else:
                self.transport.write(response)

    def _write(self, response: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(response)


def main(port_file: str, delay: str = "0") -> None:
    Protocol.delay = float(delay)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Protocol, "127.0.0.1", 0))
    with open(port_file, "w") as fh:
        fh.write(str(server.sockets[0].getsockname()[1]))
    loop.run_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
