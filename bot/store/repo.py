"""The store: every read and write the bot makes, as async methods over SQLAlchemy Core.

SQLite and PostgreSQL are both first-class: inserts that may collide use the dialect's
``ON CONFLICT DO NOTHING``; the outbox claim uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and SQLite's
single-writer lock, so two processes never claim the same delivery.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import pydantic
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.crashpoints import crashpoint
from bot.models import (
    PAYLOAD_ADAPTER,
    Article,
    Delivery,
    Evidence,
    FeedSpec,
    MatchResult,
    Payload,
    Platform,
)
from bot.store import tables as t
from bot.store.db import make_engine, migrate, with_retry

log = logging.getLogger(__name__)

EVIDENCE_ADAPTER: pydantic.TypeAdapter[Evidence] = pydantic.TypeAdapter(Evidence)


@dataclasses.dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    url: str
    tenant: str
    name: str
    language: str | None
    interval_s: int | None
    origin: str
    enabled: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    seeded: bool
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    failure_count: int
    next_poll_at: datetime | None
    items_count: int
    created_at: datetime

    @property
    def spec(self) -> FeedSpec:
        return FeedSpec(
            url=self.url,
            name=self.name,
            language=self.language,
            interval=self.interval_s,
            origin="chat" if self.origin == "chat" else "operator",
            tenant=self.tenant or None,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class WatchRow:
    id: int
    platform: str
    tenant: str
    channel: str
    query: str
    label: str
    alert: bool
    created_by: str
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: int
    platform: str
    tenant: str
    channel: str
    facts: tuple[str, ...] | None
    alerts: str
    digest_cron: str | None
    timezone: str
    mention_role: str | None
    empty_digest: str
    quiet_start: str | None
    quiet_end: str | None
    paused: bool
    paused_reason: str | None
    origin: str
    last_digest_at: datetime | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    feed_id: int
    article: Article
    relevant: bool
    seeded: bool
    first_seen: datetime
    story_id: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """A delivery to enqueue: ``key`` is unique per (subscription, item), so enqueueing twice is a no-op."""

    key: str
    subscription_id: int
    kind: Literal["alert", "digest", "summary"]
    payload: Payload
    story_id: int | None = None
    status: Literal["pending", "held"] = "pending"
    not_before: datetime | None = None


def _article_values(feed_id: int, a: Article, *, now: datetime, seeded: bool) -> dict[str, Any]:
    """The articles row for a newly seen article."""
    return {
        "feed_id": feed_id,
        "entry_id": a.entry_id,
        "url": a.url,
        "title": a.title,
        "summary": a.summary,
        "published": a.published,
        "published_known": a.published_known,
        "first_seen": now,
        "lang": a.lang,
        "source": a.source,
        "seeded": seeded,
    }


def _delivery_values(p: PlannedDelivery, now: datetime) -> dict[str, Any]:
    """The outbox row for a planned delivery."""
    return {
        "key": p.key,
        "subscription_id": p.subscription_id,
        "kind": p.kind,
        "story_id": p.story_id,
        "payload": PAYLOAD_ADAPTER.dump_json(p.payload).decode(),
        "status": p.status,
        "not_before": p.not_before or now,
        "created_at": now,
    }


def _feed_row(r: sa.Row[Any]) -> FeedRow:
    return FeedRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(FeedRow)})


def _watch_row(r: sa.Row[Any]) -> WatchRow:
    return WatchRow(**{f.name: getattr(r, f.name) for f in dataclasses.fields(WatchRow)})


def _sub_row(r: sa.Row[Any]) -> SubscriptionRow:
    values = {f.name: getattr(r, f.name) for f in dataclasses.fields(SubscriptionRow)}
    values["facts"] = tuple(json.loads(r.facts)) if r.facts is not None else None
    return SubscriptionRow(**values)


def _article_of(r: sa.Row[Any], feed_url: str) -> StoredArticle:
    return StoredArticle(
        id=r.id,
        feed_id=r.feed_id,
        article=Article(
            feed_url=feed_url,
            entry_id=r.entry_id,
            url=r.url,
            title=r.title,
            summary=r.summary,
            published=r.published,
            lang=r.lang,
            source=r.source,
            published_known=r.published_known,
        ),
        relevant=r.relevant,
        seeded=r.seeded,
        first_seen=r.first_seen,
        story_id=r.story_id,
    )


class Store:
    """The database behind pactwatch. Build with ``await Store.open(url)``; close with ``await close()``."""

    def __init__(self, engine: AsyncEngine, *, retry_attempts: int = 8) -> None:
        self.engine = engine
        self.retry_attempts = retry_attempts
        self.dialect = engine.dialect.name

    @classmethod
    async def open(cls, url: str, *, retry_attempts: int = 8, run_migrations: bool = True) -> Store:
        engine = make_engine(url)
        store = cls(engine, retry_attempts=retry_attempts)
        if run_migrations:
            await with_retry(lambda: migrate(engine), attempts=retry_attempts, what="migrations")
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    # --- plumbing ----------------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        return (pg.insert if self.dialect == "postgresql" else sqlite_dialect.insert)(table)

    async def _write(self, what: str, fn: Any) -> Any:
        async def op() -> Any:
            async with self.engine.begin() as conn:
                return await fn(conn)

        return await with_retry(op, attempts=self.retry_attempts, what=what)

    async def _read(self, what: str, fn: Any) -> Any:
        async def op() -> Any:
            async with self.engine.connect() as conn:
                return await fn(conn)

        return await with_retry(op, attempts=self.retry_attempts, what=what)

    # --- meta --------------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async def fn(c: AsyncConnection) -> str | None:
            return (await c.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key))).scalar()

        result: str | None = await self._read("get_meta", fn)
        return result

    async def set_meta(self, key: str, value: str) -> None:
        async def fn(c: AsyncConnection) -> None:
            stmt = self._insert(t.meta).values(key=key, value=value)
            await c.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

        await self._write("set_meta", fn)

    async def _bump(self, c: AsyncConnection, key: str) -> None:
        stmt = self._insert(t.meta).values(key=key, value=uuid.uuid4().hex)
        await c.execute(
            stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value})
        )

    # --- feeds -------------------------------------------------------------------------------------

    async def sync_operator_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> list[FeedRow]:
        """Make the operator's feeds (tenant "") exactly ``specs``: add new ones, update names/intervals,
        disable ones no longer configured (their articles stay)."""

        async def fn(c: AsyncConnection) -> list[FeedRow]:
            urls = [s.url for s in specs]
            for s in specs:
                stmt = self._insert(t.feeds).values(
                    url=s.url,
                    tenant="",
                    name=s.name,
                    language=s.language,
                    interval_s=s.interval,
                    origin="operator",
                    enabled=True,
                    created_at=now,
                )
                await c.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["url", "tenant"],
                        set_={
                            "name": s.name,
                            "language": s.language,
                            "interval_s": s.interval,
                            "enabled": True,
                        },
                    )
                )
            await c.execute(
                sa.update(t.feeds)
                .where(t.feeds.c.tenant == "", t.feeds.c.origin == "operator", t.feeds.c.url.not_in(urls))
                .values(enabled=False)
            )
            rows = await c.execute(sa.select(t.feeds).where(t.feeds.c.tenant == "", t.feeds.c.url.in_(urls)))
            return [_feed_row(r) for r in rows]

        result: list[FeedRow] = await self._write("sync_operator_feeds", fn)
        return result

    async def ensure_feed(self, spec: FeedSpec, now: datetime) -> FeedRow:
        """The feed row for ``spec`` (tenant "" unless the spec names one), created if missing."""
        tenant = spec.tenant or ""

        async def fn(c: AsyncConnection) -> FeedRow:
            stmt = self._insert(t.feeds).values(
                url=spec.url,
                tenant=tenant,
                name=spec.name,
                language=spec.language,
                interval_s=spec.interval,
                origin=spec.origin,
                created_at=now,
            )
            await c.execute(stmt.on_conflict_do_nothing(index_elements=["url", "tenant"]))
            row = (
                await c.execute(
                    sa.select(t.feeds).where(t.feeds.c.url == spec.url, t.feeds.c.tenant == tenant)
                )
            ).one()
            return _feed_row(row)

        result: FeedRow = await self._write("ensure_feed", fn)
        return result

    async def add_chat_feed(self, spec: FeedSpec, now: datetime, *, quota: int) -> FeedRow | None:
        """Add a feed from chat for its tenant. None when the tenant already has it. Raises
        ``QuotaError`` when the tenant is at its quota."""
        assert spec.tenant

        async def fn(c: AsyncConnection) -> FeedRow | None:
            count = (
                await c.execute(
                    sa.select(sa.func.count()).select_from(t.feeds).where(t.feeds.c.tenant == spec.tenant)
                )
            ).scalar_one()
            exists = (
                await c.execute(
                    sa.select(t.feeds.c.id).where(t.feeds.c.tenant == spec.tenant, t.feeds.c.url == spec.url)
                )
            ).first()
            if exists:
                return None
            if count >= quota:
                raise QuotaError(f"this server already has {count} feeds, the most allowed; remove one first")
            res = await c.execute(
                sa.insert(t.feeds)
                .values(
                    url=spec.url,
                    tenant=spec.tenant,
                    name=spec.name,
                    language=spec.language,
                    interval_s=spec.interval,
                    origin="chat",
                    created_at=now,
                )
                .returning(*t.feeds.c)
            )
            return _feed_row(res.one())

        result: FeedRow | None = await self._write("add_chat_feed", fn)
        return result

    async def remove_feed(self, feed_id: int, *, tenant: str) -> bool:
        """Remove a chat-added feed of ``tenant``; operator feeds cannot be removed from chat."""

        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.delete(t.feeds).where(t.feeds.c.id == feed_id, t.feeds.c.tenant == tenant)
            )
            return bool(res.rowcount)

        result: bool = await self._write("remove_feed", fn)
        return result

    async def list_feeds(self, *, tenant: str | None = None, enabled_only: bool = True) -> list[FeedRow]:
        """Feeds visible to ``tenant`` (the operator's plus its own); every feed when tenant is None."""

        async def fn(c: AsyncConnection) -> list[FeedRow]:
            q = sa.select(t.feeds).order_by(t.feeds.c.id)
            if enabled_only:
                q = q.where(t.feeds.c.enabled)
            if tenant is not None:
                q = q.where(t.feeds.c.tenant.in_(["", tenant]))
            return [_feed_row(r) for r in await c.execute(q)]

        result: list[FeedRow] = await self._read("list_feeds", fn)
        return result

    async def get_feed(self, feed_id: int) -> FeedRow | None:
        async def fn(c: AsyncConnection) -> FeedRow | None:
            r = (await c.execute(sa.select(t.feeds).where(t.feeds.c.id == feed_id))).first()
            return _feed_row(r) if r else None

        result: FeedRow | None = await self._read("get_feed", fn)
        return result

    async def due_feeds(self, now: datetime) -> list[FeedRow]:
        async def fn(c: AsyncConnection) -> list[FeedRow]:
            q = (
                sa.select(t.feeds)
                .where(
                    t.feeds.c.enabled,
                    sa.or_(t.feeds.c.next_poll_at.is_(None), t.feeds.c.next_poll_at <= now),
                )
                .order_by(t.feeds.c.next_poll_at.nulls_first(), t.feeds.c.id)
            )
            return [_feed_row(r) for r in await c.execute(q)]

        result: list[FeedRow] = await self._read("due_feeds", fn)
        return result

    async def record_feed_success(
        self,
        feed_id: int,
        *,
        now: datetime,
        next_poll_at: datetime,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        seeded: bool,
        new_items: int,
    ) -> None:
        async def fn(c: AsyncConnection) -> None:
            await c.execute(
                sa.update(t.feeds)
                .where(t.feeds.c.id == feed_id)
                .values(
                    last_poll_at=now,
                    last_success_at=now,
                    failure_count=0,
                    next_poll_at=next_poll_at,
                    # A validator too long to store is dropped (we refetch in full) rather than cut.
                    etag=etag if etag is None or len(etag) <= 1024 else None,
                    last_modified=None if last_modified and len(last_modified) > 256 else last_modified,
                    body_hash=body_hash,
                    seeded=seeded,
                    items_count=t.feeds.c.items_count + new_items,
                )
            )

        await self._write("record_feed_success", fn)

    async def record_feed_failure(
        self, feed_id: int, *, now: datetime, error: str, next_poll_at: datetime
    ) -> int:
        """Record a failed poll; returns the new consecutive failure count."""

        async def fn(c: AsyncConnection) -> int:
            res = await c.execute(
                sa.update(t.feeds)
                .where(t.feeds.c.id == feed_id)
                .values(
                    last_poll_at=now,
                    last_error_at=now,
                    last_error=error[:2000],
                    failure_count=t.feeds.c.failure_count + 1,
                    next_poll_at=next_poll_at,
                )
                .returning(t.feeds.c.failure_count)
            )
            return int(res.scalar_one())

        result: int = await self._write("record_feed_failure", fn)
        return result

    # --- articles and matches ----------------------------------------------------------------------

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
            rows = [_article_values(feed_id, a, now=now, seeded=seeded) for a in by_entry.values()]
            stmt = (
                self._insert(t.articles)
                .on_conflict_do_nothing(index_elements=["feed_id", "entry_id"])
                .returning(t.articles.c.id, t.articles.c.entry_id)
            )
            out: list[tuple[int, Article]] = []
            # Bounded statement size: SQLite allows at most 32,766 bound parameters.
            for i in range(0, len(rows), 200):
                for r in await c.execute(stmt.values(rows[i : i + 200])):
                    out.append((r.id, by_entry[r.entry_id]))
            crashpoint("store.insert_articles.uncommitted")
            return out

        result: list[tuple[int, Article]] = await self._write("insert_articles", fn)
        return result

    async def articles_of_unfinished_polls(
        self, feed_id: int, *, after: datetime | None, exclude: set[int]
    ) -> list[tuple[int, Article]]:
        """(id, article) of this feed's articles first seen after ``after`` (the feed's last recorded
        success; None: any), except ``exclude``: stored by a poll that died before it finished."""

        async def fn(c: AsyncConnection) -> list[tuple[int, Article]]:
            q = (
                sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                .where(t.articles.c.feed_id == feed_id)
                .order_by(t.articles.c.id)
            )
            if after is not None:
                q = q.where(t.articles.c.first_seen > after)
            rows = [_article_of(r, r.feed_url) for r in await c.execute(q)]
            return [(a.id, a.article) for a in rows if a.id not in exclude]

        result: list[tuple[int, Article]] = await self._read("articles_of_unfinished_polls", fn)
        return result

    async def store_matches(self, results: Iterable[tuple[int, MatchResult]]) -> None:
        """Record relevance and every fact/watch hit with its evidence."""
        results = list(results)
        if not results:
            return

        async def fn(c: AsyncConnection) -> None:
            relevant_ids = [aid for aid, m in results if m.relevant]
            if relevant_ids:
                for i in range(0, len(relevant_ids), 500):
                    await c.execute(
                        sa.update(t.articles)
                        .where(t.articles.c.id.in_(relevant_ids[i : i + 500]))
                        .values(relevant=True)
                    )
            rows = []
            for aid, m in results:
                for hit in (*m.facts, *m.watches):
                    rows.append(
                        {
                            "article_id": aid,
                            "kind": hit.kind,
                            "ref": hit.ref,
                            "evidence": EVIDENCE_ADAPTER.dump_json(hit.evidence).decode(),
                        }
                    )
                if m.relevance is not None:
                    rows.append(
                        {
                            "article_id": aid,
                            "kind": "relevance",
                            "ref": "",
                            "evidence": EVIDENCE_ADAPTER.dump_json(m.relevance).decode(),
                        }
                    )
            for i in range(0, len(rows), 200):
                await c.execute(
                    self._insert(t.matches)
                    .values(rows[i : i + 200])
                    .on_conflict_do_nothing(index_elements=["article_id", "kind", "ref"])
                )
            crashpoint("store.store_matches.uncommitted")

        await self._write("store_matches", fn)

    async def article_matches(self, article_id: int) -> list[tuple[str, str, Evidence]]:
        """(kind, ref, evidence) for every match of one article."""

        async def fn(c: AsyncConnection) -> list[tuple[str, str, Evidence]]:
            rows = await c.execute(
                sa.select(t.matches.c.kind, t.matches.c.ref, t.matches.c.evidence)
                .where(t.matches.c.article_id == article_id)
                .order_by(t.matches.c.id)
            )
            return [(r.kind, r.ref, EVIDENCE_ADAPTER.validate_json(r.evidence)) for r in rows]

        result: list[tuple[str, str, Evidence]] = await self._read("article_matches", fn)
        return result

    async def get_article(self, article_id: int) -> StoredArticle | None:
        async def fn(c: AsyncConnection) -> StoredArticle | None:
            r = (
                await c.execute(
                    sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                    .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                    .where(t.articles.c.id == article_id)
                )
            ).first()
            return _article_of(r, r.feed_url) if r else None

        result: StoredArticle | None = await self._read("get_article", fn)
        return result

    async def find_article_by_url(self, url: str) -> StoredArticle | None:
        async def fn(c: AsyncConnection) -> StoredArticle | None:
            r = (
                await c.execute(
                    sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                    .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                    .where(t.articles.c.url == url)
                    .order_by(t.articles.c.id)
                    .limit(1)
                )
            ).first()
            return _article_of(r, r.feed_url) if r else None

        result: StoredArticle | None = await self._read("find_article_by_url", fn)
        return result

    async def articles_since(
        self, since: datetime, *, until: datetime | None = None, limit: int = 100_000
    ) -> list[StoredArticle]:
        """Articles first seen in [since, until), oldest first."""

        async def fn(c: AsyncConnection) -> list[StoredArticle]:
            q = (
                sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                .where(t.articles.c.first_seen >= since)
                .order_by(t.articles.c.first_seen, t.articles.c.id)
                .limit(limit)
            )
            if until is not None:
                q = q.where(t.articles.c.first_seen < until)
            return [_article_of(r, r.feed_url) for r in await c.execute(q)]

        result: list[StoredArticle] = await self._read("articles_since", fn)
        return result

    async def delete_articles_before(self, cutoff: datetime) -> int:
        """Retention: drop articles first seen before ``cutoff`` (their matches go with them)."""

        async def fn(c: AsyncConnection) -> int:
            res = await c.execute(sa.delete(t.articles).where(t.articles.c.first_seen < cutoff))
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

        result: int = await self._write("retention", fn)
        return result

    # --- watches -----------------------------------------------------------------------------------

    async def add_watch(
        self,
        *,
        platform: str,
        tenant: str,
        channel: str,
        query: str,
        label: str,
        alert: bool,
        created_by: str,
        now: datetime,
        quota: int,
    ) -> WatchRow:
        async def fn(c: AsyncConnection) -> WatchRow:
            count = (
                await c.execute(
                    sa.select(sa.func.count()).select_from(t.watches).where(t.watches.c.tenant == tenant)
                )
            ).scalar_one()
            if count >= quota:
                raise QuotaError(
                    f"this server already has {count} watches, the most allowed; remove one first"
                )
            res = await c.execute(
                sa.insert(t.watches)
                .values(
                    platform=platform,
                    tenant=tenant,
                    channel=channel,
                    query=query,
                    label=label,
                    alert=alert,
                    created_by=created_by,
                    created_at=now,
                )
                .returning(*t.watches.c)
            )
            await self._bump(c, "watches_rev")
            return _watch_row(res.one())

        result: WatchRow = await self._write("add_watch", fn)
        return result

    async def remove_watch(self, watch_id: int, *, platform: str, channel: str) -> bool:
        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.delete(t.watches).where(
                    t.watches.c.id == watch_id,
                    t.watches.c.platform == platform,
                    t.watches.c.channel == channel,
                )
            )
            if res.rowcount:
                await self._bump(c, "watches_rev")
            return bool(res.rowcount)

        result: bool = await self._write("remove_watch", fn)
        return result

    async def list_watches(
        self, *, platform: str | None = None, channel: str | None = None, tenant: str | None = None
    ) -> list[WatchRow]:
        async def fn(c: AsyncConnection) -> list[WatchRow]:
            q = sa.select(t.watches).order_by(t.watches.c.id)
            if platform is not None:
                q = q.where(t.watches.c.platform == platform)
            if channel is not None:
                q = q.where(t.watches.c.channel == channel)
            if tenant is not None:
                q = q.where(t.watches.c.tenant == tenant)
            return [_watch_row(r) for r in await c.execute(q)]

        result: list[WatchRow] = await self._read("list_watches", fn)
        return result

    async def watches_revision(self) -> str:
        return (await self.get_meta("watches_rev")) or ""

    # --- subscriptions -----------------------------------------------------------------------------

    async def upsert_subscription(
        self,
        *,
        platform: str,
        channel: str,
        tenant: str = "",
        now: datetime,
        origin: str = "chat",
        **fields: Any,
    ) -> SubscriptionRow:
        """Create or update the subscription of one channel. ``fields`` are column values
        (``facts`` as a list or None, ``alerts``, ``digest_cron``, ``timezone``, …)."""
        if "facts" in fields:
            fields["facts"] = json.dumps(list(fields["facts"])) if fields["facts"] is not None else None

        async def fn(c: AsyncConnection) -> SubscriptionRow:
            stmt = self._insert(t.subscriptions).values(
                platform=platform, channel=channel, tenant=tenant, origin=origin, created_at=now, **fields
            )
            if fields:
                stmt = stmt.on_conflict_do_update(index_elements=["platform", "channel"], set_=fields)
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=["platform", "channel"])
            await c.execute(stmt)
            row = (
                await c.execute(
                    sa.select(t.subscriptions).where(
                        t.subscriptions.c.platform == platform, t.subscriptions.c.channel == channel
                    )
                )
            ).one()
            await self._bump(c, "subscriptions_rev")
            return _sub_row(row)

        result: SubscriptionRow = await self._write("upsert_subscription", fn)
        return result

    async def get_subscription(self, platform: str, channel: str) -> SubscriptionRow | None:
        async def fn(c: AsyncConnection) -> SubscriptionRow | None:
            r = (
                await c.execute(
                    sa.select(t.subscriptions).where(
                        t.subscriptions.c.platform == platform, t.subscriptions.c.channel == channel
                    )
                )
            ).first()
            return _sub_row(r) if r else None

        result: SubscriptionRow | None = await self._read("get_subscription", fn)
        return result

    async def get_subscription_by_id(self, sub_id: int) -> SubscriptionRow | None:
        async def fn(c: AsyncConnection) -> SubscriptionRow | None:
            r = (await c.execute(sa.select(t.subscriptions).where(t.subscriptions.c.id == sub_id))).first()
            return _sub_row(r) if r else None

        result: SubscriptionRow | None = await self._read("get_subscription_by_id", fn)
        return result

    async def list_subscriptions(self, *, platform: str | None = None) -> list[SubscriptionRow]:
        async def fn(c: AsyncConnection) -> list[SubscriptionRow]:
            q = sa.select(t.subscriptions).order_by(t.subscriptions.c.id)
            if platform is not None:
                q = q.where(t.subscriptions.c.platform == platform)
            return [_sub_row(r) for r in await c.execute(q)]

        result: list[SubscriptionRow] = await self._read("list_subscriptions", fn)
        return result

    async def delete_subscription(self, platform: str, channel: str) -> bool:
        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.delete(t.subscriptions).where(
                    t.subscriptions.c.platform == platform, t.subscriptions.c.channel == channel
                )
            )
            await self._bump(c, "subscriptions_rev")
            return bool(res.rowcount)

        result: bool = await self._write("delete_subscription", fn)
        return result

    async def set_paused(self, sub_id: int, paused: bool, reason: str | None = None) -> None:
        async def fn(c: AsyncConnection) -> None:
            await c.execute(
                sa.update(t.subscriptions)
                .where(t.subscriptions.c.id == sub_id)
                .values(paused=paused, paused_reason=reason if paused else None)
            )
            if not paused:
                # Deliveries held back while the channel refused us go out again.
                await c.execute(
                    sa.update(t.deliveries)
                    .where(t.deliveries.c.subscription_id == sub_id, t.deliveries.c.status == "paused")
                    .values(status="pending", lease_owner=None, lease_until=None)
                )

        await self._write("set_paused", fn)

    async def delete_tenant(self, tenant: str) -> None:
        """Remove everything a server or workspace configured (the bot left it / was uninstalled)."""

        async def fn(c: AsyncConnection) -> None:
            await c.execute(sa.delete(t.watches).where(t.watches.c.tenant == tenant))
            await c.execute(sa.delete(t.subscriptions).where(t.subscriptions.c.tenant == tenant))
            await c.execute(sa.delete(t.feeds).where(t.feeds.c.tenant == tenant))
            await self._bump(c, "watches_rev")
            await self._bump(c, "subscriptions_rev")

        await self._write("delete_tenant", fn)

    # --- outbox ------------------------------------------------------------------------------------

    async def enqueue(self, planned: Sequence[PlannedDelivery], *, now: datetime) -> int:
        """Add deliveries to the outbox; a key already there is skipped. Returns how many were new."""
        if not planned:
            return 0

        async def fn(c: AsyncConnection) -> int:
            added = 0
            for i in range(0, len(planned), 200):
                chunk = planned[i : i + 200]
                stmt = (
                    self._insert(t.deliveries)
                    .values([_delivery_values(p, now) for p in chunk])
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(t.deliveries.c.id)
                )
                added += len((await c.execute(stmt)).all())
            crashpoint("store.enqueue.uncommitted")
            return added

        result: int = await self._write("enqueue", fn)
        crashpoint("store.enqueued")
        return result

    async def claim(
        self,
        *,
        owner: str,
        platforms: Sequence[str],
        now: datetime,
        lease_seconds: float,
        limit: int,
    ) -> list[Delivery]:
        """Lease up to ``limit`` due deliveries for ``owner``. A delivery whose lease expired (its sender
        died mid-send) is claimed again with ``attempts`` > 0, which tells the sender to reconcile first."""
        until = now + timedelta(seconds=lease_seconds)

        async def fn(c: AsyncConnection) -> list[Delivery]:
            due = (
                sa.select(t.deliveries.c.id)
                .join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
                .where(
                    t.deliveries.c.status == "pending",
                    t.deliveries.c.not_before <= now,
                    sa.or_(t.deliveries.c.lease_until.is_(None), t.deliveries.c.lease_until < now),
                    t.subscriptions.c.platform.in_(list(platforms)),
                    ~t.subscriptions.c.paused,
                )
                .order_by(t.deliveries.c.not_before, t.deliveries.c.id)
                .limit(limit)
            )
            if self.dialect == "postgresql":
                due = due.with_for_update(of=t.deliveries, skip_locked=True)
            ids = [r.id for r in await c.execute(due)]
            if not ids:
                return []
            await c.execute(
                sa.update(t.deliveries)
                .where(t.deliveries.c.id.in_(ids), t.deliveries.c.status == "pending")
                .values(lease_owner=owner, lease_until=until, attempts=t.deliveries.c.attempts + 1)
            )
            rows = await c.execute(
                sa.select(
                    t.deliveries,
                    t.subscriptions.c.platform,
                    t.subscriptions.c.channel,
                    t.subscriptions.c.mention_role,
                )
                .join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
                .where(t.deliveries.c.id.in_(ids), t.deliveries.c.lease_owner == owner)
                .order_by(t.deliveries.c.not_before, t.deliveries.c.id)
            )
            return [
                Delivery(
                    id=r.id,
                    key=r.key,
                    subscription_id=r.subscription_id,
                    platform=r.platform,
                    channel=r.channel,
                    payload=PAYLOAD_ADAPTER.validate_json(r.payload),
                    mention_role=r.mention_role if r.kind == "alert" else None,
                    attempts=r.attempts - 1,
                )
                for r in rows
            ]

        result: list[Delivery] = await self._write("claim", fn)
        crashpoint("store.claimed")
        return result

    async def finish(
        self,
        delivery_id: int,
        *,
        owner: str,
        now: datetime,
        status: Literal["sent", "rejected", "pending", "paused"],
        message_id: str | None = None,
        error: str | None = None,
        not_before: datetime | None = None,
    ) -> bool:
        """Settle a claimed delivery. Returns False when the lease was lost to another sender."""

        async def fn(c: AsyncConnection) -> bool:
            values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
            if message_id is not None:
                values["message_id"] = message_id
            if error is not None:
                values["last_error"] = error[:2000]
            if status == "sent":
                values["sent_at"] = now
            if not_before is not None:
                values["not_before"] = not_before
            res = await c.execute(
                sa.update(t.deliveries)
                .where(t.deliveries.c.id == delivery_id, t.deliveries.c.lease_owner == owner)
                .values(**values)
            )
            crashpoint("store.finish.uncommitted")
            return bool(res.rowcount)

        result: bool = await self._write("finish_delivery", fn)
        return result

    async def outbox_depth(self) -> int:
        async def fn(c: AsyncConnection) -> int:
            return int(
                (
                    await c.execute(
                        sa.select(sa.func.count())
                        .select_from(t.deliveries)
                        .where(t.deliveries.c.status.in_(["pending", "held", "paused"]))
                    )
                ).scalar_one()
            )

        result: int = await self._read("outbox_depth", fn)
        return result

    async def deliveries_for(self, subscription_id: int) -> list[sa.Row[Any]]:
        """Every delivery row of one subscription, oldest first (for status and tests)."""

        async def fn(c: AsyncConnection) -> list[sa.Row[Any]]:
            return list(
                await c.execute(
                    sa.select(t.deliveries)
                    .where(t.deliveries.c.subscription_id == subscription_id)
                    .order_by(t.deliveries.c.id)
                )
            )

        result: list[sa.Row[Any]] = await self._read("deliveries_for", fn)
        return result

    # === stories, digests and the alert policy (bot/digest) ========================================

    async def new_story(self, article_id: int, *, title: str, lang: str, now: datetime) -> int:
        """Start a story with this article. If another writer assigned the article meanwhile, that story
        is returned and no new one is left behind."""

        async def fn(c: AsyncConnection) -> int:
            current = (
                await c.execute(sa.select(t.articles.c.story_id).where(t.articles.c.id == article_id))
            ).scalar()
            if current is not None:
                return int(current)
            sid = (
                await c.execute(
                    sa.insert(t.stories)
                    .values(title=title[:2000], lang=lang, first_seen=now, last_seen=now)
                    .returning(t.stories.c.id)
                )
            ).scalar_one()
            await c.execute(
                sa.update(t.articles)
                .where(t.articles.c.id == article_id, t.articles.c.story_id.is_(None))
                .values(story_id=sid)
            )
            crashpoint("store.new_story.uncommitted")
            return int(sid)

        result: int = await self._write("new_story", fn)
        crashpoint("store.story_assigned")
        return result

    async def join_story(self, article_id: int, story_id: int, *, now: datetime) -> int:
        """Add an article to a story; returns the story the article ends up in."""

        async def fn(c: AsyncConnection) -> int:
            res = await c.execute(
                sa.update(t.articles)
                .where(t.articles.c.id == article_id, t.articles.c.story_id.is_(None))
                .values(story_id=story_id)
            )
            if res.rowcount:
                await c.execute(
                    sa.update(t.stories)
                    .where(t.stories.c.id == story_id, t.stories.c.last_seen < now)
                    .values(last_seen=now)
                )
                return story_id
            current = (
                await c.execute(sa.select(t.articles.c.story_id).where(t.articles.c.id == article_id))
            ).scalar()
            return int(current) if current is not None else story_id

        result: int = await self._write("join_story", fn)
        return result

    async def unclustered_articles(self, since: datetime, *, limit: int) -> list[StoredArticle]:
        """Articles first seen since ``since`` that no story holds yet (seeded backlogs), oldest first."""

        async def fn(c: AsyncConnection) -> list[StoredArticle]:
            q = (
                sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                .where(t.articles.c.first_seen >= since, t.articles.c.story_id.is_(None))
                .order_by(t.articles.c.first_seen, t.articles.c.id)
                .limit(limit)
            )
            return [_article_of(r, r.feed_url) for r in await c.execute(q)]

        result: list[StoredArticle] = await self._read("unclustered_articles", fn)
        return result

    async def clustered_articles(self, since: datetime, *, limit: int) -> list[StoredArticle]:
        """The most recent ``limit`` articles with a story, first seen since ``since``, oldest first."""

        async def fn(c: AsyncConnection) -> list[StoredArticle]:
            q = (
                sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                .where(t.articles.c.first_seen >= since, t.articles.c.story_id.is_not(None))
                .order_by(t.articles.c.first_seen.desc(), t.articles.c.id.desc())
                .limit(limit)
            )
            return [_article_of(r, r.feed_url) for r in await c.execute(q)][::-1]

        result: list[StoredArticle] = await self._read("clustered_articles", fn)
        return result

    async def stories_in_window(
        self, start: datetime, end: datetime | None, *, limit: int = 20_000
    ) -> list[tuple[int, datetime, list[StoredArticle], list[tuple[int, str, str]]]]:
        """Stories first seen in [start, end): (story id, first seen, its articles first seen before
        ``end``, (article id, kind, ref) of their fact/watch matches)."""

        async def fn(
            c: AsyncConnection,
        ) -> list[tuple[int, datetime, list[StoredArticle], list[tuple[int, str, str]]]]:
            q = sa.select(t.stories.c.id, t.stories.c.first_seen).where(t.stories.c.first_seen >= start)
            if end is not None:
                q = q.where(t.stories.c.first_seen < end)
            stories = list(await c.execute(q.order_by(t.stories.c.first_seen, t.stories.c.id).limit(limit)))
            out: list[tuple[int, datetime, list[StoredArticle], list[tuple[int, str, str]]]] = []
            for i in range(0, len(stories), 500):
                chunk = {r.id: r.first_seen for r in stories[i : i + 500]}
                aq = (
                    sa.select(t.articles, t.feeds.c.url.label("feed_url"))
                    .join(t.feeds, t.feeds.c.id == t.articles.c.feed_id)
                    .where(t.articles.c.story_id.in_(list(chunk)))
                    .order_by(t.articles.c.published, t.articles.c.id)
                )
                if end is not None:
                    aq = aq.where(t.articles.c.first_seen < end)
                arts: dict[int, list[StoredArticle]] = {sid: [] for sid in chunk}
                for r in await c.execute(aq):
                    arts[r.story_id].append(_article_of(r, r.feed_url))
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

        rows: list[tuple[int, datetime, list[StoredArticle], list[tuple[int, str, str]]]]
        rows = await self._read("stories_in_window", fn)
        return rows

    async def facts_seen_before(self, before: datetime) -> set[str]:
        """Fact ids with any match on an article first seen before ``before``."""

        async def fn(c: AsyncConnection) -> set[str]:
            q = (
                sa.select(t.matches.c.ref)
                .distinct()
                .join(t.articles, t.articles.c.id == t.matches.c.article_id)
                .where(t.matches.c.kind == "fact", t.articles.c.first_seen < before)
            )
            return {r.ref for r in await c.execute(q)}

        result: set[str] = await self._read("facts_seen_before", fn)
        return result

    async def fact_story_days(self, since: datetime) -> list[tuple[int, str, datetime]]:
        """(story id, fact id, earliest publication among the story's articles matching that fact)."""

        async def fn(c: AsyncConnection) -> list[tuple[int, str, datetime]]:
            q = (
                sa.select(t.articles.c.story_id, t.matches.c.ref, sa.func.min(t.articles.c.published))
                .join(t.matches, t.matches.c.article_id == t.articles.c.id)
                .where(
                    t.matches.c.kind == "fact",
                    t.articles.c.story_id.is_not(None),
                    t.articles.c.published >= since,
                )
                .group_by(t.articles.c.story_id, t.matches.c.ref)
            )
            # func.min keeps the column's type, so the value comes back timezone-aware UTC.
            return [(int(r[0]), str(r[1]), r[2]) for r in await c.execute(q)]

        result: list[tuple[int, str, datetime]] = await self._read("fact_story_days", fn)
        return result

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these delivery keys are already in the outbox."""
        if not keys:
            return set()

        async def fn(c: AsyncConnection) -> set[str]:
            found: set[str] = set()
            for i in range(0, len(keys), 500):
                q = sa.select(t.deliveries.c.key).where(t.deliveries.c.key.in_(list(keys[i : i + 500])))
                found |= {r.key for r in await c.execute(q)}
            return found

        result: set[str] = await self._read("existing_keys", fn)
        return result

    async def alerts_sent_since(self, subscription_id: int, since: datetime) -> int:
        """Alerts of one subscription created since ``since`` that were not held back (the hourly cap)."""

        async def fn(c: AsyncConnection) -> int:
            q = (
                sa.select(sa.func.count())
                .select_from(t.deliveries)
                .where(
                    t.deliveries.c.subscription_id == subscription_id,
                    t.deliveries.c.kind == "alert",
                    t.deliveries.c.status.not_in(["held", "rolled"]),
                    t.deliveries.c.created_at >= since,
                )
            )
            return int((await c.execute(q)).scalar_one())

        result: int = await self._read("alerts_sent_since", fn)
        return result

    async def alerted_stories(self, subscription_id: int, story_ids: Sequence[int]) -> set[int]:
        """Stories that got an immediate alert (not held back) in this subscription."""
        if not story_ids:
            return set()

        async def fn(c: AsyncConnection) -> set[int]:
            out: set[int] = set()
            for i in range(0, len(story_ids), 500):
                q = sa.select(t.deliveries.c.story_id).where(
                    t.deliveries.c.subscription_id == subscription_id,
                    t.deliveries.c.kind == "alert",
                    t.deliveries.c.status.not_in(["held", "rolled"]),
                    t.deliveries.c.story_id.in_(list(story_ids[i : i + 500])),
                )
                out |= {int(r.story_id) for r in await c.execute(q)}
            return out

        result: set[int] = await self._read("alerted_stories", fn)
        return result

    async def held_alerts(self, subscription_id: int) -> list[tuple[int, int | None, Payload]]:
        """(delivery id, story id, payload) of alerts held back for this subscription, oldest first."""

        async def fn(c: AsyncConnection) -> list[tuple[int, int | None, Payload]]:
            q = (
                sa.select(t.deliveries.c.id, t.deliveries.c.story_id, t.deliveries.c.payload)
                .where(t.deliveries.c.subscription_id == subscription_id, t.deliveries.c.status == "held")
                .order_by(t.deliveries.c.id)
            )
            return [(r.id, r.story_id, PAYLOAD_ADAPTER.validate_json(r.payload)) for r in await c.execute(q)]

        result: list[tuple[int, int | None, Payload]] = await self._read("held_alerts", fn)
        return result

    async def subscriptions_with_held(self) -> list[int]:
        async def fn(c: AsyncConnection) -> list[int]:
            q = sa.select(t.deliveries.c.subscription_id).distinct().where(t.deliveries.c.status == "held")
            return sorted(int(r[0]) for r in await c.execute(q))

        result: list[int] = await self._read("subscriptions_with_held", fn)
        return result

    async def roll_held(
        self, subscription_id: int, held_ids: Sequence[int], summary: PlannedDelivery | None, *, now: datetime
    ) -> bool:
        """Mark held alerts as rolled into a summary (enqueued here, atomically) or a digest."""

        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.update(t.deliveries)
                .where(
                    t.deliveries.c.id.in_(list(held_ids)),
                    t.deliveries.c.subscription_id == subscription_id,
                    t.deliveries.c.status == "held",
                )
                .values(status="rolled")
            )
            if res.rowcount != len(held_ids):
                raise _Conflict("held alerts changed under us")
            if summary is not None:
                await c.execute(
                    self._insert(t.deliveries)
                    .values(**_delivery_values(summary, now))
                    .on_conflict_do_nothing(index_elements=["key"])
                )
            return True

        try:
            result: bool = await self._write("roll_held", fn)
        except _Conflict:
            return False
        return result

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

        async def fn(c: AsyncConnection) -> bool:
            current = (
                await c.execute(
                    sa.select(t.subscriptions.c.last_digest_at).where(t.subscriptions.c.id == subscription_id)
                )
            ).first()
            if current is None or current[0] != expected_last:
                raise _Conflict("window moved")
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
                raise _Conflict("already ran")
            if delivery is not None:
                await c.execute(
                    self._insert(t.deliveries)
                    .values(**_delivery_values(delivery, now))
                    .on_conflict_do_nothing(index_elements=["key"])
                )
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
            return True

        try:
            result: bool = await self._write("commit_digest", fn)
        except _Conflict:
            return False
        return result

    async def digest_run_exists(self, subscription_id: int, scheduled_for: datetime) -> bool:
        async def fn(c: AsyncConnection) -> bool:
            q = sa.select(t.digest_runs.c.id).where(
                t.digest_runs.c.subscription_id == subscription_id,
                t.digest_runs.c.scheduled_for == scheduled_for,
            )
            return (await c.execute(q)).first() is not None

        result: bool = await self._read("digest_run_exists", fn)
        return result

    # === end of the bot/digest block =================================================================

    # === batched poll writes (the poller's hot path; benchmarks/bench_poll.py) =========================

    async def insert_matched_articles(
        self,
        feed_id: int,
        items: Sequence[tuple[Article, MatchResult]],
        *,
        now: datetime,
        seeded: bool,
    ) -> list[tuple[int, Article, MatchResult]]:
        """``insert_articles`` and ``store_matches`` for articles matched beforehand, in one transaction:
        stores the articles not seen before in this feed, with their relevance and every fact/watch hit.
        Returns (id, article, match) for the new ones, in feed order."""
        if not items:
            return []
        by_entry: dict[str, tuple[Article, MatchResult]] = {}
        for a, m in items:
            by_entry.setdefault(a.entry_id, (a, m))

        async def fn(c: AsyncConnection) -> list[tuple[int, Article, MatchResult]]:
            rows = [
                {**_article_values(feed_id, a, now=now, seeded=seeded), "relevant": m.relevant}
                for a, m in by_entry.values()
            ]
            # executemany: the statement is compiled once and cached (SQLAlchemy batches the VALUES and
            # the RETURNING itself), where a multi-row .values() is compiled anew on every call.
            stmt = (
                self._insert(t.articles)
                .on_conflict_do_nothing(index_elements=["feed_id", "entry_id"])
                .returning(t.articles.c.id, t.articles.c.entry_id)
            )
            ids = {r.entry_id: r.id for r in await c.execute(stmt, rows)}
            crashpoint("store.insert_articles.uncommitted")
            out = [(ids[e], a, m) for e, (a, m) in by_entry.items() if e in ids]
            hits = [
                {
                    "article_id": aid,
                    "kind": kind,
                    "ref": ref,
                    "evidence": EVIDENCE_ADAPTER.dump_json(evidence).decode(),
                }
                for aid, _, m in out
                for kind, ref, evidence in (
                    *((h.kind, h.ref, h.evidence) for h in (*m.facts, *m.watches)),
                    *((("relevance", "", m.relevance),) if m.relevance is not None else ()),
                )
            ]
            if hits:
                hits_stmt = self._insert(t.matches).on_conflict_do_nothing(
                    index_elements=["article_id", "kind", "ref"]
                )
                await c.execute(hits_stmt, hits)
            crashpoint("store.store_matches.uncommitted")
            return out

        result: list[tuple[int, Article, MatchResult]] = await self._write("insert_matched_articles", fn)
        return result

    # === end of the batched poll writes block ========================================================


class _Conflict(Exception):
    """Rolls back a write whose precondition no longer holds (used inside one transaction)."""


class QuotaError(ValueError):
    """A server or workspace is at one of its quotas; the message says which and what to do."""


def platform_of(value: str) -> Platform:
    if value not in ("discord", "slack", "console"):
        raise ValueError(f"unknown platform {value!r}")
    return value  # type: ignore[return-value]
