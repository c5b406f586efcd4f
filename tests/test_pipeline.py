"""The pipeline around matching: rounds, seeding, de-duplication, backoff, and the outbox across restarts.

Real store (SQLite and PostgreSQL), real local feed server, real parser workers, injected clock."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.app import build_services
from bot.models import Delivery, SendResult
from bot.settings import Settings
from tests.conftest import TEST_FACTS, FakeClock, FeedServer, KeywordMatcher, rss


def items(n: int, *, start: int = 0, word: str = "treaty") -> list[dict[str, str]]:
    return [
        {
            "title": f"North Korea and Russia {word} story {i}",
            "link": f"http://news.example/{i}",
            "description": f"Russia and North Korea: item {i}",
        }
        for i in range(start, start + n)
    ]


class RecordingSink:
    """A sink that records what it is asked to send; it can fail once after 'posting' (a crash)."""

    platform = "console"

    def __init__(self) -> None:
        self.posted: list[str] = []
        self.fail_after_post = False

    async def send(self, delivery: Delivery) -> SendResult:
        self.posted.append(delivery.key)
        if self.fail_after_post:
            self.fail_after_post = False
            raise ConnectionResetError("connection lost after the platform accepted the message")
        return SendResult("sent", message_id=f"m-{delivery.key}")

    async def find_sent(self, delivery: Delivery) -> str | None:
        return f"m-{delivery.key}" if delivery.key in self.posted else None


async def _services(settings: Settings, clock: FakeClock, **kw: Any) -> Any:
    return build_services(settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, **kw)


async def test_first_poll_seeds_then_new_items_alert(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    settings = make_settings(database_url=db_url, console="on")
    out = io.StringIO()
    feed_server.feeds["/a.xml"] = rss(items(3))
    async with await _services(settings, clock, console_stream=out) as svc:
        feed = await svc.store.ensure_feed(_spec(feed_server.url("/a.xml")), clock())
        report = await svc.poller.poll_feeds([feed])
        assert [o.status for o in report.outcomes] == ["new"]
        assert len(report.new) == 3 and all(n.seeded for n in report.new)
        assert await svc.outbox.drain() == 0, "the first poll of a feed must not alert its backlog"

        # A second poll of the unchanged feed: 304, nothing new.
        feed = await svc.store.get_feed(feed.id)
        report = await svc.poller.poll_feeds([feed])
        assert [o.status for o in report.outcomes] == ["not_modified"]
        assert report.new == []

        # Two new items appear: both stored, matched and alerted once on the console.
        feed_server.feeds["/a.xml"] = rss(items(5))
        clock.advance(minutes=5)
        report = await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])
        assert sorted(n.article.title for n in report.new) == [
            "North Korea and Russia treaty story 3",
            "North Korea and Russia treaty story 4",
        ]
        assert all(not n.seeded and n.match.fact_ids == ("treaty_signed",) for n in report.new)
        assert await svc.outbox.drain() == 2
        assert await svc.outbox.drain() == 0
    text = out.getvalue()
    assert text.count("ALERT ") == 2 and "treaty story 3" in text and "treaty story 0" not in text


async def test_no_duplicates_when_feed_changes_etag_but_not_items(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    settings = make_settings()
    feed_server.feeds["/a.xml"] = rss(items(4))
    async with await _services(settings, clock) as svc:
        feed = await svc.store.ensure_feed(_spec(feed_server.url("/a.xml")), clock())
        first = await svc.poller.poll_feeds([feed])
        assert len(first.new) == 4
        # Same items, different bytes (new title): parsed again, but no article is stored twice.
        feed_server.feeds["/a.xml"] = rss(items(4), title="Renamed feed")
        again = await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])
        assert again.outcomes[0].status == "new" and again.new == []
        arts = await svc.store.articles_since(clock() - timedelta(days=1))
        assert len(arts) == 4


async def test_malformed_and_failing_feeds_do_not_break_a_round(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    settings = make_settings(seed_first_poll=False)
    feed_server.feeds["/good.xml"] = rss(items(2))
    feed_server.feeds["/garbage.xml"] = b"\x00\x01 this is not a feed <<<"
    feed_server.feeds["/entity.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">]>'
        b"<rss><channel><title>&a;&a;</title></channel></rss>"
    )
    feed_server.status["/down.xml"] = 503
    async with await _services(settings, clock) as svc:
        feeds = [
            await svc.store.ensure_feed(_spec(feed_server.url(p)), clock())
            for p in ("/garbage.xml", "/down.xml", "/good.xml", "/entity.xml", "/missing.xml")
        ]
        report = await svc.poller.poll_feeds(feeds)
        by_path = {o.feed.url.rsplit("/", 1)[1]: o for o in report.outcomes}
        assert by_path["good.xml"].status == "new" and len(by_path["good.xml"].new) == 2
        for bad in ("garbage.xml", "down.xml", "entity.xml", "missing.xml"):
            assert by_path[bad].status == "error", bad
            assert by_path[bad].error and "\n" not in by_path[bad].error
        stored = {f.url.rsplit("/", 1)[1]: f for f in await svc.store.list_feeds()}
        assert stored["down.xml"].failure_count == 1 and stored["down.xml"].last_error
        assert stored["good.xml"].failure_count == 0 and stored["good.xml"].last_success_at == clock()


async def test_backoff_schedule_doubles_and_caps(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    settings = make_settings(backoff_base_seconds=60, backoff_max_seconds=600)
    feed_server.status["/down.xml"] = 500
    async with await _services(settings, clock) as svc:
        feed = await svc.store.ensure_feed(_spec(feed_server.url("/down.xml")), clock())
        waits = []
        for _ in range(6):
            feed = await svc.store.get_feed(feed.id)
            await svc.poller.poll_feeds([feed])
            feed = await svc.store.get_feed(feed.id)
            assert feed.next_poll_at is not None
            waits.append((feed.next_poll_at - clock()).total_seconds())
            # Not due before its backoff expires, due right after.
            assert feed.id not in [f.id for f in await svc.store.due_feeds(clock())]
            clock.now = feed.next_poll_at
            assert feed.id in [f.id for f in await svc.store.due_feeds(clock())]
        assert waits == [60, 120, 240, 480, 600, 600]
        # Recovery resets the count and returns to the regular interval.
        del feed_server.status["/down.xml"]
        feed_server.feeds["/down.xml"] = rss(items(1))
        await svc.poller.poll_feeds([await svc.store.get_feed(feed.id)])
        feed = await svc.store.get_feed(feed.id)
        assert feed.failure_count == 0
        assert (
            settings.poll_interval_seconds / 2
            <= (feed.next_poll_at - clock()).total_seconds()
            <= settings.poll_interval_seconds * 1.5 + settings.poll_jitter_seconds
        )


async def test_outbox_delivery_survives_restart_exactly_once(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock, db_url: str
) -> None:
    """The platform accepted the message, then the sender died before marking it sent: after the lease
    expires a new sender reconciles through the sink and does not post it again."""
    settings = make_settings(database_url=db_url, seed_first_poll=False, console="on")
    feed_server.feeds["/a.xml"] = rss(items(1))
    sink = RecordingSink()
    async with await _services(settings, clock) as svc:
        svc.outbox.sinks["console"] = sink
        feed = await svc.store.ensure_feed(_spec(feed_server.url("/a.xml")), clock())
        await svc.poller.poll_feeds([feed])
        # The "crash": a sender claims the delivery, the platform accepts it, and the process dies
        # before the outbox row is marked sent.
        claimed = await svc.store.claim(
            owner="crashed-process", platforms=["console"], now=clock(), lease_seconds=120, limit=10
        )
        assert len(claimed) == 1
        assert (await sink.send(claimed[0])).status == "sent"
        first_owner = "crashed-process"
        assert await svc.outbox.drain() == 0, "the lease is still held by the dead process"
    # Restart: a new process (new services, new owner) over the same database.
    clock.advance(seconds=settings.outbox_lease_seconds + 5)
    async with await _services(settings, clock) as svc2:
        svc2.outbox.sinks["console"] = sink
        assert svc2.outbox.owner != first_owner
        assert await svc2.outbox.drain() == 1
        assert await svc2.outbox.drain() == 0
        assert len(sink.posted) == 1, "reconciled, not posted twice"
        sub = await svc2.store.get_subscription("console", "console")
        rows = await svc2.store.deliveries_for(sub.id)
        assert [(r.status, r.message_id) for r in rows] == [("sent", f"m-{rows[0].key}")]


async def test_send_error_after_acceptance_is_reconciled_not_repeated(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    settings = make_settings(seed_first_poll=False, console="on")
    feed_server.feeds["/a.xml"] = rss(items(2))
    sink = RecordingSink()
    async with await _services(settings, clock) as svc:
        svc.outbox.sinks["console"] = sink
        await svc.poller.poll_feeds([await svc.store.ensure_feed(_spec(feed_server.url("/a.xml")), clock())])
        sink.fail_after_post = True
        # The first raised after posting and waits for its retry; the second waits behind it (order).
        assert await svc.outbox.drain() == 0
        assert sink.posted == [sink.posted[0]]
        clock.advance(minutes=5)
        assert await svc.outbox.drain() == 2  # the first reconciled through find_sent, then the second
        assert sorted(sink.posted) == sorted(set(sink.posted)) and len(sink.posted) == 2


async def test_two_senders_never_claim_the_same_delivery(
    make_settings: Callable[..., Settings], clock: FakeClock, db_url: str
) -> None:
    from bot.models import Alert
    from bot.store.repo import PlannedDelivery, Store

    a = await Store.open(db_url)
    b = await Store.open(db_url)
    try:
        sub = await a.upsert_subscription(platform="console", channel="c", now=clock())
        payload = Alert(article_id=1, title="t", url="http://x/", source="s", published=clock(), lang="en")
        planned = [
            PlannedDelivery(key=f"k{i}", subscription_id=sub.id, kind="alert", payload=payload)
            for i in range(40)
        ]
        assert await a.enqueue(planned, now=clock()) == 40
        assert await a.enqueue(planned, now=clock()) == 0, "the same keys again are no-ops"
        got_a = await a.claim(owner="A", platforms=["console"], now=clock(), lease_seconds=60, limit=25)
        got_b = await b.claim(owner="B", platforms=["console"], now=clock(), lease_seconds=60, limit=25)
        ids_a, ids_b = {d.id for d in got_a}, {d.id for d in got_b}
        # One sender per channel: while A's lease holds, the channel is A's and B gets none of it.
        assert len(ids_a) == 25 and ids_b == set()
        # B cannot settle A's rows.
        assert not await b.finish(got_a[0].id, owner="B", now=clock(), status="sent")
        assert await a.finish(got_a[0].id, owner="A", now=clock(), status="sent")
        # A dies: once its lease expires B takes the channel, A's unsettled rows flagged for reconciling.
        clock.advance(seconds=61)
        got_b = await b.claim(owner="B", platforms=["console"], now=clock(), lease_seconds=60, limit=50)
        assert len(got_b) == 39 and not {d.id for d in got_b} & {got_a[0].id}
        assert sum(1 for d in got_b if d.attempts == 1) == 24
        assert [d.id for d in got_b] == sorted(d.id for d in got_b), "in order"
    finally:
        await a.close()
        await b.close()


def _spec(url: str) -> Any:
    from bot.models import FeedSpec

    return FeedSpec(url=url, name=url.rsplit("/", 1)[1])


@pytest.mark.parametrize("failures,expected", [(1, 60), (2, 120), (3, 240), (10, 6 * 3600)])
def test_backoff_policy(failures: int, expected: float) -> None:
    from bot.poller import PollPolicy

    assert PollPolicy(backoff_base=60, backoff_max=6 * 3600).backoff(failures) == expected


async def test_platform_error_text_is_stored_without_tokens(
    make_settings: Callable[..., Settings], feed_server: FeedServer, clock: FakeClock
) -> None:
    """A hostile or broken platform that echoes our token in its error must not get it into the store."""
    from pydantic import SecretStr

    token = "xoxb-very-secret-token-123456"
    settings = make_settings(seed_first_poll=False, console="on", slack_bot_token=SecretStr(token))

    class EchoingSink(RecordingSink):
        async def send(self, delivery: Delivery) -> SendResult:
            return SendResult("retry", retry_after=60, reason=f"bad auth: Bearer {token}")

    feed_server.feeds["/a.xml"] = rss(items(1))
    async with build_services(
        settings, clock=clock, matcher_factory=KeywordMatcher, facts=TEST_FACTS, chat=False
    ) as svc:
        svc.outbox.sinks["console"] = EchoingSink()
        await svc.poller.poll_feeds([await svc.store.ensure_feed(_spec(feed_server.url("/a.xml")), clock())])
        await svc.outbox.drain()
        sub = await svc.store.get_subscription("console", "console")
        rows = await svc.store.deliveries_for(sub.id)
        assert rows and all(r.status == "pending" for r in rows)
        assert all(token not in (r.last_error or "") for r in rows)
        assert all("[redacted]" in (r.last_error or "") for r in rows)
