"""``ParserPool.start(matcher)``: every parser worker holds the matcher before the first feed arrives, and
builds it once."""

from __future__ import annotations

import os
import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.ingest.workers import MatcherRef, ParserPool
from bot.matching import compile_matcher
from bot.models import Article, FeedSpec, MatchResult, WatchSpec
from tests.ingest.ingest_support import make_settings, rss

NOW = datetime(2024, 9, 12, tzinfo=UTC)


class LoggedMatcher:
    """A real compiled matcher that writes the id of each process that builds it from its pickle to
    ``log`` (a worker builds the matcher when it first sees its key)."""

    def __init__(self, log: Path, watches: tuple[WatchSpec, ...]) -> None:
        self.log = log
        self.watches = watches
        self.inner = compile_matcher((), watches)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_build_logged, (self.log, self.watches))

    def match(self, article: Article) -> MatchResult:
        return self.inner.match(article)


def _build_logged(log: Path, watches: tuple[WatchSpec, ...]) -> LoggedMatcher:
    with log.open("a") as f:
        f.write(f"{os.getpid()}\n")
    return LoggedMatcher(log, watches)


def builds(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


async def test_start_loads_the_matcher_in_every_worker_once(tmp_path: Path) -> None:
    log = tmp_path / "builds.txt"
    matcher = LoggedMatcher(log, (WatchSpec(id="1", query="item"),))
    ref = MatcherRef(key="build-1", blob=pickle.dumps(matcher, pickle.HIGHEST_PROTOCOL))
    async with ParserPool(make_settings(parse_workers=3)) as pool:
        ready = await pool.start(ref)
        assert len(ready) == 3  # each of the three workers, not one of them three times
        assert sorted(builds(log)) == sorted(ready)  # each built it once, before any feed
        for items in (1, 2, 3, 4, 5, 6):
            parsed = await pool.parse(
                rss(items), feed=FeedSpec(url="https://example.com/feed"), content_type=None, headers={},
                now=NOW, matcher=ref,
            )  # fmt: skip
            assert parsed.matches is not None and parsed.match_error is None
            assert all(m.watches for m in parsed.matches)
        assert sorted(builds(log)) == sorted(ready)  # the feeds built nothing more


async def test_start_without_a_matcher_starts_the_workers() -> None:
    async with ParserPool(make_settings(parse_workers=2)) as pool:
        assert 1 <= len(await pool.start()) <= 2
