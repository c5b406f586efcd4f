"""Watches (a channel's own queries) and subscriptions (what a channel receives, and when).

Every change bumps a revision in the meta table (``watches_rev``, ``subscriptions_rev``) in the same
transaction, so the matcher and the digest scheduler notice it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import tables as t
from bot.store.base import StoreBase
from bot.store.rows import SubscriptionRow, WatchRow, subscription_row, watch_row


class WatchesMixin(StoreBase):
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
        """Add a watch; raises ``QuotaError`` when ``tenant`` already has ``quota`` watches."""

        async def fn(c: AsyncConnection) -> WatchRow:
            await self._check_quota(c, t.watches, tenant=tenant, quota=quota)
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
            return watch_row(res.one())

        return await self._write("add_watch", fn)

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

        return await self._write("remove_watch", fn)

    async def list_watches(
        self, *, platform: str | None = None, channel: str | None = None, tenant: str | None = None
    ) -> list[WatchRow]:
        q = sa.select(t.watches).order_by(t.watches.c.id)
        if platform is not None:
            q = q.where(t.watches.c.platform == platform)
        if channel is not None:
            q = q.where(t.watches.c.channel == channel)
        if tenant is not None:
            q = q.where(t.watches.c.tenant == tenant)
        return await self._fetch_all("list_watches", q, watch_row)

    async def pause_watch(self, watch_id: int, *, reason: str) -> WatchRow | None:
        """Stop matching a watch, saying why. Returns the watch when this call paused it (None when it was
        gone or already paused), so its channel is told once."""

        async def fn(c: AsyncConnection) -> WatchRow | None:
            res = await c.execute(
                sa.update(t.watches)
                .where(t.watches.c.id == watch_id, t.watches.c.paused_reason.is_(None))
                .values(paused_reason=reason[:1000])
            )
            if res.rowcount != 1:
                return None
            await self._bump(c, "watches_rev")
            return watch_row((await c.execute(sa.select(t.watches).where(t.watches.c.id == watch_id))).one())

        return await self._write("pause_watch", fn)

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
                await c.execute(
                    stmt.on_conflict_do_update(index_elements=["platform", "channel"], set_=fields)
                )
            else:
                await c.execute(stmt.on_conflict_do_nothing(index_elements=["platform", "channel"]))
            row = (await c.execute(self._subscription_query(platform, channel))).one()
            await self._bump(c, "subscriptions_rev")
            return subscription_row(row)

        return await self._write("upsert_subscription", fn)

    @staticmethod
    def _subscription_query(platform: str, channel: str) -> sa.Select[Any]:
        return sa.select(t.subscriptions).where(
            t.subscriptions.c.platform == platform, t.subscriptions.c.channel == channel
        )

    async def get_subscription(self, platform: str, channel: str) -> SubscriptionRow | None:
        q = self._subscription_query(platform, channel)
        return await self._fetch_first("get_subscription", q, subscription_row)

    async def get_subscription_by_id(self, sub_id: int) -> SubscriptionRow | None:
        q = sa.select(t.subscriptions).where(t.subscriptions.c.id == sub_id)
        return await self._fetch_first("get_subscription_by_id", q, subscription_row)

    async def list_subscriptions(self, *, platform: str | None = None) -> list[SubscriptionRow]:
        q = sa.select(t.subscriptions).order_by(t.subscriptions.c.id)
        if platform is not None:
            q = q.where(t.subscriptions.c.platform == platform)
        return await self._fetch_all("list_subscriptions", q, subscription_row)

    async def delete_subscription(self, platform: str, channel: str) -> bool:
        async def fn(c: AsyncConnection) -> bool:
            res = await c.execute(
                sa.delete(t.subscriptions).where(
                    t.subscriptions.c.platform == platform, t.subscriptions.c.channel == channel
                )
            )
            await self._bump(c, "subscriptions_rev")
            return bool(res.rowcount)

        return await self._write("delete_subscription", fn)

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
