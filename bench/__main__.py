"""`python -m bench [name ...]`: run the benchmarks, one JSON line each on stdout."""

from __future__ import annotations

import importlib
import json
import sys

from bench import progress, setup_django

# Modules in bench/ with a `run() -> dict`; others add theirs here.
BENCHES = ["calendar_month", "publish_burst", "publish_latency", "metrics_ingest", "dashboard"]


def main(argv: list[str]) -> int:
    names = argv or BENCHES
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(
            f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHES)}",
            file=sys.stderr,
        )
        return 2
    setup_django()
    for name in names:
        progress(f"{name}: starting")
        result = importlib.import_module(f"bench.{name}").run()
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
