"""Digest schedule parsing, time zones, quiet hours and the token buckets: pure functions."""

from __future__ import annotations

import pytest

from bot.commands import ScheduleError, TokenBuckets, check_timezone, describe_cron, parse_digest_schedule
from bot.commands.schedule import parse_quiet_hours


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("08:00", "0 8 * * *"),
        ("8:05", "5 8 * * *"),
        ("weekdays 08:00", "0 8 * * 1-5"),
        ("Weekends  21:30", "30 21 * * 0,6"),
        ("daily 07:15", "15 7 * * *"),
        ("0 */6 * * *", "0 */6 * * *"),
        ("30 8 1,15 * mon-fri", "30 8 1,15 * mon-fri"),
        ("0 9 * jan-mar 7", "0 9 * jan-mar 7"),
        ("off", None),
    ],
)
def test_schedules(text: str, cron: str | None) -> None:
    assert parse_digest_schedule(text) == cron


@pytest.mark.parametrize(
    "text",
    [
        "",
        "25:00",
        "weekdays",
        "every day",
        "0 8 * *",
        "0 24 * * *",
        "0 8 * * 8",
        "0 8 32 * *",
        "0 8 * * 5-1",
        "*/0 8 * * *",
        "0 8 * * funday",
    ],
)
def test_bad_schedules(text: str) -> None:
    with pytest.raises(ScheduleError) as exc:
        parse_digest_schedule(text)
    assert str(exc.value).endswith(".")


def test_describe_cron() -> None:
    assert describe_cron("0 8 * * 1-5") == "weekdays at 08:00"
    assert describe_cron("0 */6 * * *") == "cron '0 */6 * * *'"


def test_timezones() -> None:
    assert check_timezone("Asia/Seoul") == "Asia/Seoul"
    for bad in ("Nowhere/City", "../etc/passwd", "", "x" * 80):
        with pytest.raises(ScheduleError):
            check_timezone(bad)


def test_quiet_hours() -> None:
    assert parse_quiet_hours("22:00-7:00") == ("22:00", "07:00")
    assert parse_quiet_hours("off") is None
    with pytest.raises(ScheduleError):
        parse_quiet_hours("22-7")


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
