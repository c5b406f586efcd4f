"""The composition root: the one place that builds settings-driven services and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TextIO

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.delivery.console import ConsoleSink
from bot.delivery.outbox import OutboxSender
from bot.digest.clustering import StoryClusterer, params_from
from bot.digest.policy import StoryRouter
from bot.digest.scheduler import DigestScheduler
from bot.digest.summary import Summaries
from bot.digest.windows import Digests
from bot.feedlist import load_feed_list
from bot.health import FeedHealth, Metrics, StatusFn, problems, start_health_server
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import redact_url
from bot.ingest.pagefetch import PageFetcher
from bot.ingest.workers import ParserPool
from bot.logs import SecretRedactor
from bot.models import Fact, MatcherFactory, Sink
from bot.pages import PageReader
from bot.poller import MatcherCache, Poller, PollPolicy, RoundReport
from bot.ports import Clock, utc_now
from bot.settings import ConfigurationError, Settings
from bot.store.db import describe_db_error
from bot.store.locks import hold_role
from bot.store.repo import Store

log = logging.getLogger(__name__)


class ChatAdapter(Protocol):
    """A chat platform's adapter: its sink for the outbox, and (in ``run``) its live connection."""

    sink: Sink

    async def start(self) -> None:
        """Connect (gateway, Socket Mode or HTTP server). Not called by ``poll --once``."""
        ...

    async def close(self) -> None: ...


# Each chat adapter module exposes ``make_adapter(core: Core, *, live: bool) -> ChatAdapter``; imported only
# when its token is set, so a console-only install never imports discord.py or slack_bolt.
ADAPTER_MODULES = {"discord": "bot.discord", "slack": "bot.slack"}


@dataclasses.dataclass(frozen=True, eq=False)
class Core:
    """Every service of the pipeline, built once per process by ``build_services``; the chat adapters
    (and the command layer inside them) are built from it."""

    settings: Settings
    store: Store
    facts: tuple[Fact, ...]
    clock: Clock
    metrics: Metrics
    fetcher: Fetcher
    parsers: ParserPool
    matchers: MatcherCache
    clusterer: StoryClusterer
    router: StoryRouter
    pages: PageReader
    poller: Poller
    digests: Digests
    summaries: Summaries
    digest_scheduler: DigestScheduler
    # Set when deliveries were planned, so the outbox sender sends them now.
    outbox_wake: asyncio.Event
    started_at: float

    def wake_outbox(self) -> None:
        self.outbox_wake.set()

    async def start_parsers(self) -> set[int]:
        """Start the parser workers, each holding the current matcher when matching runs there (the first
        round then matches at once instead of compiling the matcher in every worker). Returns the ids of
        the workers that hold it (``ParserPool.start``)."""
        ref = await self.matchers.worker_ref() if self.settings.match_in_workers else None
        return await self.parsers.start(ref)

    async def status(self) -> dict[str, Any]:
        """What ``/healthz`` and the ``status`` command report. ``ok`` is False, with ``problems`` saying
        why, when the outbox is stuck or every feed keeps failing (``/healthz`` then answers 503)."""
        now = self.clock()
        feeds = await self.store.list_feeds()
        failing = [f for f in feeds if f.failure_count > 0]
        depth = await self.store.outbox_depth()
        oldest_due = await self.store.oldest_due_delivery(now)
        s = self.settings
        self.metrics.outbox_depth.set(depth)
        self.metrics.feeds_failing.set(len(failing))
        for f in feeds:
            since = f.last_success_at or f.created_at
            self.metrics.feed_since_success.labels(f.name or redact_url(f.url)).set(
                max(0.0, (now - since).total_seconds())
            )
        found = problems(
            [
                FeedHealth(
                    name=f.name or f.url,
                    interval=timedelta(seconds=f.interval_s or s.poll_interval_seconds),
                    last_success_at=f.last_success_at,
                    created_at=f.created_at,
                )
                for f in feeds
            ],
            now=now,
            oldest_due_delivery=oldest_due,
            max_delivery_delay=timedelta(seconds=s.health_max_delivery_delay_seconds),
            feed_failure_intervals=s.health_feed_failure_intervals,
        )
        last = self.poller.last_round_at
        return {
            "ok": not found,
            "problems": found,
            "uptime_seconds": round(time.monotonic() - self.started_at),
            "feeds": len(feeds),
            "feeds_failing": len(failing),
            "last_poll": last.isoformat() if last else None,
            "outbox_depth": depth,
        }


@dataclasses.dataclass(frozen=True, eq=False)
class Services(Core):
    """The core plus what talks to the outside: the chat adapters, their sinks and the outbox sender."""

    sinks: Mapping[str, Sink]
    adapters: tuple[ChatAdapter, ...]
    outbox: OutboxSender


def default_matcher_factory(settings: Settings) -> MatcherFactory:
    from bot.matching import WatchLimits, compile_matcher

    return functools.partial(compile_matcher, limits=WatchLimits.of(settings))


def load_facts(settings: Settings) -> tuple[Fact, ...]:
    from bot.matching import load_catalog

    return load_catalog(settings.resolved_facts_file())


def build_core(
    settings: Settings, store: Store, *, clock: Clock, facts: tuple[Fact, ...], factory: MatcherFactory
) -> Core:
    """Construct the pipeline's services over an open store (nothing here does I/O)."""
    policy = PollPolicy(
        interval=settings.poll_interval_seconds,
        jitter=settings.poll_jitter_seconds,
        backoff_base=settings.backoff_base_seconds,
        backoff_max=settings.backoff_max_seconds,
        retry_after_max=settings.retry_after_max_seconds,
        seed_first_poll=settings.seed_first_poll,
        concurrency=settings.fetch_concurrency,
        match_in_workers=settings.match_in_workers,
        lease_seconds=settings.poll_lease_seconds,
        page_wait=settings.page_wait_seconds,
        sign=params_from(settings).sig,
    )
    outbox_wake = asyncio.Event()
    wake = outbox_wake.set
    matchers = MatcherCache(store, facts, factory)
    clusterer = StoryClusterer(store, params_from(settings), clock)
    router = StoryRouter(
        store,
        facts,
        matchers=matchers,
        clusterer=clusterer,
        alert_max_age=timedelta(hours=settings.alert_max_age_hours),
        alerts_per_hour=settings.alerts_per_channel_per_hour,
    )
    fetcher = Fetcher(settings)
    parsers = ParserPool(settings)
    pages = PageReader(
        store,
        PageFetcher(fetcher, settings),
        parsers,
        matchers,
        router,
        settings=settings,
        clock=clock,
        wake=wake,
    )
    poller = Poller(
        store, fetcher, parsers, matchers, router, policy=policy, clock=clock, wake=wake, pages=pages
    )
    digests = Digests(store, settings, facts, clock=clock, clusterer=clusterer, wake=wake)
    summaries = Summaries(
        store, interval=timedelta(minutes=settings.summary_interval_minutes), clock=clock, wake=wake
    )
    scheduler = DigestScheduler(
        store,
        clock=clock,
        digests=digests,
        summaries=summaries,
        clusterer=clusterer,
        sync_seconds=settings.digest_sync_seconds,
        misfire_grace_seconds=settings.digest_misfire_grace_seconds,
    )
    return Core(
        settings=settings,
        store=store,
        facts=facts,
        clock=clock,
        metrics=Metrics(),
        fetcher=fetcher,
        parsers=parsers,
        matchers=matchers,
        clusterer=clusterer,
        router=router,
        pages=pages,
        poller=poller,
        digests=digests,
        summaries=summaries,
        digest_scheduler=scheduler,
        outbox_wake=outbox_wake,
        started_at=time.monotonic(),
    )


@contextlib.asynccontextmanager
async def build_services(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    matcher_factory: MatcherFactory | None = None,
    facts: tuple[Fact, ...] | None = None,
    console_stream: TextIO | None = None,
    chat: bool = True,
    live: bool = False,
) -> AsyncIterator[Services]:
    """Open the store (migrating it), the HTTP session, the parser workers and the sinks; close them all
    on exit. ``live`` is for ``run`` (chat adapters connect); ``poll --once`` uses REST only."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"the data folder {settings.data_dir} cannot be created ({exc.strerror}); set PACTWATCH_DATA_DIR "
            "to a writable folder"
        ) from None
    store = await Store.open(settings.db_url, retry_attempts=settings.db_retry_attempts)
    core: Core | None = None
    adapters: list[ChatAdapter] = []
    try:
        facts = facts if facts is not None else load_facts(settings)
        core = build_core(
            settings,
            store,
            clock=clock,
            facts=facts,
            factory=matcher_factory or default_matcher_factory(settings),
        )
        await sync_config_subscriptions(core)
        sinks: dict[str, Sink] = {}
        if settings.console_enabled:
            sinks["console"] = ConsoleSink(console_stream)
        if chat:
            for platform, module in ADAPTER_MODULES.items():
                token = settings.discord_token if platform == "discord" else settings.slack_bot_token
                if token is None:
                    continue
                adapter: ChatAdapter = importlib.import_module(module).make_adapter(core, live=live)
                adapters.append(adapter)
                sinks[platform] = adapter.sink
        metrics = core.metrics
        outbox = OutboxSender(
            store,
            sinks,
            clock=clock,
            lease_seconds=settings.outbox_lease_seconds,
            batch=settings.outbox_batch,
            max_attempts=settings.send_max_attempts,
            send_timeout=settings.send_timeout_seconds,
            retry_min_seconds=settings.send_retry_min_seconds,
            on_result=metrics.count_delivery,
            scrub=SecretRedactor(settings.secret_values()).scrub,
            wake=core.outbox_wake,
        )
        fields = {f.name: getattr(core, f.name) for f in dataclasses.fields(Core)}
        yield Services(**fields, sinks=sinks, adapters=tuple(adapters), outbox=outbox)
    finally:
        for adapter in reversed(adapters):
            with contextlib.suppress(Exception):
                await adapter.close()
        if core is not None:
            await core.pages.close()
            await core.parsers.close()
            await core.fetcher.close()
        await store.close()


async def sync_config_subscriptions(svc: Core) -> None:
    """Subscriptions declared in the settings file (and the console's own, when it is on)."""
    now = svc.clock()
    for sub in svc.settings.subscriptions:
        await svc.store.upsert_subscription(
            platform=sub.platform,
            channel=sub.channel,
            now=now,
            origin="config",
            facts=sub.facts,
            alerts=sub.alerts,
            digest_cron=sub.digest,
            timezone=sub.timezone,
            mention_role=sub.mention_role,
        )
    declared_console = any(s.platform == "console" for s in svc.settings.subscriptions)
    if svc.settings.console_enabled and not declared_console:
        existing = await svc.store.get_subscription("console", "console")
        if existing is None:
            await svc.store.upsert_subscription(
                platform="console", channel="console", now=now, origin="config", alerts="all"
            )


async def sync_operator_feeds(svc: Services) -> None:
    specs = load_feed_list(svc.settings.resolved_feeds_file())
    await svc.store.sync_operator_feeds(specs, svc.clock())


def count_round(metrics: Metrics, report: RoundReport) -> None:
    """A poll round's (or one feed's) outcomes in the metrics."""
    for o in report.outcomes:
        if o.fetch_seconds is not None:
            metrics.fetch_seconds.observe(o.fetch_seconds)
        if o.parse_seconds is not None:
            metrics.parse_seconds.observe(o.parse_seconds)
    metrics.polls.inc(len(report.outcomes))
    metrics.poll_errors.inc(len(report.errors))
    metrics.articles.inc(report.articles)
    if report.fact_hits:
        metrics.matches.labels("fact").inc(report.fact_hits)
    if report.watch_hits:
        metrics.matches.labels("watch").inc(report.watch_hits)


async def serve_health(settings: Settings, metrics: Metrics, status: StatusFn) -> web.AppRunner | None:
    """``/healthz`` and ``/metrics`` on ``health_host:health_port`` (None when off, or the port is taken:
    then one error line, and the service runs on without it)."""
    if not settings.health_port:
        return None
    try:
        runner = await start_health_server(settings.health_host, settings.health_port, metrics, status)
    except OSError as exc:
        log.error(
            "health endpoint could not listen on %s:%d (%s); set health_port to a free port or 0",
            settings.health_host,
            settings.health_port,
            exc,
        )
        return None
    log.info("health endpoint on http://%s:%d/healthz", settings.health_host, settings.health_port)
    return runner


@contextlib.asynccontextmanager
async def _single_node(svc: Services) -> AsyncIterator[None]:
    """``run`` owns its database: on PostgreSQL it refuses (``RoleConflict``) to start beside another
    ``run`` or beside workers and gateways, which would poll, route and send alongside it."""
    lock = await hold_role(svc.store.engine, "run")
    try:
        yield
    finally:
        await lock.release()


async def run_service(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """``pactwatch run``: poll on schedule, deliver, serve health and chat, until SIGINT/SIGTERM."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    running = False

    def on_signal() -> None:
        stop.set()
        if not running and main is not None:
            main.cancel()  # still starting (e.g. waiting for the database): stop now, not after retries

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)

    async with build_services(settings, live=True) as svc, _single_node(svc):
        await svc.store.release_channels(None)
        await sync_operator_feeds(svc)
        svc.metrics.set_role("run")
        # The parser workers and the story index are ready before the first round, not during it.
        await asyncio.gather(svc.start_parsers(), svc.clusterer.start())
        feeds = await svc.store.list_feeds()
        log.info(
            "pactwatch running: %d feeds, %d facts, sinks: %s, database: %s",
            len(feeds),
            len(svc.facts),
            ", ".join(svc.sinks) or "none",
            svc.store.dialect,
        )
        in_flight: set[asyncio.Task[Any]] = set()

        async def tick() -> None:
            task = asyncio.current_task()
            if task:
                in_flight.add(task)
            try:
                report = await svc.poller.poll_due()
            except (SQLAlchemyError, ConnectionError, OSError) as exc:
                # The database went away: one line (rate-limited by the log filter), no traceback.
                log.error("polling round failed: database unavailable (%s)", describe_db_error(exc))
                return
            finally:
                if task:
                    in_flight.discard(task)
            if report.outcomes:
                log.info("%s", report.summary())
            count_round(svc.metrics, report)

        async def retention() -> None:
            cutoff = svc.clock() - timedelta(days=settings.retention_days)
            removed = await svc.store.delete_articles_before(cutoff)
            log.info("retention: removed %d articles older than %d days", removed, settings.retention_days)

        scheduler = AsyncIOScheduler(timezone=UTC)
        tick_seconds = max(5, min(15, settings.poll_interval_seconds // 4))
        scheduler.add_job(
            tick,
            IntervalTrigger(seconds=tick_seconds),
            id="poll",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(
            retention, CronTrigger(hour=3, minute=17, timezone=UTC), id="retention", misfire_grace_time=3600
        )
        await svc.digest_scheduler.install(scheduler)
        scheduler.start()

        runner = await serve_health(settings, svc.metrics, svc.status)
        for adapter in svc.adapters:
            await adapter.start()
        running = True
        outbox_task = asyncio.create_task(
            svc.outbox.run(interval=settings.outbox_interval_seconds, stop=stop)
        )
        await stop.wait()
        log.info("stopping: finishing in-flight polls and sends")
        scheduler.shutdown(wait=False)
        if in_flight:
            await asyncio.wait(in_flight, timeout=30)
        await outbox_task
        if runner is not None:
            await runner.cleanup()
    log.info("stopped")
