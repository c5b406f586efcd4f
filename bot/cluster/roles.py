"""What a cluster process needs before it starts, and how it stops: PostgreSQL, the cluster extra, and a
stop event set by SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import signal

from sqlalchemy.engine import make_url

from bot.settings import ConfigurationError, Settings
from bot.store.locks import Role


def require_postgresql(settings: Settings, role: Role) -> None:
    """Raise ``ConfigurationError`` (one sentence) unless the database is PostgreSQL and the cluster extra
    is installed."""
    try:
        backend = make_url(settings.db_url).get_backend_name()
    except Exception:
        backend = ""
    if backend != "postgresql":
        raise ConfigurationError(
            f"`pactwatch {role}` needs PostgreSQL, which several processes can share; set DATABASE_URL to "
            "postgresql+asyncpg://user@host/db, or use `pactwatch run` on SQLite."
        )
    if importlib.util.find_spec("procrastinate") is None or importlib.util.find_spec("psycopg") is None:
        raise ConfigurationError(
            f"`pactwatch {role}` needs the cluster extra; install it with pip install 'pactwatch[cluster]'."
        )


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop``: the process finishes what it is doing and exits 0."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def wait_for(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``; True when it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
