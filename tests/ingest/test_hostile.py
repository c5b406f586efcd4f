"""Hostile feeds, served by a local aiohttp server, through the real Fetcher and ParserPool.

Each case must end as an error result or a FeedError within its deadline, the pool must keep working
after a worker is killed, and the peak resident memory of this process plus the parser workers (and
the forkserver they come from) must stay under PEAK_MEMORY_BOUND.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import brotli
import psutil
import pytest
from aiohttp import web

from bot.ingest.fetch import Fetcher, Validators
from bot.ingest.parse import FeedError, ParsedFeed
from bot.ingest.workers import ParserPool
from bot.models import FeedSpec
from tests.ingest.ingest_support import FeedServer, PeakMemory, corpora_dir, make_settings, rss

MiB = 1024 * 1024
PEAK_MEMORY_BOUND = 600 * MiB  # this process + workers + forkserver, measured ~300 MiB
NOW = datetime(2024, 9, 12, tzinfo=UTC)
NO_VALIDATORS = Validators(None, None, None)
SLOW_FEED = (
    b"<rss version='2.0'><channel><title>t</title>"
    + b"<item><title>x</title></item>" * 330_000
    + b"</channel></rss>"
)


@pytest.fixture(scope="module")
def pool() -> Iterator[ParserPool]:
    parser_pool = ParserPool(make_settings(parse_timeout_seconds=3.0, parse_workers=2))
    yield parser_pool
    asyncio.run(parser_pool.close())


async def parse(pool: ParserPool, body: bytes) -> ParsedFeed:
    return await pool.parse(
        body, feed=FeedSpec(url="https://example.com/feed"), content_type=None, headers={}, now=NOW
    )


def _gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunks = [compressor.compress(b"<" * MiB) for _ in range(200)]
    return b"".join([*chunks, compressor.flush()])


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + b"a" * 1000
    + b'"><!ENTITY b "'
    + b"&a;" * 1000
    + b'">]><rss version="2.0"><channel><title>x</title><item><title>'
    + b"&b;" * 300
    + b"</title></item></channel></rss>"
)


async def _hostile_app(server: FeedServer) -> None:
    gzip_bomb = _gzip_bomb()
    brotli_bomb = brotli.compress(b"<" * (200 * MiB), quality=4)

    async def entities(request: web.Request) -> web.Response:
        return web.Response(body=BILLION_LAUGHS, content_type="application/rss+xml")

    async def gz(request: web.Request) -> web.Response:
        return web.Response(body=gzip_bomb, headers={"Content-Encoding": "gzip"})

    async def br(request: web.Request) -> web.Response:
        return web.Response(body=brotli_bomb, headers={"Content-Encoding": "br"})

    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": str(100 * MiB)})
        await resp.prepare(request)
        try:
            for _ in range(100):
                await resp.write(b"x" * MiB)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def huge_chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for _ in range(100):
                await resp.write(b"x" * MiB)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await resp.prepare(request)
        try:
            await resp.write(b"<rss version='2.0'><channel>")
            while True:
                await resp.write(b" ")
                await asyncio.sleep(0.1)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def nested(request: web.Request) -> web.Response:
        body = b"<rss version='2.0'><channel><title>t</title><item><description>" + b"<x>" * 300_000
        return web.Response(body=body, content_type="application/rss+xml")

    async def nested_html(request: web.Request) -> web.Response:
        body = (
            b"<rss version='2.0'><channel><title>t</title><item><title>t</title><description><![CDATA["
            + b"<div>" * 190_000
            + b"]]></description></item></channel></rss>"
        )
        return web.Response(body=body, content_type="application/rss+xml")

    async def wrong_encoding(request: web.Request) -> web.Response:
        body = b"<?xml version='1.0' encoding='utf-16'?>"
        body += b"<rss version='2.0'><channel><title>t</title></channel></rss>"
        return web.Response(body=body, headers={"Content-Type": "application/xml; charset=utf-32"})

    async def mixed_encoding(request: web.Request) -> web.Response:
        body = (
            b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
            b"<item><title>caf\xe9 \xd0\x9a\xd0\xb8\xd0\xbc \xb0\xff\xfe</title></item></channel></rss>"
        )
        return web.Response(body=body, headers={"Content-Type": "text/xml; charset=iso-8859-1"})

    async def not_a_feed(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + os.urandom(50_000), content_type="image/png")

    async def html_page(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>" + "<p>hello</p>" * 1000, content_type="text/html")

    for path, handler in {
        "/entities": entities,
        "/gzip": gz,
        "/brotli": br,
        "/huge": huge,
        "/huge-chunked": huge_chunked,
        "/trickle": trickle,
        "/nested": nested,
        "/nested-html": nested_html,
        "/wrong-encoding": wrong_encoding,
        "/mixed-encoding": mixed_encoding,
        "/png": not_a_feed,
        "/html": html_page,
    }.items():
        server.route(path, handler)
    await server.start()


@pytest.mark.slow
async def test_hostile_feeds_end_bounded(
    feed_server: FeedServer, pool: ParserPool, peak_memory: PeakMemory
) -> None:
    await _hostile_app(feed_server)
    settings = make_settings(fetch_max_bytes=10 * MiB, fetch_total_timeout_seconds=2.0)
    outcomes: dict[str, str] = {}
    async with Fetcher(settings) as fetcher:
        for path in (
            "/entities",
            "/gzip",
            "/brotli",
            "/huge",
            "/huge-chunked",
            "/trickle",
            "/nested",
            "/nested-html",
            "/wrong-encoding",
            "/mixed-encoding",
            "/png",
            "/html",
        ):
            fetched = await fetcher.fetch(feed_server.url(path), NO_VALIDATORS)
            if fetched.status == "error":
                outcomes[path] = f"fetch error: {fetched.error}"
            else:
                assert fetched.body is not None
                try:
                    parsed = await pool.parse(
                        fetched.body,
                        feed=FeedSpec(url=feed_server.url(path)),
                        content_type=fetched.content_type,
                        headers=fetched.headers,
                        now=NOW,
                    )
                except FeedError as exc:
                    outcomes[path] = f"feed error: {exc}"
                else:
                    outcomes[path] = f"parsed: {len(parsed.articles)} articles, warning={parsed.warning}"
    print("\n".join(f"{k}: {v[:140]}" for k, v in outcomes.items()))
    print(f"peak RSS (test process + workers): {peak_memory.peak / MiB:.0f} MiB")
    for path in ("/entities", "/gzip", "/brotli", "/huge", "/huge-chunked", "/trickle", "/png", "/html"):
        assert outcomes[path].startswith(("fetch error", "feed error")), (path, outcomes[path])
    assert "declares its own XML entities" in outcomes["/entities"]
    assert not outcomes["/wrong-encoding"].startswith("fetch error")
    assert outcomes["/mixed-encoding"].startswith("parsed: 1 articles")
    assert peak_memory.peak < PEAK_MEMORY_BOUND, peak_memory.peak


@pytest.mark.slow
async def test_parse_timeout_kills_and_pool_carries_on(pool: ParserPool) -> None:
    slow, fine = await asyncio.gather(parse(pool, SLOW_FEED), parse(pool, rss(2)), return_exceptions=True)
    assert isinstance(slow, FeedError) and "longer than 3 seconds" in str(slow)
    assert isinstance(fine, ParsedFeed) and len(fine.articles) == 2
    again = await parse(pool, rss(3))
    assert len(again.articles) == 3


def _busy_worker() -> psutil.Process | None:
    me = psutil.Process()
    procs = [p for p in me.children(recursive=True) if "forkserver" in " ".join(p.cmdline())]
    before = {p.pid: p.cpu_times().user for p in procs}
    time.sleep(0.3)
    busiest = None
    gain = 0.05
    for p in procs:
        try:
            delta = p.cpu_times().user - before[p.pid]
        except psutil.Error:
            continue
        if delta > gain:
            busiest, gain = p, delta
    return busiest


async def test_killed_worker_is_replaced(pool: ParserPool) -> None:
    slow = asyncio.ensure_future(parse(pool, SLOW_FEED))
    victim = None
    deadline = time.monotonic() + 10
    while victim is None and time.monotonic() < deadline:
        victim = await asyncio.to_thread(_busy_worker)
    assert victim is not None, "no worker got busy"
    os.kill(victim.pid, signal.SIGKILL)
    with pytest.raises(FeedError, match=r"died|longer than"):
        await slow
    results = await asyncio.gather(*(parse(pool, rss(i + 1)) for i in range(4)))
    assert [len(r.articles) for r in results] == [1, 2, 3, 4]


async def test_memory_ceiling_stops_a_runaway_parse() -> None:
    # A tight ceiling: a 10 MiB single-entry feed needs far more than 90 MB once feedparser copies it.
    settings = make_settings(parse_memory_limit_mb=90, parse_workers=1, parse_timeout_seconds=20.0)
    body = b"<rss version='2.0'><channel><title>t</title><item><description>" + b"ab " * 3_500_000
    body += b"</description></item></channel></rss>"
    async with ParserPool(settings) as small_pool:
        with pytest.raises(FeedError, match=r"memory|died") as info:
            await parse(small_pool, body)
        print(info.value)
        assert len((await parse(small_pool, rss(1))).articles) == 1


CORPUS = corpora_dir()


@pytest.mark.skipif(CORPUS is None, reason="../shared/corpora is not present")
async def test_corpus_sample_through_the_pool(pool: ParserPool) -> None:
    assert CORPUS is not None
    files: list[Path] = sorted(p for p in CORPUS.rglob("*.xml") if p.is_file())
    sample = files[:: max(1, len(files) // 150)]
    results = await asyncio.gather(*(parse(pool, p.read_bytes()) for p in sample), return_exceptions=True)
    escaped = [r for r in results if isinstance(r, BaseException) and not isinstance(r, FeedError)]
    assert escaped == []
    assert sum(isinstance(r, ParsedFeed) for r in results) > len(sample) * 0.9
