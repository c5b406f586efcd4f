"""The digest scheduler: one APScheduler job per subscription, and which fire is due.

The schedule grammar (forms, crontab, the trigger and its day-of-week translation) is ``bot.schedule``.
Traps of APScheduler 3.11 handled here:
- a time inside a fall-back hour (01:30 on the night clocks go back) fires twice: a fire is identified
  by its local wall time (``canonical_fire``), and ``digest_runs`` is unique per (subscription, that);
- ``misfire_grace_time`` defaults to 1 s: jobs are added with a long grace and ``coalesce=True``.
Schedules live in ``subscriptions`` (our table), not in an APScheduler job store.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.schedule import ScheduleError, cron_trigger, zone

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.cron import CronTrigger

    from bot.app import Services
    from bot.store.repo import SubscriptionRow

log = logging.getLogger(__name__)


def canonical_fire(fire: datetime, tz: str) -> datetime:
    """The identity of a fire: its local wall time, mapped to the first instant that shows it. The two
    fires of 01:30 on a fall-back night become one."""
    z = zone(tz)
    wall = fire.astimezone(z).replace(tzinfo=None)
    return wall.replace(tzinfo=z, fold=0).astimezone(UTC)


_SPANS = (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367))


def latest_fire(trigger: CronTrigger, now: datetime, *, after: datetime | None) -> datetime | None:
    """The last fire time in (after, now], UTC; None when there is none (nothing due)."""
    floor = after + timedelta(microseconds=1) if after is not None else None
    for span in _SPANS:
        start = now - span
        if floor is not None and floor > start:
            start = floor
        fire = trigger.get_next_fire_time(None, start)
        if fire is None or fire > now:
            if floor is not None and start == floor:
                return None
            continue
        while True:
            # Step in UTC: wall-clock arithmetic on a zoned datetime drops ``fold`` and would land back
            # in the first 01:30 of a fall-back night.
            fire = fire.astimezone(UTC)
            nxt = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
            if nxt is None or nxt > now:
                found: datetime = fire.astimezone(UTC)
                return found
            fire = nxt
    return None


class DigestScheduler:
    """Keeps one APScheduler job per subscription with a schedule, in step with the database.

    ``install`` is the ``scheduler_hooks`` entry: it sends digests missed while the bot was down (once:
    every missed fire since the last digest coalesces into one), adds the jobs, and adds a short
    interval job that re-syncs when ``subscriptions_rev`` changes, assigns stories to seeded backlogs,
    and sends held alerts as summaries where a channel has no digest.
    """

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._rev: str | None = None
        self._jobs: dict[int, tuple[str, str]] = {}  # subscription id → (cron, tz) its job was built from

    async def install(self, scheduler: BaseScheduler) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        await self.catch_up()
        await self.sync(scheduler)
        scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.svc.settings.digest_sync_seconds),
            args=[scheduler],
            id="digest-sync",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
        )

    async def tick(self, scheduler: BaseScheduler) -> None:
        from bot.digest.clustering import clusterer_for
        from bot.digest.summary import send_summaries

        await self.sync(scheduler)
        await clusterer_for(self.svc).cluster_pending()
        await send_summaries(self.svc)

    async def sync(self, scheduler: BaseScheduler) -> None:
        """Add, replace or remove digest jobs to match the subscriptions (cheap when nothing changed)."""
        rev = await self.svc.store.get_meta("subscriptions_rev") or ""
        if rev == self._rev:
            return
        wanted: dict[int, tuple[str, str]] = {}
        for sub in await self.svc.store.list_subscriptions():
            if sub.digest_cron:
                wanted[sub.id] = (sub.digest_cron, sub.timezone)
        for sub_id in set(self._jobs) - set(wanted):
            if scheduler.get_job(f"digest:{sub_id}"):
                scheduler.remove_job(f"digest:{sub_id}")
            del self._jobs[sub_id]
        for sub_id, (cron, tz) in wanted.items():
            if self._jobs.get(sub_id) == (cron, tz):
                continue
            try:
                trigger = cron_trigger(cron, tz)
            except ScheduleError as exc:
                log.error("subscription %d has an unusable digest schedule %r: %s", sub_id, cron, exc)
                continue
            if scheduler.get_job(f"digest:{sub_id}"):
                # remove, then add: before start() APScheduler keeps jobs in a pending list that
                # replace_existing does not look at.
                scheduler.remove_job(f"digest:{sub_id}")
            scheduler.add_job(
                self.fire,
                trigger,
                args=[sub_id],
                id=f"digest:{sub_id}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self.svc.settings.digest_misfire_grace_seconds,
            )
            self._jobs[sub_id] = (cron, tz)
        self._rev = rev

    async def due_fire(self, sub: SubscriptionRow) -> datetime | None:
        """The canonical fire this subscription owes now, if any (and not yet run)."""
        if not sub.digest_cron or sub.paused:
            return None
        try:
            trigger = cron_trigger(sub.digest_cron, sub.timezone)
        except ScheduleError:
            return None
        # The latest fire at or before now, whatever the last window: a manual "digest now" just before
        # a fire does not cancel it, and a job APScheduler ran late still answers its own fire.
        fire = latest_fire(trigger, self.svc.clock(), after=sub.created_at)
        if fire is None:
            return None
        canon = canonical_fire(fire, sub.timezone)
        if await self.svc.store.digest_run_exists(sub.id, canon):
            return None
        return canon

    async def fire(self, sub_id: int) -> int | None:
        """The job: send the digest of the fire just due (a repeated fire sends nothing)."""
        from bot.digest.windows import run_digest

        sub = await self.svc.store.get_subscription_by_id(sub_id)
        if sub is None:
            return None
        canon = await self.due_fire(sub)
        if canon is None:
            return None
        return await run_digest(self.svc, sub, scheduled_for=canon)

    async def catch_up(self) -> int:
        """At start: one digest per subscription whose last scheduled fire passed while we were down."""
        from bot.digest.windows import run_digest

        sent = 0
        for sub in await self.svc.store.list_subscriptions():
            if not sub.digest_cron:
                continue
            try:
                trigger = cron_trigger(sub.digest_cron, sub.timezone)
            except ScheduleError:
                continue
            fire = latest_fire(trigger, self.svc.clock(), after=sub.last_digest_at or sub.created_at)
            if fire is None or sub.paused:
                continue
            canon = canonical_fire(fire, sub.timezone)
            if await self.svc.store.digest_run_exists(sub.id, canon):
                continue
            log.info("sending the digest subscription %d missed at %s", sub.id, canon.isoformat())
            if await run_digest(self.svc, sub, scheduled_for=canon) is not None:
                sent += 1
        return sent
