"""`make run`: the whole development stack from one command.

Makes sure a Celery broker is there (Redis if reachable, else a local redis-server it starts,
else the embedded filesystem broker), migrates, seeds the demo workspace, prints the URL and
the demo logins, then hands over to honcho, which runs web, the workers and beat from the
Procfile. Ctrl-C stops them all.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
FILESYSTEM_BROKER = "filesystem://"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def say(message: str = "") -> None:
    print(message, flush=True)


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def start_redis(url: str, var_dir: Path) -> bool:
    """Start a throw-away, non-persistent redis-server for `url`; True once it answers."""
    parts = urlsplit(url)
    command = [
        shutil.which("redis-server") or "redis-server",
        "--port",
        str(parts.port or 6379),
        "--bind",
        "127.0.0.1",
        "--daemonize",
        "yes",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(var_dir),
        "--logfile",
        str(var_dir / "redis.log"),
        "--pidfile",
        str(var_dir / "redis.pid"),
    ]
    if parts.password:
        command += ["--requirepass", parts.password]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        say(f"  redis-server did not start: {(result.stderr or result.stdout).strip()}")
        return False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(url):
            return True
        time.sleep(0.2)
    return False


def ensure_broker(url: str, var_dir: Path) -> str:
    """The broker URL to use: `url` if Redis answers (starting one if we can), else filesystem."""
    if not url.startswith(("redis://", "rediss://")):
        say(f"Broker: {redacted(url)}")
        return url
    if redis_answers(url):
        say(f"Broker: Redis at {redacted(url)} answers.")
        return url
    host = urlsplit(url).hostname or ""
    if host in LOCAL_HOSTS and shutil.which("redis-server"):
        say(f"Broker: no Redis at {redacted(url)}; starting a local redis-server (no persistence,")
        say(f"        log in {var_dir / 'redis.log'}; it keeps running after Ctrl-C:")
        say(f"        stop it with `kill $(cat {var_dir / 'redis.pid'})`).")
        if start_redis(url, var_dir):
            say("        redis-server is up.")
            return url
        say("        redis-server did not answer in time.")
    say("")
    say("!" * 78)
    say(f"! Redis is not reachable at {redacted(url)} and none could be started here.")
    say("! Using the EMBEDDED FILESYSTEM BROKER instead (CELERY_BROKER_URL=filesystem://,")
    say(f"! messages in {var_dir / 'broker'}). Good enough for a demo on one machine;")
    say("! install Redis (apt-get install redis-server) for anything else.")
    say("!" * 78)
    say("")
    return FILESYSTEM_BROKER


def main() -> None:
    os.chdir(BASE_DIR)
    env = os.environ
    env.setdefault("DEBUG", "1")
    env.setdefault("PORT", "8000")
    # Links in e-mails and short links point at the server `make run` starts, on its port.
    env.setdefault("SITE_URL", f"http://127.0.0.1:{env['PORT']}")
    # Instagram and Threads fetch media from a public address; the dev server's own one lets the
    # demo plan such posts (a real account needs an address the platform can reach).
    env.setdefault("PUBLIC_MEDIA_BASE_URL", f"http://127.0.0.1:{env['PORT']}/media/")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    var_dir = Path(env.get("VAR_DIR", BASE_DIR / "var")).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    env["VAR_DIR"] = str(var_dir)
    env["CELERY_BROKER_URL"] = ensure_broker(env.get("CELERY_BROKER_URL", DEFAULT_BROKER), var_dir)

    import django

    django.setup()
    from django.core.management import call_command

    from publishing.queues import Queue

    say("Migrating the database…")
    call_command("migrate", interactive=False, verbosity=0)
    say("Seeding the demo workspace…")
    # Kept in memory only: the demo passwords are printed, never written anywhere.
    seeded = io.StringIO()
    call_command("seed_demo", stdout=seeded, url=f"http://127.0.0.1:{env['PORT']}/")
    call_command("seed_demo_metrics", stdout=seeded)  # a simulated week (and more) of numbers

    env["WORKER_QUEUES"] = Queue.DEFAULT.value
    env["PUBLISH_QUEUES"] = Queue.PUBLISH.value
    env["METRICS_QUEUES"] = Queue.METRICS.value
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    honcho = shutil.which("honcho", path=bin_dir) or shutil.which("honcho")
    if honcho is None:
        sys.exit("honcho is not installed: run `make install`.")

    say("")
    say("=" * 78)
    say(f"Content calendar: http://127.0.0.1:{env['PORT']}/")
    say(seeded.getvalue().rstrip())
    say("Web, workers and beat start now; Ctrl-C stops them all.")
    say("=" * 78)
    say("")
    os.execve(
        honcho,
        [honcho, "start", "-f", str(BASE_DIR / "Procfile"), "-d", str(BASE_DIR), "-p", env["PORT"]],
        env,
    )


if __name__ == "__main__":
    main()
