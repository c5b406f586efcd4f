"""Helpers shared by the command and Discord tests: seed articles with matches into a real store."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app import Services
from bot.models import Article, Evidence, FeedSpec, Hit, MatchResult

TENANT_A = "discord:111"
TENANT_B = "discord:222"


async def seed_article(
    svc: Services,
    *,
    title: str,
    url: str,
    feed_url: str = "http://127.0.0.1:9/feed.xml",
    tenant: str | None = None,
    facts: tuple[str, ...] = (),
    watches: tuple[str, ...] = (),
    summary: str = "",
    age: timedelta = timedelta(hours=1),
) -> int:
    """Store one article (in a feed of ``tenant``, the operator's by default) with the given matches."""
    now: datetime = svc.clock()
    feed = await svc.store.ensure_feed(
        FeedSpec(url=feed_url, name="Test feed", origin="chat" if tenant else "operator", tenant=tenant), now
    )
    article = Article(
        feed_url=feed_url,
        entry_id=url,
        url=url,
        title=title,
        summary=summary,
        published=now - age,
        lang="en",
        source="Test source",
    )
    [(aid, _)] = await svc.store.insert_articles(feed.id, [article], now=now - age, seeded=False)
    ev = Evidence(terms=(title.split()[0],), snippet=title, highlights=((0, len(title.split()[0])),))
    match = MatchResult(
        relevant=True,
        facts=tuple(Hit(kind="fact", ref=f, source=ev) for f in facts),
        watches=tuple(Hit(kind="watch", ref=w, source=ev) for w in watches),
        relevance=ev,
    )
    await svc.store.store_matches([(aid, match)])
    return aid
