"""Assigning articles to stories, persisted: the in-memory ``StoryIndex`` over the recent window, rebuilt
from the store at first use, and the store's ``stories`` / ``articles.story_id``.

One lock serialises story creation with digest composition, and a story's ``first_seen`` is read from
the clock under that lock: so a digest window [start, end) composed under the lock sees every story
with first_seen < end, and no story created later can fall into a window already sent.

With several processes on one PostgreSQL database (``pactwatch worker`` × N) the lock is the database's
too (an advisory lock), and whoever takes it first catches its index up with the assignments the other
processes made meanwhile (``articles.story_seq``): two copies of one story polled by two workers join
one story.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

from bot.digest.stories import StoryIndex, StoryParams
from bot.models import Article
from bot.ports import Clock
from bot.settings import Settings
from bot.store.locks import LockKey
from bot.store.repo import Store

log = logging.getLogger(__name__)


def params_from(settings: Settings) -> StoryParams:
    return StoryParams(
        threshold=settings.story_similarity,
        containment=settings.story_containment,
        window=timedelta(hours=settings.story_window_hours),
        max_articles=settings.story_index_max_articles,
    )


class StoryClusterer:
    """The process's one story assigner: the poller's router, digests and the trend chart share it (and
    its lock)."""

    def __init__(self, store: Store, params: StoryParams, clock: Clock) -> None:
        self.store = store
        self.params = params
        self.clock = clock
        self._lock = asyncio.Lock()
        self._index: StoryIndex | None = None
        self._seq = 0  # the latest assignment batch the index holds (``articles.story_seq``)

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Hold the story lock: this process's, then (PostgreSQL) the database's; on entry the index has
        caught up with every assignment another process made. Story assignment and digest composition
        run under it."""
        async with self._lock, self.store.locked(LockKey.STORIES):
            await self._catch_up()
            yield

    async def _catch_up(self) -> None:
        if self._index is None:
            return  # built from the database at first use, under the lock
        current = await self.store.story_seq()
        if current == self._seq:
            return
        rows, _ = await self.store.story_assignments_after(
            self._seq, self.clock() - self.params.window, limit=self.params.max_articles
        )
        for row in rows:
            if row.story_id is not None and self._index.story_of(row.id) is None:
                self._index.add(
                    row.id, row.story_id, row.article, row.first_seen, self._index.signature(row.article)
                )
        log.debug("story index caught up with %d assignments made elsewhere", len(rows))
        self._seq = current

    async def _loaded(self) -> StoryIndex:
        if self._index is None:
            # datasketch (and numpy under it) takes most of a second to import: not on the event loop.
            await asyncio.to_thread(importlib.import_module, "datasketch")
            index = StoryIndex(self.params)
            now = self.clock()
            self._seq = await self.store.story_seq()  # under the lock: nothing is assigned meanwhile
            rows = await self.store.clustered_articles(
                now - self.params.window, limit=self.params.max_articles
            )
            for row in rows:
                assert row.story_id is not None
                index.add(row.id, row.story_id, row.article, row.first_seen, index.signature(row.article))
            log.debug("story index rebuilt from %d recent articles", len(rows))
            self._index = index
        return self._index

    async def assign(self, articles: Sequence[tuple[int, Article]]) -> dict[int, int]:
        """Put each new article into a story (an existing one for a copy, else a new one); returns
        article id → story id."""
        async with self.locked():
            return await self._assign_locked(articles)

    async def _assign_locked(self, articles: Sequence[tuple[int, Article]]) -> dict[int, int]:
        index = await self._loaded()
        out: dict[int, int] = {}
        seq: int | None = None
        for i, (aid, article) in enumerate(articles):
            known = index.story_of(aid)
            if known is not None:  # routed again (its page arrived): it keeps its story
                out[aid] = known
                continue
            if seq is None:
                seq = self._seq = await self.store.next_story_seq()
            now = self.clock()
            sig = index.signature(article)
            found = index.find(article, sig)
            if found is None:
                sid = await self.store.new_story(
                    aid, title=article.title, lang=article.lang, now=now, seq=seq
                )
            else:
                sid = await self.store.join_story(aid, found, now=now, seq=seq)
            index.add(aid, sid, article, now, sig)
            out[aid] = sid
            if i % 50 == 49:
                await asyncio.sleep(0)
        index.prune(self.clock())
        return out

    async def cluster_pending_locked(self, *, limit: int = 5000) -> int:
        """Assign stories to stored articles that have none (a new feed's seeded backlog, or articles a
        crash left behind). Call inside ``locked()``."""
        since = self.clock() - self.params.window
        pending = await self.store.unclustered_articles(since, limit=limit)
        if pending:
            await self._assign_locked([(p.id, p.article) for p in pending])
        return len(pending)

    async def cluster_pending(self, *, limit: int = 5000) -> int:
        async with self.locked():
            return await self.cluster_pending_locked(limit=limit)
