"""Fetcher against a real aiohttp server on 127.0.0.1: conditional GET, size and time bounds, redirects."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import zlib
from pathlib import Path

import brotli
import pytest
from aiohttp import web

from bot.ingest.fetch import Fetcher, Validators, body_hash, parse_max_age, parse_retry_after
from tests.ingest.ingest_support import FeedServer, make_settings, rss, wait_for

MiB = 1024 * 1024
NO_VALIDATORS = Validators(None, None, None)


async def test_conditional_get_with_etag_and_last_modified(feed_server: FeedServer) -> None:
    body = rss()

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(
            body=body,
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Last-Modified": "Tue, 10 Sep 2024 08:00:00 GMT"},
        )

    feed_server.route("/feed", handler)
    await feed_server.start()
    async with Fetcher(make_settings()) as fetcher:
        first = await fetcher.fetch(feed_server.url("/feed"), NO_VALIDATORS)
        assert first.status == "ok" and first.body == body and first.http_status == 200
        assert first.validators == Validators('"v1"', "Tue, 10 Sep 2024 08:00:00 GMT", body_hash(body))
        assert first.content_type is not None and first.content_type.startswith("application/rss+xml")
        assert first.headers["content-type"].startswith("application/rss+xml")
        second = await fetcher.fetch(feed_server.url("/feed"), first.validators)
    assert second.status == "not_modified" and second.body is None and second.http_status == 304
    assert second.validators == first.validators
    sent = feed_server.requests[-1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Tue, 10 Sep 2024 08:00:00 GMT"
    assert sent["User-Agent"].startswith("pactwatch/")


async def test_same_body_is_unchanged(feed_server: FeedServer) -> None:
    body = rss()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/xml")

    feed_server.route("/feed", handler)
    await feed_server.start()
    async with Fetcher(make_settings()) as fetcher:
        first = await fetcher.fetch(feed_server.url("/feed"), NO_VALIDATORS)
        again = await fetcher.fetch(feed_server.url("/feed"), first.validators)
    assert first.status == "ok"
    assert again.status == "unchanged" and again.body is None
    assert again.validators.body_hash == body_hash(body)


async def test_http_errors_become_results_with_retry_after(feed_server: FeedServer) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "120"})

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def flood(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "99999999999"})

    feed_server.route("/limited", limited)
    feed_server.route("/missing", missing)
    feed_server.route("/flood", flood)
    await feed_server.start()
    async with Fetcher(make_settings(retry_after_max_seconds=3600)) as fetcher:
        a = await fetcher.fetch(feed_server.url("/limited"), NO_VALIDATORS)
        b = await fetcher.fetch(feed_server.url("/missing"), NO_VALIDATORS)
        c = await fetcher.fetch(feed_server.url("/flood"), NO_VALIDATORS)
    assert (a.status, a.http_status, a.retry_after) == ("error", 429, 120.0)
    assert b.status == "error" and b.http_status == 404 and b.error and "404" in b.error
    assert c.retry_after == 3600.0


def test_retry_after_and_max_age_parsing_is_bounded() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("30", cap=100) == 30.0
    assert parse_retry_after("1000", cap=100) == 100.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", cap=1000, now=now) == 60.0
    assert parse_retry_after("Tue, 14 Nov 2000 22:14:20 GMT", cap=1000, now=now) == 0.0
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", cap=50, now=now) == 50.0
    for garbage in ("soon", "-5", "", None, "1e400", "9" * 500, "Mon, 99 Foo 2023"):
        assert parse_retry_after(garbage, cap=100) is None
    assert parse_max_age("public, max-age=600", cap=3600) == 600.0
    assert parse_max_age("s-maxage=99999999999", cap=3600) == 3600.0
    assert parse_max_age("no-cache", cap=3600) is None
    assert parse_max_age("max-age=abc", cap=3600) is None


async def test_max_age_is_reported(feed_server: FeedServer) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=rss(), headers={"Cache-Control": "max-age=900"})

    feed_server.route("/feed", handler)
    await feed_server.start()
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.fetch(feed_server.url("/feed"), NO_VALIDATORS)
    assert result.status == "ok" and result.retry_after == 900.0


async def _stream(
    request: web.Request, chunks: int, chunk: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)
    try:
        for _ in range(chunks):
            await resp.write(chunk)
    except (ConnectionError, RuntimeError):
        pass  # the client hung up, as it should
    return resp


def _gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * MiB
    out = [compressor.compress(block) for _ in range(size // MiB)]
    out.append(compressor.flush())
    return b"".join(out)


@pytest.mark.parametrize("case", ["plain_50MiB", "gzip_bomb", "brotli_bomb", "lying_length", "huge_length"])
async def test_size_cap(feed_server: FeedServer, case: str) -> None:
    gz = _gzip_bomb(256 * MiB) if case == "gzip_bomb" else b""
    br = brotli.compress(b"\0" * (256 * MiB), quality=5) if case == "brotli_bomb" else b""

    async def handler(request: web.Request) -> web.StreamResponse:
        if case == "plain_50MiB":
            return await _stream(request, 50 * 16, b"x" * 65536, {"Content-Type": "application/xml"})
        if case == "gzip_bomb":
            return web.Response(body=gz, headers={"Content-Encoding": "gzip"})
        if case == "brotli_bomb":
            return web.Response(body=br, headers={"Content-Encoding": "br"})
        if case == "lying_length":
            # Claims 100 bytes, then keeps sending: only the claimed length is read.
            return await _stream(request, 200, b"y" * 65536, {"Content-Length": "100"})
        return web.Response(body=b"z" * 10, headers={"Content-Length": str(10**12)})

    feed_server.route("/big", handler)
    await feed_server.start()
    async with Fetcher(make_settings(fetch_max_bytes=2 * MiB)) as fetcher:
        result = await fetcher.fetch(feed_server.url("/big"), NO_VALIDATORS)
    if case == "lying_length":
        assert result.status == "ok" and result.body == b"y" * 100
        return
    assert result.status == "error", result
    assert result.error and ("2 MiB limit" in result.error or "cut off" in result.error)


async def test_trickling_body_hits_total_deadline(feed_server: FeedServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await resp.prepare(request)
        try:
            while True:
                await resp.write(b"<")
                await asyncio.sleep(0.2)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    feed_server.route("/slow", handler)
    await feed_server.start()
    async with Fetcher(make_settings(fetch_total_timeout_seconds=1.5)) as fetcher:
        result = await fetcher.fetch(feed_server.url("/slow"), NO_VALIDATORS)
    assert result.status == "error" and result.error and "within 1.5 seconds" in result.error


async def test_silent_server_hits_total_deadline() -> None:
    # Accepts the connection and never answers.
    server = await asyncio.start_server(lambda r, w: asyncio.sleep(3600), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, Fetcher(make_settings(fetch_total_timeout_seconds=1.0)) as fetcher:
        result = await fetcher.fetch(f"http://127.0.0.1:{port}/", NO_VALIDATORS)
    assert result.status == "error" and result.error and "within 1 seconds" in result.error


async def test_connect_timeout() -> None:
    # A listening socket whose accept queue is full drops further SYNs, so connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        fillers.append(s)
    try:
        settings = make_settings(fetch_connect_timeout_seconds=0.5, fetch_total_timeout_seconds=10.0)
        async with Fetcher(settings) as fetcher:
            result = await fetcher.fetch(f"http://127.0.0.1:{port}/", NO_VALIDATORS)
        assert result.status == "error" and result.error
        # Either the SYN was dropped (connect timeout) or the kernel let it in and nothing answered.
        assert "connect" in result.error or "within 10 seconds" in result.error
    finally:
        for s in fillers:
            s.close()
        listener.close()


async def test_redirects_followed_up_to_the_limit(feed_server: FeedServer) -> None:
    async def hop(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(body=rss(), content_type="application/xml")
        raise web.HTTPFound(f"/hop/{n - 1}")

    feed_server.app.router.add_get("/hop/{n}", hop)
    await feed_server.start()
    async with Fetcher(make_settings(fetch_max_redirects=3)) as fetcher:
        ok = await fetcher.fetch(feed_server.url("/hop/3"), NO_VALIDATORS)
        too_many = await fetcher.fetch(feed_server.url("/hop/4"), NO_VALIDATORS)
        loop = await fetcher.fetch(feed_server.url("/hop/999"), NO_VALIDATORS)
    assert ok.status == "ok" and ok.final_url.endswith("/hop/0")
    assert too_many.status == "error" and too_many.error and "more than 3" in too_many.error
    assert loop.status == "error"


async def test_redirect_to_non_http_scheme_refused(feed_server: FeedServer) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    feed_server.route("/r", handler)
    await feed_server.start()
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.fetch(feed_server.url("/r"), NO_VALIDATORS)
    assert result.status == "error" and result.error and "http://" in result.error


async def test_local_files_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(rss())
    async with Fetcher(make_settings()) as fetcher:
        by_path = await fetcher.fetch(str(path), NO_VALIDATORS, allow_local=True)
        by_uri = await fetcher.fetch(path.as_uri(), NO_VALIDATORS, allow_local=True)
        again = await fetcher.fetch(str(path), by_path.validators, allow_local=True)
        refused_uri = await fetcher.fetch(path.as_uri(), NO_VALIDATORS)
        refused_path = await fetcher.fetch(str(path), NO_VALIDATORS)
        missing = await fetcher.fetch(str(tmp_path / "nope.xml"), NO_VALIDATORS, allow_local=True)
    assert by_path.status == "ok" and by_path.body == rss()
    assert by_uri.status == "ok" and by_uri.body == rss()
    assert again.status == "unchanged"
    assert refused_uri.status == "error" and refused_uri.error and "http://" in refused_uri.error
    assert refused_path.status == "error"
    assert missing.status == "error" and missing.error and "does not exist" in missing.error


async def test_userinfo_never_in_results_or_logs(
    feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound("/gone")

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=500)

    feed_server.route("/feed", handler)
    feed_server.route("/gone", gone)
    await feed_server.start()
    secret_url = feed_server.url("/feed").replace("http://", "http://alice:s3cr3t-token@")
    caplog.set_level("DEBUG")
    async with Fetcher(make_settings()) as fetcher:
        result = await fetcher.fetch(secret_url, NO_VALIDATORS)
        refused = await fetcher.fetch("ftp://bob:hunter2-token@example.com/feed", NO_VALIDATORS)
    assert result.status == "error"
    assert "s3cr3t-token" not in repr(result) and "hunter2-token" not in repr(refused)
    assert "s3cr3t-token" not in caplog.text and "hunter2-token" not in caplog.text


async def test_per_host_concurrency_is_bounded(feed_server: FeedServer) -> None:
    active = 0
    peak = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(body=rss(1))

    feed_server.route("/feed", handler)
    await feed_server.start()
    async with Fetcher(make_settings(fetch_per_host_concurrency=2)) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(feed_server.url(f"/feed?{i}"), NO_VALIDATORS) for i in range(8))
        )
        await wait_for(lambda: active == 0)
    assert all(r.status == "ok" for r in results)
    assert peak == 2
