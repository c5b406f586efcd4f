"""The poll benchmark's quick mode runs end to end and prints its table (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_quick_benchmark_runs_and_prints_every_line() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_poll.py"), "--quick", "--single-host"],
        capture_output=True,
        text=True,
        timeout=220,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "wall s" in out and "feeds/s" in out and "lag p99" in out and "RSS main" in out
    rows = {
        tuple(line.split()[:2]): line.split() for line in out.splitlines() if line.strip().startswith("60 ")
    }
    assert set(rows) == {("60", "1"), ("60", "2"), ("60", "alert")}
    # Round 1: every feed new, 50 items each; round 2: 6 of the 60 feeds gained 50 items.
    assert rows[("60", "1")][5:7] == ["3000", "0"]
    assert rows[("60", "2")][5:7] == ["300", "0"]
    assert "naive baseline" in out and "measured on 6 of the 60 feeds" in out
    assert "time to alert" in out and "nan" not in out.split("time to alert")[1]
    assert "seed_first_poll" in out
