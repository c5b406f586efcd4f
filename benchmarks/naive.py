"""The naive baseline, in its own process: serial ``feedparser.parse(url)`` and a regex loop over the watches.

Reads ``{"urls": [...], "watches": [[[negated, regex], ...], ...]}`` as JSON on stdin and prints
``{"seconds": ..., "feeds": ..., "articles": ..., "matches": ...}``.
"""

from __future__ import annotations

import json
import re
import sys
import time

import feedparser


def main() -> None:
    spec = json.load(sys.stdin)
    # What a typical bot does: compile each watch's terms as case-insensitive regexes, once.
    watches = [[(neg, re.compile(rx, re.IGNORECASE)) for neg, rx in groups] for groups in spec["watches"]]
    articles = matches = 0
    start = time.perf_counter()
    for url in spec["urls"]:
        parsed = feedparser.parse(url)
        for entry in parsed.entries:
            articles += 1
            text = f"{entry.get('title', '')}\n{entry.get('summary', '')}"
            for groups in watches:
                if all(bool(rx.search(text)) != neg for neg, rx in groups):
                    matches += 1
    seconds = time.perf_counter() - start
    print(
        json.dumps({"seconds": seconds, "feeds": len(spec["urls"]), "articles": articles, "matches": matches})
    )


if __name__ == "__main__":
    main()
