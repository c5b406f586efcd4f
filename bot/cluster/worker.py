"""``pactwatch worker``: one of N processes (on any machines) sharing a PostgreSQL database. Each runs
Procrastinate's worker (feed polls and the periodic tasks of ``bot.cluster.tasks``), the fetcher, the
parser pool and the outbox sender over the platforms' REST APIs. No gateway: chat commands are the
gateway's (``pactwatch gateway``)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_services, serve_health, sync_operator_feeds
from bot.cluster.roles import require_postgresql, stop_on_signals, wait_for
from bot.cluster.tasks import apply_queue_schema, build_app, register_tasks
from bot.settings import Settings
from bot.store.db import describe_db_error
from bot.store.locks import HeldLock, RoleConflict, hold_role

log = logging.getLogger(__name__)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop``): then running polls get ``worker_shutdown_seconds`` to end,
    the outbox sender hands back its channels, and the process exits 0."""
    require_postgresql(settings, "worker")
    if settings.log_level != "DEBUG":
        # Procrastinate logs every job it defers, starts and ends at INFO: thousands of lines an hour.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    async with build_services(settings, live=False) as svc:
        role = await hold_role(svc.store.engine, "worker")
        try:
            await apply_queue_schema(svc.store.engine)
            await sync_operator_feeds(svc)
            svc.metrics.set_role("worker")
            await svc.start_parsers()  # the parser workers are up (and hold the matcher) before the first job
            app = build_app(settings)
            register_tasks(app, svc)
            name = f"{socket.gethostname()}:{os.getpid()}"

            async def status() -> dict[str, Any]:
                return {**await svc.status(), "role": "worker", "name": name}

            runner = await serve_health(settings, svc.metrics, status)
            async with app.open_async():
                sender_stop = asyncio.Event()
                outbox = asyncio.create_task(
                    svc.outbox.run(interval=settings.outbox_interval_seconds, stop=sender_stop)
                )
                jobs = asyncio.create_task(
                    app.run_worker_async(
                        name=name,
                        concurrency=settings.worker_concurrency,
                        install_signal_handlers=False,
                        update_heartbeat_interval=settings.worker_heartbeat_seconds,
                        stalled_worker_timeout=settings.worker_stalled_seconds,
                        shutdown_graceful_timeout=settings.worker_shutdown_seconds,
                        fetch_job_polling_interval=settings.worker_job_poll_seconds,
                        delete_jobs="successful",
                    )
                )
                log.info(
                    "pactwatch worker %s running: %d jobs at once, sinks: %s",
                    name,
                    settings.worker_concurrency,
                    ", ".join(svc.sinks) or "none",
                )
                while not await wait_for(stop, settings.worker_heartbeat_seconds) and not jobs.done():
                    role = await _keep_role(svc.store.engine, role, stop)
                failed = jobs.done() and not stop.is_set()
                log.info("stopping: finishing running jobs, then the outbox")
                # Cancelling Procrastinate's worker is its graceful stop: running jobs get
                # shutdown_graceful_timeout to end, the rest is left for the other workers.
                jobs.cancel()
                try:
                    await jobs
                except asyncio.CancelledError:
                    pass
                except Exception:
                    log.exception("the job worker failed")
                    failed = True
                sender_stop.set()
                await outbox
            if runner is not None:
                await runner.cleanup()
            if failed:
                raise RuntimeError("the job worker stopped by itself; see the log above")
        finally:
            await role.release()
    log.info("stopped")


async def _keep_role(engine: AsyncEngine, role: HeldLock, stop: asyncio.Event) -> HeldLock:
    """The worker's place beside the others, taken again if its connection was lost (a database restart
    ends the lock with it). If a ``pactwatch run`` took the database meanwhile, ``stop`` is set: the two
    must not poll and send side by side."""
    if await role.alive():
        return role
    await role.release()
    try:
        return await hold_role(engine, "worker")
    except RoleConflict as exc:
        log.error("%s Stopping this worker.", exc)
        stop.set()
    except Exception as exc:  # the database is still away: try again at the next beat
        log.warning("could not take the worker's lock again: %s", describe_db_error(exc))
    return role
