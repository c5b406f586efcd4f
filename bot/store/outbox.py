"""The outbox: planned deliveries, their claim by a sender under a lease, and how each one settled.

The claim uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and SQLite's single-writer lock, so two senders
never claim the same delivery; a lease that expires (its sender died mid-send) lets another claim it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.crashpoints import crashpoint
from bot.models import PAYLOAD_ADAPTER, Delivery, Payload
from bot.store import tables as t
from bot.store.base import Conflict, StoreBase
from bot.store.rows import PlannedDelivery, delivery_values

# Alerts that went out (or will): not held back by the hourly cap, nor rolled into a summary or digest.
_NOT_HELD = t.deliveries.c.status.not_in(["held", "rolled"])


class OutboxMixin(StoreBase):
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
                    .values([delivery_values(p, now) for p in chunk])
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(t.deliveries.c.id)
                )
                added += len((await c.execute(stmt)).all())
            crashpoint("store.enqueue.uncommitted")
            return added

        result = await self._write("enqueue", fn)
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
        died mid-send) is claimed again with ``attempts`` > 0, which tells the sender to reconcile first.

        Each channel has one sender at a time, across processes: the claim also leases the channels of
        the deliveries it takes (``subscriptions.sender_owner``, renewed by every claim of that sender,
        expiring ``lease_seconds`` after its last), and takes nothing from a channel another sender
        holds. So a channel's order and pacing (kept by the sender's sink) hold with several workers."""
        until = now + timedelta(seconds=lease_seconds)
        subs = t.subscriptions
        sender_free = sa.or_(
            subs.c.sender_owner.is_(None), subs.c.sender_owner == owner, subs.c.sender_until < now
        )

        earlier = t.deliveries.alias("earlier")
        claimable = (
            t.deliveries.c.status == "pending",
            t.deliveries.c.not_before <= now,
            sa.or_(t.deliveries.c.lease_until.is_(None), t.deliveries.c.lease_until < now),
            # A channel's deliveries go out in order: none while an earlier one waits for its retry.
            ~sa.exists().where(
                earlier.c.subscription_id == t.deliveries.c.subscription_id,
                earlier.c.id < t.deliveries.c.id,
                earlier.c.status == "pending",
                earlier.c.not_before > now,
            ),
        )

        async def fn(c: AsyncConnection) -> list[Delivery]:
            # First the channels: those with due deliveries that no other sender holds, leased now. Two
            # claimers racing for one channel serialise on its row (the UPDATE waits for the other's
            # lock, then checks again), so one of them gets it, and then all its deliveries in order.
            channels = (
                sa.select(t.deliveries.c.subscription_id)
                .join(subs, subs.c.id == t.deliveries.c.subscription_id)
                .where(*claimable, subs.c.platform.in_(list(platforms)), ~subs.c.paused, sender_free)
                .group_by(t.deliveries.c.subscription_id)
                .order_by(sa.func.min(t.deliveries.c.not_before), t.deliveries.c.subscription_id)
                .limit(limit)
            )
            wanted = [r.subscription_id for r in await c.execute(channels)]
            if not wanted:
                return []
            await c.execute(
                sa.update(subs)
                .where(subs.c.id.in_(wanted), sender_free)
                .values(sender_owner=owner, sender_until=until)
            )
            mine = sa.select(subs.c.id).where(subs.c.id.in_(wanted), subs.c.sender_owner == owner)
            won = [r.id for r in await c.execute(mine)]
            if not won:
                return []
            due = (
                sa.select(t.deliveries.c.id)
                .where(*claimable, t.deliveries.c.subscription_id.in_(won))
                .order_by(t.deliveries.c.not_before, t.deliveries.c.id)
                .limit(limit)
            )
            ids = [r.id for r in await c.execute(due)]
            if not ids:
                return []
            # On SQLite the SELECT above runs before the transaction takes the write lock, so another
            # sender may have leased some of these meanwhile: the UPDATE (under the lock) checks again.
            await c.execute(
                sa.update(t.deliveries)
                .where(t.deliveries.c.id.in_(ids), *claimable)
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

        result = await self._write("claim", fn)
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

        values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
        if message_id is not None:
            values["message_id"] = message_id
        if error is not None:
            values["last_error"] = error[:2000]
        if status == "sent":
            values["sent_at"] = now
        if not_before is not None:
            values["not_before"] = not_before

        async def fn(c: AsyncConnection) -> bool:
            settled = await self._settle(c, delivery_id, owner, values)
            crashpoint("store.finish.uncommitted")
            return settled

        return await self._write("finish_delivery", fn)

    @staticmethod
    async def _settle(c: AsyncConnection, delivery_id: int, owner: str, values: dict[str, Any]) -> bool:
        """Write a claimed delivery's outcome in ``c``'s transaction; False when ``owner`` lost its lease."""
        res = await c.execute(
            sa.update(t.deliveries)
            .where(t.deliveries.c.id == delivery_id, t.deliveries.c.lease_owner == owner)
            .values(**values)
        )
        return bool(res.rowcount)

    async def finish_sent(
        self, sent: Sequence[tuple[int, str | None, datetime]], *, owner: str
    ) -> list[bool]:
        """``finish(status="sent")`` for several deliveries at once, in one transaction: (delivery id,
        message id, when sent) each; for each, False when its lease was lost to another sender."""

        async def fn(c: AsyncConnection) -> list[bool]:
            out: list[bool] = []
            for delivery_id, message_id, now in sent:
                values: dict[str, Any] = {"status": "sent", "lease_owner": None, "lease_until": None}
                values["sent_at"] = now
                if message_id is not None:
                    values["message_id"] = message_id
                out.append(await self._settle(c, delivery_id, owner, values))
            crashpoint("store.finish.uncommitted")
            return out

        return await self._write("finish_sent", fn)

    async def release_channels(self, owner: str | None) -> None:
        """Give up ``owner``'s channel leases (a sender stopping), so another sender takes them at once;
        every channel's with None (``run`` starting: it is the database's only sender, and a lease left
        by its previous life would hold new deliveries back until it expired)."""

        async def fn(c: AsyncConnection) -> None:
            q = sa.update(t.subscriptions).where(t.subscriptions.c.sender_owner.is_not(None))
            if owner is not None:
                q = q.where(t.subscriptions.c.sender_owner == owner)
            await c.execute(q.values(sender_owner=None, sender_until=None))

        await self._write("release_channels", fn)

    async def oldest_due_delivery(self, now: datetime) -> datetime | None:
        """When the longest-waiting delivery that is due now (pending, its time come, its channel not
        paused) became due; None when nothing waits. For the health check."""
        q = (
            sa.select(sa.func.min(t.deliveries.c.not_before, type_=t.deliveries.c.not_before.type))
            .join(t.subscriptions, t.subscriptions.c.id == t.deliveries.c.subscription_id)
            .where(
                t.deliveries.c.status == "pending",
                t.deliveries.c.not_before <= now,
                ~t.subscriptions.c.paused,
            )
        )

        async def fn(c: AsyncConnection) -> datetime | None:
            found: datetime | None = (await c.execute(q)).scalar()
            if found is None:
                return None
            return found if found.tzinfo else found.replace(tzinfo=UTC)

        return await self._read("oldest_due_delivery", fn)

    async def outbox_depth(self) -> int:
        """Deliveries not yet settled: pending, held back, or waiting for a paused channel."""
        q = (
            sa.select(sa.func.count())
            .select_from(t.deliveries)
            .where(t.deliveries.c.status.in_(["pending", "held", "paused"]))
        )
        return await self._count("outbox_depth", q)

    async def deliveries_for(self, subscription_id: int) -> list[sa.Row[Any]]:
        """Every delivery row of one subscription, oldest first (only the tests read it; nothing in bot/)."""
        q = (
            sa.select(t.deliveries)
            .where(t.deliveries.c.subscription_id == subscription_id)
            .order_by(t.deliveries.c.id)
        )
        return await self._fetch_all("deliveries_for", q, lambda r: r)

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

        return await self._read("existing_keys", fn)

    # --- the alert policy: the hourly cap, held alerts and their summaries ----------------------------

    async def alerts_sent_since(self, subscription_ids: Sequence[int], since: datetime) -> dict[int, int]:
        """For each subscription, its alerts created since ``since`` that were not held back (the hourly
        cap), counted in one query."""
        ids = sorted(set(subscription_ids))
        if not ids:
            return {}
        q = (
            sa.select(t.deliveries.c.subscription_id, sa.func.count())
            .where(
                t.deliveries.c.subscription_id.in_(ids),
                t.deliveries.c.kind == "alert",
                _NOT_HELD,
                t.deliveries.c.created_at >= since,
            )
            .group_by(t.deliveries.c.subscription_id)
        )

        async def fn(c: AsyncConnection) -> dict[int, int]:
            counts = {int(sid): int(n) for sid, n in await c.execute(q)}
            return {sid: counts.get(sid, 0) for sid in ids}

        return await self._read("alerts_sent_since", fn)

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
                    _NOT_HELD,
                    t.deliveries.c.story_id.in_(list(story_ids[i : i + 500])),
                )
                out |= {int(r.story_id) for r in await c.execute(q)}
            return out

        return await self._read("alerted_stories", fn)

    async def held_alerts(self, subscription_id: int) -> list[tuple[int, int | None, Payload]]:
        """(delivery id, story id, payload) of alerts held back for this subscription, oldest first."""
        q = (
            sa.select(t.deliveries.c.id, t.deliveries.c.story_id, t.deliveries.c.payload)
            .where(t.deliveries.c.subscription_id == subscription_id, t.deliveries.c.status == "held")
            .order_by(t.deliveries.c.id)
        )
        return await self._fetch_all(
            "held_alerts", q, lambda r: (r.id, r.story_id, PAYLOAD_ADAPTER.validate_json(r.payload))
        )

    async def subscriptions_with_held(self) -> list[int]:
        q = sa.select(t.deliveries.c.subscription_id).distinct().where(t.deliveries.c.status == "held")
        return sorted(await self._fetch_all("subscriptions_with_held", q, lambda r: int(r[0])))

    async def roll_held(
        self, subscription_id: int, held_ids: Sequence[int], summary: PlannedDelivery | None, *, now: datetime
    ) -> bool:
        """Mark held alerts as rolled into a summary (enqueued here, atomically) or a digest. False, with
        nothing written, when any of them is no longer held."""

        async def fn(c: AsyncConnection) -> None:
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
                raise Conflict("held alerts changed under us")
            if summary is not None:
                await self._insert_new(c, t.deliveries, delivery_values(summary, now), unique=["key"])
                # The summary clock restarts with the summary, in the same transaction.
                await c.execute(
                    sa.update(t.subscriptions)
                    .where(t.subscriptions.c.id == subscription_id)
                    .values(summary_clock_at=now)
                )

        return await self._write_unless_conflict("roll_held", fn)

    async def start_summary_clock(self, subscription_id: int, now: datetime) -> None:
        """Start a channel's summary clock at ``now`` unless it runs already (the first held alert)."""

        async def fn(c: AsyncConnection) -> None:
            await c.execute(
                sa.update(t.subscriptions)
                .where(t.subscriptions.c.id == subscription_id, t.subscriptions.c.summary_clock_at.is_(None))
                .values(summary_clock_at=now)
            )

        await self._write("start_summary_clock", fn)
