"""Two processes on one database (two ``poll --once`` started together, a cron ``poll`` beside ``run``):
migrations, feed polls and first-poll seeding must not race. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import build_services
from bot.models import FeedSpec
from bot.settings import Settings
from bot.store.repo import Store, UnchangedPoll
from tests.conftest import TEST_FACTS, FakeClock, FeedServer, KeywordMatcher, rss
from tests.test_cli import env_for, write_feed


def items(n: int, *, start: int = 0) -> list[dict[str, str]]:
    return [
        {
            "title": f"North Korea and Russia treaty story {i}",
            "link": f"http://news.example/{i}",
            "description": f"Russia and North Korea: item {i}",
        }
        for i in range(start, start + n)
    ]


async def test_two_stores_opening_a_fresh_database_together_both_migrate(db_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(db_url) for _ in range(3)))
    try:
        for s in stores:
            assert await s.list_feeds() == []
    finally:
        for s in stores:
            await s.close()


async def test_a_feed_leased_by_one_process_is_not_polled_by_another(db_url: str, clock: FakeClock) -> None:
    a, b = await Store.open(db_url), await Store.open(db_url)
    try:
        feed = await a.ensure_feed(FeedSpec(url="http://feeds.invalid/a.xml"), clock())
        assert await a.claim_feed(feed.id, owner="A", now=clock(), lease_seconds=300) is not None
        assert await b.claim_feed(feed.id, owner="B", now=clock(), lease_seconds=300) is None
        clock.advance(seconds=301)  # A died: its lease expires
        assert await b.claim_feed(feed.id, owner="B", now=clock(), lease_seconds=300) is not None
        await b.record_feed_failure(feed.id, now=clock(), error="x", next_poll_at=clock())
        assert await a.claim_feed(feed.id, owner="A", now=clock(), lease_seconds=300) is not None, "released"
    finally:
        await a.close()
        await b.close()


async def test_two_pollers_together_alert_each_item_once_and_seed_silently(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    feed_server.feeds["/a.xml"] = rss(items(3))
    feed_server.latency = 0.2  # both are inside their poll at once
    settings = make_settings(database_url=db_url, console="on")
    outs = [io.StringIO(), io.StringIO()]

    def services(out: io.StringIO) -> Any:
        return build_services(
            settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, console_stream=out
        )

    async with services(outs[0]) as one, services(outs[1]) as two:
        feed = await one.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        first = await asyncio.gather(one.poller.poll_feeds([feed]), two.poller.poll_feeds([feed]))
        statuses = sorted(o.status for r in first for o in r.outcomes)
        assert statuses == ["busy", "new"], statuses
        assert sum(len(r.new) for r in first) == 3 and all(n.seeded for r in first for n in r.new)
        clock.advance(minutes=10)
        feed_server.feeds["/a.xml"] = rss(items(3) + items(2, start=3))
        feed = await one.store.get_feed(feed.id)  # type: ignore[assignment]
        await asyncio.gather(one.poller.poll_feeds([feed]), two.poller.poll_feeds([feed]))
        await asyncio.gather(one.outbox.drain(), two.outbox.drain())
        sub = await one.store.get_subscription("console", "console")
        assert sub is not None
        sent = [d for d in await one.store.deliveries_for(sub.id) if d.status == "sent"]
    titles = sorted(json.loads(d.payload)["title"] for d in sent)
    assert titles == ["North Korea and Russia treaty story 3", "North Korea and Russia treaty story 4"]
    printed = outs[0].getvalue() + outs[1].getvalue()
    assert printed.count("ALERT ") == 2 and "story 0" not in printed, "first-poll items never alert"


async def test_seeded_articles_of_a_poll_that_died_never_alert(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    """A first poll stored its items (seeded) and died before recording success; the next poll of the
    feed must not route them as if an unfinished regular poll had left them behind."""
    feed_server.feeds["/a.xml"] = rss(items(2))
    settings = make_settings(database_url=db_url, console="on")
    out = io.StringIO()
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, console_stream=out
    ) as svc:
        feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        from bot.ingest.parse import parse_and_normalize

        parsed = parse_and_normalize(
            rss(items(2)), feed=feed.spec, content_type="application/rss+xml", headers={}, now=clock(),
            max_entries=500, text_max_chars=5000,
        )  # fmt: skip
        await svc.store.insert_articles(feed.id, parsed.articles, now=clock(), seeded=True)  # then it died
        await svc.store.record_feed_success(
            UnchangedPoll(feed.id, clock() - timedelta(hours=1), clock(), None, None, None, seeded=True),
            new_items=0,
        )
        clock.advance(minutes=10)
        feed_server.feeds["/a.xml"] = rss(items(3))
        await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])  # type: ignore[list-item]
        await svc.outbox.drain()
    assert out.getvalue().count("ALERT ") == 1 and "story 2" in out.getvalue()


def test_two_poll_once_started_together_on_a_fresh_data_dir(tmp_path: Path) -> None:
    feed = write_feed(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "poll", "--once", "--feed", str(feed), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env_for(tmp_path),
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "already exists" not in err
    printed = [json.loads(line) for out, _ in results for line in out.splitlines()]
    assert sorted(r["title"] for r in printed) == [
        "Putin and Kim sign strategic partnership treaty in Pyongyang",
        "Weather in Seoul",
    ], "each new article is reported by exactly one of the two"


async def test_a_lease_left_by_a_killed_process_of_this_machine_is_taken_over(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    import socket

    from bot.store.locks import holder_is_dead

    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    dead = f"{socket.gethostname()}:{proc.pid}:1"
    assert holder_is_dead(dead)
    assert not holder_is_dead(f"{socket.gethostname()}:{os.getpid()}:1"), "this process is alive"
    assert not holder_is_dead(f"other-host.invalid:{proc.pid}:1"), "another machine's: wait for expiry"
    feed_server.feeds["/a.xml"] = rss(items(2))
    async with build_services(
        make_settings(database_url=db_url), clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS
    ) as svc:
        feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        assert await svc.store.claim_feed(feed.id, owner=dead, now=clock(), lease_seconds=300)
        report = await svc.poller.poll_feeds([feed])
        assert [o.status for o in report.outcomes] == ["new"], "no need to wait out the dead one's lease"


async def test_a_watch_over_its_budget_is_paused_its_channel_told_and_nothing_else_suffers(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    """One tenant's runaway watch: the feed's articles are stored and matched for everyone else; the watch
    is paused (not matched again) and its channel gets one notice."""
    import random

    from bot.app import default_matcher_factory

    rng = random.Random(1)
    common = " ".join(rng.choice(["the", "a", "of", "and", "to", "in"]) for _ in range(3000))
    body = [{"title": "North Korea and Russia treaty: the text", "link": "http://news.example/long",
             "description": f"Russia and North Korea treaty. {common}"}]  # fmt: skip
    feed_server.feeds["/a.xml"] = rss(body)
    settings = make_settings(database_url=db_url, console="on", seed_first_poll=False, watch_work_budget=2000)
    out = io.StringIO()
    factory = default_matcher_factory(settings)  # with the settings' watch_work_budget
    async with build_services(
        settings, clock=clock, matcher_factory=factory, facts=(), console_stream=out
    ) as svc:
        heavy = await svc.store.add_watch(
            platform="console", tenant="", channel="console", label="heavy", alert=True,
            query="((the NEAR/50 a) NEAR/50 of) NEAR/50 and", created_by="t", now=clock(), quota=100,
        )  # fmt: skip
        await svc.store.add_watch(
            platform="console", tenant="", channel="console", query="treaty", label="plain", alert=True,
            created_by="t", now=clock(), quota=100,
        )  # fmt: skip
        feed = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/a.xml"), name="a"), clock())
        report = await svc.poller.poll_feeds([feed])
        [new] = report.new
        assert new.match.over_budget == (str(heavy.id),)
        assert [w.label for w in await svc.store.list_watches() if w.paused_reason] == ["heavy"]
        await svc.outbox.drain()
        printed = out.getvalue()
        assert printed.count(f"Watch #{heavy.id} is paused") == 1
        assert "ALERT North Korea and Russia treaty" in printed and "watch: plain" in printed
        # Paused: no longer matched, so no second notice.
        feed_server.feeds["/a.xml"] = rss(
            [{**body[0], "link": "http://news.example/long2", "title": "Again"}]
        )
        clock.advance(minutes=10)
        again = await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])  # type: ignore[list-item]
        assert [n.match.over_budget for n in again.new] == [()]
        await svc.outbox.drain()
        assert out.getvalue().count("is paused") == 1
