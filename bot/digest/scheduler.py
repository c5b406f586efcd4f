"""The digest scheduler: one APScheduler job per subscription with a digest schedule, kept in step with
the database, plus the short job that assigns stories to seeded backlogs and sends held-alert summaries."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from bot.digest.clustering import StoryClusterer
from bot.digest.schedule import canonical_fire, latest_fire
from bot.digest.summary import Summaries
from bot.digest.windows import Digests
from bot.ports import Clock
from bot.schedule import ScheduleError, cron_trigger
from bot.store.db import describe_db_error
from bot.store.repo import Store, SubscriptionRow

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)


class DigestScheduler:
    """Keeps one APScheduler job per subscription with a schedule, in step with the database.

    ``install`` adds its jobs to the service's scheduler: it first sends digests missed while the bot was
    down (once: every missed fire since the last digest coalesces into one), adds the jobs, and adds a
    short interval job that re-syncs when ``subscriptions_rev`` changes, assigns stories to seeded backlogs,
    and sends held alerts as summaries where a channel has no digest.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        digests: Digests,
        summaries: Summaries,
        clusterer: StoryClusterer,
        sync_seconds: float,
        misfire_grace_seconds: int,
    ) -> None:
        self.store = store
        self.clock = clock
        self.digests = digests
        self.summaries = summaries
        self.clusterer = clusterer
        self.sync_seconds = sync_seconds
        self.misfire_grace_seconds = misfire_grace_seconds
        self._rev: str | None = None
        self._jobs: dict[int, tuple[str, str]] = {}  # subscription id → (cron, tz) its job was built from

    async def install(self, scheduler: BaseScheduler) -> None:
        from apscheduler.triggers.interval import IntervalTrigger

        await self.catch_up()
        await self.sync(scheduler)
        scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self.sync_seconds),
            args=[scheduler],
            id="digest-sync",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
        )

    async def tick(self, scheduler: BaseScheduler) -> None:
        try:
            await self.sync(scheduler)
            await self.clusterer.cluster_pending()
            await self.summaries.send()
        except (SQLAlchemyError, ConnectionError, OSError) as exc:
            # The database went away: one line (the log holds repeats back), no traceback; next tick retries.
            log.error("digest upkeep failed: database unavailable (%s)", describe_db_error(exc))

    async def sync(self, scheduler: BaseScheduler) -> None:
        """Add, replace or remove digest jobs to match the subscriptions (cheap when nothing changed)."""
        rev = await self.store.get_meta("subscriptions_rev") or ""
        if rev == self._rev:
            return
        wanted: dict[int, tuple[str, str]] = {}
        for sub in await self.store.list_subscriptions():
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
                misfire_grace_time=self.misfire_grace_seconds,
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
        fire = latest_fire(trigger, self.clock(), after=sub.created_at)
        if fire is None:
            return None
        canon = canonical_fire(fire, sub.timezone)
        if await self.store.digest_run_exists(sub.id, canon):
            return None
        return canon

    async def fire(self, sub_id: int) -> int | None:
        """The job: send the digest of the fire just due (a repeated fire sends nothing)."""
        sub = await self.store.get_subscription_by_id(sub_id)
        if sub is None:
            return None
        canon = await self.due_fire(sub)
        if canon is None:
            return None
        return await self.digests.run(sub, scheduled_for=canon)

    async def catch_up(self) -> int:
        """At start: one digest per subscription whose last scheduled fire passed while we were down."""
        sent = 0
        for sub in await self.store.list_subscriptions():
            if not sub.digest_cron:
                continue
            try:
                trigger = cron_trigger(sub.digest_cron, sub.timezone)
            except ScheduleError:
                continue
            fire = latest_fire(trigger, self.clock(), after=sub.last_digest_at or sub.created_at)
            if fire is None or sub.paused:
                continue
            canon = canonical_fire(fire, sub.timezone)
            if await self.store.digest_run_exists(sub.id, canon):
                continue
            log.info("sending the digest subscription %d missed at %s", sub.id, canon.isoformat())
            if await self.digests.run(sub, scheduled_for=canon) is not None:
                sent += 1
        return sent
