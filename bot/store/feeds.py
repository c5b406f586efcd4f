"""Feeds: the operator's (tenant "") and those added from chat, and their polling state."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import FeedSpec
from bot.store import tables as t
from bot.store.base import StoreBase
from bot.store.rows import FeedRow, feed_row, visible_to

# Built once: constructing the statement costs more than executing it for one feed (the poller's hot path).
_RECORD_SUCCESS = (
    sa.update(t.feeds)
    .where(t.feeds.c.id == sa.bindparam("b_id"))
    .values(
        last_poll_at=sa.bindparam("b_now"),
        last_success_at=sa.bindparam("b_now"),
        failure_count=0,
        next_poll_at=sa.bindparam("b_next"),
        etag=sa.bindparam("b_etag"),
        last_modified=sa.bindparam("b_lm"),
        body_hash=sa.bindparam("b_hash"),
        seeded=sa.bindparam("b_seeded"),
        items_count=t.feeds.c.items_count + sa.bindparam("b_new", type_=sa.Integer),
        poll_owner=None,
        poll_lease_until=None,
    )
)


@dataclasses.dataclass(frozen=True, slots=True)
class UnchangedPoll:
    """A successful poll's bookkeeping: for one that brought nothing new (304, or the same body),
    ``record_unchanged_feeds``; for a first poll, written with its articles (``insert_matched_articles``
    with ``done``)."""

    feed_id: int
    now: datetime
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    seeded: bool


class FeedsMixin(StoreBase):
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
                    full_text=s.full_text,
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
                            "full_text": s.full_text,
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
            return [feed_row(r) for r in rows]

        return await self._write("sync_operator_feeds", fn)

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
            return feed_row(row)

        return await self._write("ensure_feed", fn)

    async def add_chat_feed(self, spec: FeedSpec, now: datetime, *, quota: int) -> FeedRow | None:
        """Add a feed from chat for its tenant. None when the tenant already has it. Raises
        ``QuotaError`` when the tenant is at its quota."""
        assert spec.tenant
        tenant = spec.tenant

        async def fn(c: AsyncConnection) -> FeedRow | None:
            exists = (
                await c.execute(
                    sa.select(t.feeds.c.id).where(t.feeds.c.tenant == spec.tenant, t.feeds.c.url == spec.url)
                )
            ).first()
            if exists:
                return None
            await self._check_quota(c, t.feeds, tenant=tenant, quota=quota)
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
            return feed_row(res.one())

        return await self._write("add_chat_feed", fn)

    async def remove_feed(self, feed_id: int, *, tenant: str) -> bool:
        """Remove a chat-added feed of ``tenant``; operator feeds cannot be removed from chat."""

        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.delete(t.feeds).where(t.feeds.c.id == feed_id, t.feeds.c.tenant == tenant)
            )
            return bool(res.rowcount)

        return await self._write("remove_feed", fn)

    async def list_feeds(self, *, tenant: str | None = None, enabled_only: bool = True) -> list[FeedRow]:
        """Feeds visible to ``tenant`` (the operator's plus its own); every feed when tenant is None."""

        q = sa.select(t.feeds).order_by(t.feeds.c.id)
        if enabled_only:
            q = q.where(t.feeds.c.enabled)
        if tenant is not None:
            q = q.where(visible_to(tenant))
        return await self._fetch_all("list_feeds", q, feed_row)

    async def visible_feed_ids(self, tenant: str) -> set[int]:
        """Every feed (enabled or not) whose articles ``tenant`` may see."""

        ids = await self._fetch_all(
            "visible_feed_ids", sa.select(t.feeds.c.id).where(visible_to(tenant)), lambda r: int(r[0])
        )
        return set(ids)

    async def get_feed(self, feed_id: int) -> FeedRow | None:
        return await self._fetch_first(
            "get_feed", sa.select(t.feeds).where(t.feeds.c.id == feed_id), feed_row
        )

    async def due_feeds(self, now: datetime) -> list[FeedRow]:
        q = (
            sa.select(t.feeds)
            .where(
                t.feeds.c.enabled,
                sa.or_(t.feeds.c.next_poll_at.is_(None), t.feeds.c.next_poll_at <= now),
            )
            .order_by(t.feeds.c.next_poll_at.nulls_first(), t.feeds.c.id)
        )
        return await self._fetch_all("due_feeds", q, feed_row)

    async def claim_feed(
        self,
        feed_id: int,
        *,
        owner: str,
        now: datetime,
        lease_seconds: float,
        steal_from: str | None = None,
    ) -> FeedRow | None:
        """Lease the feed for one poll by ``owner``: its row as it is now, or None when another process
        holds an unexpired lease (it is being polled there). ``record_feed_success``/``_failure`` release
        it; a lease whose holder died expires, or is taken over at once with ``steal_from`` (the holder
        the caller knows to be dead)."""
        claimed = await self.claim_feeds(
            [feed_id], owner=owner, now=now, lease_seconds=lease_seconds, steal_from=steal_from
        )
        return claimed.get(feed_id)

    async def claim_feeds(
        self,
        feed_ids: Sequence[int],
        *,
        owner: str,
        now: datetime,
        lease_seconds: float,
        steal_from: str | None = None,
    ) -> dict[int, FeedRow]:
        """``claim_feed`` for many feeds in one transaction (a poll round's feeds): feed id -> its row as
        claimed, for the feeds no other process holds."""
        until = now + timedelta(seconds=lease_seconds)
        holders = [owner] if steal_from is None else [owner, steal_from]
        ids = sorted(set(feed_ids))

        async def fn(c: AsyncConnection) -> dict[int, FeedRow]:
            out: dict[int, FeedRow] = {}
            for i in range(0, len(ids), 500):
                res = await c.execute(
                    sa.update(t.feeds)
                    .where(
                        t.feeds.c.id.in_(ids[i : i + 500]),
                        sa.or_(
                            t.feeds.c.poll_lease_until.is_(None),
                            t.feeds.c.poll_lease_until < now,
                            t.feeds.c.poll_owner.in_(holders),
                        ),
                    )
                    .values(poll_owner=owner, poll_lease_until=until)
                    .returning(*t.feeds.c)  # the rows as claimed, in the same statement
                )
                out.update({int(r.id): feed_row(r) for r in res})
            return out

        return await self._write("claim_feeds", fn)

    async def feed_lease_holder(self, feed_id: int) -> str | None:
        """Who holds the feed's poll lease (expired or not), if anyone."""
        q = sa.select(t.feeds.c.poll_owner).where(t.feeds.c.id == feed_id)

        async def fn(c: AsyncConnection) -> str | None:
            holder: str | None = (await c.execute(q)).scalar()
            return holder

        return await self._read("feed_lease_holder", fn)

    async def record_feed_success(self, done: UnchangedPoll, *, new_items: int) -> None:
        """A successful poll that stored ``new_items`` articles: its bookkeeping, the lease released."""

        async def fn(c: AsyncConnection) -> None:
            await self._record_successes(c, [(done, new_items)])

        await self._write("record_feed_success", fn)

    async def record_unchanged_feeds(self, polls: Sequence[UnchangedPoll]) -> None:
        """``record_feed_success`` with no new items for many feeds at once: one transaction (the
        poller's not-modified feeds of a moment, batched)."""
        if not polls:
            return

        async def fn(c: AsyncConnection) -> None:
            await self._record_successes(c, [(p, 0) for p in polls])

        await self._write("record_unchanged_feeds", fn)

    @staticmethod
    async def _record_successes(c: AsyncConnection, polls: Sequence[tuple[UnchangedPoll, int]]) -> None:
        """Successful polls, each with how many articles it stored, in ``c``'s transaction: validators,
        next poll, counts; the leases released."""
        stmt = _RECORD_SUCCESS
        params = [
            {
                "b_id": p.feed_id,
                "b_now": p.now,
                "b_next": p.next_poll_at,
                # A validator too long to store is dropped (we refetch in full) rather than cut.
                "b_etag": p.etag if p.etag is None or len(p.etag) <= 1024 else None,
                "b_lm": None if p.last_modified and len(p.last_modified) > 256 else p.last_modified,
                "b_hash": p.body_hash,
                "b_seeded": p.seeded,
                "b_new": new_items,
            }
            for p, new_items in polls
        ]
        await c.execute(stmt, params)

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
                    poll_owner=None,
                    poll_lease_until=None,
                )
                .returning(t.feeds.c.failure_count)
            )
            return int(res.scalar_one())

        return await self._write("record_feed_failure", fn)
