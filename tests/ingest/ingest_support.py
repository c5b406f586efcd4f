"""Helpers for the ingest tests: a local aiohttp feed server, settings, feed documents, a memory meter."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import web

from bot.settings import Settings

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>https://example.com/</link>
<language>{lang}</language>{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<description>{summary}</description><pubDate>Tue, 10 Sep 2024 08:00:00 GMT</pubDate></item>"""


def rss(items: int = 3, *, title: str = "Test feed", lang: str = "en") -> bytes:
    body = "".join(
        ITEM.format(
            title=f"Kim and Putin item {i}",
            link=f"https://example.com/a/{i}?utm_source=rss&amp;id={i}",
            guid=f"guid-{i}",
            summary=f"&lt;p&gt;Summary &amp;amp; text {i}&lt;/p&gt;",
        )
        for i in range(items)
    )
    return RSS.format(title=title, lang=lang, items=body).encode()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_private_networks": True,
        "fetch_connect_timeout_seconds": 2.0,
        "fetch_total_timeout_seconds": 5.0,
        "fetch_max_bytes": 1024 * 1024,
        "parse_workers": 2,
        "parse_timeout_seconds": 10.0,
        "parse_memory_limit_mb": 512,
        "full_text": "never",  # corpus items link to real hosts: never read their pages here
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class FeedServer:
    """A local aiohttp server; tests add routes before ``start``. Records each request's headers."""

    host: str = "127.0.0.1"
    app: web.Application = field(default_factory=web.Application)
    runner: web.AppRunner | None = None
    port: int = 0
    requests: list[web.Request] = field(default_factory=list)

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def route(self, path: str, handler: Callable[[web.Request], Any]) -> None:
        async def recorded(request: web.Request) -> web.StreamResponse:
            self.requests.append(request)
            result: web.StreamResponse = await handler(request)
            return result

        self.app.router.add_route("*", path, recorded)

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    yield server
    await server.stop()


class PeakMemory:
    """Samples the resident memory of this process plus its children (parser workers) every 10 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._me = psutil.Process(os.getpid())

    def sample(self) -> int:
        total = 0
        try:
            procs = [self._me, *self._me.children(recursive=True)]
        except psutil.Error:
            return 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(0.01)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def peak_memory() -> Iterator[PeakMemory]:
    with PeakMemory() as meter:
        yield meter


def corpora_dir() -> Path | None:
    env = os.environ.get("PACTWATCH_CORPORA")
    path = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
    return path if path.is_dir() else None


async def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
