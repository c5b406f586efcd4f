"""Running the real ``pactwatch`` process (``python -m bot``) against the stand-ins."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path

from tests.crash.standins import StandIns

REPO = Path(__file__).resolve().parents[2]

DISCORD_TOKEN = "MTEx.discord-crash-TOKEN.Zq9x-never-logged"
SLACK_BOT_TOKEN = "xoxb-crash-bot-TOKEN-7731-never-logged"
SLACK_APP_TOKEN = "xapp-crash-app-TOKEN-7732-never-logged"
SLACK_SIGNING_SECRET = "crash-signing-SECRET-7733-never-logged"
SECRETS = (DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET)

DISCORD_CHANNEL = "111222333444555666"
SLACK_CHANNEL = "C0CRASH01"
FEEDS = ("alpha", "beta")

FACTS_TOML = """
[[fact]]
id = "treaty_signed"
title = "Treaty signed"
statement = "The treaty was signed."
priority = "alert"
query = "treaty"
"""


def write_config(root: Path, srv: StandIns, *, log_level: str = "INFO", extra: str = "") -> Path:
    """A settings file, feed list and fact catalog in ``root``; returns the settings file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "facts.toml").write_text(FACTS_TOML)
    (root / "feeds.toml").write_text(
        "".join(f'[[feeds]]\nname = "{n}"\nurl = "{srv.feed_url(n)}"\nlanguage = "en"\n\n' for n in FEEDS)
    )
    config = root / "pactwatch.toml"
    config.write_text(
        f"""
poll_interval_seconds = 10
poll_jitter_seconds = 0
seed_first_poll = false
outbox_lease_seconds = 1.0
outbox_interval_seconds = 0.5
send_timeout_seconds = 5
discord_channel_pace_seconds = 0
slack_channel_pace_seconds = 0
alerts_per_channel_per_hour = 100000
parse_workers = 1
health_port = 0
console = "off"
log_level = "{log_level}"
{extra}

[[subscriptions]]
platform = "discord"
channel = "{DISCORD_CHANNEL}"
alerts = "all"

[[subscriptions]]
platform = "slack"
channel = "{SLACK_CHANNEL}"
alerts = "all"
"""
    )
    return config


def bot_env(config: Path, data_dir: Path, srv: StandIns, *, crashpoint: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PACTWATCH_", "DISCORD_", "SLACK_"))}
    env.update(
        PACTWATCH_CONFIG=str(config),
        PACTWATCH_DATA_DIR=str(data_dir),
        PACTWATCH_ALLOW_PRIVATE_NETWORKS="true",
        PACTWATCH_FULL_TEXT="never",
        DISCORD_TOKEN=DISCORD_TOKEN,
        DISCORD_API_BASE=srv.discord_base,
        SLACK_BOT_TOKEN=SLACK_BOT_TOKEN,
        SLACK_APP_TOKEN=SLACK_APP_TOKEN,
        SLACK_SIGNING_SECRET=SLACK_SIGNING_SECRET,
        SLACK_API_URL=srv.slack_api_url,
        PYTHONUNBUFFERED="1",
    )
    env.pop("DATABASE_URL", None)
    if crashpoint:
        env["PACTWATCH_CRASHPOINT"] = crashpoint
    return env


@dataclasses.dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def run_bot(args: list[str], env: dict[str, str], srv: StandIns, *, deadline: float = 90.0) -> Finished:
    """Run ``python -m bot <args>`` to its end (or its death), with the stand-ins knowing its pid."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=str(REPO),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    srv.bot_pid = proc.pid
    try:
        out, err = await asyncio.wait_for(proc.communicate(), deadline)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        raise AssertionError(f"pactwatch {' '.join(args)} did not finish in {deadline:.0f}s") from None
    finally:
        srv.bot_pid = None
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
