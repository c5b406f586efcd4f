"""The outbox sender against a real store (SQLite and PostgreSQL) and a recording stand-in for the chat
platform. Time is the injected FakeClock: backoff and leases move only when the test advances it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.delivery.outbox import OutboxSender
from bot.logs import SecretRedactor
from bot.models import Alert, Delivery, Platform, SendResult
from bot.settings import Settings
from bot.store.repo import PlannedDelivery, Store, SubscriptionRow
from tests.conftest import FakeClock

TOKEN = "xoxb-1234567890-SECRETSECRET"  # looks like a Slack bot token


class RecordingSink:
    """A stand-in for a chat platform: records every send, "posts" what it accepts, and answers with
    scripted results. ``find_sent`` reads back what was posted, as a real platform's history would."""

    def __init__(self, platform: Platform = "discord") -> None:
        self.platform: Platform = platform
        self.sends: list[Delivery] = []  # every send call, in order
        self.posted: dict[str, str] = {}  # key -> message id of what the platform shows
        self.find_calls: list[str] = []
        self.script: dict[str, list[SendResult | BaseException]] = {}  # key -> next answers
        self.find_error: Exception | None = None
        self.hang: asyncio.Event | None = None  # when set up, send blocks (after posting) until it is set
        self.hang_before_post = False

    def answer(self, key: str, *results: SendResult | BaseException) -> None:
        self.script.setdefault(key, []).extend(results)

    def keys(self, channel: str | None = None) -> list[str]:
        return [d.key for d in self.sends if channel is None or d.channel == channel]

    async def send(self, delivery: Delivery) -> SendResult:
        self.sends.append(delivery)
        queued = self.script.get(delivery.key)
        answer = queued.pop(0) if queued else SendResult("sent", message_id=f"m-{delivery.key}")
        if isinstance(answer, BaseException):
            raise answer
        result = answer
        if self.hang is not None and self.hang_before_post:
            await self.hang.wait()
        if result.status == "sent":
            self.posted[delivery.key] = result.message_id or ""
        if self.hang is not None and not self.hang_before_post:
            await self.hang.wait()
        return result

    async def find_sent(self, delivery: Delivery) -> str | None:
        self.find_calls.append(delivery.key)
        if self.find_error is not None:
            raise self.find_error
        return self.posted.get(delivery.key)


def _alert(n: int) -> Alert:
    return Alert(
        article_id=n,
        title=f"Story {n}",
        url=f"https://news.example/{n}",
        source="Example",
        published=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        lang="en",
    )


async def _sub(store: Store, clock: FakeClock, channel: str, platform: str = "discord") -> SubscriptionRow:
    return await store.upsert_subscription(platform=platform, channel=channel, now=clock(), alerts="all")


async def _enqueue(store: Store, clock: FakeClock, sub: SubscriptionRow, *keys: str) -> None:
    planned = [
        PlannedDelivery(key=k, subscription_id=sub.id, kind="alert", payload=_alert(i))
        for i, k in enumerate(keys)
    ]
    assert await store.enqueue(planned, now=clock()) == len(keys)


async def _rows(store: Store, sub: SubscriptionRow) -> dict[str, object]:
    return {r.key: r for r in await store.deliveries_for(sub.id)}


def _sender(store: Store, sink: RecordingSink, clock: FakeClock, **kw: object) -> OutboxSender:
    return OutboxSender(store, {sink.platform: sink}, clock=clock, **kw)  # type: ignore[arg-type]


# --- sending ---------------------------------------------------------------------------------------


async def test_a_planned_delivery_is_sent_once_and_marked_sent(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    seen: list[tuple[str, str]] = []
    outbox = _sender(store, sink, clock, on_result=lambda d, r: seen.append((d.key, r.status)))

    assert await outbox.drain() == 1
    [d] = sink.sends
    assert (d.key, d.channel, d.platform, d.subscription_id, d.attempts) == ("k1", "c1", "discord", sub.id, 0)
    assert d.payload == _alert(0)
    assert sink.find_calls == [], "a first attempt has nothing to reconcile"
    assert seen == [("k1", "sent")]
    [row] = await store.deliveries_for(sub.id)
    assert (row.status, row.message_id, row.lease_owner, row.last_error) == ("sent", "m-k1", None, None)
    assert row.sent_at.replace(tzinfo=UTC) == clock()
    assert await store.outbox_depth() == 0

    clock.advance(hours=1)
    assert await outbox.drain() == 0
    assert sink.keys() == ["k1"]


async def test_deliveries_of_paused_or_unknown_platforms_are_not_claimed(
    store: Store, clock: FakeClock
) -> None:
    slack = await _sub(store, clock, "s1", platform="slack")
    paused = await _sub(store, clock, "c2")
    await store.set_paused(paused.id, True, "gone")
    await _enqueue(store, clock, slack, "slack-1")
    await _enqueue(store, clock, paused, "paused-1")
    sink = RecordingSink("discord")
    assert await _sender(store, sink, clock).drain() == 0
    assert sink.sends == []


# --- retries ---------------------------------------------------------------------------------------


async def test_a_retryable_failure_is_retried_after_the_backoff_and_not_before(
    store: Store, clock: FakeClock
) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.answer("k1", SendResult("retry", reason="HTTP 502"))
    outbox = _sender(store, sink, clock)

    assert await outbox.drain() == 0
    row = (await _rows(store, sub))["k1"]
    assert (row.status, row.attempts, row.last_error, row.lease_owner) == ("pending", 1, "HTTP 502", None)

    assert await outbox.drain() == 0
    clock.advance(seconds=1.9)  # the first backoff is 2 s
    assert await outbox.drain() == 0
    assert sink.keys() == ["k1"]

    clock.advance(seconds=0.1)
    assert await outbox.drain() == 1
    assert sink.keys() == ["k1", "k1"]
    assert sink.sends[1].attempts == 1
    assert sink.find_calls == ["k1"], "a second attempt asks the platform first"
    row = (await _rows(store, sub))["k1"]
    assert (row.status, row.message_id) == ("sent", "m-k1")


async def test_backoff_grows_and_a_given_retry_after_is_honoured(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.answer("k1", SendResult("retry"), SendResult("retry"), SendResult("retry", retry_after=30.0))
    outbox = _sender(store, sink, clock)

    for wait in (2, 4, 30):  # 2 s, 4 s (doubling), then the platform's own Retry-After
        await outbox.drain()
        clock.advance(seconds=wait - 0.5)
        assert await outbox.drain() == 0
        clock.advance(seconds=0.5)
    assert await outbox.drain() == 1
    assert sink.keys() == ["k1"] * 4


async def test_a_retry_after_of_zero_is_not_retried_within_the_same_drain(
    store: Store, clock: FakeClock
) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.answer("k1", *[SendResult("retry", retry_after=0.0, reason="HTTP 429") for _ in range(20)])
    await _sender(store, sink, clock, max_attempts=12).drain()
    assert sink.keys() == ["k1"], "one drain, one attempt"
    assert (await _rows(store, sub))["k1"].status == "pending"


async def test_after_max_attempts_it_is_marked_failed(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.answer("k1", *[SendResult("retry", retry_after=1, reason=f"HTTP 503 #{i}") for i in range(10)])
    outbox = _sender(store, sink, clock, max_attempts=3)

    for _ in range(5):
        await outbox.drain()
        clock.advance(seconds=5)
    assert sink.keys() == ["k1"] * 3
    row = (await _rows(store, sub))["k1"]
    assert (row.status, row.attempts, row.last_error) == ("rejected", 3, "HTTP 503 #2")
    clock.advance(days=1)
    assert await outbox.drain() == 0
    assert len(sink.sends) == 3
    assert await store.outbox_depth() == 0


async def test_a_rejected_message_is_not_retried(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "bad", "good")
    sink = RecordingSink()
    sink.answer("bad", SendResult("rejected", reason="HTTP 400: embed too long"))
    outbox = _sender(store, sink, clock)

    assert await outbox.drain() == 1
    clock.advance(hours=1)
    assert await outbox.drain() == 0
    assert sink.keys() == ["bad", "good"]
    rows = await _rows(store, sub)
    assert (rows["bad"].status, rows["bad"].last_error) == ("rejected", "HTTP 400: embed too long")
    assert rows["good"].status == "sent"


async def test_a_sink_that_raises_or_hangs_is_retried(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "boom", "slow")
    sink = RecordingSink()
    sink.answer("boom", RuntimeError("sink bug"))
    outbox = _sender(store, sink, clock, send_timeout=0.05)

    assert await outbox.drain() == 0
    rows = await _rows(store, sub)
    assert (rows["boom"].status, rows["boom"].last_error) == ("pending", "RuntimeError: sink bug")
    assert (rows["slow"].status, rows["slow"].last_error) == ("pending", None), "held behind boom"
    assert sink.keys() == ["boom"]

    clock.advance(seconds=2)
    sink.hang = asyncio.Event()
    sink.hang_before_post = True
    assert await outbox.drain() == 0  # boom hangs now: timed out
    assert "timed out" in ((await _rows(store, sub))["boom"].last_error or "")

    sink.hang = None
    clock.advance(seconds=10)
    assert await outbox.drain() == 2
    assert list(sink.posted) == ["boom", "slow"]


# --- a channel that is gone ------------------------------------------------------------------------


async def test_channel_gone_pauses_it_and_holds_its_batch_while_other_channels_get_theirs(
    store: Store, clock: FakeClock
) -> None:
    gone = await _sub(store, clock, "gone")
    fine = await _sub(store, clock, "fine")
    await _enqueue(store, clock, gone, "g0", "g1", "g2")
    await _enqueue(store, clock, fine, "f0", "f1")
    sink = RecordingSink()
    sink.answer("g1", SendResult("channel_gone", reason="HTTP 403: Missing Access"))
    outbox = _sender(store, sink, clock)

    assert await outbox.drain() == 3  # g0, f0, f1
    assert sink.keys("gone") == ["g0", "g1"], "nothing after the refusal is tried"
    assert sink.keys("fine") == ["f0", "f1"]
    paused = await store.get_subscription_by_id(gone.id)
    assert paused is not None
    assert (paused.paused, paused.paused_reason) == (True, "HTTP 403: Missing Access")
    assert (await store.get_subscription_by_id(fine.id)).paused is False  # type: ignore[union-attr]
    rows = await _rows(store, gone)
    assert {k: (r.status, r.lease_owner) for k, r in rows.items()} == {
        "g0": ("sent", None),
        "g1": ("pending", None),
        "g2": ("pending", None),
    }
    assert rows["g1"].last_error == "HTTP 403: Missing Access"

    clock.advance(hours=1)
    assert await outbox.drain() == 0, "a paused channel is not tried again"
    assert len(sink.sends) == 4

    await store.set_paused(gone.id, False)  # what `resume` does
    assert await outbox.drain() == 2
    assert sink.keys("gone") == ["g0", "g1", "g1", "g2"]
    assert {r.status for r in (await _rows(store, gone)).values()} == {"sent"}


async def test_channel_gone_without_a_reason_still_pauses(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.answer("k1", SendResult("channel_gone"))
    await _sender(store, sink, clock).drain()
    row = await store.get_subscription_by_id(sub.id)
    assert row is not None and row.paused and row.paused_reason


# --- order -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [50, 2])
async def test_order_within_one_channel_is_kept(store: Store, clock: FakeClock, batch: int) -> None:
    a = await _sub(store, clock, "a")
    b = await _sub(store, clock, "b")
    for i in range(4):  # interleaved across channels, across several enqueues
        await _enqueue(store, clock, a, f"a{i}")
        await _enqueue(store, clock, b, f"b{i}")
        clock.advance(seconds=1)
    sink = RecordingSink()
    assert await _sender(store, sink, clock, batch=batch).drain() == 8
    assert sink.keys("a") == ["a0", "a1", "a2", "a3"]
    assert sink.keys("b") == ["b0", "b1", "b2", "b3"]


async def test_order_within_one_channel_is_kept_across_a_retry(store: Store, clock: FakeClock) -> None:
    a = await _sub(store, clock, "a")
    await _enqueue(store, clock, a, "a0", "a1", "a2")
    sink = RecordingSink()
    sink.answer("a0", SendResult("retry", retry_after=5, reason="HTTP 500"))
    outbox = _sender(store, sink, clock)
    await outbox.drain()
    clock.advance(seconds=60)
    await outbox.drain()
    assert list(sink.posted) == ["a0", "a1", "a2"]


async def test_a_delivery_planned_later_waits_behind_a_retry_in_its_channel(
    store: Store, clock: FakeClock
) -> None:
    a = await _sub(store, clock, "a")
    b = await _sub(store, clock, "b")
    await _enqueue(store, clock, a, "a0")
    sink = RecordingSink()
    sink.answer("a0", SendResult("retry", retry_after=30, reason="HTTP 500"))
    outbox = _sender(store, sink, clock)
    await outbox.drain()
    clock.advance(seconds=1)
    await _enqueue(store, clock, a, "a1")  # planned after a0 failed, due at once
    await _enqueue(store, clock, b, "b0")
    await outbox.drain()
    assert list(sink.posted) == ["b0"], "a1 waits for a0; the other channel does not"
    clock.advance(seconds=30)
    await outbox.drain()
    assert list(sink.posted) == ["b0", "a0", "a1"]


# --- a sender that died ----------------------------------------------------------------------------


async def _die_mid_send(outbox: OutboxSender, sink: RecordingSink) -> None:
    """Run a drain until the sink is inside ``send``, then kill it (the task is cancelled, no settle)."""
    task = asyncio.create_task(outbox.drain())
    for _ in range(1000):
        if sink.sends:
            break
        await asyncio.sleep(0.01)
    assert sink.sends, "the dying sender never reached the platform"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("posted", [True, False], ids=["posted-before-death", "died-before-posting"])
async def test_a_delivery_leased_by_a_dead_sender_is_reconciled_and_sent_exactly_once(
    store: Store, clock: FakeClock, posted: bool
) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.hang = asyncio.Event()
    sink.hang_before_post = not posted
    await _die_mid_send(_sender(store, sink, clock, lease_seconds=120), sink)
    sink.hang = None
    assert ("k1" in sink.posted) is posted
    row = (await _rows(store, sub))["k1"]
    assert row.status == "pending" and row.lease_owner is not None

    survivor = _sender(store, sink, clock, lease_seconds=120)
    assert await survivor.drain() == 0, "the lease has not expired yet"
    clock.advance(seconds=119)
    assert await survivor.drain() == 0
    assert sink.find_calls == []

    clock.advance(seconds=2)
    assert await survivor.drain() == 1
    assert sink.find_calls == ["k1"]
    assert len(sink.sends) == (1 if posted else 2), "posted once on the platform, never twice"
    assert list(sink.posted) == ["k1"]
    row = (await _rows(store, sub))["k1"]
    assert (row.status, row.message_id, row.lease_owner) == ("sent", "m-k1", None)
    assert await survivor.drain() == 0


async def test_a_failed_reconciliation_is_retried_without_sending(store: Store, clock: FakeClock) -> None:
    sub = await _sub(store, clock, "c1")
    await _enqueue(store, clock, sub, "k1")
    sink = RecordingSink()
    sink.hang = asyncio.Event()
    await _die_mid_send(_sender(store, sink, clock), sink)
    sink.hang = None
    sink.find_error = ConnectionError("history read failed")
    clock.advance(seconds=121)
    survivor = _sender(store, sink, clock)

    assert await survivor.drain() == 0
    assert len(sink.sends) == 1, "no send while it is unknown whether the platform has it"
    row = (await _rows(store, sub))["k1"]
    assert (row.status, row.last_error) == ("pending", "history read failed")

    sink.find_error = None
    clock.advance(seconds=600)
    assert await survivor.drain() == 1
    assert len(sink.sends) == 1
    assert (await _rows(store, sub))["k1"].status == "sent"


# --- secrets in error text -------------------------------------------------------------------------


async def test_token_like_text_in_errors_is_scrubbed(
    store: Store, clock: FakeClock, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    scrub = SecretRedactor(make_settings(slack_bot_token=TOKEN).secret_values()).scrub
    retry = await _sub(store, clock, "retry")
    raised = await _sub(store, clock, "raised")
    gone = await _sub(store, clock, "gone")
    await _enqueue(store, clock, retry, "r1")
    await _enqueue(store, clock, raised, "x1")
    await _enqueue(store, clock, gone, "g1")
    sink = RecordingSink()
    sink.answer("r1", SendResult("retry", reason=f"HTTP 500 for Bearer {TOKEN}"))
    sink.answer("x1", RuntimeError(f"bad auth header {TOKEN}"))
    sink.answer("g1", SendResult("channel_gone", reason=f"not_in_channel (token {TOKEN})"))
    results: list[SendResult] = []
    outbox = _sender(store, sink, clock, scrub=scrub, on_result=lambda d, r: results.append(r))

    with caplog.at_level(logging.INFO, logger="bot.delivery.outbox"):
        assert await outbox.drain() == 0

    errors = [
        (await _rows(store, retry))["r1"].last_error,
        (await _rows(store, raised))["x1"].last_error,
        (await _rows(store, gone))["g1"].last_error,
        (await store.get_subscription_by_id(gone.id)).paused_reason,  # type: ignore[union-attr]
    ] + [r.reason for r in results]
    assert len(errors) == 7
    for text in errors:
        assert TOKEN not in text
        assert "[redacted]" in text
    assert (await _rows(store, retry))["r1"].last_error == "HTTP 500 for Bearer [redacted]"
    assert TOKEN not in "\n".join(r.getMessage() for r in caplog.records if r.exc_info is None)

    # The reconciliation path scrubs too.
    sink.find_error = ConnectionError(f"GET /history?token={TOKEN} failed")
    clock.advance(minutes=5)
    assert await outbox.drain() == 0
    assert (await _rows(store, retry))["r1"].last_error == "GET /history?token=[redacted] failed"
