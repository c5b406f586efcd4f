"""Digest windows: compose a channel's digest for the window since its last one, enqueue it as one
outbox delivery, and advance the window, atomically (``Store.commit_digest``).

Windows are chained: each starts where the last ended (``subscriptions.last_digest_at``), and a story
belongs to the window holding its ``first_seen``, so no story is in two digests of a channel and none
falls between two. A scheduled fire is recorded in ``digest_runs`` by its local wall time, so a repeated
fire (the fall-back hour, a restart, a coalesced misfire) sends nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.chart import render_trend
from bot.digest.clustering import StoryClusterer
from bot.digest.compose import compose_digest, empty_note, story_inputs
from bot.models import Digest, Fact
from bot.ports import Clock, Wake
from bot.schedule import is_weekly, zone_or_utc
from bot.settings import Settings
from bot.store.repo import PlannedDelivery, Store, SubscriptionRow

log = logging.getLogger(__name__)


def digest_key(sub_id: int, start: datetime, end: datetime) -> str:
    return f"digest:{sub_id}:{start:%Y%m%dT%H%M%S.%f}-{end:%Y%m%dT%H%M%S.%f}"


class Digests:
    """Composes digests and the trend chart from the store, and enqueues a channel's digest windows."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        facts: tuple[Fact, ...],
        *,
        clock: Clock,
        clusterer: StoryClusterer,
        wake: Wake,
    ) -> None:
        self.store = store
        self.settings = settings
        self.facts = facts
        self.clock = clock
        self.clusterer = clusterer
        self.wake = wake

    async def build(
        self,
        *,
        start: datetime,
        end: datetime | None,
        sub: SubscriptionRow | None,
        title: str = "pactwatch digest",
        chart: bool = False,
        every_story: bool = False,
    ) -> Digest:
        """The digest of stories first seen in [start, end) for ``sub`` (every story when None). Each
        section lists its top ``digest_top_per_section`` stories, or all of them with ``every_story``."""
        store = self.store
        rows = await store.stories_in_window(start, end, limit=self.settings.digest_max_stories)
        stories = story_inputs(rows)
        if sub is None:
            watches = {str(w.id): w.label or w.query for w in await store.list_watches()}
            alerted: set[int] = set()
        else:
            watches = {
                str(w.id): w.label or w.query
                for w in await store.list_watches(platform=sub.platform, channel=sub.channel)
            }
            alerted = await store.alerted_stories(sub.id, [s.story_id for s in stories])
        # The story lock is held by our caller when a chart is asked for: render without re-clustering.
        png = (
            await self._render_trend(days=7, zone=zone_or_utc(sub.timezone if sub else None))
            if chart
            else None
        )
        return compose_digest(
            stories,
            facts=self.facts,
            watches=watches,
            window_start=start,
            window_end=end or self.clock(),
            fact_filter=sub.facts if sub is not None else None,
            alerted=alerted,
            facts_seen_before=await store.facts_seen_before(start),
            top_n=None if every_story else self.settings.digest_top_per_section,
            title=title,
            chart_png=png,
            zone=sub.timezone if sub is not None else "UTC",
        )

    async def run(self, sub: SubscriptionRow, *, scheduled_for: datetime | None = None) -> int | None:
        """Compose, enqueue and advance one window of ``sub``. Returns the number of stories, or None when
        this fire was already handled (or another run moved the window first)."""
        store = self.store
        async with self.clusterer.locked():
            await self.clusterer.cluster_pending_locked()
            fresh = await store.get_subscription_by_id(sub.id)
            if fresh is None:
                return None
            sub = fresh
            now = self.clock()
            scheduled_for = scheduled_for or now
            if await store.digest_run_exists(sub.id, scheduled_for):
                return None
            start = sub.last_digest_at or now - timedelta(hours=self.settings.digest_first_window_hours)
            if now <= start:
                return 0
            weekly = bool(sub.digest_cron) and is_weekly(sub.digest_cron or "")
            title = "pactwatch weekly digest" if weekly else "pactwatch digest"
            digest = await self.build(start=start, end=now, sub=sub, title=title, chart=weekly)
            delivery = None
            if digest.story_count or sub.empty_digest == "note":
                payload = (
                    digest if digest.story_count else empty_note(start, now, title=title, zone=sub.timezone)
                )
                delivery = PlannedDelivery(
                    key=digest_key(sub.id, start, now), subscription_id=sub.id, kind="digest", payload=payload
                )
            ok = await store.commit_digest(
                sub.id,
                scheduled_for=scheduled_for,
                window_start=start,
                window_end=now,
                expected_last=sub.last_digest_at,
                delivery=delivery,
                now=now,
            )
        if not ok:
            return None
        if delivery is not None:
            self.wake()
        log.info("digest for %s %s: %d stories", sub.platform, sub.channel, digest.story_count)
        return digest.story_count

    async def now(self, sub: SubscriptionRow) -> int:
        """This channel's digest for the window since its last one, enqueued as one delivery; the window
        advances. Returns the number of stories (0: nothing new; then nothing is posted, or the one-line
        "nothing new" note when the subscription asked for it)."""
        return await self.run(sub) or 0

    async def trend_png(self, *, days: int = 7, zone: ZoneInfo | None = None) -> bytes:
        """Stories per fact per day over the last ``days`` days (days in ``zone``, UTC when None), as a
        PNG heat map (the ``trend`` command)."""
        await self.clusterer.cluster_pending()
        return await self._render_trend(days=days, zone=zone)

    async def _render_trend(self, *, days: int, zone: ZoneInfo | None = None) -> bytes:
        return await render_trend(
            self.store,
            self.facts,
            now=self.clock(),
            days=max(1, min(days, self.settings.retention_days)),
            zone=zone,
        )
