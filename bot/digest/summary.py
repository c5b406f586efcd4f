"""Held alerts as one ``Summary`` message, for channels without a digest schedule (channels with one get
them in their next digest). Nothing held is ever dropped."""

from __future__ import annotations

from datetime import timedelta

from bot.digest.compose import summary_of
from bot.digest.policy import in_quiet_hours
from bot.models import Alert
from bot.ports import Clock, Wake
from bot.store.repo import PlannedDelivery, Store


class Summaries:
    """Sends held alerts as summaries, at most one per channel per ``interval``."""

    def __init__(self, store: Store, *, interval: timedelta, clock: Clock, wake: Wake) -> None:
        self.store = store
        self.interval = interval
        self.clock = clock
        self.wake = wake

    async def send(self, *, force: bool = False) -> int:
        """Enqueue one summary per channel with held alerts, no digest schedule, outside quiet hours, and
        no summary within the interval (unless ``force``). Returns how many were enqueued."""
        sent = 0
        for sub_id in await self.store.subscriptions_with_held():
            if await self._send_one(sub_id, force=force):
                sent += 1
        if sent:
            self.wake()
        return sent

    async def _send_one(self, sub_id: int, *, force: bool) -> bool:
        store, now = self.store, self.clock()
        sub = await store.get_subscription_by_id(sub_id)
        if sub is None or sub.digest_cron or sub.paused or in_quiet_hours(sub, now):
            return False
        # The clock lives in the database: whichever process sends summaries (a restarted one, another
        # worker) keeps to one summary per interval.
        prev = sub.summary_clock_at
        if not force and (prev is None or now - prev < self.interval):
            # The first held alert starts the clock: one summary per interval, not one per tick.
            if prev is None:
                await store.start_summary_clock(sub_id, now)
            return False
        held = [(i, sid, p) for i, sid, p in await store.held_alerts(sub_id) if isinstance(p, Alert)]
        if not held:
            return False
        n = len(held)
        payload = summary_of(
            [(sid, p) for _, sid, p in held],
            title=f"{n} more alert{'s' if n != 1 else ''} held back (hourly limit or quiet hours)",
        )
        planned = PlannedDelivery(
            key=f"summary:{sub_id}:{held[0][0]}-{held[-1][0]}",
            subscription_id=sub_id,
            kind="summary",
            payload=payload,
        )
        return await store.roll_held(sub_id, [i for i, _, _ in held], planned, now=now)
