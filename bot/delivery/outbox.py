"""The outbox sender: claims due deliveries, reconciles ones a crashed sender may have posted, sends
the rest through their platform's sink, and settles each row. Every send goes through here, so a restart
neither loses nor repeats one."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.crashpoints import crashpoint
from bot.models import Delivery, SendResult, Sink
from bot.ports import Clock
from bot.store.batch import Batch
from bot.store.db import describe_db_error
from bot.store.repo import Store

log = logging.getLogger(__name__)


class OutboxSender:
    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        *,
        clock: Clock,
        lease_seconds: float = 120.0,
        batch: int = 50,
        max_attempts: int = 12,
        send_timeout: float = 15.0,
        retry_min_seconds: float = 1.0,
        on_result: Callable[[Delivery, SendResult], None] | None = None,
        scrub: Callable[[str], str] = lambda text: text,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.store = store
        self.sinks = dict(sinks)
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.max_attempts = max_attempts
        self.send_timeout = send_timeout
        self.retry_min_seconds = retry_min_seconds
        self.on_result = on_result
        # Error text comes from the platform (or a hostile stand-in) and is stored and logged: it must
        # never carry a token, so it passes through the same redaction as the logs.
        self.scrub = scrub
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Set by whoever plans deliveries, so they are sent now instead of at the next interval.
        self.wake = wake or asyncio.Event()
        # Deliveries sent at about the same moment (many channels at once) are settled in one transaction;
        # each send still waits for its own commit before its channel's next one.
        self._settled: Batch[tuple[int, str | None, datetime], bool] = Batch(self._finish_sent, delay=0.005)

    async def drain(self, *, max_rounds: int = 1000) -> int:
        """Send everything due now; returns how many deliveries were settled as sent."""
        sent = 0
        for _ in range(max_rounds):
            claimed = await self.store.claim(
                owner=self.owner,
                platforms=list(self.sinks),
                now=self.clock(),
                lease_seconds=self.lease_seconds,
                limit=self.batch,
            )
            if not claimed:
                break
            # Channels are independent; within one channel, order is kept and the sink paces.
            by_channel: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
            for d in claimed:
                by_channel[(d.platform, d.channel)].append(d)
            # Within a channel, the order deliveries were planned in (a retried one may fall due last).
            batches = [sorted(ds, key=lambda d: d.id) for ds in by_channel.values()]
            results = await asyncio.gather(*(self._send_channel(ds) for ds in batches))
            sent += sum(results)
        return sent

    async def _send_channel(self, deliveries: list[Delivery]) -> int:
        """Send one channel's deliveries in order; after one that must wait (a retry, or a channel that
        refuses us), the rest of the batch waits too, so none overtakes it."""
        sent = 0
        for i, d in enumerate(deliveries):
            outcome, not_before = await self._send_one(d)
            if outcome == "sent":
                sent += 1
            elif outcome in ("channel_gone", "retry"):
                # Release the rest's leases: for `resume` after channel_gone, else until the retry is due.
                for rest in deliveries[i + 1 :]:
                    await self.store.finish(
                        rest.id, owner=self.owner, now=self.clock(), status="pending", not_before=not_before
                    )
                break
        return sent

    async def _finish_sent(self, sent: list[tuple[int, str | None, datetime]]) -> list[bool]:
        return await self.store.finish_sent(sent, owner=self.owner)

    async def _send_one(self, d: Delivery) -> tuple[str, datetime | None]:
        """Send (or reconcile) one delivery and settle its row: the outcome, and for a retry when it is
        due again."""
        sink = self.sinks[d.platform]
        now = self.clock()
        if d.attempts > 0:
            # A previous sender claimed this and may have posted it before dying: ask the platform.
            try:
                found = await asyncio.wait_for(sink.find_sent(d), self.send_timeout)
            except Exception as exc:
                reason = self.scrub(str(exc))
                log.warning("could not reconcile delivery %s: %s; will retry later", d.key, reason)
                return "retry", await self._retry(d, SendResult("retry", reason=reason))
            if found is not None:
                log.info("delivery %s was already posted before a restart (message %s)", d.key, found)
                crashpoint("outbox.reconciled")
                await self.store.finish(d.id, owner=self.owner, now=now, status="sent", message_id=found)
                return "sent", None
        crashpoint("outbox.before_send")
        try:
            result = await asyncio.wait_for(sink.send(d), self.send_timeout)
        except TimeoutError:
            result = SendResult("retry", reason=f"send timed out after {self.send_timeout:.0f}s")
        except Exception as exc:  # a sink bug must not stop the outbox
            log.exception("sink %s failed on delivery %s", d.platform, d.key)
            result = SendResult("retry", reason=f"{type(exc).__name__}: {exc}")
        if result.reason:
            result = dataclasses.replace(result, reason=self.scrub(result.reason))
        if self.on_result:
            self.on_result(d, result)
        if result.status == "sent":
            crashpoint("outbox.sent_before_finish")
            await self._settled.submit((d.id, result.message_id, self.clock()))
            crashpoint("outbox.finished")
            return "sent", None
        if result.status == "channel_gone":
            reason = result.reason or "the channel refused the bot"
            log.warning(
                "pausing subscription %d (%s %s): %s", d.subscription_id, d.platform, d.channel, reason
            )
            await self.store.set_paused(d.subscription_id, True, reason)
            await self.store.finish(d.id, owner=self.owner, now=self.clock(), status="pending", error=reason)
            return "channel_gone", None
        if result.status == "rejected":
            log.error("platform rejected delivery %s for good: %s", d.key, result.reason)
            await self.store.finish(
                d.id, owner=self.owner, now=self.clock(), status="rejected", error=result.reason
            )
            return "rejected", None
        return "retry", await self._retry(d, result)

    async def _retry(self, d: Delivery, result: SendResult) -> datetime | None:
        """Settle a failed send for a later try; returns when it is due, or None when given up."""
        now = self.clock()
        if d.attempts + 1 >= self.max_attempts:
            log.error("giving up on delivery %s after %d attempts: %s", d.key, d.attempts + 1, result.reason)
            await self.store.finish(d.id, owner=self.owner, now=now, status="rejected", error=result.reason)
            return None
        delay = result.retry_after if result.retry_after is not None else min(2.0 ** (d.attempts + 1), 600.0)
        # Never at once: a zero Retry-After would otherwise be claimed again within the same drain.
        not_before = now + timedelta(seconds=max(delay, self.retry_min_seconds))
        await self.store.finish(
            d.id, owner=self.owner, now=now, status="pending", error=result.reason, not_before=not_before
        )
        return not_before

    async def run(self, *, interval: float, stop: asyncio.Event) -> None:
        """Drain whenever woken (new deliveries) or every ``interval`` seconds, until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.drain()
            except (SQLAlchemyError, ConnectionError, OSError) as exc:
                # The database went away: one line (the log holds repeats back), no traceback.
                log.error("outbox round failed: database unavailable (%s); retrying", describe_db_error(exc))
            except Exception:
                log.exception("outbox round failed; retrying in %.0fs", interval)
            self.wake.clear()
            waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        await self.release()

    async def release(self) -> None:
        """Hand back this sender's channels (it stops), so another sender takes them at once instead of
        when their lease expires."""
        try:
            await self.store.release_channels(self.owner)
        except Exception as exc:  # they expire by themselves after the lease
            log.warning("could not release this sender's channels: %s", describe_db_error(exc))
