"""Full text: what reading article pages is worth, and what it costs.

    .venv/bin/python benchmarks/bench_pages.py [--repeat 3]

The 216 full-length articles of ``tests/matching/data/eval{4,5}_{en,ko,ru}.jsonl`` (hand-labelled facts)
are served by a loopback site the way real publishers serve them: a feed of titles only (no description),
each linking to an HTML page that wraps the article in site chrome — navigation, a cookie banner, "most
read" and "related" lists made of *other* articles' fact-laden headlines, a footer — Korean pages in
EUC-KR and Russian ones in windows-1251, each declared only in ``<meta>``.

Printed, in one run:
- fact micro-F1 and relevance precision/recall: the article text matched directly (the ceiling), the
  title-only feed polled with ``full_text = "never"``, and the same feed with ``"auto"`` (pages read);
- pages fetched and extracted per second (``PageFetcher`` + the parser workers, ``parse_workers`` = 2,
  politeness pacing off: one loopback host stands in for many sites);
- time to alert: a poll round of the title-only feed from start to its alerts in the outbox, without and
  with full text (``page_wait_seconds`` as configured, default 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import build_services, sync_config_subscriptions
from bot.ingest.fetch import Fetcher
from bot.ingest.pagefetch import PageFetcher
from bot.ingest.workers import ParserPool
from bot.matching import compile_matcher, load_catalog
from bot.models import Article, FeedSpec
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "matching" / "data"
CHARSETS = {"en": "utf-8", "ko": "euc-kr", "ru": "windows-1251"}

PAGE = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{title} | The Daily Example</title></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/nk">North Korea</a></li><li><a href="/ru">Russia</a></li></ul></nav></header>
<div id="cookie-consent" class="cookie-banner">We use cookies. <button>Accept all</button></div>
<main><article><h1>{title}</h1><p class="byline">By Staff Reporter · {date}</p>{paragraphs}</article>
<section class="share">Share this article: Facebook Twitter Telegram KakaoTalk</section></main>
<aside class="sidebar"><h2>Most read</h2><ol>{most_read}</ol><h2>Related</h2><ul>{related}</ul></aside>
<footer><p>© 2025 The Daily Example. All rights reserved.</p><p>About us · Contact · Privacy</p></footer>
</body></html>"""


@dataclass
class Item:
    id: str
    lang: str
    title: str
    text: str
    relevant: bool
    facts: frozenset[str]


def load_items() -> list[Item]:
    out = []
    for path in sorted(DATA.glob("eval[45]_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            out.append(Item(r["id"], r["lang"], r["title"], r["text"], r["relevant"], frozenset(r["facts"])))
    return out


def page_html(item: Item, sidebar: list[str]) -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in item.text.split("\n") if p.strip())
    most = "".join(f'<li><a href="/s/{i}">{html.escape(h)}</a></li>' for i, h in enumerate(sidebar[:3]))
    rel = "".join(f'<li><a href="/r/{i}">{html.escape(h)}</a></li>' for i, h in enumerate(sidebar[3:]))
    doc = PAGE.format(
        charset=CHARSETS[item.lang],
        title=html.escape(item.title),
        date="2025-06-20",
        paragraphs=paragraphs,
        most_read=most,
        related=rel,
    )
    return doc.encode(CHARSETS[item.lang], errors="xmlcharrefreplace")


def feed_xml(items: list[Item], base: str) -> bytes:
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = "".join(
        f"<item><title>{html.escape(it.title)}</title><link>{base}/a/{it.id}</link>"
        f"<guid>{it.id}</guid><pubDate>{now}</pubDate></item>"
        for it in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>".encode()


class Site:
    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.pages: dict[str, bytes] = {}
        # Each page's sidebar: headlines of other articles that report facts (in the page's language).
        laden = [it for it in items if it.facts]
        for k, it in enumerate(items):
            others = [o.title for o in laden if o.id != it.id and o.lang == it.lang]
            self.pages[f"/a/{it.id}"] = page_html(it, [others[(k + j) % len(others)] for j in range(6)])
        self.feed = b""
        self.base = ""
        self.hits = 0

    async def start(self) -> web.AppRunner:
        async def handle(request: web.Request) -> web.Response:
            if request.path == "/feed.xml":
                return web.Response(body=self.feed, content_type="application/rss+xml")
            body = self.pages.get(request.path)
            if body is None:
                return web.Response(status=404)
            self.hits += 1
            return web.Response(body=body, headers={"Content-Type": "text/html"})

        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return runner


def score(items: list[Item], found: dict[str, tuple[bool, frozenset[str]]]) -> dict[str, float]:
    tp = fp = fn = 0
    rtp = rfp = rfn = 0
    for it in items:
        relevant, facts = found.get(it.id, (False, frozenset()))
        tp += len(facts & it.facts)
        fp += len(facts - it.facts)
        fn += len(it.facts - facts)
        rtp += relevant and it.relevant
        rfp += relevant and not it.relevant
        rfn += it.relevant and not relevant
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "fact_p": p,
        "fact_r": r,
        "fact_f1": 2 * p * r / (p + r) if p + r else 0.0,
        "rel_p": rtp / (rtp + rfp) if rtp + rfp else 0.0,
        "rel_r": rtp / (rtp + rfn) if rtp + rfn else 0.0,
    }


def settings_for(tmp: Path, mode: str, **kw: Any) -> Settings:
    return Settings(
        data_dir=tmp,
        database_url=f"sqlite+aiosqlite:///{tmp / f'{mode}.db'}",
        facts_file=ROOT / "config" / "facts.toml",
        feeds_file=tmp / "no-feeds.toml",
        allow_private_networks=True,
        console="off",
        health_port=0,
        full_text=mode,  # type: ignore[arg-type]
        page_per_host_interval_seconds=0.0,
        page_per_host_concurrency=4,
        subscriptions=[{"platform": "console", "channel": "c", "alerts": "all"}],
        **kw,
    )


async def poll_round(
    site: Site, tmp: Path, mode: str
) -> tuple[dict[str, tuple[bool, frozenset[str]]], float, int]:
    """One title-only round: seed with an empty feed, then poll all items; returns what was found, the
    seconds from the round's start to its alerts in the outbox, and the pages fetched."""
    settings = settings_for(tmp, mode)
    async with build_services(settings, chat=False) as svc:
        await sync_config_subscriptions(svc)
        site.feed = feed_xml([], site.base)
        feed = await svc.store.ensure_feed(FeedSpec(url=site.base + "/feed.xml", name=mode), svc.clock())
        await svc.poller.poll_feeds([feed])
        feed = await svc.store.get_feed(feed.id)
        assert feed is not None
        site.feed = feed_xml(site.items, site.base)
        before = site.hits
        started = time.perf_counter()
        report = await svc.poller.poll_feeds([feed])
        to_alert = time.perf_counter() - started
        await svc.pages.drain()  # late pages (none expected on loopback) add their matches
        found: dict[str, tuple[bool, frozenset[str]]] = {}
        for n in report.new:
            stored = await svc.store.get_article(n.id)
            assert stored is not None
            facts = {ref for kind, ref, _ in await svc.store.article_matches(n.id) if kind == "fact"}
            found[n.article.entry_id] = (stored.relevant, frozenset(facts))
        return found, to_alert, site.hits - before


async def throughput(site: Site, tmp: Path) -> tuple[float, int]:
    settings = settings_for(tmp, "auto", parse_workers=2)
    urls = [site.base + path for path in site.pages]
    async with Fetcher(settings) as fetcher, ParserPool(settings) as pool:
        pages = PageFetcher(fetcher, settings)
        # Warm the workers (process start, trafilatura import) outside the timing.
        await asyncio.gather(
            *(pool.extract(site.pages[p], content_type="text/html", url="") for p in list(site.pages)[:4])
        )

        async def one(url: str) -> int:
            res = await pages.fetch(url)
            assert res.status == "ok" and res.body is not None, res.error
            text = await pool.extract(res.body, content_type=res.content_type, url=res.final_url)
            return len(text.text)

        started = time.perf_counter()
        sizes = await asyncio.gather(*(one(u) for u in urls))
        seconds = time.perf_counter() - started
    return len(urls) / seconds, int(statistics.median(sizes))


async def main_async(args: argparse.Namespace) -> None:
    items = load_items()
    site = Site(items)
    runner = await site.start()
    try:
        facts = tuple(load_catalog(ROOT / "config" / "facts.toml"))
        matcher = compile_matcher(facts, ())
        direct: dict[str, tuple[bool, frozenset[str]]] = {}
        for it in items:
            m = matcher.match(Article("", it.id, "", it.title, it.text, datetime.now(UTC), it.lang, ""))
            direct[it.id] = (m.relevant, frozenset(m.fact_ids))
        rows: list[tuple[str, dict[str, float], str]] = [
            ("article text matched directly", score(items, direct), "")
        ]
        times: dict[str, list[float]] = {"never": [], "auto": []}
        fetched = 0
        for rep in range(args.repeat):
            for mode in ("never", "auto"):
                with tempfile.TemporaryDirectory() as tmp:
                    found, seconds, hits = await poll_round(site, Path(tmp), mode)
                times[mode].append(seconds)
                if rep == 0:
                    label = f"title-only feed, full_text={mode}"
                    rows.append((label, score(items, found), f"{hits} pages fetched"))
                    fetched = hits if mode == "auto" else fetched
        rates = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                rate, median_chars = await throughput(site, Path(tmp))
                rates.append(rate)
    finally:
        await runner.cleanup()

    print(f"{len(items)} full-length articles (en/ko/ru), {sum(len(i.facts) for i in items)} labelled facts")
    print(f"{'':40} {'fact P':>7} {'fact R':>7} {'fact F1':>8} {'rel P':>7} {'rel R':>7}")
    for label, s, note in rows:
        figures = (
            f"{s['fact_p']:7.2f} {s['fact_r']:7.2f} {s['fact_f1']:8.2f} {s['rel_p']:7.2f} {s['rel_r']:7.2f}"
        )
        print(f"{label:40} {figures}  {note}")
    print(
        f"pages fetched and extracted per second (2 parser workers): best {max(rates):.1f}, "
        f"median {statistics.median(rates):.1f} "
        f"(median extracted text {median_chars} chars; {fetched} pages a round)"
    )
    for mode in ("never", "auto"):
        print(
            f"time to alert, round of {len(items)} title-only items, full_text={mode}: "
            f"best {min(times[mode]):.2f} s, median {statistics.median(times[mode]):.2f} s"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    asyncio.run(main_async(ap.parse_args(argv)))


if __name__ == "__main__":
    main()
