"""Full text: reading an item's linked page, and matching the item again on it.

When: ``want_page`` (pure) — per feed ``full_text`` ("auto", "always", "never"; the setting is the
default). "auto" fetches when the item's own text is shorter than ``page_short_text_chars`` and its title
or teaser passes the matcher's pre-gate (``CompiledMatcher.wants_page``: a side named in any form, or a
word of any watch), so a general-news feed does not cost a fetch per item. A first poll's items (which
never alert) are not read.

How: the poller stores its new articles and hands the ones that want a page to ``PageReader.submit``,
which records each canonical URL in the ``pages`` table (the work survives restarts; a URL is fetched once
however many feeds or processes link it) and starts one job per URL: fetch (``PageFetcher``: guarded,
robots.txt, per-host pacing), extract in the parser workers, then match every article linking the page
on its title + page text, store the text and the new hits, and route them. The poller waits up to
``page_wait_seconds`` for its pages; the articles whose job finished by then were routed by the job with
their page text; the rest are routed on their feed text now and again by their job when the page
arrives (routing is idempotent: one alert per story and channel, so the page only adds what it newly
matched). A page that fails for a passing reason (timeout, 5xx, 429) stays pending and is taken up again
at the start of a later round (``resume_due``); ``drain`` waits for everything due (``poll --once``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.ingest.netguard import redact_url
from bot.ingest.pagefetch import PageFetcher
from bot.ingest.workers import ParserPool
from bot.models import Article, FullText, Matcher, MatchResult, PageGate
from bot.poller import MatcherCache, NewArticle, PageResults, Router
from bot.ports import Clock, Wake
from bot.settings import Settings
from bot.store.repo import FeedRow, PageRow, Store, StoredArticle

log = logging.getLogger(__name__)

_LEASE_MARGIN_SECONDS = 30.0  # a page fetch's lease: its time limits plus this
_DRAIN_ROUNDS = 20  # drain: rounds of "start what is due, wait for it" at most (a page's retries are later)


def want_page(mode: FullText, article: Article, *, short_chars: int, gate: PageGate | None) -> bool:
    """Whether to fetch ``article``'s page under ``mode``. Pure."""
    if mode == "never" or not article.url.startswith(("http://", "https://")):
        return False
    if mode == "always":
        return True
    return len(article.summary) < short_chars and gate is not None and gate.wants_page(article)


def merge_matches(page: MatchResult, feed: MatchResult | None) -> MatchResult:
    """The page's match plus whatever the feed text matched that the page did not (a teaser can name
    something the extracted text leaves out). Pure."""
    if feed is None:
        return page
    fact_ids, watch_ids = set(page.fact_ids), set(page.watch_ids)
    facts = page.facts + tuple(h for h in feed.facts if h.ref not in fact_ids)
    watches = page.watches + tuple(h for h in feed.watches if h.ref not in watch_ids)
    return MatchResult(
        relevant=page.relevant or feed.relevant,
        facts=facts,
        watches=watches,
        relevance=page.relevance if page.relevant else feed.relevance,
        over_budget=tuple(dict.fromkeys(page.over_budget + feed.over_budget)),
    )


class PageReader:
    """Reads articles' pages and matches them again (see the module docstring). One per process."""

    def __init__(
        self,
        store: Store,
        fetcher: PageFetcher,
        parsers: ParserPool,
        matchers: MatcherCache,
        router: Router,
        *,
        settings: Settings,
        clock: Clock,
        wake: Wake,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.parsers = parsers
        self.matchers = matchers
        self.router = router
        self.settings = settings
        self.clock = clock
        self.wake = wake
        self._jobs: dict[str, asyncio.Task[PageResults]] = {}
        self._again: set[str] = set()  # URLs asked for again while their job ran: it runs once more
        # URL -> article id -> the article's feed-text match, while the URL's job runs.
        self._feed_match: dict[str, dict[int, MatchResult]] = {}
        self.fetched = 0  # pages fetched (tests and benchmarks)

    def mode(self, feed: FeedRow) -> FullText:
        spec = feed.spec
        return spec.full_text or self.settings.full_text

    def wanted(self, feed: FeedRow, new: Sequence[NewArticle], matcher: Matcher) -> list[NewArticle]:
        """The new articles of ``feed`` whose page to read (never a first poll's)."""
        mode = self.mode(feed)
        if mode == "never":
            return []
        gate = matcher if isinstance(matcher, PageGate) else None
        short = self.settings.page_short_text_chars
        return [n for n in new if not n.seeded and want_page(mode, n.article, short_chars=short, gate=gate)]

    async def submit(self, new: Sequence[NewArticle]) -> list[asyncio.Task[PageResults]]:
        """Record the pages of ``new`` (stored articles) as wanted and start their jobs; each task's
        result is the articles it matched on page text and routed: article id → (article, match)."""
        urls = list(dict.fromkeys(n.article.url for n in new))
        if not urls:
            return []
        for n in new:
            self._feed_match.setdefault(n.article.url, {})[n.id] = n.match
        await self.store.enqueue_pages(urls, now=self.clock())
        return [self._start(u) for u in urls]

    async def resume_due(self) -> int:
        """Start the jobs of pending pages whose time has come (left by an earlier round, a restart or
        another process). Returns how many were started."""
        urls = await self.store.due_pages(self.clock(), limit=self.settings.page_resume_batch)
        started = 0
        for url in urls:
            if url not in self._jobs:
                self._start(url)
                started += 1
        return started

    async def drain(self) -> None:
        """Wait until no page job runs and no pending page is due (``poll --once`` before it exits)."""
        for _ in range(_DRAIN_ROUNDS):
            await self.resume_due()
            jobs = [t for t in self._jobs.values() if not t.done()]
            if not jobs:
                return
            await asyncio.gather(*jobs, return_exceptions=True)

    async def close(self) -> None:
        jobs = list(self._jobs.values())
        for t in jobs:
            t.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)

    # --- one URL -------------------------------------------------------------------------------------

    def _start(self, url: str) -> asyncio.Task[PageResults]:
        task = self._jobs.get(url)
        if task is not None and not task.done():
            self._again.add(url)
            return task
        task = asyncio.create_task(self._job(url), name=f"page {redact_url(url)}")
        self._jobs[url] = task
        task.add_done_callback(functools.partial(self._finished, url))
        return task

    def _finished(self, url: str, task: asyncio.Task[PageResults]) -> None:
        if self._jobs.get(url) is task:
            del self._jobs[url]
            self._feed_match.pop(url, None)

    async def _job(self, url: str) -> PageResults:
        results: PageResults = {}
        while True:
            self._again.discard(url)
            try:
                results.update(await self._read_and_apply(url))
            except asyncio.CancelledError:
                raise
            except Exception:
                # Never fail the item: it keeps its feed text (and its feed-text routing).
                log.exception("reading the page %s failed", redact_url(url))
            if url not in self._again:
                return results

    async def _read_and_apply(self, url: str) -> PageResults:
        row = await self.store.get_page(url)
        if row is None:
            return {}
        if row.state == "pending":
            now = self.clock()
            s = self.settings
            lease = s.page_timeout_seconds + s.parse_timeout_seconds + _LEASE_MARGIN_SECONDS
            until = now + timedelta(seconds=lease)
            if not await self.store.claim_page(url, now=now, until=until):
                return {}  # not due yet (a later round takes it up), or another process is reading it
            row = await self._fetch(row)
        if row.state != "done" or not row.text:
            return {}
        return await self._apply(url, row.text)

    async def _fetch(self, row: PageRow) -> PageRow:
        s = self.settings
        res = await self.fetcher.fetch(row.url)
        self.fetched += 1
        now = self.clock()
        if res.status == "ok" and res.body is not None:
            page = await self.parsers.extract(res.body, content_type=res.content_type, url=res.final_url)
            if page.text:
                await self.store.record_page(row.url, state="done", now=now, text=page.text, http_status=200)
                return dataclasses.replace(row, state="done", text=page.text)
            state, error = "failed", page.error or "The page has no article text."
        elif res.status == "retry" and row.attempts + 1 < s.page_max_attempts:
            wait = s.page_retry_seconds * 2**row.attempts
            if res.retry_after:
                wait = max(wait, res.retry_after)
            when = now + timedelta(seconds=wait)
            await self.store.record_page(
                row.url,
                state="pending",
                now=now,
                http_status=res.http_status,
                error=res.error,
                next_try_at=when,
            )
            log.info("page %s not read (%s); trying again at %s", redact_url(row.url), res.error, when)
            return dataclasses.replace(row, state="pending", next_try_at=when)
        else:
            state, error = "failed", res.error or "The page could not be read."
        await self.store.record_page(row.url, state=state, now=now, http_status=res.http_status, error=error)
        log.info("page %s not used, the feed text stays: %s", redact_url(row.url), error)
        return dataclasses.replace(row, state=state, error=error)

    async def _apply(self, url: str, text: str) -> PageResults:
        now = self.clock()
        since = now - timedelta(hours=self.settings.alert_max_age_hours)
        waiting = await self.store.articles_awaiting_page(url, since=since)
        if not waiting:
            return {}
        matcher, _ = await self.matchers.current()
        items: list[tuple[int, str, MatchResult]] = []
        out: PageResults = {}
        feed_matches = self._feed_match.get(url, {})
        for stored in waiting:
            feed_match = feed_matches.get(stored.id)
            article = stored.article
            if len(text) <= len(article.summary):
                continue  # the feed said more: its text stays
            paged = dataclasses.replace(article, body=text, text_source="page")
            match = merge_matches(matcher.match(paged), feed_match)
            items.append((stored.id, text, match))
            out[stored.id] = (paged, match)
        if not items:
            return {}
        await self.store.apply_page_text(items)
        await self._route(waiting, out, now)
        return out

    async def _route(self, waiting: Sequence[StoredArticle], out: PageResults, now: datetime) -> None:
        feeds: dict[int, FeedRow] = {}
        new: list[NewArticle] = []
        for stored in waiting:
            if stored.id not in out:
                continue
            feed = feeds.get(stored.feed_id) or await self.store.get_feed(stored.feed_id)
            if feed is None:
                continue
            feeds[stored.feed_id] = feed
            article, match = out[stored.id]
            new.append(NewArticle(stored.id, feed, article, match, seeded=False))
        if new and await self.router.route(new, now):
            self.wake()
