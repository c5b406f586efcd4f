"""Helpers for the digest tests: services over a real store, and articles stored the way the poller
stores them (insert, match, route)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import pytest

from bot.app import Services, build_services
from bot.models import Article, FeedSpec
from bot.poller import NewArticle
from bot.settings import Settings
from tests.conftest import TEST_FACTS, FakeClock, KeywordMatcher


def article(
    i: int | str,
    title: str,
    *,
    published: datetime,
    summary: str = "",
    source: str = "Wire",
    url: str | None = None,
    lang: str = "en",
) -> Article:
    return Article(
        feed_url=f"http://{source.lower()}.example/rss",
        entry_id=str(i),
        url=url or f"http://{source.lower()}.example/{i}",
        title=title,
        summary=summary,
        published=published,
        lang=lang,
        source=source,
    )


async def ingest(
    svc: Services, articles: list[Article], *, route: bool = True, seeded: bool = False
) -> list[int]:
    """Store, match and (unless seeded) route articles as one poll would; returns their ids."""
    now = svc.clock()
    ids: list[int] = []
    matcher, _ = await svc.matchers.current()
    new: list[NewArticle] = []
    for a in articles:
        feed = await svc.store.ensure_feed(FeedSpec(url=a.feed_url, name=a.source), now)
        stored = await svc.store.insert_articles(feed.id, [a], now=now, seeded=seeded)
        for aid, art in stored:
            m = matcher.match(art)
            await svc.store.store_matches([(aid, m)])
            new.append(NewArticle(aid, feed, art, m, seeded))
            ids.append(aid)
    if route and not seeded:
        await svc.router.route(new, now)
    return ids


@pytest.fixture
def services(make_settings: Callable[..., Settings], clock: FakeClock) -> Callable[..., Any]:
    """``async with services(database_url=..., **settings) as svc`` — KeywordMatcher and TEST_FACTS."""

    def make(**overrides: Any) -> Any:
        return build_services(
            make_settings(**overrides),
            clock=clock,
            matcher_factory=KeywordMatcher,
            facts=TEST_FACTS,
            chat=False,
        )

    return make


@pytest.fixture
async def svc(services: Callable[..., Any], db_url: str) -> AsyncIterator[Services]:
    async with services(database_url=db_url) as s:
        yield s
