"""Secrets never reach logs, errors or tracebacks: the real ``pactwatch`` process, every token set, DEBUG
logging, against stand-in chat servers that answer 401, 500 or garbage; stdout and stderr are searched
for each token (and its distinctive middle, in case something cut or re-encoded it)."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pytest

from tests.crash.botproc import REPO, SECRETS, bot_env, run_bot, write_config
from tests.crash.standins import Item, StandIns, now_utc, running_standins


def leaks(text: str) -> list[str]:
    found = []
    for s in SECRETS:
        for needle in (s, s[8:-8]):
            if needle in text:
                found.append(needle)
    return found


def publish(srv: StandIns) -> None:
    tag = "zqsecret1"
    srv.feeds["alpha"] = [
        Item(tag, f"North Korea-Russia treaty signed {tag}", f"https://news.example.org/{tag}", now_utc())
    ]
    srv.feeds["beta"] = [
        Item(
            "zqsecret2",
            "North Korea-Russia treaty signed again zqsecret2 elsewhere",
            "https://news.example.org/zqsecret2",
            now_utc() - timedelta(minutes=2),
        )
    ]


@pytest.mark.parametrize("failure", ["401", "500", "garbage", "echo"])
async def test_poll_once_never_prints_a_token(
    tmp_path: Path, failure: Literal["401", "500", "garbage", "echo"]
) -> None:
    async with running_standins() as srv:
        config = write_config(tmp_path / "config", srv, log_level="DEBUG")
        publish(srv)
        srv.fail = failure
        done = await run_bot(["poll", "--once"], bot_env(config, tmp_path / "data", srv), srv)
        output = done.stdout + done.stderr
        # The run really talked to the failing chat servers, with the token, and logged at DEBUG.
        assert any("/channels/" in path for _, path, _ in srv.requests)
        assert any("chat.postMessage" in path for _, path, _ in srv.requests)
        assert any(SECRETS[0] in h.get("Authorization", "") for _, _, h in srv.requests)
        assert " DEBUG " in done.stderr
        assert leaks(output) == [], f"secrets in the output ({failure}): {leaks(output)}"


@pytest.mark.parametrize("failure", ["echo"])
async def test_run_never_prints_a_token_when_chat_servers_fail(
    tmp_path: Path, failure: Literal["echo"]
) -> None:
    async with running_standins() as srv:
        config = write_config(
            tmp_path / "config", srv, log_level="DEBUG", extra="slack_connect_wait_seconds = 1"
        )
        publish(srv)
        srv.fail = failure
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=str(REPO),
            env=bot_env(config, tmp_path / "data", srv),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # Read its output while it runs: at DEBUG it writes more than a pipe holds, and a full pipe would
        # stop it mid-write.
        output_read = asyncio.create_task(proc.communicate())
        try:
            deadline = time.monotonic() + 60
            # Until the outbox has tried (and failed) to post on both platforms, or the process ended.
            while proc.returncode is None and not (
                any("/messages" in p for m, p, _ in srv.requests if m == "POST")
                and any("chat.postMessage" in p for _, p, _ in srv.requests)
            ):
                assert time.monotonic() < deadline, "pactwatch run never tried to deliver"
                await asyncio.sleep(0.05)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            try:
                out, err = await asyncio.wait_for(asyncio.shield(output_read), 60)
            except TimeoutError:
                proc.kill()
                out, err = await output_read
        output = out.decode(errors="replace") + err.decode(errors="replace")
        assert leaks(output) == [], f"secrets in the output of run: {leaks(output)}"
