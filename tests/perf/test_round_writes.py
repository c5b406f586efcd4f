"""Per-feed overhead, counted (issue 16): how many transactions a round commits, the claims of a moment in
one transaction, a first poll's articles and its bookkeeping in one, a batch of story decisions in one;
and the story signatures the parser workers make are the ones the bot would make. Work is counted (commits
seen by the engine), never timed."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from bot.app import build_services
from bot.digest.stories import StoryIndex, StoryParams
from bot.models import FeedSpec
from bot.settings import Settings
from bot.store.batch import Batch
from bot.store.repo import Store
from tests.conftest import TEST_FACTS, FakeClock, FeedServer, KeywordMatcher, rss


@contextmanager
def commits(store: Store) -> Iterator[list[int]]:
    """Count the transactions committed on ``store``'s engine while the block runs."""
    seen: list[int] = []

    def on_commit(_conn: object) -> None:
        seen.append(1)

    event.listen(store.engine.sync_engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "commit", on_commit)


def items(feed: int, n: int, *, start: int = 0) -> list[dict[str, str]]:
    return [
        {
            "title": f"Feed {feed} item {i}: North Korea and Russia treaty",
            "link": f"http://news.example/{feed}/{i}",
            "description": f"Russia and North Korea signed a treaty, feed {feed} says in item {i}.",
        }
        for i in range(start, start + n)
    ]


async def test_a_round_commits_about_one_transaction_per_changed_feed(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    n = 12
    for f in range(n):
        feed_server.feeds[f"/{f}.xml"] = rss(items(f, 5))
    settings = make_settings(database_url=db_url)
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, console_stream=io.StringIO()
    ) as svc:
        feeds = [
            await svc.store.ensure_feed(FeedSpec(url=feed_server.url(f"/{f}.xml"), name=f"f{f}"), clock())
            for f in range(n)
        ]
        await svc.matchers.current()
        # First polls: the claims together, then per feed its articles, matches and success in one write.
        with commits(svc.store) as first:
            report = await svc.poller.poll_feeds(feeds)
        assert [o.status for o in report.outcomes] == ["new"] * n and report.articles == 5 * n
        assert len(first) <= n + 2, len(first)  # it was 3 per feed (claim, articles, success)
        for f in feeds:
            row = await svc.store.get_feed(f.id)
            assert row is not None and row.seeded and row.items_count == 5 and row.last_success_at
        # Nothing changed: every feed answers 304; the claims and the bookkeeping are two batches.
        clock.advance(minutes=10)
        with commits(svc.store) as unchanged:
            report = await svc.poller.poll_feeds(await svc.store.list_feeds())
        assert {o.status for o in report.outcomes} == {"not_modified"}
        assert len(unchanged) <= 3, len(unchanged)
        # The leases were all released: another process may claim every feed at once.
        claimed = await svc.store.claim_feeds(
            [f.id for f in feeds], owner="other", now=clock(), lease_seconds=60
        )
        assert sorted(claimed) == sorted(f.id for f in feeds)


async def test_claim_feeds_skips_feeds_another_process_holds(store: Store, clock: FakeClock) -> None:
    feeds = [
        await store.ensure_feed(FeedSpec(url=f"http://f.example/{i}", name=f"{i}"), clock()) for i in range(4)
    ]
    ids = [f.id for f in feeds]
    assert await store.claim_feed(ids[0], owner="them", now=clock(), lease_seconds=60) is not None
    mine = await store.claim_feeds(ids, owner="me", now=clock(), lease_seconds=60)
    assert sorted(mine) == ids[1:]
    assert all(row.id == fid for fid, row in mine.items())
    # Mine again (a retry of the same poller) and, once their lease expires, theirs too.
    later = clock() + timedelta(seconds=61)
    assert sorted(await store.claim_feeds(ids, owner="me", now=later, lease_seconds=60)) == ids


async def test_a_batch_writes_once_per_moment_and_answers_each_caller() -> None:
    writes: list[list[int]] = []

    async def write(xs: list[int]) -> list[int]:
        writes.append(xs)
        if 13 in xs:
            raise RuntimeError("the database refused the batch")
        return [x * 10 for x in xs]

    batch: Batch[int, int] = Batch(write, size=4, delay=0.01)
    assert await asyncio.gather(*(batch.submit(x) for x in range(10))) == [x * 10 for x in range(10)]
    assert [len(w) for w in writes] == [4, 4, 2]
    writes.clear()
    results = await asyncio.gather(*(batch.submit(x) for x in (11, 12, 13, 14, 15)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results[:4]), results  # the first four: one batch
    assert results[4] == 150, "a later batch does not share an earlier one's failure"


async def test_a_flood_in_one_route_is_one_story_written_in_one_transaction(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    # One press release carried by 40 feeds at once: after their first polls, each feed gains a copy.
    n = 40
    release = (
        "Norvale Robotics said it has opened a new assembly plant in Leipzig that will build autonomous "
        "warehouse robots for retailers across Europe, employing about 400 people at full capacity."
    )
    for f in range(n):
        feed_server.feeds[f"/{f}.xml"] = rss(items(f, 1))
    async with build_services(
        make_settings(database_url=db_url),
        clock=clock,
        matcher_factory=KeywordMatcher,
        facts=TEST_FACTS,
        console_stream=io.StringIO(),
    ) as svc:
        feeds = [
            await svc.store.ensure_feed(FeedSpec(url=feed_server.url(f"/{f}.xml"), name=f"f{f}"), clock())
            for f in range(n)
        ]
        await svc.poller.poll_feeds(feeds)  # the first polls: seeded
        for f in range(n):
            copy = {
                "title": f"Outlet {f}: Norvale opens Leipzig robot plant",
                "link": f"http://o{f}.example/n",
            }
            feed_server.feeds[f"/{f}.xml"] = rss([*items(f, 1), {**copy, "description": release}])
        clock.advance(minutes=10)
        report = await svc.poller.poll_feeds(await svc.store.list_feeds())
        new = report.new
        assert len(new) == n and all(n_.signed and n_.shingled is not None for n_ in new)
        stories = {(await svc.store.get_article(a.id)).story_id for a in new}  # type: ignore[union-attr]
        assert len(stories) == 1, "copies of one release polled from 40 feeds are one story"


@pytest.mark.parametrize("text_words", [40, 3])
async def test_worker_signatures_are_the_ones_the_bot_makes(
    make_settings: Callable[..., Settings], text_words: int
) -> None:
    body = " ".join(f"word{i % 17} other{i % 5} treaty" for i in range(text_words))
    feed = rss([{"title": "Kim and Putin meet", "link": "http://news.example/x", "description": body}])
    settings = make_settings()
    params = StoryParams()
    async with build_services(
        settings, matcher_factory=KeywordMatcher, facts=TEST_FACTS, console_stream=io.StringIO()
    ) as svc:
        parsed = await svc.parsers.parse(
            feed,
            feed=FeedSpec(url="http://feeds.example/a.xml", name="a"),
            content_type="application/rss+xml",
            headers={},
            now=FakeClock()(),
            sign=params.sig,
        )
    index = StoryIndex(params)
    [article] = parsed.articles
    assert parsed.shingled is not None
    [read] = parsed.shingled
    mine = index.signature(article)
    if mine is None:
        assert read is None  # too short to compare by text, in both places
        return
    assert read is not None
    theirs = index.sign_shingled(read)
    assert theirs is not None
    assert (theirs.minhash.hashvalues == mine.minhash.hashvalues).all()
    assert (theirs.size, theirs.anchors, theirs.shingles) == (mine.size, mine.anchors, mine.shingles)
