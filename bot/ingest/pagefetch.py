"""Fetching article pages politely: through the guarded ``Fetcher`` (the network policy on every hop,
size and time limits, redirects re-checked), robots.txt honoured, and per-host pacing.

- **robots.txt** is read once per origin (scheme, host, port) and kept ``robots_cache_seconds`` for at
  most ``robots_cache_hosts`` origins (least recently used dropped). A 4xx answer allows everything
  (RFC 9309); an unreachable robots.txt (5xx, network) means "not now": the page is tried again later.
  A ``Crawl-delay`` there lengthens the host's pacing (capped at ``_MAX_CRAWL_DELAY``).
- **Pacing**: at most ``page_per_host_concurrency`` page requests at once per host (the fetcher's per-host
  limit of 4 for feeds and pages together still holds), ``page_per_host_interval_seconds`` between two
  requests to one host, ``page_concurrency`` at once in all.

``PageFetcher.fetch`` never raises for the page's sake: its ``PageFetch`` says "ok", "retry" (a passing
failure: 429, 5xx, timeout, network) or "failed" (for good: 4xx, not HTML, too large, refused).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from protego import Protego

from bot.ingest.fetch import Fetcher, FetchLimits, FetchResult, Validators
from bot.ingest.netguard import redact_url
from bot.settings import Settings

log = logging.getLogger(__name__)

ROBOTS_AGENT = "pactwatch"  # the token robots.txt rules name us by (the User-Agent starts with it)
_MAX_CRAWL_DELAY = 30.0  # a robots.txt asking for more is paced at this (and its pages simply come later)
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")
GOOGLE_NEWS_HOST = "news.google.com"

PageStatus = Literal["ok", "retry", "failed"]


@dataclasses.dataclass(frozen=True, slots=True)
class PageFetch:
    status: PageStatus
    body: bytes | None = None
    content_type: str | None = None
    final_url: str = ""
    http_status: int | None = None
    error: str | None = None  # one sentence when not "ok"
    retry_after: float | None = None  # what the server asked, capped by the settings


@dataclasses.dataclass(frozen=True, slots=True)
class _Robots:
    rules: Protego | None  # None: everything allowed
    until: float  # monotonic time the entry expires
    unreachable: bool = False
    refused: str | None = None  # the network policy refused the host: why (the page is refused too)


def _refused(res: FetchResult) -> bool:
    """Whether the fetch failed because the network policy refused the address (trying again will not
    help), rather than because of the server or the network."""
    error = res.error or ""
    return res.http_status is None and any(w in error for w in ("refused", "public internet", "URL"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower().rpartition('@')[2]}"


class PageFetcher:
    def __init__(
        self, fetcher: Fetcher, settings: Settings, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetcher = fetcher
        self._settings = settings
        self._monotonic = monotonic
        self._all = asyncio.Semaphore(settings.page_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_slot: dict[str, float] = {}  # host -> monotonic time its next request may start
        self._robots: collections.OrderedDict[str, _Robots] = collections.OrderedDict()
        self._robots_lock: dict[str, asyncio.Lock] = {}
        self.requests = 0  # HTTP requests made for pages and robots.txt (tests and benchmarks count them)
        s = settings
        self._page_limits = FetchLimits(
            max_bytes=s.page_max_bytes,
            total_timeout=s.page_timeout_seconds,
            accept=_PAGE_ACCEPT,
            noun="page",
            content_types=HTML_TYPES,
        )
        self._robots_limits = FetchLimits(
            max_bytes=s.robots_max_bytes,
            total_timeout=s.page_timeout_seconds,
            accept="text/plain, */*;q=0.5",
            noun="robots.txt",
        )

    async def fetch(self, url: str) -> PageFetch:
        """Fetch one article page (see the module docstring). Never raises for the page's sake."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return PageFetch("failed", error="The article link is not an http(s) URL.")
        host = parts.hostname.lower()
        if host == GOOGLE_NEWS_HOST:
            return PageFetch(
                "failed", error="Google News links are not resolved to the publisher; the headline is used."
            )
        robots = await self._robots_for(url)
        if robots.refused:
            return PageFetch("failed", error=robots.refused)
        if robots.unreachable:
            return PageFetch("retry", error="The site's robots.txt could not be read; the page waits.")
        if robots.rules is not None and not robots.rules.can_fetch(url, ROBOTS_AGENT):
            return PageFetch(
                "failed", error="The site's robots.txt does not allow pactwatch to read the page."
            )
        delay = 0.0
        if robots.rules is not None:
            asked = robots.rules.crawl_delay(ROBOTS_AGENT)
            delay = min(float(asked), _MAX_CRAWL_DELAY) if asked else 0.0
        res = await self._paced(host, delay, url, self._page_limits)
        if res.ok and res.body is not None:
            return PageFetch(
                "ok", res.body, res.content_type, res.final_url, res.http_status, retry_after=res.retry_after
            )
        status = res.http_status
        passing = status is None or status == 429 or status >= 500
        if res.error and "larger than" in res.error:
            passing = False
        if (
            status is None
            and res.error
            and any(w in res.error for w in ("refused", "public internet", "URL"))
        ):
            passing = False  # the network policy refused the address: trying again will not help
        return PageFetch(
            "retry" if passing else "failed",
            http_status=status,
            error=res.error or "The server sent no page.",
            retry_after=res.retry_after,
            final_url=res.final_url,
        )

    # --- internals -----------------------------------------------------------------------------------

    async def _paced(self, host: str, delay: float, url: str, limits: FetchLimits) -> FetchResult:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self._settings.page_per_host_concurrency)
        async with self._all, sem:
            interval = max(self._settings.page_per_host_interval_seconds, delay)
            now = self._monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
            if slot > now:
                await asyncio.sleep(slot - now)
            self.requests += 1
            try:
                return await self._fetcher.fetch(url, Validators(), limits=limits)
            finally:
                self._forget_idle(host)

    def _forget_idle(self, host: str) -> None:
        # Bounded memory: a host with nothing running and no pacing ahead is dropped.
        now = self._monotonic()
        if len(self._next_slot) > 4 * self._settings.robots_cache_hosts:
            for h in [h for h, t in self._next_slot.items() if t <= now]:
                del self._next_slot[h]
        sem = self._hosts.get(host)
        if sem is not None and not sem.locked() and self._next_slot.get(host, 0.0) <= now:
            self._hosts.pop(host, None)

    async def _robots_for(self, url: str) -> _Robots:
        origin = _origin(url)
        lock = self._robots_lock.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._robots.get(origin)
            if cached is not None and cached.until > self._monotonic():
                self._robots.move_to_end(origin)
                return cached
            entry = await self._read_robots(origin)
            self._robots[origin] = entry
            self._robots.move_to_end(origin)
            while len(self._robots) > self._settings.robots_cache_hosts:
                old, _ = self._robots.popitem(last=False)
                self._robots_lock.pop(old, None)
            return entry

    async def _read_robots(self, origin: str) -> _Robots:
        s = self._settings
        host = urlsplit(origin).hostname or ""
        res = await self._paced(host, 0.0, origin + "/robots.txt", self._robots_limits)
        until = self._monotonic() + s.robots_cache_seconds
        if res.ok and res.body is not None:
            try:
                rules = Protego.parse(res.body.decode("utf-8", errors="replace"))
            except Exception:  # a robots.txt Protego cannot read: treat it as absent
                log.info("unreadable robots.txt at %s; treated as allowing everything", redact_url(origin))
                rules = None
            return _Robots(rules, until)
        if res.http_status is not None and 400 <= res.http_status < 500 and res.http_status != 429:
            return _Robots(None, until)  # no robots.txt: everything allowed
        if _refused(res):
            return _Robots(None, until, refused=res.error)
        # Unreachable (5xx, 429, network): disallowed for now, asked again soon.
        return _Robots(None, self._monotonic() + min(60.0, s.robots_cache_seconds), unreachable=True)
