"""The production web server's settings: `gunicorn -c python:config.gunicorn config.wsgi` (from an
installed package) or `gunicorn -c config/gunicorn.py config.wsgi` (from a checkout).

Everything comes from the environment (README, "Production"). The access log never holds a query
string nor the token of a review, invitation or password-reset link: a link's secret must not
outlive the request in a log file.
"""

from __future__ import annotations

import multiprocessing
import os

from gunicorn import glogging

from config.redaction import RedactLinkSecrets, redact_path, redact_text


def _bind() -> list[str]:
    """BIND (comma-separated addresses, `unix:/run/calendar/web.sock` too) wins; otherwise
    loopback on PORT: the site is meant to sit behind a TLS-terminating reverse proxy."""
    if bind := os.environ.get("BIND", "").strip():
        return [address.strip() for address in bind.split(",") if address.strip()]
    return [f"127.0.0.1:{os.environ.get('PORT', '8000')}"]


bind = _bind()
# Sync workers, one request each: the pages are short database work; uploads and slow clients
# are buffered by the reverse proxy.
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
# A worker is replaced after this many requests (with jitter, not all at once), so a slow leak
# never grows for the life of the service.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 10
# The addresses whose X-Forwarded-Proto / X-Forwarded-For gunicorn believes: the reverse proxy's.
# Django reads the scheme from SECURE_PROXY_SSL_HEADER and the client's address through
# LINKS_TRUSTED_PROXY_COUNT (accounts.throttle), each its own setting.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicornc's control socket: in systemd's RuntimeDirectory= when there is one (two services on a
# host never share it), else gunicorn's default ($XDG_RUNTIME_DIR, or ~/.gunicorn/).
if runtime_directory := os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]:
    control_socket = os.path.join(runtime_directory, "gunicorn.ctl")
# Logs to stdout/stderr: systemd's journal (or the container runtime) keeps them.
accesslog = os.environ.get("WEB_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# The request line as method, redacted path and protocol, never %(r)s (which holds the query).
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
)


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with the access log's atoms cleaned of secrets (the request line, the
    path, the query, the Referer: a page of ours can be one with a token, the environ's URIs)
    and its error log filtered like the app's ("Error handling request /path?query")."""

    REDACTED_ATOMS = ("{referer}i", "{x-original-uri}i", "{raw_uri}e", "{request_uri}e")

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(RedactLinkSecrets())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO", ""))
        atoms.update(U=path, q="", r=f"{atoms.get('m', '-')} {path} {atoms.get('H', '-')}")
        atoms["{query_string}e"] = ""
        atoms["{path_info}e"] = path
        for key in ("f", *self.REDACTED_ATOMS):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_text(atoms[key])
        return atoms


logger_class = RedactingLogger
