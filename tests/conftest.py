"""Shared fixtures: settings in a temp dir, a real store (SQLite, and PostgreSQL when a server answers),
a local feed server with ETag and latency, an injectable clock, and a plain keyword matcher."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.models import Article, Evidence, Fact, Hit, MatchResult, WatchSpec
from bot.settings import Settings
from bot.store.repo import Store

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("PACTWATCH_CORPORA", REPO.parent / "shared" / "corpora"))
PG_URL = os.environ.get("PACTWATCH_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


# --- clock -------------------------------------------------------------------------------------------


class FakeClock:
    """An injected clock: starts at a fixed instant and moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Ticks:
    """An injected monotonic clock and sleep: sleeping records the wait and moves the clock at once."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


# --- settings ------------------------------------------------------------------------------------------


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "allow_private_networks": True,
            "health_port": 0,
            "parse_workers": 1,
            "console": "off",
            "config_path": tmp_path / "pactwatch.toml",
            # Tests' feed items link to real hosts: no page is read unless a test turns it on.
            "full_text": "never",
        }
        values.update(overrides)
        return Settings(**values)

    return make


# --- stores --------------------------------------------------------------------------------------------


async def _pg_available(url: str) -> str | None:
    """None when a PostgreSQL server answers at ``url``, else why not."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), 3)
    except Exception as exc:
        return f"no PostgreSQL server at {url} ({type(exc).__name__}); set PACTWATCH_TEST_DATABASE_URL"
    await conn.close()
    return None


@dataclasses.dataclass
class ThrowawayDatabase:
    url: str
    drop: Callable[[], Any]


async def throwaway_pg_database() -> ThrowawayDatabase:
    """A fresh PostgreSQL database for one test, dropped afterwards (skips when no server answers)."""
    import asyncpg

    reason = await _pg_available(PG_URL)
    if reason:
        pytest.skip(reason)
    admin_dsn = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"pactwatch_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = PG_URL.rpartition("/")

    async def drop() -> None:
        c = await asyncpg.connect(admin_dsn)
        try:
            await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await c.close()

    return ThrowawayDatabase(url=f"{base}/{name}", drop=drop)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL: a SQLite file in tmp_path, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    db = await throwaway_pg_database()
    try:
        yield db.url
    finally:
        await db.drop()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = await Store.open(db_url)
    try:
        yield s
    finally:
        await s.close()


# --- a feed server ------------------------------------------------------------------------------------


def rss(items: list[dict[str, str]], *, title: str = "Test feed", lang: str = "en") -> bytes:
    """A small RSS 2.0 document."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{title}</title><link>http://example.org/</link><language>{lang}</language>",
    ]
    for it in items:
        parts.append(
            "<item>"
            f"<title>{it['title']}</title>"
            f"<link>{it['link']}</link>"
            f"<guid>{it.get('guid', it['link'])}</guid>"
            f"<description>{it.get('description', '')}</description>"
            f"<pubDate>{it.get('pubDate', 'Mon, 02 Nov 2026 08:00:00 GMT')}</pubDate>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


@dataclasses.dataclass
class FeedServer:
    """A local aiohttp server: ``feeds[path] = bytes`` serves them with ETag/304 and optional latency;
    ``hits[path]`` counts requests; ``status[path]`` forces an HTTP status."""

    base: str
    feeds: dict[str, bytes]
    hits: dict[str, int]
    status: dict[str, int]
    latency: float = 0.0

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    import hashlib

    srv = FeedServer(base="", feeds={}, hits={}, status={})

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        srv.hits[path] = srv.hits.get(path, 0) + 1
        if srv.latency:
            await asyncio.sleep(srv.latency)
        if path in srv.status:
            return web.Response(status=srv.status[path], text="nope")
        body = srv.feeds.get(path)
        if body is None:
            return web.Response(status=404, text="not found")
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    srv.base = f"http://127.0.0.1:{port}"
    try:
        yield srv
    finally:
        await runner.cleanup()


# --- a plain keyword matcher (a real Matcher, for tests of the pipeline around matching) ---------------


class KeywordMatcher:
    """Relevant when the text names both countries; a fact or watch matches when its query (one word)
    occurs. Deliberately simple: the pipeline tests are about what happens around matching."""

    def __init__(self, facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> None:
        self.facts = facts
        self.watches = watches

    def match(self, article: Article) -> MatchResult:
        text = article.text.lower()
        relevant = "north korea" in text and "russia" in text

        def hit(kind: str, ref: str, word: str) -> Hit:
            return Hit(kind=kind, ref=ref, source=Evidence(terms=(word,), snippet=article.title))  # type: ignore[arg-type]

        facts = tuple(hit("fact", f.id, f.query) for f in self.facts if relevant and f.query.lower() in text)
        watches = tuple(hit("watch", w.id, w.query) for w in self.watches if w.query.lower() in text)
        return MatchResult(relevant=relevant, facts=facts, watches=watches)


TEST_FACTS = (
    Fact(id="treaty_signed", title="Treaty signed", statement="s", priority="alert", query="treaty"),
    Fact(id="troops_kursk", title="Troops in Kursk", statement="s", priority="digest", query="kursk"),
)


@pytest.fixture
def keyword_factory() -> Callable[[tuple[Fact, ...], tuple[WatchSpec, ...]], KeywordMatcher]:
    return KeywordMatcher


@pytest.fixture
def corpora() -> Iterator[Path]:
    if not CORPORA.is_dir():
        pytest.skip(f"feed corpora not present at {CORPORA}")
    yield CORPORA
