"""A local fake of X's metrics lookup for bench/metrics_ingest: GET /2/tweets?ids=a,b,...
(up to 100 ids) answers every id with public and non-public metrics, as API v2 does, over HTTP/1.1
keep-alive. The numbers grow with every lookup of a post, so each pull brings new numbers.
GET /stats returns {"calls", "ids"} (lookups and ids asked for); POST /reset clears them.

Run as `python -m bench.fake_metrics_platform PORT_FILE`: it binds a free port and writes it there.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_IDS = 100  # what X allows per lookup

lock = threading.Lock()
stats = {"calls": 0, "ids": 0}
pulls: dict[str, int] = {}  # post id -> lookups so far


def _post(post_id: str, pulled: int) -> dict:
    base = int(post_id[-4:]) if post_id[-4:].isdigit() else 7
    return {
        "id": post_id,
        "text": f"Post {post_id}",
        "edit_history_tweet_ids": [post_id],
        "public_metrics": {
            "retweet_count": base % 13 + pulled,
            "reply_count": base % 7,
            "like_count": base % 101 + 3 * pulled,
            "quote_count": base % 3,
            "bookmark_count": base % 5,
            "impression_count": 1000 + base + 50 * pulled,
        },
        "non_public_metrics": {
            "impression_count": 1000 + base + 50 * pulled,
            "url_link_clicks": base % 17 + pulled,
            "user_profile_clicks": base % 11,
        },
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def log_message(self, format, *args) -> None:  # quiet
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/stats":
            with lock:
                self._send(200, dict(stats))
            return
        if parts.path != "/2/tweets":
            self._send(404, {"title": "Not Found Error", "detail": parts.path})
            return
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self._send(401, {"title": "Unauthorized", "status": 401})
            return
        ids = [i for i in parse_qs(parts.query).get("ids", [""])[0].split(",") if i]
        if not ids or len(ids) > MAX_IDS:
            self._send(400, {"title": "Invalid Request", "detail": "1 to 100 ids"})
            return
        with lock:
            stats["calls"] += 1
            stats["ids"] += len(ids)
            counts = []
            for post_id in ids:
                pulls[post_id] = pulls.get(post_id, 0) + 1
                counts.append(pulls[post_id])
        self._send(200, {"data": [_post(i, n) for i, n in zip(ids, counts, strict=True)]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/reset":
            with lock:
                stats.update(calls=0, ids=0)
                pulls.clear()
            self._send(200, {})
            return
        self._send(404, {"title": "Not Found Error"})


def main(port_file: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(port_file, "w") as fh:
        fh.write(str(server.server_address[1]))
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main(sys.argv[1])
