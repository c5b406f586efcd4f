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
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta

from bot.digest.stories import StoryIndex, StoryParams
from bot.ingest.storysig import Shingled
from bot.models import Article
from bot.ports import Clock
from bot.settings import Settings
from bot.store.locks import LockKey
from bot.store.repo import Store, StoryAssignment

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

    async def start(self) -> None:
        """Build the story index now (datasketch imported, the recent window read) rather than when the
        first new article needs it."""
        async with self.locked():
            await self._loaded()

    async def assign(
        self,
        articles: Sequence[tuple[int, Article]],
        *,
        shingled: Mapping[int, Shingled | None] | None = None,
    ) -> dict[int, int]:
        """Put each new article into a story (an existing one for a copy, else a new one); returns
        article id → story id. ``shingled``: articles read for signing already (by the parser workers),
        by id; the others are read here."""
        async with self.locked():
            return await self._assign_locked(articles, shingled or {})

    async def _assign_locked(
        self, articles: Sequence[tuple[int, Article]], shingled: Mapping[int, Shingled | None]
    ) -> dict[int, int]:
        """Decide every article's story in memory (a new story gets a negative key, so later articles of
        the batch can join it), then write the batch in one transaction and give the new stories their
        ids in the index. A failed write takes the batch back out of the index."""
        index = await self._loaded()
        out: dict[int, int] = {}
        batch: list[StoryAssignment] = []
        added: set[int] = set()
        now = self.clock()
        for i, (aid, article) in enumerate(articles):
            known = index.story_of(aid)
            if known is not None:  # routed again (its page arrived): it keeps its story
                out[aid] = known
                continue
            if aid in added:
                continue
            if aid in shingled:
                read = shingled[aid]
                sig = None if read is None else index.sign_shingled(read)
            else:
                sig = index.signature(article)
            found = index.find(article, sig)
            if found is None:
                found = -1 - len(batch)  # a new story, keyed within the batch
                batch.append(StoryAssignment(aid, found, title=article.title, lang=article.lang))
            else:
                batch.append(StoryAssignment(aid, found))
            index.add(aid, found, article, now, sig)
            added.add(aid)
            if i % 50 == 49:
                await asyncio.sleep(0)
        if batch:
            try:
                assigned, self._seq = await self.store.assign_stories(batch, now=now)
            except BaseException:
                for aid in added:
                    index.forget(aid)
                raise
            provisional = {a.article_id: a.story_id for a in batch}
            index.relabel({aid: (provisional[aid], assigned[aid]) for aid in added})
            out.update(assigned)
        index.prune(self.clock())
        return out

    async def cluster_pending_locked(self, *, limit: int = 5000) -> int:
        """Assign stories to stored articles that have none (a new feed's seeded backlog, or articles a
        crash left behind). Call inside ``locked()``."""
        since = self.clock() - self.params.window
        pending = await self.store.unclustered_articles(since, limit=limit)
        if pending:
            await self._assign_locked([(p.id, p.article) for p in pending], {})
        return len(pending)

    async def cluster_pending(self, *, limit: int = 5000) -> int:
        async with self.locked():
            return await self.cluster_pending_locked(limit=limit)
