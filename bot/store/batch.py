"""Writes of a moment gathered into one transaction, each caller still waiting for its own commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from bot.store.repo import Store, UnchangedPoll

T = TypeVar("T")
R = TypeVar("R")


class Batch(Generic[T, R]):
    """Calls of a moment written together: each ``submit`` waits until its batch is written and gets its
    own result, but a batch is one ``write`` (one transaction) for up to ``size`` items submitted within
    ``delay`` seconds of each other. A failed write fails every call of its batch."""

    def __init__(
        self, write: Callable[[list[T]], Awaitable[list[R]]], *, size: int = 64, delay: float = 0.02
    ) -> None:
        self._write_many = write
        self.size = size
        self.delay = delay
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if len(self._pending) >= self.size:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self._flush)
        return await asyncio.shield(fut)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.create_task(self._write(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write_many([item for item, _ in batch])
        except Exception as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
        else:
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)


class UnchangedBatch(Batch[UnchangedPoll, None]):
    """The not-modified feeds' success bookkeeping, written together: each ``record`` waits until its
    batch is committed (so a poll still ends with its feed recorded and its lease released)."""

    def __init__(self, store: Store, *, size: int = 64, delay: float = 0.02) -> None:
        super().__init__(self._record_many, size=size, delay=delay)
        self.store = store

    async def _record_many(self, polls: list[UnchangedPoll]) -> list[None]:
        await self.store.record_unchanged_feeds(polls)
        return [None] * len(polls)

    async def record(self, poll: UnchangedPoll) -> None:
        await self.submit(poll)
