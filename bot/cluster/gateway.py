"""``pactwatch gateway``: the one process connected to Discord's gateway and Slack (Socket Mode or HTTP).
It answers commands and guild events and sends nothing from the outbox (the workers do).

One gateway is active: the one holding the database's gateway lock (``LockKey.GATEWAY``). Others wait as
standbys, trying the lock every ``gateway_standby_seconds``; when the active one dies its connection ends,
PostgreSQL frees the lock, and a standby connects in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from bot.app import build_services, serve_health
from bot.cluster.roles import require_postgresql, stop_on_signals, wait_for
from bot.settings import Settings
from bot.store.locks import HeldLock, LockKey, hold_role, try_hold

log = logging.getLogger(__name__)


class GatewayLockLost(RuntimeError):
    """The active gateway's database connection (and with it its lock) went away."""


async def run_gateway(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Wait to become the active gateway, then serve chat until SIGINT/SIGTERM (exit 0). When the lock's
    connection is lost, stop at once with an error: a standby may be taking over already."""
    require_postgresql(settings, "gateway")
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    name = f"{socket.gethostname()}:{os.getpid()}"
    async with build_services(settings, live=True) as svc:
        role = await hold_role(svc.store.engine, "gateway")
        active: HeldLock | None = None
        state = "gateway-standby"

        async def status() -> dict[str, Any]:
            return {**await svc.status(), "role": state, "name": name}

        runner = await serve_health(settings, svc.metrics, status)
        try:
            svc.metrics.set_role(state)
            announced = False
            while not stop.is_set():
                active = await try_hold(svc.store.engine, LockKey.GATEWAY)
                if active is not None:
                    break
                if not announced:
                    log.info("gateway %s is a standby: another gateway is active", name)
                    announced = True
                await wait_for(stop, settings.gateway_standby_seconds)
            if active is None:
                return
            state = "gateway"
            svc.metrics.set_role(state)
            log.info(
                "gateway %s is active: %s",
                name,
                ", ".join(a.__class__.__name__ for a in svc.adapters) or "no chat",
            )
            for adapter in svc.adapters:
                await adapter.start()
            while not await wait_for(stop, settings.gateway_standby_seconds):
                if not await active.alive():
                    raise GatewayLockLost(
                        "the gateway lost its database connection, and with it the gateway lock; exiting so "
                        "that one gateway only stays connected (a standby takes over)"
                    )
            log.info("stopping the gateway")
        finally:
            if active is not None:
                # Disconnect before letting a standby in: two gateways never answer at once.
                for adapter in reversed(svc.adapters):
                    with contextlib.suppress(Exception):
                        await adapter.close()
                await active.release()
            await role.release()
            if runner is not None:
                await runner.cleanup()
    log.info("stopped")
