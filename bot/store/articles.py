"""Articles and their matches: the poller's writes, lookups, the chat commands' match queries, retention."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.crashpoints import crashpoint
from bot.models import Article, Evidence, MatchResult
from bot.store import tables as t
from bot.store.feeds import FeedsMixin, UnchangedPoll
from bot.store.rows import (
    EVIDENCE_ADAPTER,
    MATCH_COLUMNS,
    MatchedArticle,
    StoredArticle,
    article_values,
    articles_with_feed_url,
    match_values,
    stored_article,
    visible_to,
)


class ArticlesMixin(FeedsMixin):
    # --- the poller's writes -----------------------------------------------------------------------

    async def insert_articles(
        self, feed_id: int, articles: Sequence[Article], *, now: datetime, seeded: bool
    ) -> list[tuple[int, Article]]:
        """Store the articles not seen before in this feed; returns (id, article) for the new ones."""
        if not articles:
            return []
        by_entry: dict[str, Article] = {}
        for a in articles:
            by_entry.setdefault(a.entry_id, a)

        async def fn(c: AsyncConnection) -> list[tuple[int, Article]]:
            rows = [article_values(feed_id, a, now=now, seeded=seeded) for a in by_entry.values()]
            ids = await self._insert_new_articles(c, rows)
            crashpoint("store.insert_articles.uncommitted")
            return [(ids[e], a) for e, a in by_entry.items() if e in ids]

        return await self._write("insert_articles", fn)

    async def store_matches(self, results: Iterable[tuple[int, MatchResult]]) -> None:
        """Record relevance and every fact/watch hit with its evidence."""
        results = list(results)
        if not results:
            return

        async def fn(c: AsyncConnection) -> None:
            relevant_ids = [aid for aid, m in results if m.relevant]
            for i in range(0, len(relevant_ids), 500):
                await c.execute(
                    sa.update(t.articles)
                    .where(t.articles.c.id.in_(relevant_ids[i : i + 500]))
                    .values(relevant=True)
                )
            rows = [row for aid, m in results for row in match_values(aid, m)]
            await self._insert_rows(c, t.matches, MATCH_COLUMNS, rows)
            crashpoint("store.store_matches.uncommitted")

        await self._write("store_matches", fn)

    async def _insert_new_articles(self, c: AsyncConnection, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert the articles rows not yet in their feed; entry id -> new article id for those inserted."""
        inserted = await self._insert_returning(
            c, t.articles, rows, conflict=("feed_id", "entry_id"), returning=("id", "entry_id")
        )
        return {entry_id: aid for aid, entry_id in inserted}

    async def insert_matched_articles(
        self,
        feed_id: int,
        items: Sequence[tuple[Article, MatchResult]],
        *,
        now: datetime,
        seeded: bool,
        done: UnchangedPoll | None = None,
    ) -> list[tuple[int, Article, MatchResult]]:
        """``insert_articles`` and ``store_matches`` for articles matched beforehand, in one transaction
        (the poller's hot path; benchmarks/bench_poll.py): stores the articles not seen before in this
        feed, with their relevance and every fact/watch hit. Returns (id, article, match) for the new
        ones, in feed order. ``done``: the poll has nothing left to do with them (a first poll, which
        alerts nothing), so its success is recorded in the same transaction."""
        if not items:
            if done is not None:
                await self.record_unchanged_feeds([done])
            return []
        by_entry: dict[str, tuple[Article, MatchResult]] = {}
        for a, m in items:
            by_entry.setdefault(a.entry_id, (a, m))

        async def fn(c: AsyncConnection) -> list[tuple[int, Article, MatchResult]]:
            rows = [
                {**article_values(feed_id, a, now=now, seeded=seeded), "relevant": m.relevant}
                for a, m in by_entry.values()
            ]
            ids = await self._insert_new_articles(c, rows)
            crashpoint("store.insert_articles.uncommitted")
            out = [(ids[e], a, m) for e, (a, m) in by_entry.items() if e in ids]
            hits = [row for aid, _, m in out for row in match_values(aid, m)]
            await self._insert_rows(c, t.matches, MATCH_COLUMNS, hits)
            crashpoint("store.store_matches.uncommitted")
            if done is not None:
                await self._record_successes(c, [(done, len(out))])
            return out

        return await self._write("insert_matched_articles", fn)

    # --- reads -------------------------------------------------------------------------------------

    async def articles_of_unfinished_polls(
        self, feed_id: int, *, after: datetime | None, exclude: set[int]
    ) -> list[tuple[int, Article]]:
        """(id, article) of this feed's articles first seen after ``after`` (the feed's last recorded
        success; None: any), except ``exclude``: stored by a poll that died before it finished. Seeded
        articles (a first poll's) are never among them: they must not alert."""

        async def fn(c: AsyncConnection) -> list[tuple[int, Article]]:
            q = (
                articles_with_feed_url()
                .where(t.articles.c.feed_id == feed_id, ~t.articles.c.seeded)
                .order_by(t.articles.c.id)
            )
            if after is not None:
                q = q.where(t.articles.c.first_seen > after)
            rows = [stored_article(r) for r in await c.execute(q)]
            return [(a.id, a.article) for a in rows if a.id not in exclude]

        return await self._read("articles_of_unfinished_polls", fn)

    async def article_matches(self, article_id: int) -> list[tuple[str, str, Evidence | None]]:
        """(kind, ref, evidence) for every match of one article; evidence None where it was not kept
        (``bot.models.NOT_KEPT``: a first poll's fact and watch hits)."""

        async def fn(c: AsyncConnection) -> list[tuple[str, str, Evidence | None]]:
            rows = await c.execute(
                sa.select(t.matches.c.kind, t.matches.c.ref, t.matches.c.evidence)
                .where(t.matches.c.article_id == article_id)
                .order_by(t.matches.c.id)
            )
            return [
                (r.kind, r.ref, EVIDENCE_ADAPTER.validate_json(r.evidence) if r.evidence else None)
                for r in rows
            ]

        return await self._read("article_matches", fn)

    async def get_article(self, article_id: int) -> StoredArticle | None:
        q = articles_with_feed_url().where(t.articles.c.id == article_id)
        return await self._fetch_first("get_article", q, stored_article)

    async def find_article_by_url(self, url: str) -> StoredArticle | None:
        q = articles_with_feed_url().where(t.articles.c.url == url).order_by(t.articles.c.id).limit(1)
        return await self._fetch_first("find_article_by_url", q, stored_article)

    async def articles_since(
        self, since: datetime, *, until: datetime | None = None, limit: int = 100_000
    ) -> list[StoredArticle]:
        """Articles first seen in [since, until), oldest first."""

        q = (
            articles_with_feed_url()
            .where(t.articles.c.first_seen >= since)
            .order_by(t.articles.c.first_seen, t.articles.c.id)
            .limit(limit)
        )
        if until is not None:
            q = q.where(t.articles.c.first_seen < until)
        return await self._fetch_all("articles_since", q, stored_article)

    # --- what the chat commands show (scoped to the feeds a tenant may see) -------------------------

    async def fact_match_counts(self, *, since: datetime, tenant: str) -> dict[str, int]:
        """Matched articles per fact id, first seen since ``since`` (only fact rows are indexed by ref)."""
        q = (
            sa.select(t.matches.c.ref, sa.func.count())
            .select_from(t.matches)
            .join(t.articles, t.articles.c.id == t.matches.c.article_id)
            .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
            .where(t.FACT_HIT, t.articles.c.first_seen >= since, visible_to(tenant))
            .group_by(t.matches.c.ref)
        )

        async def fn(c: AsyncConnection) -> dict[str, int]:
            return {r[0]: int(r[1]) for r in await c.execute(q)}

        return await self._read("fact_match_counts", fn)

    async def fact_latest_matches(self, *, ref: str, tenant: str, limit: int) -> list[MatchedArticle]:
        """The newest articles matched by one fact, one per story."""
        q = (
            sa.select(
                t.articles.c.id,
                t.articles.c.title,
                t.articles.c.url,
                t.articles.c.source,
                t.articles.c.published,
                t.articles.c.story_id,
                t.matches.c.evidence,
            )
            .select_from(t.matches)
            .join(t.articles, t.articles.c.id == t.matches.c.article_id)
            .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
            .where(t.FACT_HIT, t.matches.c.ref == ref, visible_to(tenant))
            .order_by(t.articles.c.first_seen.desc(), t.articles.c.id.desc())
            .limit(limit * 5)
        )

        async def fn(c: AsyncConnection) -> list[MatchedArticle]:
            out: list[MatchedArticle] = []
            seen: set[int] = set()
            for r in await c.execute(q):
                if r.story_id is not None:
                    if r.story_id in seen:
                        continue
                    seen.add(r.story_id)
                out.append(
                    MatchedArticle(
                        article_id=r.id,
                        title=r.title,
                        url=r.url,
                        source=r.source,
                        published=r.published,
                        evidence=EVIDENCE_ADAPTER.validate_json(r.evidence) if r.evidence else None,
                    )
                )
                if len(out) >= limit:
                    break
            return out

        return await self._read("fact_latest_matches", fn)

    # --- retention ---------------------------------------------------------------------------------

    async def delete_articles_before(self, cutoff: datetime) -> int:
        """Retention: drop articles first seen before ``cutoff`` (their matches go with them), pages first
        wanted before it, settled deliveries created before it, and the stories left without articles."""

        async def fn(c: AsyncConnection) -> int:
            res = await c.execute(sa.delete(t.articles).where(t.articles.c.first_seen < cutoff))
            await c.execute(sa.delete(t.pages).where(t.pages.c.created_at < cutoff))
            await c.execute(
                sa.delete(t.deliveries).where(
                    t.deliveries.c.status.in_(["sent", "rejected"]), t.deliveries.c.created_at < cutoff
                )
            )
            await c.execute(
                sa.delete(t.stories).where(
                    t.stories.c.last_seen < cutoff,
                    ~sa.exists().where(t.articles.c.story_id == t.stories.c.id),
                )
            )
            return int(res.rowcount or 0)

        return await self._write("retention", fn)
