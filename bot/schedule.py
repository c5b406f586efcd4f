"""Digest schedules, quiet hours and time zones: the one grammar every caller uses.

The ``subscribe`` command, the settings file (``[[subscriptions]]``), ``pactwatch check-config`` and the
digest scheduler all parse through this module; nothing else reads a schedule or checks a time zone.

Digest schedules, as users type them (case and extra spaces do not matter):

- ``08:00`` or ``daily 08:00``: every day at that time (``8:00``, ``08.00`` and ``8h00`` work too);
- ``weekdays 08:00`` (Monday–Friday), ``weekends 08:00`` (Saturday and Sunday);
- ``every 6 hours`` (also ``every 6 hour``, ``every 6h``, ``every hour``): on the hour, every N hours from
  midnight, where N divides a day (1, 2, 3, 4, 6, 8, 12 or 24);
- a standard 5-field crontab (``0 8 * * 1-5``): numbers, ``*``, ranges, lists and ``/`` steps, month and
  day names (``jan``, ``mon``), day-of-week 0 and 7 both Sunday. It may restrict the day of the month or
  the day of the week, not both (the scheduler cannot honour crontab's "either" rule);
- ``off`` (or ``none``, ``no``, ``disable``, ``disabled``): no digest.

Every form becomes one 5-field crontab (``parse_digest_schedule``), stored in
``subscriptions.digest_cron``; ``cron_trigger`` builds the APScheduler trigger from it, translating the
day of week (APScheduler's 0 is Monday). Quiet hours are ``HH:MM-HH:MM`` and may wrap midnight.
Pure: imports only the standard library (and APScheduler inside ``cron_trigger``).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = [
    "DAY_NAMES",
    "ScheduleError",
    "check_timezone",
    "cron_trigger",
    "describe_cron",
    "is_quiet",
    "is_weekly",
    "parse_digest_schedule",
    "parse_quiet_hours",
    "time_of_day",
    "to_crontab",
    "translate_dow",
    "zone",
]

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard crontab order: 0 = Sunday
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_OFF = ("off", "none", "no", "disable", "disabled")
_DAY_WORDS = {"daily": "*", "weekdays": "1-5", "weekends": "0,6"}
_TIME = re.compile(r"^(\d{1,2})[:.h](\d{2})$")
_EVERY = re.compile(r"^every (?:(\d{1,2}) ?)?h(?:ours?)?$")
_QUIET = re.compile(r"^(\S+?)\s*-\s*(\S+)$")
_FORMS = "08:00 (daily), 'weekdays 08:00', 'weekends 08:00', 'every 6 hours', or a 5-field crontab"


class ScheduleError(ValueError):
    """A schedule, quiet-hours range or time zone that cannot be used; ``str()`` is one sentence saying
    what to write instead."""


class _Field:
    """One crontab field: its name, its range, the names it accepts, and where ``*`` ends."""

    def __init__(self, name: str, low: int, high: int, names: tuple[str, ...] = (), base: int = 0) -> None:
        self.name, self.low, self.high = name, low, high
        self.names = {n: i + base for i, n in enumerate(names)}
        self.star_high = 6 if name == "day of week" else high  # 7 (Sunday again) only when written

    def number(self, tok: str) -> int:
        if tok in self.names:
            return self.names[tok]
        if not tok.isdigit():
            raise ScheduleError(f"The crontab's {self.name} field has '{tok[:20]}', which is not a number.")
        n = int(tok)
        if not self.low <= n <= self.high:
            raise ScheduleError(f"The crontab's {self.name} field allows {self.low}–{self.high}, not {n}.")
        return n

    def values(self, text: str) -> set[int]:
        """Every value the field selects. Raises ``ScheduleError``."""
        out: set[int] = set()
        for part in text.split(","):
            base, slash, step_s = part.partition("/")
            if slash and (not step_s.isdigit() or int(step_s) == 0):
                raise ScheduleError(
                    f"The crontab's {self.name} field has step '/{step_s[:10]}'; use a positive number."
                )
            step = int(step_s) if slash else 1
            if base == "*":
                lo, hi = self.low, self.star_high
            else:
                start, dash, end = base.partition("-")
                lo = self.number(start)
                hi = self.number(end) if dash else (self.star_high if slash else lo)
                if dash and self.name == "day of week" and hi == 0 and lo > 0:
                    hi = 7  # "5-0" and "fri-sun" end on Sunday
                if hi < lo:
                    raise ScheduleError(
                        f"The crontab's {self.name} field has range '{base}', which runs backwards."
                    )
            out.update(range(lo, hi + 1, step))
        return out


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, base=1),
    _Field("day of week", 0, 7, DAY_NAMES),
)
_DOW = _FIELDS[4]


def parse_digest_schedule(text: str) -> str | None:
    """The 5-field crontab for a digest schedule in any accepted form; ``None`` for "off".
    Raises ``ScheduleError``."""
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise ScheduleError(f"The digest schedule is empty; use {_FORMS}.")
    if raw in _OFF:
        return None
    words = raw.split(" ")
    if len(words) == 1 and _TIME.match(raw):
        h, m = _hour_minute(raw)
        return f"{m} {h} * * *"
    if len(words) == 2 and words[0] in _DAY_WORDS and _TIME.match(words[1]):
        h, m = _hour_minute(words[1])
        return f"{m} {h} * * {_DAY_WORDS[words[0]]}"
    every = _EVERY.match(raw)
    if every:
        n = int(every.group(1) or 1)
        if not 1 <= n <= 24 or 24 % n:
            raise ScheduleError(
                f"'every {n} hours' must divide a day evenly; use 1, 2, 3, 4, 6, 8, 12 or 24 hours."
            )
        return {1: "0 * * * *", 24: "0 0 * * *"}.get(n, f"0 */{n} * * *")
    if len(words) == 5:
        for value, field in zip(words, _FIELDS, strict=True):
            field.values(value)
        if words[2] != "*" and words[4] != "*":
            raise ScheduleError(
                "A schedule may restrict the day of the month or the day of the week, not both; drop one."
            )
        return raw
    raise ScheduleError(f"'{text.strip()[:60]}' is not a schedule; use {_FORMS} such as '0 8 * * 1-5'.")


def to_crontab(text: str) -> str:
    """Like ``parse_digest_schedule``, for callers that need a schedule: "off" is an error."""
    cron = parse_digest_schedule(text)
    if cron is None:
        raise ScheduleError(f"'{text.strip()[:20]}' turns the digest off; it is not a schedule.")
    return cron


def time_of_day(text: str) -> time:
    """``"08:00"`` (also ``8:00``, ``08.00``, ``8h00``) → ``time(8, 0)``. Raises ``ScheduleError``."""
    h, m = _hour_minute(text.strip().lower())
    return time(h, m)


def _hour_minute(text: str) -> tuple[int, int]:
    m = _TIME.match(text)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError(f"'{text[:20]}' is not a time of day; use 24-hour HH:MM such as 08:00.")
    return int(m.group(1)), int(m.group(2))


def describe_cron(cron: str) -> str:
    """A short human reading of a stored crontab: "weekdays at 08:00", "every 6 hours", else the cron."""
    parts = cron.split()
    if len(parts) == 5 and parts[2:4] == ["*", "*"]:
        minute, hour, _, _, dow = parts
        if minute.isdigit() and hour.isdigit():
            days = {"*": "every day", "1-5": "weekdays", "0,6": "weekends"}.get(dow)
            if days:
                return f"{days} at {int(hour):02d}:{int(minute):02d}"
        if minute == "0" and dow == "*" and (hour == "*" or hour.startswith("*/")):
            n = hour[2:] or "1"
            return "every hour" if n == "1" else f"every {n} hours"
    return f"cron '{cron}'"


def translate_dow(field: str) -> str:
    """Standard crontab day-of-week → APScheduler day names ("1-5" → "mon,tue,wed,thu,fri"; every day
    → "*"). Raises ``ScheduleError``."""
    days = {d % 7 for d in _DOW.values(field.lower())}
    if len(days) == 7:
        return "*"
    # APScheduler's own week starts on Monday; list days in that order for readability.
    return ",".join(DAY_NAMES[d] for d in sorted(days, key=lambda d: (d + 6) % 7))


def is_weekly(expr: str) -> bool:
    """Fires on one day of the week only (the digest that carries the trend chart)."""
    try:
        _, _, dom, month, dow = to_crontab(expr).split(" ")
        names = translate_dow(dow)
    except ScheduleError:
        return False
    return dom == "*" and month == "*" and names != "*" and "," not in names


def cron_trigger(expr: str, tz: str) -> CronTrigger:
    """The APScheduler trigger for a digest schedule (any accepted form) in time zone ``tz``.
    Raises ``ScheduleError``."""
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, dom, month, dow = to_crontab(expr).split(" ")
    try:
        return CronTrigger(
            minute=minute, hour=hour, day=dom, month=month, day_of_week=translate_dow(dow), timezone=zone(tz)
        )
    except ScheduleError:
        raise
    except ValueError as exc:
        raise ScheduleError(
            f"'{expr}' is not a valid crontab ({exc}); check each of its five fields."
        ) from exc


def zone(name: str) -> ZoneInfo:
    """The time zone of an IANA name. Raises ``ScheduleError``."""
    name = name.strip()
    if name and len(name) <= 64 and ".." not in name and not name.startswith("/"):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ScheduleError(
        f"'{name[:64]}' is not a time zone; use an IANA name like Asia/Seoul, Europe/Moscow or UTC."
    )


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The time zone of a stored name, for display: UTC when there is none or this machine no longer
    knows it (names are checked by ``zone`` when they are set)."""
    try:
        return zone(name) if name else ZoneInfo("UTC")
    except ScheduleError:
        return ZoneInfo("UTC")


def check_timezone(name: str) -> str:
    """The IANA zone name, checked (stripped). Raises ``ScheduleError``."""
    return str(zone(name).key)


def parse_quiet_hours(text: str) -> tuple[str, str] | None:
    """``"22:00-07:00"`` → ("22:00", "07:00"); "off" → None. Raises ``ScheduleError``."""
    raw = text.strip().lower()
    if raw in _OFF:
        return None
    m = _QUIET.match(raw)
    try:
        if m is None:
            raise ScheduleError
        start, end = time_of_day(m.group(1)), time_of_day(m.group(2))
    except ScheduleError:
        raise ScheduleError(
            f"'{text.strip()[:40]}' is not a quiet-hours range; use HH:MM-HH:MM like 22:00-07:00."
        ) from None
    return f"{start:%H:%M}", f"{end:%H:%M}"


def is_quiet(start: str | None, end: str | None, now: datetime, tz: str) -> bool:
    """Whether ``now`` falls in the quiet hours ``start``–``end`` (stored "HH:MM"; local time in ``tz``,
    UTC when ``tz`` is unknown; may wrap midnight). Unset or unreadable hours are never quiet."""
    if not start or not end:
        return False
    try:
        a, b = time_of_day(start), time_of_day(end)
    except ScheduleError:
        return False
    if a == b:
        return False
    try:
        local = now.astimezone(zone(tz)).time()
    except ScheduleError:
        local = now.time()
    return a <= local < b if a < b else (local >= a or local < b)
