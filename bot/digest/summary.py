"""Held alerts as one ``Summary`` message, for channels without a digest schedule (channels with one get
them in their next digest). Nothing held is ever dropped."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.digest.compose import summary_of
from bot.digest.policy import in_quiet_hours
from bot.models import Alert
from bot.store.repo import PlannedDelivery

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


async def send_summaries(svc: Services, *, force: bool = False) -> int:
    """Enqueue one summary per channel with held alerts, no digest schedule, outside quiet hours, and no
    summary within ``summary_interval_minutes`` (unless ``force``). Returns how many were enqueued."""
    from datetime import timedelta

    store = svc.store
    now = svc.clock()
    interval = timedelta(minutes=svc.settings.summary_interval_minutes)
    last: dict[int, datetime] = svc.extras.setdefault("summary_last_at", {})
    sent = 0
    for sub_id in await store.subscriptions_with_held():
        sub = await store.get_subscription_by_id(sub_id)
        if sub is None or sub.digest_cron or sub.paused or in_quiet_hours(sub, now):
            continue
        prev = last.get(sub_id)
        if not force and (prev is None or now - prev < interval):
            # The first held alert starts the clock: one summary per interval, not one per tick.
            last.setdefault(sub_id, now)
            continue
        held = [(i, sid, p) for i, sid, p in await store.held_alerts(sub_id) if isinstance(p, Alert)]
        if not held:
            continue
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
        if await store.roll_held(sub_id, [i for i, _, _ in held], planned, now=now):
            last[sub_id] = now
            sent += 1
    if sent and svc.outbox is not None:
        svc.outbox.wake.set()
    return sent
