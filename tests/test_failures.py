"""Database trouble and Ctrl-C, as a user meets them on the command line: one sentence, no traceback, an
interrupt honoured at once; repeated errors in the log held back."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import RepeatLimiter
from tests.test_cli import env_for, pactwatch


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_garbage_database_url_is_one_sentence(tmp_path: Path) -> None:
    r = pactwatch(tmp_path, "digest", DATABASE_URL="garbage")
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "DATABASE_URL 'garbage' is not a database URL; use sqlite+aiosqlite:///path/to/file.db "
        "or postgresql+asyncpg://user@host/db"
    )


def test_a_database_file_that_cannot_be_created_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    r = pactwatch(tmp_path, "digest", DATABASE_URL=f"sqlite+aiosqlite:///{blocker}/p.db")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        f"the folder {blocker} for the database file cannot be created (File exists); point "
        "PACTWATCH_DATA_DIR or DATABASE_URL at a writable place"
    )
    r = pactwatch(tmp_path, "poll", "--once", PACTWATCH_DATA_DIR=str(blocker / "data"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(f"the data folder {blocker / 'data'} cannot be created")


def test_an_unreachable_database_is_one_sentence(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://u:hunter2@127.0.0.1:{_dead_port()}/x"
    r = pactwatch(tmp_path, "digest", DATABASE_URL=url, PACTWATCH_DB_RETRY_ATTEMPTS="2")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "hunter2" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("pactwatch cannot use its database (ConnectionRefusedError"), last
    assert last.endswith("check DATABASE_URL and that the database is running and writable.")


def test_ctrl_c_stops_run_while_it_waits_for_the_database(tmp_path: Path) -> None:
    """Counted, not timed: with 50 attempts allowed, an interrupt after the first retry ends the run before
    a third attempt is made."""
    url = f"postgresql+asyncpg://u@127.0.0.1:{_dead_port()}/x"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env_for(tmp_path, DATABASE_URL=url, PACTWATCH_DB_RETRY_ATTEMPTS="50"),
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "retrying in" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    lines += rest.splitlines()
    assert proc.returncode == 0, "".join(lines)
    assert sum("retrying in" in line for line in lines) <= 2, "".join(lines)
    assert not any("Traceback" in line for line in lines)


def _record(msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("bot.app", level, __file__, 1, msg, args, None)


def test_repeated_errors_are_held_back_and_counted() -> None:
    now = [0.0]
    limiter = RepeatLimiter(60.0, clock=lambda: now[0])
    passed = [limiter.filter(_record("database unavailable (%s)", "refused")) for _ in range(1000)]
    assert passed.count(True) == 1
    assert limiter.filter(_record("feed %s failed", "A")) and limiter.filter(_record("feed %s failed", "B"))
    assert limiter.filter(_record("info %s", "x", level=logging.INFO)), "INFO is never held"
    now[0] = 61.0
    again = _record("database unavailable (%s)", "refused")
    assert limiter.filter(again)
    assert again.getMessage() == "database unavailable (refused) (and 999 more like it in the last 60 s)"


@pytest.mark.parametrize("window", [0.0])
def test_a_zero_window_holds_nothing(window: float) -> None:
    limiter = RepeatLimiter(window)
    assert all(limiter.filter(_record("x %s", 1)) for _ in range(5))
