"""Ingest: fetch feed bytes safely, parse them in worker processes, normalise entries into ``Article``s.

- ``fetch``: ``Fetcher`` (one aiohttp session, conditional GET, size/time/concurrency bounds).
- ``netguard``: the SSRF guard (``check_feed_url`` for chat input; resolver and socket checks).
- ``parse`` / ``normalize``: ``parse_and_normalize``, the pure feed → ``ParsedFeed`` function.
- ``workers``: ``ParserPool``, worker processes with a memory ceiling and a kill on timeout.
"""

from bot.ingest.fetch import Fetcher, FetchResult, Validators
from bot.ingest.netguard import UnsafeURLError, check_feed_url, redact_url
from bot.ingest.parse import FeedError, ParsedFeed, parse_and_normalize
from bot.ingest.workers import ParserPool

__all__ = [
    "FeedError",
    "FetchResult",
    "Fetcher",
    "ParsedFeed",
    "ParserPool",
    "UnsafeURLError",
    "Validators",
    "check_feed_url",
    "parse_and_normalize",
    "redact_url",
]
