"""One poll of one feed, and rounds over many: fetch → parse → store → match → route → outbox.

One feed never breaks a round: every failure becomes a recorded feed error with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import pickle
import random
import socket
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.crashpoints import crashpoint
from bot.ingest.fetch import Fetcher, Validators
from bot.ingest.parse import FeedError
from bot.ingest.storysig import Shingled, SigParams
from bot.ingest.workers import MatcherRef, ParserPool
from bot.models import Article, Fact, Matcher, MatcherFactory, MatchResult, Summary, WatchSpec
from bot.ports import Clock, Wake
from bot.store.batch import UnchangedBatch
from bot.store.locks import holder_is_dead
from bot.store.repo import FeedRow, PlannedDelivery, Store, UnchangedPoll, WatchRow

log = logging.getLogger(__name__)

OVER_BUDGET_REASON = (
    "matching it took too much work on an article. Remove it and add a simpler query: fewer nested NEARs, "
    "smaller NEAR/n distances, whole words instead of short prefixes."
)


@dataclasses.dataclass(frozen=True, slots=True)
class NewArticle:
    id: int
    feed: FeedRow
    article: Article
    match: MatchResult
    seeded: bool
    # Its feed text read for its story signature by the parser worker (``signed``); None if too short.
    shingled: Shingled | None = None
    signed: bool = False


# What a page job matched on page text and routed: article id -> (article with its page text, match).
PageResults = dict[int, tuple[Article, MatchResult]]


class PageWork(Protocol):
    """Reading new articles' pages (``bot.pages.PageReader``)."""

    def wanted(self, feed: FeedRow, new: Sequence[NewArticle], matcher: Matcher) -> list[NewArticle]: ...

    async def submit(self, new: Sequence[NewArticle]) -> list[asyncio.Task[PageResults]]: ...

    async def resume_due(self) -> int: ...

    async def drain(self) -> None: ...


class Router(Protocol):
    """Turns newly matched articles into outbox deliveries; returns how many were planned."""

    async def route(self, new: Sequence[NewArticle], now: datetime) -> int: ...


@dataclasses.dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed: FeedRow
    status: str  # "new", "not_modified", "unchanged", "error", "busy" (polled by another process now)
    new: tuple[NewArticle, ...] = ()
    error: str | None = None
    retry_in: float = 0.0  # after an error: seconds until the feed is tried again
    fetch_seconds: float | None = None  # how long the fetch took (for the metrics)
    parse_seconds: float | None = None  # how long parsing and matching in the workers took
    # Counts of ``new`` and of its hits; kept when ``poll_feeds(keep_articles=False)`` drops the articles.
    articles: int = 0
    relevant: int = 0
    fact_hits: int = 0
    watch_hits: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class RoundReport:
    outcomes: tuple[FeedOutcome, ...]

    @property
    def new(self) -> list[NewArticle]:
        return [a for o in self.outcomes for a in o.new]

    @property
    def errors(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status == "error"]

    @property
    def articles(self) -> int:
        """New articles stored this round (counted even when the articles were not kept)."""
        return sum(o.articles for o in self.outcomes)

    def summary(self) -> str:
        """One line: "12 feeds: 10 ok, 2 failed; 34 new articles, 3 relevant" ("no new articles")."""
        total, failed = len(self.outcomes), len(self.errors)
        busy = sum(1 for o in self.outcomes if o.status == "busy")
        line = f"{total} feed{'s' if total != 1 else ''}: {total - failed - busy} ok"
        if failed:
            line += f", {failed} failed"
        if busy:
            line += f", {busy} being polled by another process"
        if not self.articles:
            return f"{line}; no new articles"
        plural = "s" if self.articles != 1 else ""
        return f"{line}; {self.articles} new article{plural}, {self.relevant} relevant"

    @property
    def relevant(self) -> int:
        return sum(o.relevant for o in self.outcomes)

    @property
    def fact_hits(self) -> int:
        return sum(o.fact_hits for o in self.outcomes)

    @property
    def watch_hits(self) -> int:
        return sum(o.watch_hits for o in self.outcomes)


@dataclasses.dataclass(frozen=True, slots=True)
class PollPolicy:
    interval: int = 300
    jitter: int = 30
    backoff_base: int = 60
    backoff_max: int = 6 * 3600
    retry_after_max: int = 6 * 3600
    seed_first_poll: bool = True
    concurrency: int = 64
    match_in_workers: bool = True  # match in the parser workers (else here, after storing)
    lease_seconds: float = 300.0  # how long one poll may hold its feed before another process may take it
    page_wait: float = 3.0  # how long a poll waits for its articles' pages before routing on feed text
    sign: SigParams | None = None  # the parser workers sign new articles for story clustering

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
    """The compiled matcher, rebuilt when the watch list changes (in this process or another).

    Outside a poll round every ``current()`` checks the watch revision in the store. Within one
    (``async with cache.round():``) the revision is checked once, when the round starts, and the feeds of
    the round share that matcher: a watch added or removed meanwhile takes effect from the next round.
    ``invalidate()`` (the poller pausing a watch) makes the next ``current()`` check again."""

    def __init__(self, store: Store, facts: tuple[Fact, ...], factory: MatcherFactory) -> None:
        self.store = store
        self.facts = facts
        self.factory = factory
        self._rev: str | None = None
        self._matcher: Matcher | None = None
        self._ref: MatcherRef | None = None
        self._watches: dict[str, WatchRow] = {}
        self._lock = asyncio.Lock()
        self._rounds = 0  # poll rounds under way: the revision was checked when each started
        self._stale = False

    @contextlib.asynccontextmanager
    async def round(self) -> AsyncIterator[None]:
        """One poll round: the watch revision is checked now, and not again per feed until it ends."""
        pinned = True
        try:
            await self.current(check=True)
        except Exception:
            # The store or the build failed: each feed tries again itself (and records its error).
            log.exception("checking the watches for a poll round failed")
            pinned = False
        self._rounds += pinned
        try:
            yield
        finally:
            self._rounds -= pinned

    def invalidate(self) -> None:
        """The watches changed here (a watch paused): the next ``current()`` checks the revision."""
        self._stale = True

    async def current(self, *, check: bool = False) -> tuple[Matcher, dict[str, WatchRow]]:
        async with self._lock:
            if self._matcher is not None and self._rounds and not self._stale and not check:
                return self._matcher, self._watches
            self._stale = False
            rev = await self.store.watches_revision()
            if self._matcher is None or rev != self._rev:
                rows = [w for w in await self.store.list_watches() if w.paused_reason is None]
                specs = tuple(WatchSpec(id=str(w.id), query=w.query) for w in rows)
                # Compiling thousands of watches takes a moment: keep it off the event loop.
                matcher, self._ref = await asyncio.to_thread(self._build, specs)
                self._matcher = matcher
                self._watches = {str(w.id): w for w in rows}
                self._rev = rev
                # The matcher (and everything built at start-up) lives until the watches change: keep it
                # out of the cyclic collector's full passes, which otherwise scan it again and again and
                # pause the event loop for a few hundred ms under load. One full collection here (once per
                # watch change) frees what the previous build left behind.
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                return matcher, self._watches
            return self._matcher, self._watches

    async def worker_ref(self) -> MatcherRef | None:
        """The current matcher for the parser workers; None when it cannot be pickled (the poller then
        matches in this process)."""
        await self.current()
        return self._ref

    def _build(self, specs: tuple[WatchSpec, ...]) -> tuple[Matcher, MatcherRef | None]:
        matcher = self.factory(self.facts, specs)
        try:
            ref = MatcherRef(key=uuid.uuid4().hex, blob=pickle.dumps(matcher, pickle.HIGHEST_PROTOCOL))
        except (pickle.PicklingError, TypeError, AttributeError):
            log.info("the matcher cannot be pickled; matching in the main process")
            ref = None
        return matcher, ref


class Poller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        parsers: ParserPool,
        matchers: MatcherCache,
        router: Router,
        *,
        policy: PollPolicy,
        clock: Clock,
        wake: Wake,
        pages: PageWork | None = None,
    ) -> None:
        self.store = store
        self.pages = pages  # None: no page is ever read
        self.fetcher = fetcher
        self.parsers = parsers
        self.matchers = matchers
        self.router = router
        self.policy = policy
        self.clock = clock
        self.wake = wake
        self._in_flight: set[int] = set()
        self.last_round_at: datetime | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"  # the feed leases' holder
        self.unchanged = UnchangedBatch(store)

    async def poll_due(self) -> RoundReport:
        """Poll every feed whose time has come (the scheduler's tick). The report has counts, not the
        articles: on a first start every feed is due, and 2,000 feeds' articles would not fit in memory."""
        if self.pages is not None:
            try:
                await self.pages.resume_due()  # pages left pending by an earlier round or process
            except Exception:
                log.exception("taking up pending pages failed; the next round tries again")
        feeds = await self.store.due_feeds(self.clock())
        return await self.poll_feeds(feeds, keep_articles=False)

    async def poll_feeds(
        self,
        feeds: Sequence[FeedRow],
        *,
        progress: Callable[[FeedOutcome], None] | None = None,
        keep_articles: bool = True,
        log_failures: bool = True,
        wait_for_pages: bool = False,
    ) -> RoundReport:
        """Poll ``feeds`` now, concurrently (bounded), whatever their schedule or backoff. Without
        ``keep_articles`` the outcomes in the report carry counts only (``progress`` still sees all).
        Without ``log_failures`` a failed feed is only in the report (the caller says it itself).
        ``wait_for_pages``: wait for every new article's page rather than ``page_wait`` (``poll --once``)."""
        sem = asyncio.Semaphore(self.policy.concurrency)
        claimed: dict[int, FeedRow] = {}
        claimed_at = time.monotonic()

        async def one(feed: FeedRow) -> FeedOutcome:
            async with sem:
                # Claimed with the round; a poll that waited for its turn past half its lease claims again.
                fresh = time.monotonic() - claimed_at < self.policy.lease_seconds / 2
                outcome = await self.poll_feed(
                    feed,
                    log_failure=log_failures,
                    wait_for_pages=wait_for_pages,
                    claimed=claimed.get(feed.id) if fresh else None,
                )
            if progress:
                progress(outcome)
            return outcome if keep_articles or not outcome.new else dataclasses.replace(outcome, new=())

        todo = [f for f in feeds if f.id not in self._in_flight]
        if not todo:
            outcomes: list[FeedOutcome] = []
        else:
            async with self.matchers.round():  # the watch revision: checked once for the round
                # Every lease in one write now, not a claim per wave of polls (each behind the writes).
                try:
                    claimed = await self.store.claim_feeds(
                        [f.id for f in todo],
                        owner=self.owner,
                        now=self.clock(),
                        lease_seconds=self.policy.lease_seconds,
                    )
                except Exception:
                    log.exception("claiming the round's feeds failed; each feed claims its own")
                claimed_at = time.monotonic()
                outcomes = await asyncio.gather(*(one(f) for f in todo))
        self.last_round_at = self.clock()
        return RoundReport(tuple(outcomes))

    async def poll_feed(
        self,
        feed: FeedRow,
        *,
        log_failure: bool = True,
        wait_for_pages: bool = False,
        claimed: FeedRow | None = None,
    ) -> FeedOutcome:
        """Poll one feed, unless another process is polling it now (then the outcome is "busy").
        ``claimed``: the feed's row as this poller claimed it just now (``Store.claim_feeds``)."""
        if claimed is None:
            claimed = await self.store.claim_feed(
                feed.id, owner=self.owner, now=self.clock(), lease_seconds=self.policy.lease_seconds
            )
        if claimed is None:
            # A process of this machine that died mid-poll (killed, restarted) left its lease behind.
            holder = await self.store.feed_lease_holder(feed.id)
            if holder is not None and holder_is_dead(holder):
                claimed = await self.store.claim_feed(
                    feed.id,
                    owner=self.owner,
                    now=self.clock(),
                    lease_seconds=self.policy.lease_seconds,
                    steal_from=holder,
                )
        if claimed is None:
            log.debug("feed %s is being polled by another process; skipped", feed.name or feed.url)
            return FeedOutcome(feed, "busy")
        feed = claimed  # as it is now: another process may have seeded or polled it meanwhile
        self._in_flight.add(feed.id)
        try:
            outcome = await self._poll_feed(feed, wait_for_pages=wait_for_pages)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug in one feed's processing must not break the round; record it like a feed error.
            log.exception("unexpected failure polling %s", feed.url)
            outcome = await self._fail(feed, f"internal error while polling: {type(exc).__name__}: {exc}")
        finally:
            self._in_flight.discard(feed.id)
        if outcome.status == "error" and log_failure:
            # Once per failed attempt, which is once per backoff step.
            log.warning(
                "feed %s failed (%d in a row): %s — next try in %s",
                feed.name or feed.url,
                feed.failure_count + 1,
                outcome.error,
                timedelta(seconds=int(outcome.retry_in)),
            )
        return outcome

    async def _poll_feed(self, feed: FeedRow, *, wait_for_pages: bool = False) -> FeedOutcome:
        validators = Validators(etag=feed.etag, last_modified=feed.last_modified, body_hash=feed.body_hash)
        started = time.monotonic()
        res = await self.fetcher.fetch(feed.url, validators, allow_local=feed.origin == "operator")
        fetch_seconds = time.monotonic() - started
        crashpoint("poll.fetched")
        now = self.clock()
        if res.status == "error" or (res.status == "ok" and res.body is None):
            error = res.error or "the server sent no body"
            failed = await self._fail(feed, error, retry_after=res.retry_after)
            return dataclasses.replace(failed, fetch_seconds=fetch_seconds)
        if res.status in ("not_modified", "unchanged"):
            # Nothing new: batched with the other feeds that just came back unchanged.
            await self.unchanged.record(
                UnchangedPoll(
                    feed.id,
                    now=now,
                    next_poll_at=self.policy.next_poll(feed, now, retry_after=res.retry_after),
                    etag=res.validators.etag or feed.etag,
                    last_modified=res.validators.last_modified or feed.last_modified,
                    body_hash=res.validators.body_hash or feed.body_hash,
                    seeded=True if res.status == "unchanged" else feed.seeded,
                )
            )
            return FeedOutcome(feed, res.status, fetch_seconds=fetch_seconds)
        assert res.body is not None
        # Matching runs in the parser workers right after parsing: in parallel, and off this event loop.
        ref = await self.matchers.worker_ref() if self.policy.match_in_workers else None
        seeding = self.policy.seed_first_poll and not feed.seeded
        started = time.monotonic()
        try:
            parsed = await self.parsers.parse(
                res.body,
                feed=feed.spec,
                content_type=res.content_type,
                headers=res.headers,
                now=now,
                matcher=ref,
                # A first poll's articles are stored without routing: nothing clusters them now, and
                # nothing quotes their hits (``why`` and ``fact`` build those snippets when asked).
                sign=None if seeding else self.policy.sign,
                evidence=not seeding,
            )
        except FeedError as exc:
            return await self._fail(feed, str(exc), retry_after=res.retry_after)
        parse_seconds = time.monotonic() - started
        crashpoint("poll.parsed")
        if parsed.match_error:
            log.error(
                "matching %s in the parser worker failed (%s); matching in this process",
                feed.name or feed.url,
                parsed.match_error,
            )
        done = UnchangedPoll(
            feed.id,
            now=now,
            next_poll_at=self.policy.next_poll(feed, now, retry_after=res.retry_after),
            etag=res.validators.etag,
            last_modified=res.validators.last_modified,
            body_hash=res.validators.body_hash,
            seeded=True,
        )
        # A first poll routes nothing: its articles, their matches and the poll's success are one write.
        recorded = seeding and parsed.matches is not None
        matched: dict[int, MatchResult] = {}  # articles stored together with their matches, by id
        if parsed.matches is not None:
            inserted = await self.store.insert_matched_articles(
                feed.id,
                tuple(zip(parsed.articles, parsed.matches, strict=True)),
                now=now,
                seeded=seeding,
                done=done if recorded else None,
            )
            stored = [(aid, art) for aid, art, _ in inserted]
            matched = {aid: m for aid, _, m in inserted}
        else:
            stored = await self.store.insert_articles(feed.id, parsed.articles, now=now, seeded=seeding)
        crashpoint("poll.articles_inserted")
        polled = {aid for aid, _ in stored}  # parsed (and signed) just now
        if not seeding:
            # Articles an earlier poll stored but never finished routing (it died before recording
            # success): route them again now, or their alerts are lost. Routing is idempotent (unique
            # delivery keys). A first poll's articles never alert: there is nothing to finish.
            stored += await self.store.articles_of_unfinished_polls(
                feed.id, after=feed.last_success_at, exclude={aid for aid, _ in stored}
            )
        new: list[NewArticle] = []
        if stored:
            results: list[tuple[int, MatchResult]] = []
            todo = [(aid, art) for aid, art in stored if aid not in matched]
            if todo:
                matcher, _ = await self.matchers.current()
                for i, (aid, article) in enumerate(todo):
                    m = matcher.match(article)
                    results.append((aid, m.without_evidence() if seeding else m))
                    if i % 50 == 49:
                        await asyncio.sleep(0)  # let the loop breathe between chunks
                await self.store.store_matches(results)
            crashpoint("poll.matched")
            by_id = {**matched, **dict(results)}
            signed: dict[str, Shingled | None] = {}
            for art, read in zip(parsed.articles, parsed.shingled or (), strict=False):
                signed.setdefault(art.entry_id, read)
            new = [
                NewArticle(
                    aid,
                    feed,
                    art,
                    by_id[aid],
                    seeding,
                    shingled=signed.get(art.entry_id),
                    signed=aid in polled and art.entry_id in signed,
                )
                for aid, art in stored
            ]
            planned = await self._pause_over_budget(new, now)
            if not seeding:
                new, paged = await self._read_pages(feed, new, wait_for_pages=wait_for_pages)
                # The articles whose page arrived in time were routed by their page job.
                planned += await self.router.route([n for n in new if n.id not in paged], now)
                crashpoint("poll.routed")
            if planned:
                self.wake()
        if not recorded:
            await self.store.record_feed_success(done, new_items=len(stored))
        crashpoint("poll.recorded")
        if parsed.warning:
            log.debug("feed %s parsed with a warning: %s", feed.url, parsed.warning)
        return FeedOutcome(
            feed,
            "new",
            tuple(new),
            articles=len(new),
            relevant=sum(1 for n in new if n.match.relevant),
            fact_hits=sum(len(n.match.facts) for n in new),
            watch_hits=sum(len(n.match.watches) for n in new),
            fetch_seconds=fetch_seconds,
            parse_seconds=parse_seconds,
        )

    async def _read_pages(
        self, feed: FeedRow, new: list[NewArticle], *, wait_for_pages: bool
    ) -> tuple[list[NewArticle], set[int]]:
        """Hand the articles that want their page to the page reader; wait ``page_wait`` (or, with
        ``wait_for_pages``, all it takes). Returns ``new`` with the articles matched on their page in time
        (their job routed them) replaced, and their ids; the rest are routed on feed text now."""
        if self.pages is None:
            return new, set()
        try:
            want = self.pages.wanted(feed, new, (await self.matchers.current())[0])
            tasks = await self.pages.submit(want) if want else []
        except Exception:
            log.exception("queueing the pages of %s failed; its items keep their feed text", feed.url)
            return new, set()
        if not tasks:
            return new, set()
        done, _ = await asyncio.wait(set(tasks), timeout=None if wait_for_pages else self.policy.page_wait)
        ids = {n.id for n in new}
        paged = {a: r for t in done if not t.cancelled() and not t.exception() for a, r in t.result().items()}
        mine = {aid: r for aid, r in paged.items() if aid in ids}
        new = [
            dataclasses.replace(n, article=mine[n.id][0], match=mine[n.id][1]) if n.id in mine else n
            for n in new
        ]
        return new, set(mine)

    async def _pause_over_budget(self, new: Sequence[NewArticle], now: datetime) -> int:
        """Pause each watch that did more work on an article than its budget, and tell its channel once
        (when the channel has a subscription). One tenant's runaway watch then costs nothing more, and
        nobody else's matches suffer. Returns how many notices were planned."""
        planned = 0
        for wid in dict.fromkeys(w for n in new for w in n.match.over_budget):
            watch = await self.store.pause_watch(int(wid), reason=OVER_BUDGET_REASON)
            if watch is None:
                continue  # already paused, or removed meanwhile
            self.matchers.invalidate()  # the rest of the round matches without it
            log.warning("watch #%s (%s %s) paused: over its work budget", wid, watch.platform, watch.channel)
            sub = await self.store.get_subscription(watch.platform, watch.channel)
            if sub is None:
                continue
            notice = Summary(
                title=f"Watch #{watch.id} is paused: {OVER_BUDGET_REASON}",
                lines=(),
            )
            planned += await self.store.enqueue(
                [
                    PlannedDelivery(
                        key=f"watch-paused:{watch.id}", subscription_id=sub.id, kind="summary", payload=notice
                    )
                ],
                now=now,
            )
        return planned

    async def _fail(self, feed: FeedRow, error: str, *, retry_after: float | None = None) -> FeedOutcome:
        now = self.clock()
        failures = feed.failure_count + 1
        wait = self.policy.backoff(failures)
        if retry_after:
            wait = max(wait, min(retry_after, self.policy.retry_after_max))
        await self.store.record_feed_failure(
            feed.id, now=now, error=error, next_poll_at=now + timedelta(seconds=wait)
        )
        return FeedOutcome(feed, "error", error=error, retry_in=wait)
