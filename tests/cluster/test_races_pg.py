"""What several workers on one PostgreSQL database must not break, each race on its own: two processes
(services with their own store, engine and in-memory state) doing the same step at once."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.app import Services
from bot.delivery.outbox import OutboxSender
from bot.models import Alert, Delivery, SendResult
from bot.poller import NewArticle
from bot.store.repo import PlannedDelivery
from tests.cluster.procs import WORDS
from tests.conftest import FakeClock
from tests.digest.conftest import article, ingest


@contextlib.asynccontextmanager
async def two(
    services: Callable[..., Any], url: str, **settings: Any
) -> AsyncIterator[tuple[Services, Services]]:
    async with services(database_url=url, **settings) as a, services(database_url=url, **settings) as b:
        yield a, b


def treaty(i: int, clock: FakeClock, **kw: Any) -> Any:
    return article(
        i, f"North Korea Russia treaty development number {i} in Pyongyang", published=clock(), **kw
    )


async def test_copies_routed_by_two_workers_at_once_join_one_story(
    services: Callable[..., Any], pg_url: str, clock: FakeClock
) -> None:
    async with two(services, pg_url) as (a, b):
        sub = await a.store.upsert_subscription(platform="console", channel="c", now=clock(), alerts="facts")
        # Both story indexes are loaded (empty) before the copies arrive: each must learn of the other's.
        await a.clusterer.assign([])
        await b.clusterer.assign([])
        for round_ in range(5):
            words = " ".join(random.Random(round_).sample(WORDS, 10))
            title = f"North Korea and Russia sign the treaty: {words}"
            copy_a = article(f"a{round_}", title, published=clock(), source="Yonhap")
            copy_b = article(f"b{round_}", title, published=clock(), source="Tass")
            ids = await asyncio.gather(ingest(a, [copy_a]), ingest(b, [copy_b]))
            stored = [await a.store.get_article(i) for [i] in ids]
            stories = {s.story_id for s in stored if s is not None}
            assert len(stories) == 1 and None not in stories, f"round {round_}: copies in stories {stories}"
        alerts = [r for r in await a.store.deliveries_for(sub.id) if r.kind == "alert"]
        assert len(alerts) == 5, "one alert per story, whichever worker routed its first copy"


async def test_the_hourly_cap_holds_when_workers_route_at_once(
    services: Callable[..., Any], pg_url: str, clock: FakeClock
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        workers = [
            await stack.enter_async_context(services(database_url=pg_url, alerts_per_channel_per_hour=3))
            for _ in range(4)
        ]
        a = workers[0]
        sub = await a.store.upsert_subscription(
            platform="console", channel="cap", now=clock(), alerts="facts"
        )
        # Each worker has its articles stored and matched; then all route at once.
        batches = []
        for w, svc in enumerate(workers):
            ids = await ingest(
                svc, [treaty(10 * w + i, clock, source=f"W{w}S{i}") for i in range(2)], route=False
            )
            batches.append(await new_articles(svc, ids))
        await asyncio.gather(
            *(svc.router.route(new, clock()) for svc, new in zip(workers, batches, strict=True))
        )
        statuses = [r.status for r in await a.store.deliveries_for(sub.id) if r.kind == "alert"]
        assert sorted(statuses) == ["held"] * 5 + ["pending"] * 3


async def new_articles(svc: Services, ids: list[int]) -> list[NewArticle]:
    """The stored articles ``ids`` as the poller hands them to the router."""
    matcher, _ = await svc.matchers.current()
    out = []
    for aid in ids:
        stored = await svc.store.get_article(aid)
        assert stored is not None
        feed = await svc.store.get_feed(stored.feed_id)
        assert feed is not None
        out.append(NewArticle(aid, feed, stored.article, matcher.match(stored.article), False))
    return out


class RecordingSink:
    """A sink that takes a while per message and records what it sent, and when."""

    platform = "console"

    def __init__(self, name: str, log: list[tuple[str, str, int]]) -> None:
        self.name = name
        self.log = log

    async def send(self, delivery: Delivery) -> SendResult:
        self.log.append((self.name, delivery.channel, delivery.id))
        await asyncio.sleep(0.01)
        return SendResult("sent", message_id=f"m{delivery.id}")

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None


async def test_one_sender_per_channel_across_workers(
    services: Callable[..., Any], pg_url: str, clock: FakeClock
) -> None:
    async with two(services, pg_url) as (a, b):
        subs = [
            await a.store.upsert_subscription(platform="console", channel=f"ch{n}", now=clock(), alerts="all")
            for n in range(3)
        ]
        payload = Alert(article_id=1, title="t", url="http://x/", source="s", published=clock(), lang="en")
        planned = [
            PlannedDelivery(key=f"k{s.id}:{i}", subscription_id=s.id, kind="alert", payload=payload)
            for i in range(8)
            for s in subs
        ]
        await a.store.enqueue(planned, now=clock())
        log: list[tuple[str, str, int]] = []
        senders = [
            OutboxSender(svc.store, {"console": RecordingSink(name, log)}, clock=clock, batch=4)
            for name, svc in (("A", a), ("B", b))
        ]
        # Both drain at once, again and again, as two workers' senders would.
        for _ in range(4):
            await asyncio.gather(*(s.drain() for s in senders))
        sent = [d for _, _, d in log]
        assert sorted(sent) == sorted(set(sent)) and len(sent) == 24, "each delivery sent once"
        for s in subs:
            mine = [(who, d) for who, ch, d in log if ch == s.channel]
            assert [d for _, d in mine] == sorted(d for _, d in mine), f"{s.channel}: out of order"
            assert len({who for who, _ in mine}) == 1, f"{s.channel}: sent by two senders {mine}"


async def test_the_summary_clock_lives_in_the_database(
    services: Callable[..., Any], pg_url: str, clock: FakeClock
) -> None:
    async with services(database_url=pg_url, alerts_per_channel_per_hour=1, summary_interval_minutes=60) as a:
        sub = await a.store.upsert_subscription(platform="console", channel="s", now=clock(), alerts="facts")
        await ingest(a, [treaty(i, clock, source=f"S{i}") for i in range(3)])
        assert await a.summaries.send() == 0  # the first held alerts start the clock
    clock.advance(minutes=61)
    # Another worker (or this one restarted) keeps the clock: the summary is due now, not an hour later.
    async with two(services, pg_url, alerts_per_channel_per_hour=1, summary_interval_minutes=60) as (b, c):
        results = await asyncio.gather(b.summaries.send(), c.summaries.send())
        assert sorted(results) == [0, 1], "one summary, whichever worker sends it"
        clock.advance(minutes=5)
        await ingest(b, [treaty(9, clock, source="S9")])
        assert await c.summaries.send() == 0, "the next summary waits for the interval"
        kinds = [r.kind for r in await b.store.deliveries_for(sub.id)]
        assert kinds.count("summary") == 1
