"""A local no-op platform for bench/publish_burst: answers Mastodon's POST /api/v1/statuses at
once (HTTP/1.1 keep-alive, honouring Idempotency-Key) and counts creates per key, so the bench
can tell duplicates. GET /stats returns the counts; POST /reset clears them.

Run as `python -m bench.noop_platform PORT_FILE`: it binds a free port and writes it there.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
ids = itertools.count(1)
creates: dict[str, int] = {}  # idempotency key -> POSTs seen
statuses: dict[str, str] = {}  # idempotency key -> status id


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def _send(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with lock:
            self._send(
                {
                    "creates": sum(creates.values()),
                    "keys": len(creates),
                    "duplicates": sum(n - 1 for n in creates.values()),
                }
            )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/reset":
            with lock:
                creates.clear()
                statuses.clear()
            self._send({})
            return
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            creates[key] = creates.get(key, 0) + 1
            status_id = statuses.get(key) or str(next(ids))
            statuses[key] = status_id
        host = self.headers.get("Host", "localhost")
        self._send({"id": status_id, "url": f"http://{host}/@bench/{status_id}"})


def main(port_file: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(port_file, "w") as fh:
        fh.write(str(server.server_address[1]))
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main(sys.argv[1])
