"""The peer in the poll benchmark: lemon24/reader updating the same feeds, as a whole process of its own.

Reads ``{"urls": [...], "db": "/path/reader.sqlite", "add": true, "workers": 16}`` as JSON on stdin,
then ``make_reader(db)``, ``add_feed`` for each URL (when ``add``: round 1), and
``update_feeds(workers=16, scheduled=False)`` (fetch, parse, store). Prints
``{"seconds": ..., "update_seconds": ..., "feeds": ..., "entries": ..., "errors": ...}``: ``seconds`` is
from the process's start (the imports included, as a run of a whole tool), ``update_seconds`` is
``update_feeds`` alone.

reader is a benchmark dependency (``pip install -e '.[bench]'``), never a runtime one. The URLs are
the loopback feed server's only.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    spec = json.load(sys.stdin)
    try:
        from reader import make_reader
    except ImportError:
        print("reader is not installed: pip install -e '.[bench]'", file=sys.stderr)
        sys.exit(3)
    urls: list[str] = spec["urls"]
    reader = make_reader(spec["db"])
    try:
        if spec.get("add", True):
            for url in urls:
                reader.add_feed(url, exist_ok=True)
        t = time.perf_counter()
        reader.update_feeds(workers=int(spec.get("workers", 16)), scheduled=False)
        update_seconds = time.perf_counter() - t
        counts = reader.get_entry_counts()
        errors = sum(1 for f in reader.get_feeds() if f.last_exception is not None)
    finally:
        reader.close()
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - T0,
                "update_seconds": update_seconds,
                "feeds": len(urls),
                "entries": counts.total,
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
