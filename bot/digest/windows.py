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
from typing import TYPE_CHECKING

from bot.digest.clustering import clusterer_for
from bot.digest.compose import compose_digest, empty_note, story_inputs
from bot.models import Digest
from bot.schedule import is_weekly
from bot.store.repo import PlannedDelivery, SubscriptionRow

if TYPE_CHECKING:
    from bot.app import Services

log = logging.getLogger(__name__)


def digest_key(sub_id: int, start: datetime, end: datetime) -> str:
    return f"digest:{sub_id}:{start:%Y%m%dT%H%M%S.%f}-{end:%Y%m%dT%H%M%S.%f}"


async def build_digest(
    svc: Services,
    *,
    start: datetime,
    end: datetime | None,
    sub: SubscriptionRow | None,
    title: str = "pactwatch digest",
    chart: bool = False,
) -> Digest:
    """The digest of stories first seen in [start, end) for ``sub`` (every story when None)."""
    store = svc.store
    rows = await store.stories_in_window(start, end, limit=svc.settings.digest_max_stories)
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
    png = None
    if chart:
        from bot.digest.chart import render_trend

        png = await render_trend(svc, days=7)  # the story lock is held by our caller
    return compose_digest(
        stories,
        facts=svc.facts,
        watches=watches,
        window_start=start,
        window_end=end or svc.clock(),
        fact_filter=sub.facts if sub is not None else None,
        alerted=alerted,
        facts_seen_before=await store.facts_seen_before(start),
        top_n=svc.settings.digest_top_per_section,
        title=title,
        chart_png=png,
    )


async def run_digest(
    svc: Services, sub: SubscriptionRow, *, scheduled_for: datetime | None = None
) -> int | None:
    """Compose, enqueue and advance one window of ``sub``. Returns the number of stories, or None when
    this fire was already handled (or another run moved the window first)."""
    clusterer = clusterer_for(svc)
    async with clusterer.lock:
        await clusterer.cluster_pending_locked()
        fresh = await svc.store.get_subscription_by_id(sub.id)
        if fresh is None:
            return None
        sub = fresh
        now = svc.clock()
        scheduled_for = scheduled_for or now
        if await svc.store.digest_run_exists(sub.id, scheduled_for):
            return None
        start = sub.last_digest_at or now - timedelta(hours=svc.settings.digest_first_window_hours)
        if now <= start:
            return 0
        weekly = bool(sub.digest_cron) and is_weekly(sub.digest_cron or "")
        title = "pactwatch weekly digest" if weekly else "pactwatch digest"
        digest = await build_digest(svc, start=start, end=now, sub=sub, title=title, chart=weekly)
        delivery = None
        if digest.story_count or sub.empty_digest == "note":
            payload = digest if digest.story_count else empty_note(start, now, title=title)
            delivery = PlannedDelivery(
                key=digest_key(sub.id, start, now), subscription_id=sub.id, kind="digest", payload=payload
            )
        ok = await svc.store.commit_digest(
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
    if delivery is not None and svc.outbox is not None:
        svc.outbox.wake.set()
    log.info("digest for %s %s: %d stories", sub.platform, sub.channel, digest.story_count)
    return digest.story_count


async def digest_now(svc: Services, sub: SubscriptionRow) -> int:
    """This channel's digest for the window since its last one, enqueued as one delivery; the window
    advances. Returns the number of stories (0: nothing new; then nothing is posted, or the one-line
    "nothing new" note when the subscription asked for it)."""
    return await run_digest(svc, sub) or 0
