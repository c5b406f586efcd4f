"""Digest schedules: standard crontab → APScheduler ``CronTrigger``, and which fire is due.

Traps of APScheduler 3.11 handled here:
- its day_of_week 0 is Monday (standard crontab: 0 and 7 are Sunday), so the day-of-week field is
  translated to day names, never passed through;
- a time inside a fall-back hour (01:30 on the night clocks go back) fires twice: a fire is identified
  by its local wall time (``canonical_fire``), and ``digest_runs`` is unique per (subscription, that);
- ``misfire_grace_time`` defaults to 1 s: jobs are added with a long grace and ``coalesce=True``.
Schedules live in ``subscriptions`` (our table), not in an APScheduler job store.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


log = logging.getLogger(__name__)
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard crontab order: 0 = Sunday
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A schedule a user wrote that we cannot use; the message says what to write instead."""


def to_crontab(text: str) -> str:
    """A 5-field crontab from what users write: ``08:00`` (daily), ``weekdays 08:00``, ``weekends 08:00``,
    ``every 6 hours``, or a crontab itself. Raises ``ScheduleError``."""
    raw = " ".join(text.strip().lower().split())
    words = raw.split(" ")
    if len(words) == 1 and _TIME.match(raw):
        h, m = _hm(raw)
        return f"{m} {h} * * *"
    if len(words) == 2 and words[0] in ("daily", "weekdays", "weekends") and _TIME.match(words[1]):
        h, m = _hm(words[1])
        dow = {"daily": "*", "weekdays": "1-5", "weekends": "0,6"}[words[0]]
        return f"{m} {h} * * {dow}"
    every = re.fullmatch(r"every (\d{1,2}) ?h(?:ours?)?", raw)
    if every:
        n = int(every.group(1))
        if not 1 <= n <= 24 or 24 % n:
            raise ScheduleError(f"'every {n} hours' must divide a day evenly; use 1, 2, 3, 4, 6, 8, 12 or 24")
        return f"0 */{n} * * *" if n < 24 else "0 0 * * *"
    if len(words) == 5:
        return raw
    raise ScheduleError(
        f"'{text}' is not a schedule; write 08:00, weekdays 08:00, every 6 hours, or a 5-field crontab"
    )


def _hm(s: str) -> tuple[int, int]:
    m = _TIME.match(s)
    assert m
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 23 or mi > 59:
        raise ScheduleError(f"{s} is not a time of day; use 24-hour HH:MM such as 08:00")
    return h, mi


def _day(token: str) -> int:
    if token.isdigit():
        v = int(token)
        if v > 7:
            raise ScheduleError(f"day of week {v} is out of range; use 0–7 (0 and 7 are Sunday) or mon–sun")
        return v % 7
    if token[:3] in DAY_NAMES:
        return DAY_NAMES.index(token[:3])
    raise ScheduleError(f"'{token}' is not a day of the week; use 0–7 or mon–sun")


def translate_dow(field: str) -> str:
    """Standard crontab day-of-week → APScheduler day names ("1-5" → "mon,tue,wed,thu,fri")."""
    days: set[int] = set()
    for item in field.lower().split(","):
        rng, _, step_s = item.partition("/")
        step = int(step_s) if step_s.isdigit() else 1
        if step_s and not step_s.isdigit():
            raise ScheduleError(f"'{item}' has a bad step; write e.g. */2")
        if rng == "*":
            lo, hi = 0, 6
        elif "-" in rng:
            a, b = rng.split("-", 1)
            lo, hi = _day(a), _day(b)
            if hi == 0 and lo > 0:
                hi = 7  # "5-7" and "fri-sun" end on Sunday
            if hi < lo:
                raise ScheduleError(f"day range '{rng}' runs backwards; write it low to high, e.g. 1-5")
        else:
            lo = hi = _day(rng)
            if step_s:
                hi = 6
        days.update(d % 7 for d in range(lo, hi + 1, step))
    if len(days) == 7:
        return "*"
    # APScheduler's own week starts on Monday; list days in that order for readability.
    return ",".join(DAY_NAMES[d] for d in sorted(days, key=lambda d: (d + 6) % 7))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone '{name}'; use an IANA name like Asia/Seoul") from exc


def cron_trigger(expr: str, tz: str) -> CronTrigger:
    """The APScheduler trigger for a subscription's schedule. Raises ``ScheduleError``."""
    from apscheduler.triggers.cron import CronTrigger

    fields = to_crontab(expr).split(" ")
    minute, hour, dom, month, dow = fields
    if dom != "*" and dow != "*":
        raise ScheduleError(
            "a schedule may restrict the day of the month or the day of the week, not both; drop one"
        )
    try:
        return CronTrigger(
            minute=minute, hour=hour, day=dom, month=month, day_of_week=translate_dow(dow), timezone=zone(tz)
        )
    except ScheduleError:
        raise
    except ValueError as exc:
        raise ScheduleError(
            f"'{expr}' is not a valid crontab ({exc}); check each of its five fields"
        ) from exc


def is_weekly(expr: str) -> bool:
    """Fires on one day of the week only (the digest that carries the trend chart)."""
    try:
        _, _, dom, month, dow = to_crontab(expr).split(" ")
        names = translate_dow(dow)
    except ScheduleError:
        return False
    return dom == "*" and month == "*" and names != "*" and "," not in names


def canonical_fire(fire: datetime, tz: str) -> datetime:
    """The identity of a fire: its local wall time, mapped to the first instant that shows it. The two
    fires of 01:30 on a fall-back night become one."""
    z = zone(tz)
    wall = fire.astimezone(z).replace(tzinfo=None)
    return wall.replace(tzinfo=z, fold=0).astimezone(UTC)


_SPANS = (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367))


def latest_fire(trigger: CronTrigger, now: datetime, *, after: datetime | None) -> datetime | None:
    """The last fire time in (after, now], UTC; None when there is none (nothing due)."""
    floor = after + timedelta(microseconds=1) if after is not None else None
    for span in _SPANS:
        start = now - span
        if floor is not None and floor > start:
            start = floor
        fire = trigger.get_next_fire_time(None, start)
        if fire is None or fire > now:
            if floor is not None and start == floor:
                return None
            continue
        while True:
            # Step in UTC: wall-clock arithmetic on a zoned datetime drops ``fold`` and would land back
            # in the first 01:30 of a fall-back night.
            fire = fire.astimezone(UTC)
            nxt = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
            if nxt is None or nxt > now:
                found: datetime = fire.astimezone(UTC)
                return found
            fire = nxt
    return None
