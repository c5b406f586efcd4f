"""PostgreSQL advisory locks: which processes may run beside each other on one database, and the work that
must happen one process at a time (story assignment, the hourly alert cap).

A session lock is held on a connection of its own, taken from the engine's pool for as long as it is held:
PostgreSQL releases it when that connection ends, so a process that dies (SIGKILL, a lost machine) never
leaves a lock behind. On SQLite there is one process per database file, and every helper here is a no-op
(the in-process locks of the callers are enough).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import socket
from collections.abc import AsyncIterator
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.settings import ConfigurationError

log = logging.getLogger(__name__)


class LockKey(enum.IntEnum):
    """Advisory lock keys (one namespace per database; the migrations use ``db.MIGRATION_LOCK_KEY``)."""

    # ``pactwatch run`` holds it exclusively; workers and gateways share it: run refuses beside them.
    ROLE = 0x70777201
    # The active gateway (the one connected to Discord and Slack); standbys wait for it.
    GATEWAY = 0x70777202
    # Story assignment and digest composition: copies polled by two workers must join one story.
    STORIES = 0x70777203
    # The alert policy's count-decide-enqueue: the hourly cap holds however many workers route at once.
    ALERT_POLICY = 0x70777204


def _fn(name: str, *, shared: bool) -> str:
    return f"{name}_shared" if shared else name


class HeldLock:
    """A session lock held on its own connection until ``release`` (or until the process dies)."""

    def __init__(self, conn: AsyncConnection, key: int, *, shared: bool) -> None:
        self._conn: AsyncConnection | None = conn
        self.key = key
        self.shared = shared

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def alive(self) -> bool:
        """Whether the lock's connection still answers (a lost connection has lost the lock)."""
        if self._conn is None:
            return False
        try:
            await self._conn.execute(sa.text("SELECT 1"))
            await self._conn.commit()
        except Exception:
            return False
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        await _unlock_and_close(conn, self.key, shared=self.shared)


async def _unlock_and_close(conn: AsyncConnection, key: int, *, shared: bool) -> None:
    try:
        await conn.execute(sa.text(f"SELECT {_fn('pg_advisory_unlock', shared=shared)}(:k)"), {"k": key})
        await conn.commit()
    except Exception:
        # Never hand a connection that may still hold the lock back to the pool: close it instead.
        with contextlib.suppress(Exception):
            await conn.invalidate()
    finally:
        with contextlib.suppress(Exception):
            await conn.close()


async def try_hold(engine: AsyncEngine, key: int, *, shared: bool = False) -> HeldLock | None:
    """Take the session lock ``key`` now if it is free: the held lock, or None when another session holds
    it in a conflicting mode. On SQLite: always a held lock with nothing behind it."""
    conn = await engine.connect()
    if engine.dialect.name != "postgresql":
        await conn.close()
        return _NoLock()
    try:
        got = (
            await conn.execute(
                sa.text(f"SELECT {_fn('pg_try_advisory_lock', shared=shared)}(:k)"), {"k": key}
            )
        ).scalar_one()
        await conn.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        await conn.close()
        raise
    if not got:
        await conn.close()
        return None
    return HeldLock(conn, key, shared=shared)


class _NoLock(HeldLock):
    """What ``try_hold`` gives on SQLite."""

    def __init__(self) -> None:
        self.key = 0
        self.shared = False
        self._conn = None
        self._held = True

    @property
    def held(self) -> bool:
        return self._held

    async def alive(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False


@contextlib.asynccontextmanager
async def held(engine: AsyncEngine, key: int) -> AsyncIterator[None]:
    """Wait for the exclusive session lock ``key``, hold it for the block, release it (PostgreSQL; a no-op
    on SQLite). Work inside may use other connections of the pool: the lock is the session's, not a
    transaction's."""
    if engine.dialect.name != "postgresql":
        yield
        return
    conn = await engine.connect()
    try:
        await conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        await conn.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        await conn.close()
        raise
    try:
        yield
    finally:
        await _unlock_and_close(conn, key, shared=False)


Role = Literal["run", "worker", "gateway"]


class RoleConflict(ConfigurationError):
    """A process that must not run beside those already on the database (one sentence)."""


async def hold_role(engine: AsyncEngine, role: Role) -> HeldLock:
    """Take this process's place on the database: ``run`` alone (exclusively), workers and gateways
    together (shared). Raises ``RoleConflict`` when that place is taken; the lock goes with the process."""
    lock = await try_hold(engine, LockKey.ROLE, shared=role != "run")
    if lock is not None:
        return lock
    if role == "run":
        raise RoleConflict(
            "another `pactwatch run`, or `pactwatch worker` or `pactwatch gateway` processes, already use "
            "this database; stop them first, or run only workers and a gateway against it."
        )
    raise RoleConflict(
        f"a `pactwatch run` already uses this database, so `pactwatch {role}` cannot start beside it; stop "
        "it first (workers and a gateway replace it)."
    )


def holder_is_dead(holder: str) -> bool:
    """Whether a lease holder ("host:pid:…") is a process of this machine that no longer runs. A holder
    on another machine is never judged here: its lease expires instead."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False
