"""Stories (articles about the same event, clustered) and digests (one run per subscription and
scheduled time, each moving the subscription's window forward atomically)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.crashpoints import crashpoint
from bot.store import tables as t
from bot.store.base import Conflict, StoreBase
from bot.store.rows import (
    PlannedDelivery,
    StoredArticle,
    articles_with_feed_url,
    delivery_values,
    stored_article,
)


@dataclasses.dataclass(frozen=True, slots=True)
class StoryAssignment:
    """One article's story decision: join ``story_id`` (> 0), or start the new story that the negative key
    ``story_id`` stands for in its batch (``title`` and ``lang`` are the new story's)."""

    article_id: int
    story_id: int
    title: str = ""
    lang: str = ""


# (story id, first seen, its articles, (article id, kind, ref) of their fact/watch matches)
StoryInWindow = tuple[int, datetime, list[StoredArticle], list[tuple[int, str, str]]]


class StoriesMixin(StoreBase):
    # --- stories -----------------------------------------------------------------------------------

    async def assign_stories(
        self, batch: Sequence[StoryAssignment], *, now: datetime
    ) -> tuple[dict[int, int], int]:
        """Write a batch of story decisions in one transaction: each article joins its story, or (a
        negative ``story_id``, a key within the batch) the new story its key stands for, made once for all
        the articles with that key. An article another writer put in a story meanwhile keeps it, and a new
        story none of whose articles are left is not made. The batch is numbered (``story_seq``, one above
        the last) for the other processes' story indexes; call it under the story lock
        (``LockKey.STORIES``), which serialises the numbering across processes.

        Returns article id -> the story it ends up in, and the batch's number."""

        async def fn(c: AsyncConnection) -> tuple[dict[int, int], int]:
            ids = [a.article_id for a in batch]
            already: dict[int, int] = {}
            for i in range(0, len(ids), 500):
                q = sa.select(t.articles.c.id, t.articles.c.story_id).where(
                    t.articles.c.id.in_(ids[i : i + 500]), t.articles.c.story_id.is_not(None)
                )
                already.update({int(r.id): int(r.story_id) for r in await c.execute(q)})
            current = (await c.execute(sa.select(t.meta.c.value).where(t.meta.c.key == "story_seq"))).scalar()
            seq = int(current or 0) + 1
            new: dict[int, StoryAssignment] = {}  # a new story's key -> the first article with it
            for a in batch:
                if a.story_id < 0 and a.article_id not in already:
                    new.setdefault(a.story_id, a)
            made: dict[int, int] = {}  # a new story's key -> its id
            if new:
                # One multi-row INSERT. RETURNING gives no order, so each new id is found by its row's
                # title and language: rows that share those are equal in every column but the id (the
                # times are ``now`` for all), so which of them a key gets makes no difference.
                row_of = {key: (a.title[:2000], a.lang) for key, a in new.items()}
                rows = [
                    {"title": title, "lang": lang, "first_seen": now, "last_seen": now}
                    for title, lang in row_of.values()
                ]
                by_row: dict[tuple[str, str], list[int]] = {}
                for sid, title, lang in await self._insert_returning(
                    c, t.stories, rows, conflict=None, returning=("id", "title", "lang")
                ):
                    by_row.setdefault((title, lang), []).append(int(sid))
                made = {key: by_row[row].pop() for key, row in row_of.items()}
            out = dict(already)
            todo = [a for a in batch if a.article_id not in already]
            for a in todo:
                out[a.article_id] = made[a.story_id] if a.story_id < 0 else a.story_id
            if todo:
                await c.execute(
                    sa.update(t.articles)
                    .where(t.articles.c.id == sa.bindparam("b_aid"), t.articles.c.story_id.is_(None))
                    .values(story_id=sa.bindparam("b_sid"), story_seq=seq),
                    [{"b_aid": a.article_id, "b_sid": out[a.article_id]} for a in todo],
                )
                # Another writer may have assigned some of them between the SELECT above (which takes no
                # lock) and this UPDATE: read back where each ended up, and drop a story left empty.
                for i in range(0, len(todo), 500):
                    q = sa.select(t.articles.c.id, t.articles.c.story_id).where(
                        t.articles.c.id.in_([a.article_id for a in todo[i : i + 500]])
                    )
                    out.update({int(r.id): int(r.story_id) for r in await c.execute(q) if r.story_id})
                empty = sorted(set(made.values()) - set(out.values()))
                if empty:
                    await c.execute(sa.delete(t.stories).where(t.stories.c.id.in_(empty)))
                joined = sorted({a.story_id for a in todo if a.story_id > 0})
                for i in range(0, len(joined), 500):
                    await c.execute(
                        sa.update(t.stories)
                        .where(t.stories.c.id.in_(joined[i : i + 500]), t.stories.c.last_seen < now)
                        .values(last_seen=now)
                    )
            stmt = self._insert(t.meta).values(key="story_seq", value=str(seq))
            await c.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": str(seq)}))
            crashpoint("store.assign_stories.uncommitted")
            return out, seq

        result = await self._write("assign_stories", fn)
        crashpoint("store.story_assigned")
        return result

    async def unclustered_articles(self, since: datetime, *, limit: int) -> list[StoredArticle]:
        """Articles first seen since ``since`` that no story holds yet (seeded backlogs), oldest first."""
        q = (
            articles_with_feed_url()
            .where(t.articles.c.first_seen >= since, t.articles.c.story_id.is_(None))
            .order_by(t.articles.c.first_seen, t.articles.c.id)
            .limit(limit)
        )
        return await self._fetch_all("unclustered_articles", q, stored_article)

    async def clustered_articles(self, since: datetime, *, limit: int) -> list[StoredArticle]:
        """The most recent ``limit`` articles with a story, first seen since ``since``, oldest first."""
        q = (
            articles_with_feed_url()
            .where(t.articles.c.first_seen >= since, t.articles.c.story_id.is_not(None))
            .order_by(t.articles.c.first_seen.desc(), t.articles.c.id.desc())
            .limit(limit)
        )
        return (await self._fetch_all("clustered_articles", q, stored_article))[::-1]

    async def story_seq(self) -> int:
        """The number of the latest story assignment batch (0 before the first)."""
        return int(await self.get_meta("story_seq") or 0)

    async def story_assignments_after(
        self, seq: int, since: datetime, *, limit: int
    ) -> tuple[list[StoredArticle], int]:
        """Articles first seen since ``since`` put in a story by a batch numbered above ``seq`` (another
        process's), in the order they were assigned; and the highest batch number among them (``seq`` when
        there are none)."""
        q = (
            articles_with_feed_url()
            .add_columns(t.articles.c.story_seq.label("assigned_seq"))
            .where(t.articles.c.story_seq > seq, t.articles.c.first_seen >= since)
            .order_by(t.articles.c.story_seq, t.articles.c.id)
            .limit(limit)
        )

        async def fn(c: AsyncConnection) -> tuple[list[StoredArticle], int]:
            rows = list(await c.execute(q))
            top = max((int(r.assigned_seq) for r in rows), default=seq)
            return [stored_article(r) for r in rows], top

        return await self._read("story_assignments_after", fn)

    async def stories_in_window(
        self, start: datetime, end: datetime | None, *, limit: int = 20_000
    ) -> list[StoryInWindow]:
        """Stories first seen in [start, end): (story id, first seen, its articles first seen before
        ``end``, (article id, kind, ref) of their fact/watch matches)."""

        async def fn(c: AsyncConnection) -> list[StoryInWindow]:
            q = sa.select(t.stories.c.id, t.stories.c.first_seen).where(t.stories.c.first_seen >= start)
            if end is not None:
                q = q.where(t.stories.c.first_seen < end)
            stories = list(await c.execute(q.order_by(t.stories.c.first_seen, t.stories.c.id).limit(limit)))
            out: list[StoryInWindow] = []
            for i in range(0, len(stories), 500):
                chunk = {r.id: r.first_seen for r in stories[i : i + 500]}
                aq = (
                    articles_with_feed_url()
                    .where(t.articles.c.story_id.in_(list(chunk)))
                    .order_by(t.articles.c.published, t.articles.c.id)
                )
                if end is not None:
                    aq = aq.where(t.articles.c.first_seen < end)
                arts: dict[int, list[StoredArticle]] = {sid: [] for sid in chunk}
                for r in await c.execute(aq):
                    arts[r.story_id].append(stored_article(r))
                ids = [a.id for lst in arts.values() for a in lst]
                hits: dict[int, list[tuple[int, str, str]]] = {sid: [] for sid in chunk}
                story_of = {a.id: sid for sid, lst in arts.items() for a in lst}
                for j in range(0, len(ids), 500):
                    mq = sa.select(t.matches.c.article_id, t.matches.c.kind, t.matches.c.ref).where(
                        t.matches.c.article_id.in_(ids[j : j + 500]), t.matches.c.kind.in_(["fact", "watch"])
                    )
                    for m in await c.execute(mq):
                        hits[story_of[m.article_id]].append((m.article_id, m.kind, m.ref))
                out += [(sid, first, arts[sid], hits[sid]) for sid, first in chunk.items() if arts[sid]]
            return out

        return await self._read("stories_in_window", fn)

    async def facts_seen_before(self, before: datetime) -> set[str]:
        """Fact ids with any match on an article first seen before ``before``."""
        q = (
            sa.select(t.matches.c.ref)
            .distinct()
            .join(t.articles, t.articles.c.id == t.matches.c.article_id)
            .where(t.FACT_HIT, t.articles.c.first_seen < before)
        )
        return set(await self._fetch_all("facts_seen_before", q, lambda r: str(r.ref)))

    async def fact_story_days(self, since: datetime) -> list[tuple[int, str, datetime]]:
        """(story id, fact id, earliest publication among the story's articles matching that fact)."""
        q = (
            sa.select(
                t.articles.c.story_id,
                t.matches.c.ref,
                sa.func.min(t.articles.c.published).label("earliest"),
            )
            .join(t.matches, t.matches.c.article_id == t.articles.c.id)
            .where(
                t.FACT_HIT,
                t.articles.c.story_id.is_not(None),
                t.articles.c.published >= since,
            )
            .group_by(t.articles.c.story_id, t.matches.c.ref)
        )
        # func.min keeps the column's type, so the value comes back timezone-aware UTC.
        return await self._fetch_all(
            "fact_story_days", q, lambda r: (int(r.story_id), str(r.ref), r.earliest)
        )

    # --- digests -----------------------------------------------------------------------------------

    async def commit_digest(
        self,
        subscription_id: int,
        *,
        scheduled_for: datetime,
        window_start: datetime,
        window_end: datetime,
        expected_last: datetime | None,
        delivery: PlannedDelivery | None,
        now: datetime,
    ) -> bool:
        """Record one digest run atomically: the run row (unique per (subscription, scheduled_for)), the
        delivery, the held alerts it absorbs, and the new window start. False, with nothing written, when
        this run was already done or another run moved the window meanwhile."""

        async def fn(c: AsyncConnection) -> None:
            current = (
                await c.execute(
                    sa.select(t.subscriptions.c.last_digest_at).where(t.subscriptions.c.id == subscription_id)
                )
            ).first()
            if current is None or current[0] != expected_last:
                raise Conflict("window moved")
            ins = (
                self._insert(t.digest_runs)
                .values(
                    subscription_id=subscription_id,
                    scheduled_for=scheduled_for,
                    window_start=window_start,
                    window_end=window_end,
                    delivery_key=delivery.key if delivery else None,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["subscription_id", "scheduled_for"])
                .returning(t.digest_runs.c.id)
            )
            if not (await c.execute(ins)).first():
                raise Conflict("already ran")
            if delivery is not None:
                await self._insert_new(c, t.deliveries, delivery_values(delivery, now), unique=["key"])
            await c.execute(
                sa.update(t.deliveries)
                .where(
                    t.deliveries.c.subscription_id == subscription_id,
                    t.deliveries.c.status == "held",
                    t.deliveries.c.created_at < window_end,
                )
                .values(status="rolled")
            )
            await c.execute(
                sa.update(t.subscriptions)
                .where(t.subscriptions.c.id == subscription_id)
                .values(last_digest_at=window_end)
            )

        return await self._write_unless_conflict("commit_digest", fn)

    async def digest_run_exists(self, subscription_id: int, scheduled_for: datetime) -> bool:
        q = sa.select(t.digest_runs.c.id).where(
            t.digest_runs.c.subscription_id == subscription_id,
            t.digest_runs.c.scheduled_for == scheduled_for,
        )
        return await self._fetch_first("digest_run_exists", q, lambda r: True) is not None
