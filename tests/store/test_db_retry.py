"""A locked or unreachable database is waited out and retried with backoff, never fatal.

Everything goes through the Store's public methods against real databases: a SQLite file another
connection holds a write lock on, and PostgreSQL behind a local TCP relay the test takes down and brings
back (first a port where nothing listens, then a server that drops live connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.store.repo import Store
from tests.conftest import throwaway_pg_database

RETRY_LOG = "database busy or unreachable"


async def until(cond: Callable[[], bool], what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def retries_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum(RETRY_LOG in r.getMessage() for r in caplog.records)


async def test_a_write_waits_out_another_connections_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        locker.execute("BEGIN IMMEDIATE")  # the write lock, held by someone else (a CLI, a backup …)
        locker.execute("INSERT INTO meta (key, value) VALUES ('held', 'by the other connection')")
        write = asyncio.create_task(store.set_meta("written", "after the lock"))
        done, _ = await asyncio.wait({write}, timeout=1.0)
        assert not done, "the write finished while another connection held the write lock"
        locker.execute("COMMIT")
        await asyncio.wait_for(write, 60)
        assert await store.get_meta("written") == "after the lock"
        assert await store.get_meta("held") == "by the other connection"
    finally:
        locker.close()
        await store.close()


class Relay:
    """A TCP relay on a fixed local port to a real server; ``stop()`` closes the listener and cuts
    every live connection, ``start()`` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for w in list(self.writers):
            w.close()
        self.writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def pg_behind_relay() -> AsyncIterator[tuple[Relay, str]]:
    db = await throwaway_pg_database()
    url = make_url(db.url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()  # reserve a port …
    await relay.stop()  # … where nothing listens yet
    try:
        yield relay, url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    finally:
        await relay.stop()
        await db.drop()


async def test_postgresql_unreachable_at_start_is_retried_until_it_answers(
    pg_behind_relay: tuple[Relay, str], caplog: pytest.LogCaptureFixture
) -> None:
    relay, url = pg_behind_relay
    caplog.set_level(logging.WARNING, logger="bot.store.db")
    opening = asyncio.create_task(Store.open(url, retry_attempts=10))
    await until(lambda: retries_logged(caplog) >= 2, "two retries against a closed port")
    assert not opening.done()
    await relay.start()  # the database comes up
    store = await asyncio.wait_for(opening, 60)
    try:
        await store.set_meta("k", "v")
        assert await store.get_meta("k") == "v"
    finally:
        await store.close()


async def test_postgresql_lost_mid_run_is_retried_not_fatal(
    pg_behind_relay: tuple[Relay, str], caplog: pytest.LogCaptureFixture
) -> None:
    relay, url = pg_behind_relay
    await relay.start()
    store = await Store.open(url, retry_attempts=10)
    try:
        await store.set_meta("before", "1")
        caplog.set_level(logging.WARNING, logger="bot.store.db")
        await relay.stop()  # the server goes away: live pooled connections are cut, new ones refused
        write = asyncio.create_task(store.set_meta("during", "2"))
        await until(lambda: retries_logged(caplog) >= 1, "a retry while the database is down")
        assert not write.done()
        await relay.start()
        await asyncio.wait_for(write, 60)
        assert await store.get_meta("during") == "2"
        assert await store.get_meta("before") == "1"
    finally:
        await store.close()
