"""Stories through the public Store API, on SQLite and PostgreSQL: two writers clustering the same
article at once end with it in one story and no empty story left behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.models import Article, FeedSpec
from bot.store.repo import Store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def one_article(store: Store) -> int:
    feed = await store.ensure_feed(FeedSpec(url="https://feeds.example/rss", name="F"), T0)
    article = Article(
        feed_url=feed.url,
        entry_id="e1",
        url="https://news.example/a/1",
        title="Treaty signed",
        summary="",
        published=T0,
        lang="en",
        source="Yonhap",
    )
    [(aid, _)] = await store.insert_articles(feed.id, [article], now=T0, seeded=False)
    return aid


async def test_new_story_twice_at_once_leaves_one_story(store: Store, db_url: str) -> None:
    aid = await one_article(store)
    other = await Store.open(db_url)  # a second process on the same database
    try:
        a, b = await asyncio.gather(
            store.new_story(aid, title="Treaty signed", lang="en", now=T0),
            other.new_story(aid, title="Treaty signed", lang="en", now=T0),
        )
    finally:
        await other.close()
    article = await store.get_article(aid)
    assert article is not None
    assert a == b == article.story_id
    stories = await store.stories_in_window(T0 - timedelta(days=1), None)
    assert [s[0] for s in stories] == [a]
    # Retention drops an empty story only once it is old, so an orphan would linger: there is none.
    assert await store.delete_articles_before(T0 - timedelta(days=1)) == 0


async def test_join_story_keeps_the_first_assignment(store: Store) -> None:
    aid = await one_article(store)
    first = await store.new_story(aid, title="Treaty signed", lang="en", now=T0)
    assert await store.new_story(aid, title="again", lang="en", now=T0) == first
    assert await store.join_story(aid, first + 100, now=T0 + timedelta(hours=1)) == first
