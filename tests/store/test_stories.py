"""Stories through the public Store API, on SQLite and PostgreSQL: two writers clustering the same
article at once end with it in one story and no empty story left behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.models import Article, FeedSpec
from bot.store.repo import Store, StoryAssignment

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


def new(aid: int, title: str = "Treaty signed") -> list[StoryAssignment]:
    return [StoryAssignment(aid, -1, title=title, lang="en")]


async def test_a_new_story_twice_at_once_leaves_one_story(store: Store, db_url: str) -> None:
    aid = await one_article(store)
    other = await Store.open(db_url)  # a second process on the same database
    try:
        (ma, _), (mb, _) = await asyncio.gather(
            store.assign_stories(new(aid), now=T0), other.assign_stories(new(aid), now=T0)
        )
    finally:
        await other.close()
    a, b = ma[aid], mb[aid]
    article = await store.get_article(aid)
    assert article is not None
    assert a == b == article.story_id
    stories = await store.stories_in_window(T0 - timedelta(days=1), None)
    assert [s[0] for s in stories] == [a]
    # Retention drops an empty story only once it is old, so an orphan would linger: there is none.
    assert await store.delete_articles_before(T0 - timedelta(days=1)) == 0


async def test_an_assigned_article_keeps_its_first_story(store: Store) -> None:
    aid = await one_article(store)
    (first, seq1) = await store.assign_stories(new(aid), now=T0)
    (again, seq2) = await store.assign_stories(new(aid, "again"), now=T0)
    assert again == first and seq2 == seq1 + 1
    (joined, _) = await store.assign_stories(
        [StoryAssignment(aid, first[aid] + 100)], now=T0 + timedelta(hours=1)
    )
    assert joined == first
    # No story was made for the second decision: the article kept the first.
    assert [s[0] for s in await store.stories_in_window(T0 - timedelta(days=1), None)] == [first[aid]]
