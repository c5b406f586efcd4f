"""The token buckets behind the command rate limit (the schedule grammar: tests/test_schedule.py)."""

from __future__ import annotations

import pytest

from bot.commands import TokenBuckets


def test_token_bucket_refills() -> None:
    now = [0.0]
    b = TokenBuckets(burst=2, per_minute=60, clock=lambda: now[0])
    assert b.take("u") == 0 and b.take("u") == 0
    assert b.take("u") == pytest.approx(1.0)
    assert b.take("v") == 0  # keys are independent
    now[0] += 1.0
    assert b.take("u") == 0
    now[0] += 100
    assert b.wait_time("u") == 0
