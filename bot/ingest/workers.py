"""Parser worker processes: a memory ceiling per worker and a kill on timeout.

The standard ``ProcessPoolExecutor`` cannot cancel a running task and breaks as a whole when one
worker dies, so this uses pebble: ``schedule(timeout=...)`` kills the worker that overruns and starts a
new one, and the others carry on. Workers come from a forkserver (not a fork of the bot, which has
threads and an event loop running) with the parser modules preloaded, so a replacement starts quickly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import logging
import multiprocessing
import os
import pickle
import resource
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from pebble import ProcessExpired, ProcessPool

from bot.ingest.netguard import redact_url
from bot.ingest.page import PageText, extract_page
from bot.ingest.parse import FeedError, ParsedFeed, parse_and_normalize
from bot.ingest.storysig import SigParams, shingle
from bot.models import EvidenceJSON, FeedSpec, Hit, Matcher, MatchResult
from bot.settings import Settings

log = logging.getLogger(__name__)

_PRELOAD = [
    "bot.ingest.parse",
    "bot.ingest.page",
    "bot.ingest.normalize",
    "feedparser",
    "selectolax.lexbor",
    "bot.matching",
    "bot.ingest.storysig",
]


def _limit_memory(limit_mb: int) -> None:
    """Worker initializer: cap the address space so a runaway parse fails with MemoryError (or dies)."""
    limit = limit_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@dataclasses.dataclass(frozen=True, slots=True)
class MatcherRef:
    """A matcher to run in the workers: ``blob`` is the pickled matcher, ``key`` names this build of it.

    Every task carries the blob (tens of KB, small next to a feed body); a worker unpickles it only when
    the key differs from the one it has, so a watch change reaches every worker on its next task."""

    key: str
    blob: bytes


# The worker's matcher, by key (one at a time: a new key replaces the old build).
_worker_matcher: dict[str, Matcher] = {}


def _matcher_in_worker(ref: MatcherRef) -> Matcher:
    matcher = _worker_matcher.get(ref.key)
    if matcher is None:
        matcher = pickle.loads(ref.blob)
        _worker_matcher.clear()
        _worker_matcher[ref.key] = matcher
        # The matcher lives until the watches change: keep it out of the cyclic collector's full passes,
        # which would otherwise walk all of it (tens of ms each) again and again as the worker's caches
        # grow. Unfreezing first lets this one full collection free the build it replaces.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    return matcher


def parse_and_match(
    body: bytes,
    *,
    matcher: MatcherRef | None,
    sign: SigParams | None = None,
    evidence: bool = True,
    **kwargs: Any,
) -> ParsedFeed:
    """``parse_and_normalize``, then match every article (the worker-side half of the pipeline) and, with
    ``sign``, read each article for its story signature (``bot.ingest.storysig.shingle``). Without
    ``evidence`` (a first poll, which alerts nothing) fact and watch hits carry ``NOT_KEPT``.

    A matcher that cannot be loaded or fails here leaves ``matches`` None and says why in
    ``match_error``: the bot logs it and matches in its own process, as it does for a matcher that cannot
    be pickled."""
    parsed = parse_and_normalize(body, **kwargs)
    if sign is not None and parsed.articles:
        parsed = dataclasses.replace(parsed, shingled=tuple(shingle(a.text, sign) for a in parsed.articles))
    if matcher is None:
        return parsed
    try:
        m = _matcher_in_worker(matcher)
        # The store writes every hit's evidence: build the snippets here, not in the bot's loop, and hand
        # them over as the JSON it writes.
        results = tuple(
            _as_json(m.match(article) if evidence else m.match(article).without_evidence())
            for article in parsed.articles
        )
    except Exception as exc:
        return dataclasses.replace(parsed, match_error=f"{type(exc).__name__}: {exc}")
    return dataclasses.replace(parsed, matches=results)


def _as_json(result: MatchResult) -> MatchResult:
    if not result.facts and not result.watches:
        return result
    # Queries that fired on the same words share one evidence object (``View.evidence``): write its JSON
    # once, and hand it over once (pickle sends a repeated object as a reference).
    done: dict[int, EvidenceJSON] = {}

    def as_json(hit: Hit) -> Hit:
        if not hit.kept:  # a first poll's (``NOT_KEPT``): nothing to write
            return hit
        evidence = hit.evidence
        found = done.get(id(evidence))
        if found is None:
            found = done[id(evidence)] = EvidenceJSON.of(evidence)
        return Hit(hit.kind, hit.ref, found)

    return dataclasses.replace(
        result,
        facts=tuple(map(as_json, result.facts)),
        watches=tuple(map(as_json, result.watches)),
    )


def _ready(matcher: MatcherRef | None = None) -> int:
    """The worker's process id, once it holds ``matcher`` (loaded here if it did not)."""
    if matcher is not None:
        _matcher_in_worker(matcher)
    return os.getpid()


class ParserPool:
    """Parses feeds in worker processes. ``parse`` raises ``FeedError`` for every failure."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool = self._new_pool()
        self._closed = False

    def _new_pool(self) -> ProcessPool:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return ProcessPool(
            max_workers=self._settings.parse_workers,
            initializer=_limit_memory,
            initargs=(self._settings.parse_memory_limit_mb,),
            context=context,
        )

    def _restart(self) -> None:
        """Replace a pool pebble gave up on (every worker died at start-up) with a fresh one."""
        log.warning("parser pool broken; starting a new one")
        old, self._pool = self._pool, self._new_pool()
        old.stop()  # type: ignore[no-untyped-call]

    async def parse(
        self,
        body: bytes,
        *,
        feed: FeedSpec,
        content_type: str | None,
        headers: dict[str, str],
        now: datetime,
        matcher: MatcherRef | None = None,
        sign: SigParams | None = None,
        evidence: bool = True,
    ) -> ParsedFeed:
        """Parse ``body`` in a worker. Raises ``FeedError`` on refusal, parse failure, timeout or a
        worker that died (over its memory ceiling, or killed). With ``matcher``, the worker also matches
        every article and returns the results in ``ParsedFeed.matches`` (None if it could not). With
        ``sign``, ``ParsedFeed.shingled`` has each article read for its story signature. Without
        ``evidence``, the worker builds no evidence for fact and watch hits (``parse_and_match``)."""
        if self._closed:
            raise RuntimeError("ParserPool is closed")
        settings = self._settings
        if not self._pool.active:
            self._restart()
        both = matcher is not None or sign is not None
        kwargs: dict[str, Any] = {"matcher": matcher, "sign": sign, "evidence": evidence} if both else {}
        future = self._pool.schedule(
            parse_and_match if both else parse_and_normalize,
            args=(body,),
            kwargs={
                **kwargs,
                "feed": feed,
                "content_type": content_type,
                "headers": dict(headers),
                "now": now,
                "max_entries": settings.parse_max_entries,
                "text_max_chars": settings.text_max_chars,
            },
            timeout=settings.parse_timeout_seconds,
        )
        try:
            result: ParsedFeed = await asyncio.wrap_future(future)
        except FeedError:
            raise
        except (TimeoutError, concurrent.futures.TimeoutError):
            raise FeedError(
                f"Parsing the feed took longer than {settings.parse_timeout_seconds:g} seconds "
                "and was stopped."
            ) from None
        except ProcessExpired as exc:
            raise FeedError(
                "The parser process died while reading the feed (most likely over its "
                f"{settings.parse_memory_limit_mb} MB memory limit; exit code {exc.exitcode})."
            ) from None
        except MemoryError:
            raise FeedError(
                f"The feed needed more than the parser's {settings.parse_memory_limit_mb} MB memory limit."
            ) from None
        except BrokenProcessPool:
            self._restart()
            raise FeedError(
                "The parser processes failed to start; the feed will be parsed next round."
            ) from None
        except asyncio.CancelledError:
            future.cancel()  # type: ignore[no-untyped-call]  # pebble stops the worker running it
            raise
        except Exception as exc:
            log.exception("parser worker failed on %s", redact_url(feed.url))
            raise FeedError(f"The feed could not be parsed ({type(exc).__name__}).") from None
        return result

    async def extract(self, body: bytes, *, content_type: str | None, url: str) -> PageText:
        """An article page's main text (``extract_page``) from a worker, under the same memory ceiling and
        time limit as feeds. Never raises for the page's sake: a failure is a ``PageText`` with ``error``."""
        if self._closed:
            raise RuntimeError("ParserPool is closed")
        settings = self._settings
        if not self._pool.active:
            self._restart()
        future = self._pool.schedule(
            extract_page,
            args=(body,),
            kwargs={"content_type": content_type, "url": url, "max_chars": settings.page_text_max_chars},
            timeout=settings.parse_timeout_seconds,
        )
        try:
            result: PageText = await asyncio.wrap_future(future)
        except (TimeoutError, concurrent.futures.TimeoutError):
            return PageText(
                "", None, f"Reading the page took longer than {settings.parse_timeout_seconds:g} s."
            )
        except ProcessExpired as exc:
            return PageText("", None, f"The page reader died (exit code {exc.exitcode}; memory limit?).")
        except MemoryError:
            return PageText("", None, f"The page needed more than {settings.parse_memory_limit_mb} MB.")
        except BrokenProcessPool:
            self._restart()
            return PageText("", None, "The parser processes failed to start.")
        except asyncio.CancelledError:
            future.cancel()  # type: ignore[no-untyped-call]
            raise
        except Exception as exc:
            log.exception("page extraction failed on %s", redact_url(url))
            return PageText("", None, f"The page could not be read ({type(exc).__name__}).")
        return result

    async def start(self, matcher: MatcherRef | None = None) -> set[int]:
        """Start the workers now (the fork server with the parser modules, then each worker) rather than
        on the first feed of the first round; with ``matcher``, each worker also loads it now (building a
        matcher from its pickle compiles every query: ~0.15 s at 1,000 watches, which the first round
        would otherwise pay once per worker). Returns the ids of the workers known to hold it (all of
        them, as a rule: a worker busy loading leaves the next task to another). Failures are left for
        ``parse`` to report."""
        ready: set[int] = set()
        workers = self._settings.parse_workers
        for _ in range(3 if matcher is not None else 1):
            futures = [self._pool.schedule(_ready, args=(matcher,)) for _ in range(workers)]
            results = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures), return_exceptions=True)
            ready.update(r for r in results if isinstance(r, int))
            if len(ready) >= workers:
                break
        return ready

    def worker_pids(self) -> list[int]:
        """The worker processes' ids (for health checks and the memory measurement in tests)."""
        import psutil

        try:
            return [child.pid for child in psutil.Process().children(recursive=True)]
        except psutil.Error:
            return []

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.stop()  # type: ignore[no-untyped-call]
        await asyncio.to_thread(self._pool.join, 10)

    async def __aenter__(self) -> ParserPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
