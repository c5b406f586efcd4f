"""The job queue: a Procrastinate ``App`` over the pactwatch database, built from the settings when a worker
starts (never at import), its schema, and the tasks the workers run.

Periodic tasks fire once per period whichever worker takes them (Procrastinate records each fire):

- ``dispatch_due_feeds`` queues ``poll_feed(feed_id)`` for every due feed, with ``queueing_lock`` and
  ``lock`` ``feed:<id>``: at most one poll of a feed waiting and one running, across workers;
- ``send_digests`` sends each subscription's due digest (``digest_runs`` keeps one run per fire);
- ``digest_upkeep`` assigns stories to seeded backlogs and sends held-alert summaries;
- ``retention`` deletes old articles and finished jobs;
- ``retry_stalled_jobs`` runs again the jobs of workers that stopped beating (killed, machine lost), which
  would otherwise hold their feed's lock for ever.

A ``poll_feed`` job re-reads its feed and does nothing when it is no longer due: ``next_poll_at`` (with
backoff and Retry-After in it) stays the one truth of when a feed is polled.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Services, count_round
from bot.settings import Settings
from bot.store.db import MIGRATION_LOCK_KEY

if TYPE_CHECKING:
    import procrastinate

log = logging.getLogger(__name__)

POLL_FEED = "pactwatch.poll_feed"
# The periodic tasks go before waiting polls whenever a worker has a free slot: a dispatch held up behind
# a burst of polls would make every feed late.
UPKEEP_PRIORITY = 10


def libpq_url(db_url: str) -> str:
    """The database URL as psycopg wants it (``postgresql://…``); it carries the password: never log it."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def every(seconds: int) -> str:
    """A Procrastinate cron (six fields, seconds last) firing every ``seconds`` (a divisor of 60)."""
    return "* * * * *" if seconds >= 60 else f"* * * * * */{seconds}"


def build_app(settings: Settings) -> procrastinate.App:
    """The Procrastinate app over the settings' database (opened by the caller: ``app.open_async()``)."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(settings.db_url), min_size=1, max_size=settings.worker_db_pool_size
    )
    return procrastinate.App(connector=connector)


async def apply_queue_schema(engine: AsyncEngine) -> bool:
    """Create Procrastinate's tables and functions unless they exist, under pactwatch's migration lock (so
    workers starting together on a fresh database create them once). True when they were created."""
    from procrastinate.schema import SchemaManager

    schema = SchemaManager.get_schema()
    async with engine.begin() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        exists = (
            await conn.execute(sa.text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        ).scalar()
        if exists:
            return False
        raw = await conn.get_raw_connection()
        # Several statements in one: asyncpg runs a query without arguments as a simple query.
        await raw.driver_connection.execute(schema)  # type: ignore[union-attr]
    log.info("created the job queue's tables (Procrastinate)")
    return True


@dataclasses.dataclass(frozen=True)
class Tasks:
    """The registered tasks a worker defers by hand (the periodic ones fire by themselves)."""

    poll_feed: Any


def register_tasks(app: procrastinate.App, svc: Services) -> Tasks:
    """Register pactwatch's tasks on ``app``, each working through ``svc`` (this worker's services)."""
    from procrastinate.exceptions import AlreadyEnqueued
    from procrastinate.jobs import Status

    s = svc.settings
    store = svc.store

    @app.task(name=POLL_FEED)
    async def poll_feed(feed_id: int) -> str:
        feed = await store.get_feed(feed_id)
        now = svc.clock()
        if feed is None or not feed.enabled:
            return "gone"
        if feed.next_poll_at is not None and feed.next_poll_at > now:
            return "not due"  # polled meanwhile (a job queued twice, or retried after its poll ended)
        holder = await store.feed_lease_holder(feed_id)
        if holder is not None and holder != svc.poller.owner:
            # The job's lock means no other worker polls this feed now: a lease left behind is a dead
            # worker's (its stalled job was run again, or failed and queued anew). Take it over.
            claimed = await store.claim_feed(
                feed_id,
                owner=svc.poller.owner,
                now=now,
                lease_seconds=s.poll_lease_seconds,
                steal_from=holder,
            )
            if claimed is not None:
                feed = claimed
                log.info(
                    "feed %s: took over the poll lease of %s", feed.name or feed_id, holder.split(":")[0]
                )
        report = await svc.poller.poll_feeds([feed], keep_articles=False)
        count_round(svc.metrics, report)
        outcome = report.outcomes[0].status if report.outcomes else "skipped"
        if report.articles:
            log.debug("feed %s: %s", feed.name or feed_id, report.summary())
        return outcome

    @app.periodic(cron=every(s.worker_dispatch_seconds), periodic_id="dispatch")
    @app.task(name="pactwatch.dispatch_due_feeds", lock="pactwatch.dispatch", priority=UPKEEP_PRIORITY)
    async def dispatch_due_feeds(timestamp: int) -> int:
        try:
            await svc.pages.resume_due()  # pages left pending by an earlier poll, here or elsewhere
        except Exception:
            log.exception("taking up pending pages failed; the next dispatch tries again")
        queued = 0
        for feed in await store.due_feeds(svc.clock()):
            key = f"feed:{feed.id}"
            try:
                await poll_feed.configure(queueing_lock=key, lock=key).defer_async(feed_id=feed.id)
            except AlreadyEnqueued:
                continue  # one poll of this feed waits already
            queued += 1
        return queued

    @app.periodic(cron="* * * * *", periodic_id="digests")
    @app.task(name="pactwatch.send_digests", lock="pactwatch.digests", priority=UPKEEP_PRIORITY)
    async def send_digests(timestamp: int) -> int:
        sent = 0
        for sub in await store.list_subscriptions():
            if sub.digest_cron and await svc.digest_scheduler.fire(sub.id) is not None:
                sent += 1
        return sent

    @app.periodic(cron=every(s.worker_upkeep_seconds), periodic_id="upkeep")
    @app.task(name="pactwatch.digest_upkeep", lock="pactwatch.upkeep", priority=UPKEEP_PRIORITY)
    async def digest_upkeep(timestamp: int) -> int:
        await svc.clusterer.cluster_pending()
        return await svc.summaries.send()

    @app.periodic(cron="17 3 * * *", periodic_id="retention")
    @app.task(name="pactwatch.retention", lock="pactwatch.retention", priority=UPKEEP_PRIORITY)
    async def retention(timestamp: int) -> int:
        cutoff = svc.clock() - timedelta(days=s.retention_days)
        removed = await store.delete_articles_before(cutoff)
        await app.job_manager.delete_old_jobs(nb_hours=s.worker_keep_jobs_hours, include_failed=True)
        log.info("retention: removed %d articles older than %d days", removed, s.retention_days)
        return removed

    @app.periodic(cron=every(s.worker_stalled_sweep_seconds), periodic_id="stalled")
    @app.task(name="pactwatch.retry_stalled_jobs", lock="pactwatch.stalled", priority=UPKEEP_PRIORITY)
    async def retry_stalled_jobs(timestamp: int) -> int:
        manager = app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=s.worker_stalled_seconds))
        for job in stalled:
            assert job.id is not None
            try:
                await manager.retry_job(job)
                what = "queued again"
            except Exception:
                # A newer job of the same feed waits already (its queueing lock): end this one instead,
                # which frees the feed's lock for that one.
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                what = "ended, a newer one waits"
            log.warning("job %d (%s) of a worker that stopped beating: %s", job.id, job.task_name, what)
        await manager.prune_stalled_workers(s.worker_stalled_seconds)
        return len(stalled)

    del dispatch_due_feeds, send_digests, digest_upkeep, retention, retry_stalled_jobs
    return Tasks(poll_feed=poll_feed)
