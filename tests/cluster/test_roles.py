"""Who may run beside whom on one database: ``run`` alone; workers and gateways together. And a single node
never loads the job queue."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.store.locks import LockKey, RoleConflict, hold_role
from bot.store.repo import Store
from tests.crash.botproc import REPO


async def test_run_refuses_beside_run_and_beside_workers(pg_url: str) -> None:
    store = await Store.open(pg_url)
    try:
        run = await hold_role(store.engine, "run")
        for role in ("run", "worker", "gateway"):
            with pytest.raises(RoleConflict, match="pactwatch run"):
                await hold_role(store.engine, role)  # type: ignore[arg-type]
        await run.release()

        workers = [await hold_role(store.engine, "worker") for _ in range(3)]
        gateway = await hold_role(store.engine, "gateway")
        with pytest.raises(RoleConflict) as refused:
            await hold_role(store.engine, "run")
        assert "already use this database" in str(refused.value) and "\n" not in str(refused.value)
        for lock in [*workers, gateway]:
            await lock.release()
        again = await hold_role(store.engine, "run")  # free again once they are gone
        await again.release()
    finally:
        await store.close()


async def test_the_run_service_refuses_to_start_beside_a_worker(
    make_settings: Callable[..., Settings], pg_url: str
) -> None:
    from bot.app import run_service

    store = await Store.open(pg_url)
    try:
        worker = await hold_role(store.engine, "worker")
        with pytest.raises(RoleConflict):
            await run_service(make_settings(database_url=pg_url))
        await worker.release()
    finally:
        await store.close()


async def test_a_dead_holder_leaves_no_lock_behind(pg_url: str) -> None:
    """The lock is its connection's: a process that dies (its connection ends) frees it at once."""
    import sqlalchemy as sa

    a, b = await Store.open(pg_url), await Store.open(pg_url)
    try:
        held = await hold_role(a.engine, "run")
        with pytest.raises(RoleConflict):
            await hold_role(b.engine, "run")
        async with b.engine.connect() as conn:  # the holder's connection ends, as when it is killed
            await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objid = :key AND granted"
                ),
                {"key": LockKey.ROLE.value},
            )
        assert not await held.alive()
        await held.release()
        again = await hold_role(b.engine, "run")
        await again.release()
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize("command", ["worker", "gateway"])
def test_worker_and_gateway_refuse_sqlite_in_one_sentence(command: str, tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PACTWATCH_DATA_DIR": str(tmp_path),
        "PACTWATCH_CONFIG": str(tmp_path / "x.toml"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "PACTWATCH_CONFIG" not in line]
    assert lines == [
        f"`pactwatch {command}` needs PostgreSQL, which several processes can share; set DATABASE_URL to "
        "postgresql+asyncpg://user@host/db, or use `pactwatch run` on SQLite."
    ]


def test_a_single_node_never_imports_the_job_queue() -> None:
    code = (
        "import sys, bot.cli, bot.app, bot.store.repo, bot.store.locks\n"
        "from click.testing import CliRunner\n"
        "assert CliRunner().invoke(bot.cli.main, ['--help']).exit_code == 0\n"
        "queue = ('procrastinate', 'psycopg', 'psycopg_pool')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in queue)\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


async def test_a_worker_takes_its_place_again_after_losing_its_connection(pg_url: str) -> None:
    import asyncio

    import sqlalchemy as sa

    from bot.cluster.worker import _keep_role

    async def end_the_role_connections(store: Store) -> None:
        async with store.engine.connect() as conn:
            await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objid = :key AND granted"
                ),
                {"key": LockKey.ROLE.value},
            )

    worker, other = await Store.open(pg_url), await Store.open(pg_url)
    stop = asyncio.Event()
    try:
        role = await hold_role(worker.engine, "worker")
        assert await _keep_role(worker.engine, role, stop) is role, "alive: kept as it is"
        await end_the_role_connections(other)  # the database restarted, say
        role = await _keep_role(worker.engine, role, stop)
        assert await role.alive() and not stop.is_set()
        # Lost again, and a `pactwatch run` took the database meanwhile: the worker stops.
        await end_the_role_connections(other)
        run = await hold_role(other.engine, "run")
        await _keep_role(worker.engine, role, stop)
        assert stop.is_set()
        await run.release()
    finally:
        await worker.close()
        await other.close()
