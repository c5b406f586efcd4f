"""``/healthz`` and ``/metrics``: unhealthy (503) when the database is unreachable, the outbox is stuck, or
every feed keeps failing; the metrics a operator graphs."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.app import Services, build_services
from bot.health import FeedHealth, Metrics, problems, start_health_server
from bot.models import Alert, FeedSpec
from bot.settings import Settings
from bot.store.repo import PlannedDelivery
from tests.conftest import TEST_FACTS, FakeClock, FeedServer, KeywordMatcher, rss

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def feed(last_success: datetime | None, *, created: datetime = NOW - 10 * HOUR) -> FeedHealth:
    return FeedHealth(
        name="f", interval=timedelta(minutes=5), last_success_at=last_success, created_at=created
    )


@pytest.mark.parametrize(
    ("feeds", "oldest_due", "expected"),
    [
        ([feed(NOW - timedelta(minutes=1))], None, []),
        ([feed(NOW - timedelta(minutes=1))], NOW - timedelta(minutes=14), []),
        ([feed(NOW - timedelta(minutes=1))], NOW - timedelta(minutes=16), ["the oldest due delivery"]),
        ([feed(NOW - HOUR), feed(NOW - timedelta(minutes=1))], None, []),  # one dead feed is not fatal
        ([feed(NOW - HOUR), feed(None)], None, ["no feed has been polled successfully"]),
        ([feed(None, created=NOW - timedelta(minutes=10))], None, []),  # new: not yet 3 intervals
        ([], None, []),
    ],
)
def test_problems(feeds: list[FeedHealth], oldest_due: datetime | None, expected: list[str]) -> None:
    found = problems(
        feeds,
        now=NOW,
        oldest_due_delivery=oldest_due,
        max_delivery_delay=timedelta(minutes=15),
        feed_failure_intervals=3,
    )
    assert [p.split(" has")[0] if "delivery" in p else p.split(" for")[0] for p in found] == expected


async def _get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}") as r:
        return r.status, await r.text()


async def test_an_unreachable_database_is_503() -> None:
    async def status() -> dict[str, Any]:
        raise ConnectionRefusedError("connect call failed")

    runner = await start_health_server("127.0.0.1", 0, Metrics(), status)
    try:
        port = runner.addresses[0][1]
        code, body = await _get(port, "/healthz")
        assert code == 503
        assert json.loads(body) == {
            "ok": False,
            "problems": ["the database is unreachable (ConnectionRefusedError)"],
        }
        assert (await _get(port, "/metrics"))[0] == 200
    finally:
        await runner.cleanup()


@pytest.fixture
async def svc(
    make_settings: Callable[..., Settings], clock: FakeClock, db_url: str
) -> AsyncIterator[Services]:
    async with build_services(
        make_settings(database_url=db_url, console="on", poll_interval_seconds=300),
        clock=clock,
        matcher_factory=KeywordMatcher,
        facts=TEST_FACTS,
        console_stream=io.StringIO(),
    ) as s:
        yield s


async def test_a_stuck_outbox_makes_the_service_unhealthy(svc: Services, clock: FakeClock) -> None:
    sub = await svc.store.get_subscription("console", "console")
    assert sub is not None
    payload = Alert(
        article_id=1, title="t", url="https://x.example/", source="s", published=clock(), lang="en"
    )
    await svc.store.enqueue(
        [PlannedDelivery(key="k", subscription_id=sub.id, kind="alert", payload=payload)], now=clock()
    )
    assert (await svc.status())["ok"] is True
    clock.advance(minutes=16)  # nothing sent it: the sender is stuck
    st = await svc.status()
    assert st["ok"] is False and st["problems"][0].startswith("the oldest due delivery has waited 960 s")
    await svc.outbox.drain()
    assert (await svc.status())["ok"] is True


async def test_every_feed_failing_makes_the_service_unhealthy_and_metrics_show_it(
    svc: Services, clock: FakeClock, feed_server: FeedServer
) -> None:
    feed_server.feeds["/ok.xml"] = rss(
        [{"title": "North Korea Russia treaty", "link": "https://n.example/1"}]
    )
    feed_server.status["/dead.xml"] = 500
    ok = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/ok.xml"), name="ok"), clock())
    dead = await svc.store.ensure_feed(FeedSpec(url=feed_server.url("/dead.xml"), name="dead"), clock())
    clock.advance(minutes=16)  # more than 3 intervals of 5 minutes since both were added
    report = await svc.poller.poll_feeds([ok, dead])
    for o in report.outcomes:
        assert o.fetch_seconds is not None
    st = await svc.status()
    assert st["ok"] is True, "one feed works: a dead feed alone is not the service's problem"
    feed_server.status["/ok.xml"] = 500
    await svc.poller.poll_feeds([await svc.store.get_feed(ok.id), await svc.store.get_feed(dead.id)])  # type: ignore[list-item]
    clock.advance(minutes=16)
    st = await svc.status()
    assert st["ok"] is False and "no feed has been polled successfully" in st["problems"][0]
    text = svc.metrics.render().decode()
    assert 'pactwatch_feed_seconds_since_success{feed="ok"} 960.0' in text
    assert 'pactwatch_feed_seconds_since_success{feed="dead"} 1920.0' in text


def test_sent_alerts_and_every_delivery_attempt_are_counted() -> None:
    from bot.models import Delivery, SendResult, Summary

    metrics = Metrics()
    alert = Alert(article_id=1, title="t", url="https://x.example/", source="s", published=NOW, lang="en")
    summary = Summary(title="held", lines=())
    for payload, result in [(alert, "sent"), (alert, "retry"), (summary, "sent"), (alert, "sent")]:
        d = Delivery(id=1, key="k", subscription_id=1, platform="slack", channel="C", payload=payload)
        metrics.count_delivery(d, SendResult(result))  # type: ignore[arg-type]
    text = metrics.render().decode()
    assert 'pactwatch_alerts_total{platform="slack"} 2.0' in text
    assert 'pactwatch_deliveries_total{platform="slack",status="sent"} 3.0' in text
    assert 'pactwatch_deliveries_total{platform="slack",status="retry"} 1.0' in text
