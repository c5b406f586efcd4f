"""Running real ``pactwatch worker`` / ``pactwatch gateway`` processes for the cluster tests, and reading
their ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import random
import socket
import string
import sys
from pathlib import Path

from tests.crash.botproc import REPO

# Made-up words: titles built from them are distinct stories (no two share many word triples).
WORDS = [
    "".join(random.Random(i).choices(string.ascii_lowercase, k=random.Random(i + 7).randint(5, 9)))
    for i in range(4000)
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(command: str, env: dict[str, str], log: Path, *, port: int = 0) -> asyncio.subprocess.Process:
    """``python -m bot <command>``, its output in ``log``, its health endpoint on ``port`` (0: none)."""
    out = open(log, "wb")  # noqa: SIM115, ASYNC230 - the process writes it until it ends
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        cwd=str(REPO),
        env={**env, "PACTWATCH_HEALTH_PORT": str(port)},
        stdout=out,
        stderr=out,
    )


async def health(port: int) -> tuple[dict[str, object], str]:
    """/healthz's body and /metrics' text of the process on ``port``."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
            body = await r.json()
        async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
            text = await r.text()
    return body, text
