"""A loopback stand-in for news sites: article pages, robots.txt and feeds on one aiohttp server (port 0).
Counts requests per path; a path can be held until the test releases it (a slow page)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.models import Article

ARTICLE = """<!DOCTYPE html>
<html><head>{meta}<title>{title}</title></head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/politics">Politics</a></li></ul></nav></header>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience.
Accept all cookies.</div>
<main><article>
<h1>{title}</h1>
<p class="byline">By Staff Reporter</p>
{paragraphs}
</article></main>
<aside class="sidebar"><h2>Most read</h2><ul>{sidebar}</ul>
<h2>Related stories</h2><ul>{related}</ul></aside>
<footer><p>Copyright 2024 The Daily Example. All rights reserved. Contact us. Privacy policy.</p></footer>
</body></html>"""


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    sidebar: list[str] = (),  # type: ignore[assignment]
    meta: str = '<meta charset="utf-8">',
) -> str:
    return ARTICLE.format(
        meta=meta,
        title=title,
        paragraphs="\n".join(f"<p>{p}</p>" for p in paragraphs),
        sidebar="".join(f'<li><a href="/s/{i}">{h}</a></li>' for i, h in enumerate(sidebar)),
        related="".join(f'<li><a href="/r/{i}">{h}</a></li>' for i, h in enumerate(sidebar[::-1])),
    )


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>http://site.invalid/</link>{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>
<description>{summary}</description><pubDate>Tue, 10 Sep 2024 08:00:00 GMT</pubDate></item>"""


def rss(items: list[tuple[str, str, str, str]], title: str = "Example feed") -> bytes:
    """Items as (guid, title, link, teaser)."""
    body = "".join(ITEM.format(guid=g, title=t, link=link, summary=s) for g, t, link, s in items)
    return RSS.format(title=title, items=body).encode()


@dataclasses.dataclass
class Page:
    body: bytes
    content_type: str = "text/html"
    status: int = 200
    hold: asyncio.Event | None = None  # the answer waits for this (a slow page)


@dataclasses.dataclass
class Site:
    base: str = ""
    pages: dict[str, Page] = dataclasses.field(default_factory=dict)
    hits: dict[str, int] = dataclasses.field(default_factory=dict)
    user_agents: list[str] = dataclasses.field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def html(self, path: str, text: str, *, charset: str = "utf-8", content_type: str = "text/html") -> None:
        self.pages[path] = Page(text.encode(charset), content_type)

    def count(self, path: str) -> int:
        return self.hits.get(path, 0)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    srv = Site()

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path_qs
        srv.hits[path] = srv.hits.get(path, 0) + 1
        srv.user_agents.append(request.headers.get("User-Agent", ""))
        page = srv.pages.get(path)
        if page is None:
            return web.Response(status=404, text="not found")
        if page.hold is not None:
            await page.hold.wait()
        return web.Response(status=page.status, body=page.body, headers={"Content-Type": page.content_type})

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    srv.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield srv
    finally:
        for page in srv.pages.values():
            if page.hold is not None:
                page.hold.set()
        await runner.cleanup()


def article(title: str, summary: str = "", url: str = "http://site.invalid/a", lang: str = "en") -> Article:
    from datetime import UTC, datetime

    return Article("", url, url, title, summary, datetime(2024, 9, 10, tzinfo=UTC), lang, "Example")
