"""One poll of one feed, and rounds over many: fetch → parse → store → match → route → outbox.

One feed never breaks a round: every failure becomes a recorded feed error with exponential backoff.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.ingest.fetch import Fetcher, Validators
from bot.ingest.parse import FeedError
from bot.ingest.workers import ParserPool
from bot.models import Article, Fact, Matcher, MatcherFactory, MatchResult, WatchSpec
from bot.store.repo import FeedRow, PlannedDelivery, Store, WatchRow

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


@dataclasses.dataclass(frozen=True, slots=True)
class NewArticle:
    id: int
    feed: FeedRow
    article: Article
    match: MatchResult
    seeded: bool


@dataclasses.dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed: FeedRow
    status: str  # "new", "not_modified", "unchanged", "error"
    new: tuple[NewArticle, ...] = ()
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RoundReport:
    outcomes: tuple[FeedOutcome, ...]

    @property
    def new(self) -> list[NewArticle]:
        return [a for o in self.outcomes for a in o.new]

    @property
    def errors(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status == "error"]


@dataclasses.dataclass(frozen=True, slots=True)
class PollPolicy:
    interval: int = 300
    jitter: int = 30
    backoff_base: int = 60
    backoff_max: int = 6 * 3600
    retry_after_max: int = 6 * 3600
    seed_first_poll: bool = True
    alert_max_age: timedelta = timedelta(hours=48)
    concurrency: int = 64

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures: base·2^(n-1), capped."""
        return float(min(self.backoff_base * 2 ** max(failures - 1, 0), self.backoff_max))

    def next_poll(self, feed: FeedRow, now: datetime, *, retry_after: float | None = None) -> datetime:
        """The next regular poll: a fixed per-feed phase within the interval (so feeds spread out
        instead of all firing together), plus a little jitter, and never before the server's
        Retry-After / max-age (bounded)."""
        interval = feed.interval_s or self.interval
        phase = (zlib.crc32(feed.url.encode()) % 10_000) / 10_000 * interval
        ts = now.timestamp()
        slot = ((ts - phase) // interval + 1) * interval + phase
        if slot - ts < interval / 2:
            slot += interval
        slot += random.uniform(0, self.jitter)
        if retry_after:
            slot = max(slot, ts + min(retry_after, self.retry_after_max))
        return datetime.fromtimestamp(slot, tz=now.tzinfo)


class MatcherCache:
    """The compiled matcher, rebuilt when the watch list changes (in this process or another)."""

    def __init__(self, store: Store, facts: tuple[Fact, ...], factory: MatcherFactory) -> None:
        self.store = store
        self.facts = facts
        self.factory = factory
        self._rev: str | None = None
        self._matcher: Matcher | None = None
        self._watches: dict[str, WatchRow] = {}
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[Matcher, dict[str, WatchRow]]:
        async with self._lock:
            rev = await self.store.watches_revision()
            if self._matcher is None or rev != self._rev:
                rows = await self.store.list_watches()
                specs = tuple(WatchSpec(id=str(w.id), query=w.query) for w in rows)
                # Compiling thousands of watches takes a moment: keep it off the event loop.
                self._matcher = await asyncio.to_thread(self.factory, self.facts, specs)
                self._watches = {str(w.id): w for w in rows}
                self._rev = rev
            return self._matcher, self._watches


class Poller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        parsers: ParserPool,
        matchers: MatcherCache,
        *,
        policy: PollPolicy,
        clock: Clock,
        on_delivery_planned: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.parsers = parsers
        self.matchers = matchers
        self.policy = policy
        self.clock = clock
        self.on_delivery_planned = on_delivery_planned
        self.router: Router | None = None
        self._in_flight: set[int] = set()
        self.last_round_at: datetime | None = None
        self.counters = {"polls": 0, "errors": 0, "articles": 0, "matches": 0}

    async def poll_due(self) -> RoundReport:
        """Poll every feed whose time has come (the scheduler's tick)."""
        feeds = await self.store.due_feeds(self.clock())
        return await self.poll_feeds(feeds)

    async def poll_feeds(
        self, feeds: Sequence[FeedRow], *, progress: Callable[[FeedOutcome], None] | None = None
    ) -> RoundReport:
        """Poll ``feeds`` now, concurrently (bounded), whatever their schedule or backoff."""
        sem = asyncio.Semaphore(self.policy.concurrency)

        async def one(feed: FeedRow) -> FeedOutcome:
            async with sem:
                outcome = await self.poll_feed(feed)
            if progress:
                progress(outcome)
            return outcome

        todo = [f for f in feeds if f.id not in self._in_flight]
        outcomes = await asyncio.gather(*(one(f) for f in todo))
        self.last_round_at = self.clock()
        return RoundReport(tuple(outcomes))

    async def poll_feed(self, feed: FeedRow) -> FeedOutcome:
        self._in_flight.add(feed.id)
        try:
            return await self._poll_feed(feed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug in one feed's processing must not break the round; record it like a feed error.
            log.exception("unexpected failure polling %s", feed.url)
            return await self._fail(feed, f"internal error while polling: {type(exc).__name__}: {exc}")
        finally:
            self._in_flight.discard(feed.id)

    async def _poll_feed(self, feed: FeedRow) -> FeedOutcome:
        self.counters["polls"] += 1
        validators = Validators(etag=feed.etag, last_modified=feed.last_modified, body_hash=feed.body_hash)
        res = await self.fetcher.fetch(feed.url, validators, allow_local=feed.origin == "operator")
        now = self.clock()
        if res.status == "error" or (res.status == "ok" and res.body is None):
            return await self._fail(feed, res.error or "the server sent no body", retry_after=res.retry_after)
        if res.status in ("not_modified", "unchanged"):
            await self.store.record_feed_success(
                feed.id,
                now=now,
                next_poll_at=self.policy.next_poll(feed, now, retry_after=res.retry_after),
                etag=res.validators.etag or feed.etag,
                last_modified=res.validators.last_modified or feed.last_modified,
                body_hash=res.validators.body_hash or feed.body_hash,
                seeded=True if res.status == "unchanged" else feed.seeded,
                new_items=0,
            )
            return FeedOutcome(feed, res.status)
        assert res.body is not None
        try:
            parsed = await self.parsers.parse(
                res.body, feed=feed.spec, content_type=res.content_type, headers=res.headers, now=now
            )
        except FeedError as exc:
            return await self._fail(feed, str(exc), retry_after=res.retry_after)
        seeding = self.policy.seed_first_poll and not feed.seeded
        stored = await self.store.insert_articles(feed.id, parsed.articles, now=now, seeded=seeding)
        new: list[NewArticle] = []
        if stored:
            matcher, _ = await self.matchers.current()
            results: list[tuple[int, MatchResult]] = []
            for i, (aid, article) in enumerate(stored):
                results.append((aid, matcher.match(article)))
                if i % 50 == 49:
                    await asyncio.sleep(0)  # let the loop breathe between chunks
            await self.store.store_matches(results)
            new = [
                NewArticle(aid, feed, art, m, seeding)
                for (aid, art), (_, m) in zip(stored, results, strict=True)
            ]
            self.counters["articles"] += len(new)
            self.counters["matches"] += sum(len(n.match.facts) + len(n.match.watches) for n in new)
            if not seeding and self.router is not None:
                planned = await self.router.route(new, now)
                if planned and self.on_delivery_planned:
                    self.on_delivery_planned()
        await self.store.record_feed_success(
            feed.id,
            now=now,
            next_poll_at=self.policy.next_poll(feed, now, retry_after=res.retry_after),
            etag=res.validators.etag,
            last_modified=res.validators.last_modified,
            body_hash=res.validators.body_hash,
            seeded=True,
            new_items=len(stored),
        )
        if parsed.warning:
            log.debug("feed %s parsed with a warning: %s", feed.url, parsed.warning)
        return FeedOutcome(feed, "new", tuple(new))

    async def _fail(self, feed: FeedRow, error: str, *, retry_after: float | None = None) -> FeedOutcome:
        self.counters["errors"] += 1
        now = self.clock()
        failures = feed.failure_count + 1
        wait = self.policy.backoff(failures)
        if retry_after:
            wait = max(wait, min(retry_after, self.policy.retry_after_max))
        await self.store.record_feed_failure(
            feed.id, now=now, error=error, next_poll_at=now + timedelta(seconds=wait)
        )
        # Logged once per failed attempt, which is once per backoff step.
        log.warning(
            "feed %s failed (%d in a row): %s — next try in %s",
            feed.name or feed.url,
            failures,
            error,
            timedelta(seconds=int(wait)),
        )
        return FeedOutcome(feed, "error", error=error)


class Router:
    """Turns newly matched articles into outbox deliveries. The default routes immediate alerts with
    ``plan_alerts``; the digest work replaces it with one that also clusters stories and applies the
    alert policy (hourly cap, quiet hours)."""

    def __init__(self, store: Store, facts: tuple[Fact, ...], *, policy: PollPolicy, matchers: MatcherCache):
        self.store = store
        self.facts = {f.id: f for f in facts}
        self.policy = policy
        self.matchers = matchers

    async def route(self, new: Sequence[NewArticle], now: datetime) -> int:
        from bot.delivery.routing import plan_alerts

        subs = [s for s in await self.store.list_subscriptions() if not s.paused]
        if not subs:
            return 0
        _, watches = await self.matchers.current()
        planned: list[PlannedDelivery] = []
        for n in new:
            planned += plan_alerts(
                n.id,
                n.article,
                n.match,
                subscriptions=subs,
                facts=self.facts,
                watches=watches,
                now=now,
                max_age=self.policy.alert_max_age,
            )
        return await self.store.enqueue(planned, now=now)
