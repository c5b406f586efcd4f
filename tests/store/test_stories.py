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


async def test_a_batch_makes_one_story_per_new_key_and_joins_the_existing_ones(store: Store) -> None:
    feed = await store.ensure_feed(FeedSpec(url="https://feeds.example/rss", name="F"), T0)
    articles = [
        Article(
            feed_url=feed.url,
            entry_id=f"e{i}",
            url=f"https://news.example/a/{i}",
            title=f"Story {i}",
            summary="",
            published=T0,
            lang="en",
            source="Yonhap",
        )
        for i in range(7)
    ]
    ids = [aid for aid, _ in await store.insert_articles(feed.id, articles, now=T0, seeded=False)]
    (first, _) = await store.assign_stories(new(ids[0]), now=T0)
    existing = first[ids[0]]
    keys = [-1, -2, -1, -3, existing, -2]  # articles 1..6: three new stories, one existing
    pairs = list(zip(ids[1:], keys, strict=True))
    batch = [StoryAssignment(aid, key, title=f"Story {aid}", lang="en") for aid, key in pairs]
    (out, _) = await store.assign_stories(batch, now=T0 + timedelta(minutes=1))
    assert set(out) == set(ids[1:])
    groups = {key: {out[aid] for aid, k in pairs if k == key} for key in set(keys)}
    assert all(len(g) == 1 for g in groups.values())  # one story per key
    made = {next(iter(groups[k])) for k in (-1, -2, -3)}
    assert len(made) == 3 and existing not in made and groups[existing] == {existing}
    stories = await store.stories_in_window(T0 - timedelta(days=1), None)
    members = {sid: sorted(a.id for a in arts) for sid, _, arts, _ in stories}
    assert members == {
        existing: [ids[0], ids[5]],
        out[ids[1]]: [ids[1], ids[3]],
        out[ids[2]]: [ids[2], ids[6]],
        out[ids[4]]: [ids[4]],
    }


async def test_new_stories_with_the_same_title_stay_apart(store: Store) -> None:
    """One batch starting several stories whose titles (and languages) are the same: each key still gets
    its own story, with exactly its own articles."""
    feed = await store.ensure_feed(FeedSpec(url="https://feeds.example/rss", name="F"), T0)
    articles = [
        Article(
            feed_url=feed.url, entry_id=f"e{i}", url=f"https://news.example/a/{i}", title="Daily briefing",
            summary="", published=T0, lang="en", source="Yonhap",
        )
        for i in range(7)
    ]  # fmt: skip
    ids = [aid for aid, _ in await store.insert_articles(feed.id, articles, now=T0, seeded=False)]
    keys = [-1, -2, -3, -1, -2, -4, -3]
    langs = {-1: "en", -2: "en", -3: "en", -4: "ko"}
    pairs = list(zip(ids, keys, strict=True))
    batch = [StoryAssignment(aid, k, title="Daily briefing", lang=langs[k]) for aid, k in pairs]
    (out, _) = await store.assign_stories(batch, now=T0)
    story_of_key = {k: {out[aid] for aid, kk in pairs if kk == k} for k in langs}
    assert all(len(s) == 1 for s in story_of_key.values())
    assert len({next(iter(s)) for s in story_of_key.values()}) == 4  # four keys, four stories
    stories = await store.stories_in_window(T0 - timedelta(days=1), None)
    members = {sid: sorted(a.id for a in arts) for sid, _, arts, _ in stories}
    assert members == {
        next(iter(story_of_key[k])): sorted(aid for aid, kk in pairs if kk == k) for k in langs
    }
