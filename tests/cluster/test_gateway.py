"""One gateway is active; a standby waits on the database's lock and takes over when the active one dies.
Real ``pactwatch gateway`` processes (no chat tokens: the lock and the hand-over are what is tested)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from tests.cluster.procs import free_port, health, start

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


async def logged(log: Path, text: str, *, within: float) -> None:
    deadline = time.monotonic() + within
    while text not in tail(log):
        if time.monotonic() > deadline:
            raise AssertionError(f"{log.name} never said {text!r}:\n{tail(log)}")
        await asyncio.sleep(0.2)


async def test_the_standby_takes_over_when_the_active_gateway_dies(pg_url: str, tmp_path: Path) -> None:
    pytest.importorskip(
        "procrastinate", reason="the cluster extra is not installed: pip install 'pactwatch[cluster]'"
    )
    config = tmp_path / "pactwatch.toml"
    config.write_text('console = "off"\nhealth_port = 0\ngateway_standby_seconds = 0.5\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACTWATCH_", "DISCORD_", "SLACK_"))}
    env.update(PACTWATCH_CONFIG=str(config), PACTWATCH_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=pg_url)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    ports = [free_port(), free_port()]
    a = await start("gateway", env, logs[0], port=ports[0])
    b: asyncio.subprocess.Process | None = None
    try:
        await logged(logs[0], "is active:", within=60)
        b = await start("gateway", env, logs[1], port=ports[1])
        await logged(logs[1], "is a standby", within=60)
        await asyncio.sleep(1.5)  # a few of the standby's tries: it stays a standby while the active lives
        assert "is active:" not in tail(logs[1])
        # Each process says its role on its own /healthz and /metrics.
        body, metrics = await health(ports[0])
        assert body["role"] == "gateway" and 'pactwatch_role{role="gateway"} 1.0' in metrics
        body, metrics = await health(ports[1])
        assert body["role"] == "gateway-standby" and 'pactwatch_role{role="gateway-standby"} 1.0' in metrics

        a.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await a.wait()
        await logged(logs[1], "is active:", within=30)
        print(
            f"\nthe standby took over {time.monotonic() - killed:.1f} s after the active gateway was killed"
        )
        body, metrics = await health(ports[1])
        assert body["role"] == "gateway" and 'pactwatch_role{role="gateway"} 1.0' in metrics
        assert "gateway-standby" not in metrics

        b.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(b.wait(), 30) == 0
    finally:
        for p in (a, b):
            if p is not None and p.returncode is None:
                p.kill()
                await p.wait()
