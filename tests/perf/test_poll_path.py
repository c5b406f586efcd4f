"""The poller's fast path: matching in the parser workers, one transaction per feed, lean scheduler rounds.

Functional only (no timings): the fast path must store exactly what the in-process path stores."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_services
from bot.matching import compile_matcher, load_catalog
from bot.models import Article, Fact, FeedSpec, MatchResult, WatchSpec
from bot.settings import Settings
from bot.store.base import INSERT_CHUNK
from bot.store.repo import Store
from tests.conftest import TEST_FACTS, FakeClock, FeedServer, KeywordMatcher, rss

ROOT = Path(__file__).resolve().parents[2]

ITEMS = [
    {
        "title": "North Korea and Russia signed a treaty in Pyongyang",
        "link": "http://news.example/1",
        "description": "Putin and Kim signed the comprehensive strategic partnership treaty.",
    },
    {
        "title": "Северокорейские войска в Курской области",
        "link": "http://news.example/2",
        "description": "КНДР направила войска в Россию; Пхеньян и Москва подписали договор.",
    },
    {"title": "Weather in Seoul", "link": "http://news.example/3", "description": "Sunny and warm."},
]
WATCHES = ["treaty AND Pyongyang", "войск* AND Курск*", "weather", "kursk"]


async def _poll_and_read(settings: Settings, server: FeedServer, clock: FakeClock) -> list[Any]:
    facts = load_catalog(ROOT / "config" / "facts.toml")
    async with build_services(settings, clock=clock, facts=facts, console_stream=io.StringIO()) as svc:
        for q in WATCHES:
            await svc.store.add_watch(
                platform="console", tenant="", channel="console", query=q, label="", alert=True,
                created_by="t", now=clock(), quota=100,
            )  # fmt: skip
        feed = await svc.store.ensure_feed(FeedSpec(url=server.url("/a.xml"), name="a"), clock())
        report = await svc.poller.poll_feeds([feed])
        assert [o.status for o in report.outcomes] == ["new"]
        out = []
        for n in sorted(report.new, key=lambda n: n.article.entry_id):
            stored = sorted(await svc.store.article_matches(n.id), key=lambda m: (m[0], m[1]))
            out.append((n.article.entry_id, n.match.fact_ids, n.match.watch_ids, n.match.relevant, stored))
            assert (await svc.store.get_article(n.id)).relevant == n.match.relevant  # type: ignore[union-attr]
        return out


@pytest.mark.parametrize("seed", [True, False], ids=["first-poll", "alerting-poll"])
async def test_matching_in_workers_stores_what_matching_here_stores(
    make_settings: Callable[..., Settings],
    feed_server: FeedServer,
    clock: FakeClock,
    tmp_path: Path,
    seed: bool,
) -> None:
    feed_server.feeds["/a.xml"] = rss(ITEMS)
    results = []
    for in_workers in (True, False):
        settings = make_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / f'w{in_workers}.db'}",
            match_in_workers=in_workers,
            seed_first_poll=seed,
        )
        results.append(await _poll_and_read(settings, feed_server, clock))
    fast, slow = results
    assert fast == slow
    assert any(facts for _, facts, _, _, _ in fast), "the test feed must hit a fact"
    assert any(watches for _, _, watches, _, _ in fast), "the test feed must hit a watch"
    # Relevance keeps its evidence always; fact and watch hits only where the poll may alert.
    stored = [row for *_, rows in fast for row in rows]
    assert all(ev is not None for kind, _, ev in stored if kind == "relevance")
    assert any(kind == "relevance" for kind, _, _ in stored), "the test feed must have a relevant item"
    assert {ev is None for kind, _, ev in stored if kind == "fact"} == {seed}
    assert {ev is None for kind, _, ev in stored if kind == "watch"} == {seed}


class _UnpicklableMatcher(KeywordMatcher):
    def __init__(self, facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> None:
        super().__init__(facts, watches)
        self.lower = lambda s: s.lower()  # a lambda: this matcher cannot be sent to the workers


async def test_a_matcher_that_cannot_be_pickled_matches_in_the_bot(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.feeds["/a.xml"] = rss(ITEMS)
    settings = make_settings(console="on")
    async with build_services(
        settings,
        clock=clock,
        matcher_factory=_UnpicklableMatcher,
        facts=TEST_FACTS,
        console_stream=io.StringIO(),
    ) as svc:
        assert await svc.matchers.worker_ref() is None
        feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        report = await svc.poller.poll_feeds([feed])
        hits = {n.article.url: n.match.fact_ids for n in report.new}
        assert hits["http://news.example/1"] == ("treaty_signed",)
        assert (await svc.store.article_matches(report.new[0].id))[0][:2] == ("fact", "treaty_signed")


class _MatcherThatFailsInWorkers(KeywordMatcher):
    """Matches in the process that built it; raises in any other (a parser worker)."""

    def __init__(self, facts: tuple[Fact, ...], watches: tuple[WatchSpec, ...]) -> None:
        super().__init__(facts, watches)
        self.built_in = os.getpid()

    def match(self, article: Article) -> MatchResult:
        if os.getpid() != self.built_in:
            raise RuntimeError("matcher broke in the worker")
        return super().match(article)


async def test_a_matcher_failing_in_a_worker_is_logged_and_matched_here(
    make_settings: Callable[..., Settings],
    feed_server: FeedServer,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed_server.feeds["/a.xml"] = rss(ITEMS)
    async with build_services(
        make_settings(),
        clock=clock,
        matcher_factory=_MatcherThatFailsInWorkers,
        facts=TEST_FACTS,
        console_stream=io.StringIO(),
    ) as svc:
        assert await svc.matchers.worker_ref() is not None, "this matcher can be sent to the workers"
        feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        with caplog.at_level(logging.ERROR, logger="bot.poller"):
            report = await svc.poller.poll_feeds([feed])
        hits = {n.article.url: n.match.fact_ids for n in report.new}
        assert hits["http://news.example/1"] == ("treaty_signed",)
        [record] = [r for r in caplog.records if "parser worker failed" in r.getMessage()]
        assert "RuntimeError: matcher broke in the worker" in record.getMessage()


async def test_scheduler_rounds_keep_counts_not_articles(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    feed_server.feeds["/a.xml"] = rss(ITEMS)
    settings = make_settings()
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, console_stream=io.StringIO()
    ) as svc:
        await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        report = await svc.poller.poll_due()
        assert [o.status for o in report.outcomes] == ["new"]
        assert report.new == [] and report.articles == 3
        assert report.fact_hits == 1  # "treaty" in the first item, which names both countries


async def test_insert_matched_articles_stores_new_ones_once(store: Store, clock: FakeClock) -> None:
    feed = await store.ensure_feed(FeedSpec(url="http://feeds.example/a.xml", name="a"), clock())
    matcher = compile_matcher(TEST_FACTS, (WatchSpec(id="7", query="kursk"),))
    arts = [
        Article(
            feed_url=feed.url,
            entry_id=f"e{i}",
            url=f"http://news.example/{i}",
            title=title,
            summary=summary,
            published=datetime(2026, 11, 2, 8, tzinfo=UTC),
            lang="en",
            source="a",
        )
        for i, (title, summary) in enumerate(
            [("North Korea and Russia treaty", "Kim and Putin signed it."), ("Troops near Kursk", "")]
        )
    ]
    items = [(a, matcher.match(a)) for a in arts]
    first = await store.insert_matched_articles(feed.id, items, now=clock(), seeded=False)
    assert [(a.entry_id, m) for _, a, m in first] == [(a.entry_id, m) for a, m in items]
    again = await store.insert_matched_articles(feed.id, items, now=clock(), seeded=False)
    assert again == []
    for aid, _, m in first:
        stored = {(kind, ref) for kind, ref, _ in await store.article_matches(aid)}
        expected = {(h.kind, h.ref) for h in (*m.facts, *m.watches)}
        if m.relevance is not None:
            expected.add(("relevance", ""))
        assert stored == expected
        assert isinstance(m, MatchResult)
    assert ("watch", "7") in {(k, r) for k, r, _ in await store.article_matches(first[1][0])}


async def test_new_articles_read_back_as_written_across_chunks(store: Store, clock: FakeClock) -> None:
    """The articles insert binds values at the driver level, in multi-row statements of ``INSERT_CHUNK``
    rows: every column reads back as written (timestamps in any zone, booleans, text), on both
    databases, for a feed longer than one statement."""
    feed = await store.ensure_feed(FeedSpec(url="http://feeds.example/long.xml", name="long"), clock())
    n = INSERT_CHUNK + 3
    seoul = timezone(timedelta(hours=9))
    arts = [
        Article(
            feed_url=feed.url, entry_id=f"e{i}", url=f"http://news.example/{i}", title=f"Title {i} «Пхеньян»",
            summary=f"북한 summary {i}", source="src", lang=("en", "ko", "ru")[i % 3],
            published=datetime(2026, 11, 2, 8, i % 60, 7, 123456, tzinfo=seoul if i % 2 else UTC),
            published_known=i % 2 == 0,
        )
        for i in range(n)
    ]  # fmt: skip
    items = [(a, MatchResult(relevant=i % 5 == 0)) for i, a in enumerate(arts)]
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)  # whole seconds: stored as the store's other writes store it
    first = await store.insert_matched_articles(feed.id, items, now=now, seeded=True)
    # Compared with times the store binds itself: first seen at ``now`` is since ``now``.
    assert len(await store.unclustered_articles(now, limit=2 * n)) == n
    assert [a.entry_id for _, a, _ in first] == [a.entry_id for a in arts]  # feed order, each once
    assert len({aid for aid, _, _ in first}) == n
    for k in (0, 1, INSERT_CHUNK - 1, INSERT_CHUNK, n - 1):
        aid, article, match = first[k]
        stored = await store.get_article(aid)
        assert stored is not None
        assert stored.article == article
        assert stored.article.published.utcoffset() == timedelta(0)  # read back in UTC, the same instant
        assert (stored.relevant, stored.seeded, stored.first_seen) == (match.relevant, True, now)
    # The plain insert (articles matched later) goes through the same statement: only new ones, in order.
    more = [*arts[:2], dataclasses.replace(arts[0], entry_id="new-1")]
    added = await store.insert_articles(feed.id, more, now=now, seeded=False)
    assert [a.entry_id for _, a in added] == ["new-1"]
    # Values go through the column types: a naive timestamp is refused, as everywhere in the store.
    naive = dataclasses.replace(arts[0], entry_id="naive", published=datetime(2026, 11, 2, 8))
    with pytest.raises(ValueError, match="naive datetime"):
        await store.insert_articles(feed.id, [naive], now=now, seeded=False)
