"""The digest scheduler: one APScheduler job per subscription, and which fire is due.

The schedule grammar (forms, crontab, the trigger and its day-of-week translation) is ``bot.schedule``.
Traps of APScheduler 3.11 handled here:
- a time inside a fall-back hour (01:30 on the night clocks go back) fires twice: a fire is identified
  by its local wall time (``canonical_fire``), and ``digest_runs`` is unique per (subscription, that);
- ``misfire_grace_time`` defaults to 1 s: jobs are added with a long grace and ``coalesce=True``.
Schedules live in ``subscriptions`` (our table), not in an APScheduler job store.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.schedule import zone

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


log = logging.getLogger(__name__)


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
