"""Within a poll round the watch revision is read once, not once per feed (issue 16, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.models import Article, Fact, MatchResult, WatchSpec
from bot.poller import MatcherCache
from bot.store.repo import WatchRow


class _Matcher:
    def __init__(self, watches: tuple[WatchSpec, ...]) -> None:
        self.watches = watches

    def match(self, article: Article) -> MatchResult:  # pragma: no cover - not called here
        raise NotImplementedError


def _factory(facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> _Matcher:
    return _Matcher(watches)


class _Store:
    def __init__(self) -> None:
        self.rev = "1"
        self.revision_reads = 0
        self.watches = [self._row(1, "treaty")]

    @staticmethod
    def _row(i: int, query: str) -> WatchRow:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        return WatchRow(i, "console", "", "ch", query, "", True, "test", now)

    async def watches_revision(self) -> str:
        self.revision_reads += 1
        return self.rev

    async def list_watches(self) -> list[WatchRow]:
        return list(self.watches)

    def add(self, i: int, query: str) -> None:
        self.watches.append(self._row(i, query))
        self.rev = str(int(self.rev) + 1)


def _cache(store: _Store) -> MatcherCache:
    fake: Any = store
    return MatcherCache(fake, (), _factory)


async def test_outside_a_round_every_call_reads_the_revision() -> None:
    store = _Store()
    cache = _cache(store)
    for _ in range(3):
        await cache.current()
    assert store.revision_reads == 3


async def test_a_round_reads_the_revision_once_and_the_next_round_sees_a_change() -> None:
    store = _Store()
    cache = _cache(store)
    async with cache.round():
        for _ in range(50):  # fifty feeds
            _, watches = await cache.current()
            await cache.worker_ref()
        store.add(2, "troops")  # added while the round runs: from the next round on
        _, watches = await cache.current()
        assert set(watches) == {"1"}
    assert store.revision_reads == 1
    async with cache.round():
        _, watches = await cache.current()
    assert set(watches) == {"1", "2"}
    assert store.revision_reads == 2


async def test_invalidate_makes_the_next_call_in_a_round_read_again() -> None:
    store = _Store()
    cache = _cache(store)
    async with cache.round():
        store.add(3, "arms")  # as when the poller pauses a watch: it changes the watches itself
        cache.invalidate()
        _, watches = await cache.current()
        assert set(watches) == {"1", "3"}
        await cache.current()
    assert store.revision_reads == 2
