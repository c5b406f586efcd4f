"""The one schedule grammar (``bot.schedule``): every accepted form, every rejection, quiet hours, time
zones, and the APScheduler trigger each stored crontab becomes. Table-driven; pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.schedule import (
    ScheduleError,
    check_timezone,
    cron_trigger,
    describe_cron,
    is_quiet,
    is_weekly,
    parse_digest_schedule,
    parse_quiet_hours,
    time_of_day,
    to_crontab,
    translate_dow,
    zone,
)

ACCEPTED: list[tuple[str, str | None, str]] = [
    # (typed, stored crontab, how `settings` shows it)
    ("08:00", "0 8 * * *", "every day at 08:00"),
    ("8:05", "5 8 * * *", "every day at 08:05"),
    ("08.30", "30 8 * * *", "every day at 08:30"),
    ("8h30", "30 8 * * *", "every day at 08:30"),
    ("0:00", "0 0 * * *", "every day at 00:00"),
    ("23:59", "59 23 * * *", "every day at 23:59"),
    ("daily 07:15", "15 7 * * *", "every day at 07:15"),
    ("weekdays 08:00", "0 8 * * 1-5", "weekdays at 08:00"),
    ("weekdays 7:30", "30 7 * * 1-5", "weekdays at 07:30"),
    ("Weekends  21:30", "30 21 * * 0,6", "weekends at 21:30"),
    ("every 6 hours", "0 */6 * * *", "every 6 hours"),
    ("Every 12 hours", "0 */12 * * *", "every 12 hours"),
    ("every 2 hour", "0 */2 * * *", "every 2 hours"),
    ("every 3h", "0 */3 * * *", "every 3 hours"),
    ("every 4 h", "0 */4 * * *", "every 4 hours"),
    ("every 1 hour", "0 * * * *", "every hour"),
    ("every hour", "0 * * * *", "every hour"),
    ("every 24 hours", "0 0 * * *", "every day at 00:00"),
    ("0 8 * * 1-5", "0 8 * * 1-5", "weekdays at 08:00"),
    ("0 */6 * * *", "0 */6 * * *", "every 6 hours"),
    ("30 8 * * mon-fri", "30 8 * * mon-fri", "cron '30 8 * * mon-fri'"),
    ("30 8 1,15 * *", "30 8 1,15 * *", "cron '30 8 1,15 * *'"),
    ("0 9 * jan-mar 7", "0 9 * jan-mar 7", "cron '0 9 * jan-mar 7'"),
    ("0 9 * * fri-sun", "0 9 * * fri-sun", "cron '0 9 * * fri-sun'"),
    ("0 9 * * 5-7", "0 9 * * 5-7", "cron '0 9 * * 5-7'"),
    ("0,30 8-18/2 * * *", "0,30 8-18/2 * * *", "cron '0,30 8-18/2 * * *'"),
    ("15 8 * * 1/2", "15 8 * * 1/2", "cron '15 8 * * 1/2'"),
    ("  0  8  *  *  1  ", "0 8 * * 1", "cron '0 8 * * 1'"),
    ("off", None, ""),
    ("None", None, ""),
    ("no", None, ""),
    ("disable", None, ""),
    ("disabled", None, ""),
]

REJECTED: list[tuple[str, str]] = [
    # (typed, a word of the one-sentence error)
    ("", "empty"),
    ("   ", "empty"),
    ("25:00", "time of day"),
    ("08:60", "time of day"),
    ("weekdays 24:00", "time of day"),
    ("weekdays", "not a schedule"),
    ("every day", "not a schedule"),
    ("tomorrow", "not a schedule"),
    ("fortnightly 08:00", "not a schedule"),
    ("every 5 hours", "divide"),
    ("every 0 hours", "divide"),
    ("every 48 hours", "divide"),
    ("every 6 minutes", "not a schedule"),
    ("0 8 * *", "not a schedule"),
    ("0 8 * * * *", "not a schedule"),
    ("99 99 * * *", "minute field allows 0–59"),
    ("0 24 * * *", "hour field allows 0–23"),
    ("0 8 32 * *", "day of month field allows 1–31"),
    ("0 8 0 * *", "day of month field allows 1–31"),
    ("0 8 * 13 *", "month field allows 1–12"),
    ("0 8 * * 8", "day of week field allows 0–7"),
    ("0 8 * * 5-1", "runs backwards"),
    ("*/0 8 * * *", "step"),
    ("*/x 8 * * *", "step"),
    ("0 8 * * funday", "not a number"),
    ("0 8 * * monday", "not a number"),
    ("0 8 * jan-dec/x *", "step"),
    ("0 8 1 * 1", "not both"),
    ("0 8 1,15 * mon-fri", "not both"),
]


@pytest.mark.parametrize(("text", "cron", "shown"), ACCEPTED)
def test_accepted_forms(text: str, cron: str | None, shown: str) -> None:
    assert parse_digest_schedule(text) == cron
    if cron is None:
        with pytest.raises(ScheduleError, match="turns the digest off"):
            to_crontab(text)
        return
    assert to_crontab(text) == cron
    assert parse_digest_schedule(cron) == cron, "a stored crontab parses to itself"
    assert describe_cron(cron) == shown
    trigger = cron_trigger(text, "Asia/Seoul")  # every accepted form is one APScheduler can run
    assert trigger.get_next_fire_time(None, datetime(2026, 11, 2, tzinfo=UTC)) is not None


@pytest.mark.parametrize(("text", "word"), REJECTED)
def test_rejected_forms(text: str, word: str) -> None:
    with pytest.raises(ScheduleError, match=word) as exc:
        parse_digest_schedule(text)
    assert str(exc.value).endswith("."), "one sentence"
    with pytest.raises(ScheduleError):
        cron_trigger(text, "UTC")
    assert not is_weekly(text)


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("sun", "sun"),
        ("5-7", "fri,sat,sun"),
        ("fri-sun", "fri,sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
        ("1/2", "mon,wed,fri"),
        ("0,6", "sat,sun"),
        ("0-6", "*"),
        ("*", "*"),
        ("mon,wed", "mon,wed"),
    ],
)
def test_day_of_week_is_translated_for_apscheduler(field: str, names: str) -> None:
    assert translate_dow(field) == names


@pytest.mark.parametrize(
    ("cron", "weekly"),
    [
        ("0 8 * * 1", True),
        ("0 8 * * sun", True),
        ("0 8 * * 1-5", False),
        ("08:00", False),
        ("0 8 1 * *", False),
    ],
)
def test_is_weekly(cron: str, weekly: bool) -> None:
    assert is_weekly(cron) is weekly


def test_weekdays_fire_monday_to_friday_not_apschedulers_numbering() -> None:
    trig = cron_trigger("weekdays 08:00", "UTC")
    at = datetime(2026, 11, 7, tzinfo=UTC)  # a Saturday
    days = []
    for _ in range(5):
        nxt = trig.get_next_fire_time(None, at)
        assert nxt is not None
        days.append(nxt.strftime("%a %H:%M"))
        at = nxt + timedelta(minutes=1)
    assert days == [f"{d} 08:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]


@pytest.mark.parametrize("name", ["Asia/Seoul", "Europe/Moscow", "UTC", "America/New_York", " Asia/Seoul "])
def test_time_zones(name: str) -> None:
    assert check_timezone(name) == name.strip()
    assert zone(name).key == name.strip()


@pytest.mark.parametrize(
    "name", ["Nowhere/City", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "", "x" * 80]
)
def test_bad_time_zones(name: str) -> None:
    for check in (check_timezone, zone):
        with pytest.raises(ScheduleError, match="IANA") as exc:
            check(name)
        assert str(exc.value).endswith(".")
    with pytest.raises(ScheduleError, match="IANA"):
        cron_trigger("08:00", name)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("22:00-07:00", ("22:00", "07:00")),
        ("22:00-7:00", ("22:00", "07:00")),
        ("22:00 - 07:30", ("22:00", "07:30")),
        ("9.00-17.00", ("09:00", "17:00")),
        ("off", None),
        ("none", None),
    ],
)
def test_quiet_hours(text: str, window: tuple[str, str] | None) -> None:
    assert parse_quiet_hours(text) == window


@pytest.mark.parametrize("text", ["22-7", "22:00", "22:00-25:00", "night", "", "22:00-07:00-08:00"])
def test_bad_quiet_hours(text: str) -> None:
    with pytest.raises(ScheduleError, match="HH:MM-HH:MM"):
        parse_quiet_hours(text)


@pytest.mark.parametrize(
    ("start", "end", "tz", "utc_hour", "quiet"),
    [
        ("22:00", "07:00", "UTC", 23, True),
        ("22:00", "07:00", "UTC", 6, True),
        ("22:00", "07:00", "UTC", 7, False),
        ("22:00", "07:00", "UTC", 12, False),
        ("09:00", "17:00", "UTC", 9, True),
        ("09:00", "17:00", "UTC", 17, False),
        ("22:00", "07:00", "Asia/Seoul", 14, True),  # 23:00 in Seoul
        ("22:00", "07:00", "Asia/Seoul", 23, False),  # 08:00 in Seoul
        ("22:00", "07:00", "Nowhere/City", 23, True),  # an unknown zone reads as UTC
        ("08:00", "08:00", "UTC", 8, False),  # an empty window
        (None, "07:00", "UTC", 3, False),
        ("", "", "UTC", 3, False),
        ("junk", "07:00", "UTC", 3, False),
    ],
)
def test_is_quiet(start: str | None, end: str | None, tz: str, utc_hour: int, quiet: bool) -> None:
    assert is_quiet(start, end, datetime(2026, 11, 2, utc_hour, tzinfo=UTC), tz) is quiet


def test_time_of_day() -> None:
    assert f"{time_of_day('7:05'):%H:%M}" == "07:05"
    with pytest.raises(ScheduleError, match="time of day"):
        time_of_day("7")
